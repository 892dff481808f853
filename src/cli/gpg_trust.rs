//! Whether git's `--verify` path trusts a good signature: with a policy — the committed one
//! (`gitsign.policyAnchor`) or the configured file (`gitsign.policy`) — only a signer the
//! policy admits gets `TRUST_FULLY` (git's `%G?` = `G`); any other valid signature gets
//! `TRUST_UNDEFINED` (`%G?` = `U`, refused by `git merge --verify-signatures`). Without a
//! policy every good signature is trusted, as before.
//!
//! git names neither the commit nor the ref: the rule is that of the checked-out branch
//! (`HEAD`'s symbolic ref), or, with a detached `HEAD`, the rule matching `refs/heads/*`. The
//! committed policy is the one in force at the first parent the payload names (its `parent`
//! line: exact for commits); a tag and a root commit are judged by the policy in force at
//! `HEAD`, a commit whose first parent is before the anchor by the anchor's own.

use std::sync::Arc;

use gix::ObjectId;

use super::setup::VerifyFlags;
use crate::check::{Checker, Kept};
use crate::config::Key;
use crate::policy::history::{Evolution, PolicyHistory as _, Standing};
use crate::policy::{judge::NoKeyFormats, PolicyFile, Signer, SigstoreSigner};
use crate::verify::{policy::Policy, Report};

/// What the policy makes of a good signature.
#[derive(Debug)]
pub enum Trust {
    /// No policy: trusted, as without one.
    NoPolicy,
    /// An authority admits the signer: what to tell the user.
    Accepted(String),
    /// Valid, but the policy does not accept the signer (or could not be read): why.
    Refused(String),
}

/// The ref whose rule applies: `HEAD`'s branch, else `refs/heads/*`.
fn refname(repo: &gix::Repository) -> String {
    match repo.head_name() {
        Ok(Some(name)) => name.as_bstr().to_string(),
        _ => "refs/heads/*".to_owned(),
    }
}

/// The first `parent` line of a commit payload (`None`: a root commit, or not a commit).
fn first_parent(payload: &[u8]) -> Option<ObjectId> {
    for line in payload.split(|&b| b == b'\n') {
        if line.is_empty() {
            return None;
        }
        if let Some(hex) = line.strip_prefix(b"parent ") {
            return ObjectId::from_hex(hex).ok();
        }
    }
    None
}

/// Judge the good `report`'s signer under the policy git's path uses, as `config` (the
/// configuration the signature was verified under) sets it.
pub fn trust(config: crate::config::Config, payload: &[u8], report: &Report) -> Trust {
    let anchor = config.get(Key::PolicyAnchor).map(str::to_owned);
    let file = config.get(Key::Policy).map(str::to_owned);
    if anchor.is_none() && file.is_none() {
        return Trust::NoPolicy;
    }
    match judged(payload, report, config, anchor.as_deref(), file.as_deref()) {
        Ok(t) => t,
        Err(why) => Trust::Refused(why),
    }
}

fn judged(
    payload: &[u8],
    report: &Report,
    config: crate::config::Config,
    anchor: Option<&str>,
    file: Option<&str>,
) -> Result<Trust, String> {
    let shared = crate::git::repo::shared_repository()
        .map_err(|e| format!("the policy needs the repository: {e}"))?;
    let repo = shared.to_thread_local();
    let refname = refname(&repo);
    let (policy, from) = match anchor {
        Some(_) => {
            let flags = VerifyFlags {
                ignore_tlog: Some(false),
                ..VerifyFlags::default()
            };
            let setup = super::setup::verify_setup(config.clone(), &flags)
                .map_err(|e| format!("{:#}", e.error))?;
            let empty = Policy::default();
            let checker = Checker::new(&setup, &empty, Kept::In(shared));
            let anchor = super::anchored::anchor(None, &config, &repo)
                .map_err(|e| format!("{:#}", e.error))?
                .ok_or("no policy anchor")?;
            // Policy changes signed with OpenPGP or SSH keys are judged by the key files of
            // the policy in force.
            let files = super::setup::policy_key_files();
            let revoked =
                super::setup::load_revoked(&config).map_err(|e| format!("{:#}", e.error))?;
            let history = super::anchored::KeyedHistory {
                git: super::anchored::GitHistory {
                    repo: repo.clone(),
                    checker: &checker,
                    hash: crate::git::repo::Repo::from_shared(shared).hash_kind(),
                },
                files: &files,
                revoked: &revoked,
            };
            let at = first_parent(payload).or_else(|| repo.head_id().ok().map(|h| h.detach()));
            // git runs us once per commit: the policy in force after `at` is kept, so a
            // `git log --show-signature` does not walk back to the anchor for every commit.
            let in_force = super::anchored::InForce::new(
                &setup,
                repo.common_dir(),
                anchor,
                &refname,
                history.git.hash,
            );
            let (source, warning) = at.map(|at| in_force.find(&at)).unwrap_or_default();
            if let Some(w) = warning {
                super::output::eprint_warnings(&[crate::proofs::Warning::FactsIgnored(w)]);
            }
            let kept = source.and_then(|s| history.policy(s).ok().flatten().map(Arc::new));
            let policy = match kept {
                Some(p) => p,
                None => {
                    let mut ev =
                        Evolution::new(&history, anchor, &refname).map_err(|e| format!("{e:#}"))?;
                    let mut policy: Option<Arc<PolicyFile>> = None;
                    if let Some(at) = at {
                        ev.learn(&history, &[at]).map_err(|e| format!("{e:#}"))?;
                        if let Some(Standing::Judged { .. }) = ev.standing(&at) {
                            policy = ev.in_force_after(&at).cloned();
                            let _ = in_force.keep(&history, &ev, at);
                        }
                    }
                    match policy {
                        Some(p) => p,
                        None => ev
                            .in_force_after(&anchor)
                            .cloned()
                            .ok_or("no policy in force at the anchor")?,
                    }
                }
            };
            (policy, "the committed policy".to_owned())
        }
        None => {
            let path = shared.git_dir().join(file.unwrap_or_default());
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("reading the policy file '{}': {e}", path.display()))?;
            let name = path.display().to_string();
            let p = PolicyFile::parse(&text, &name, &crate::policy::Directory::of(&path))
                .map_err(|e| format!("invalid policy: {e}"))?;
            (Arc::new(p), format!("the policy {name}"))
        }
    };
    let signer = SigstoreSigner::from_report(report)
        .map(Signer::Sigstore)
        .ok_or("the signature names no signer")?;
    let shown = crate::text::escape(&refname);
    match policy.rule_for(&refname) {
        Some(rule) => match rule.admit(&signer, &NoKeyFormats) {
            Ok(a) => Ok(Trust::Accepted(format!(
                "signer admitted by authority {} ({from}, rule at line {} for {shown})",
                a.name, rule.line
            ))),
            Err(e) => Ok(Trust::Refused(format!(
                "{e} ({from}, rule at line {} for {shown})",
                rule.line
            ))),
        },
        None if policy.default == crate::policy::DefaultAction::Allow => Ok(Trust::Accepted(
            format!("no rule of {from} governs {shown}, and its default is allow"),
        )),
        None => Ok(Trust::Refused(format!("no rule of {from} governs {shown}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_parent_is_the_first_parent_line_of_the_header() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let payload = format!(
            "tree {}\nparent {a}\nparent {b}\nauthor x\n\nparent {b}\n",
            "c".repeat(40)
        );
        assert_eq!(
            first_parent(payload.as_bytes()).map(|p| p.to_string()),
            Some(a)
        );
        let root = format!("tree {}\nauthor x\n\nparent {b}\n", "c".repeat(40));
        assert_eq!(
            first_parent(root.as_bytes()),
            None,
            "the message is not the header"
        );
        assert_eq!(first_parent(b"object abc\ntype commit\n"), None);
    }
}
