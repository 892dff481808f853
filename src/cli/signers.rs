//! Knowing whom to trust: the signers a person is about to trust, named with what to write
//! to trust them. After signing with no policy configured, the signer's identity and issuer
//! and the policy entry (or `gitsign verify` options) that admit them; and `gitsign verify`
//! asked to judge with nothing saying whom to trust (no identity options, no policy, no
//! anchor) names the signers of the tip and the same suggestion, instead of guessing.
//!
//! Only a signature that verified is turned into a suggestion: an unverified certificate's
//! identity is attacker-chosen, so it is named (escaped) with why it did not verify, never
//! offered as an entry. An SSH key no allowed signer names is offered once the signature
//! verifies under the key it carries; an OpenPGP key no option names cannot be checked, so
//! its key id is named with the `gpg --export` that writes its key file from the user's own
//! keyring (where trusting it is the user's decision). Entries are rendered by
//! [`crate::policy::init`], the one rendering
//! of signers as policy text; every value shown is escaped ([`crate::text::escape`], TOML
//! escapes in entries, single quotes for sh).

use super::{CliError, Exit};
use crate::check::{Checker, Kept, Signed, VerifySetup};
use crate::git::repo::Repo;
use crate::policy::init::{self, Seen};
use crate::policy::SigstoreSigner;
use crate::text::escape;
use crate::verify::policy::{Identity, Policy};
use crate::verify::{Failure, ObjectKind, Outcome};

/// At most this many tips are checked for the error's list (`--all` may name hundreds).
const MAX_TIPS: usize = 8;

/// What was found on one tip.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    /// A Sigstore signature that verified: its identity (first SAN) and identity/issuer pair.
    Sigstore {
        subject: String,
        pair: Seen,
    },
    /// An OpenPGP signature by this key (primary fingerprint when it verified, else the
    /// issuer the signature names).
    Openpgp {
        key: String,
    },
    /// An SSH signature by this key (`SHA256:…`), with the principal when one was found,
    /// else the allowed signers line that would trust it (the committer's email and the
    /// public key that verifies the signature).
    Ssh {
        key: String,
        principal: Option<String>,
        line: Option<String>,
    },
    Unsigned,
    /// A signature that did not verify, named with why (escaped).
    NotVerified(String),
}

/// The Sigstore pair `identity` forms, as `gitsign policy init` groups it.
fn pair(identity: &Identity) -> Seen {
    let signer = SigstoreSigner::from_identity(identity, None);
    let mut seen = init::group([&signer]);
    seen.pop().unwrap_or(Seen {
        identity: init::IdentityPattern::Exact(identity.subject().to_owned()),
        issuer: identity.issuer.clone().unwrap_or_default(),
        count: 1,
        first: None,
        last: None,
    })
}

/// `alice@example.com, issuer https://…` (escaped).
fn sigstore_phrase(identity: &str, issuer: &str) -> String {
    format!("{}, issuer {}", escape(identity), escape(issuer))
}

impl Found {
    fn phrase(&self) -> String {
        match self {
            Found::Sigstore { subject, pair } => {
                format!("signed by {}", sigstore_phrase(subject, &pair.issuer))
            }
            Found::Openpgp { key } => format!("signed by OpenPGP key {}", escape(key)),
            Found::Ssh {
                key,
                principal: Some(p),
                ..
            } => format!("signed by SSH key {} ({})", escape(key), escape(p)),
            Found::Ssh {
                key,
                principal: None,
                ..
            } => format!("signed by SSH key {}", escape(key)),
            Found::Unsigned => "unsigned".into(),
            Found::NotVerified(why) => format!("signed, but the signature does not verify ({why})"),
        }
    }
}

/// A key fingerprint as a file name: its hex (or base64) characters only.
fn file_stem(key: &str) -> String {
    let stem: String = key
        .trim_start_matches("SHA256:")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(40)
        .collect();
    if stem.is_empty() {
        "key".into()
    } else {
        stem
    }
}

/// What to write to trust `found`, following "to trust this signer, " (indented lines): the
/// `gitsign verify` options when one Sigstore pair is all there is, and an authority
/// admitting every signer found. Empty when nothing verified.
fn suggestion(found: &[Found]) -> String {
    let pairs: Vec<&Seen> = found
        .iter()
        .filter_map(|f| match f {
            Found::Sigstore { pair, .. } => Some(pair),
            _ => None,
        })
        .collect();
    let mut pairs_dedup: Vec<&Seen> = Vec::new();
    for p in pairs {
        if !pairs_dedup
            .iter()
            .any(|q| q.identity == p.identity && q.issuer == p.issuer)
        {
            pairs_dedup.push(p);
        }
    }
    let mut openpgp: Vec<String> = Vec::new();
    let mut ssh: Vec<String> = Vec::new();
    let mut ssh_lines: Vec<String> = Vec::new();
    for f in found {
        match f {
            Found::Openpgp { key } => openpgp.push(file_stem(key)),
            Found::Ssh { key, line, .. } => {
                ssh.push(escape(key).into_owned());
                ssh_lines.extend(line.iter().map(|l| escape(l).into_owned()));
            }
            _ => {}
        }
    }
    openpgp.dedup();
    ssh.dedup();
    ssh_lines.dedup();
    if pairs_dedup.is_empty() && openpgp.is_empty() && ssh.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    if let ([one], true, true) = (pairs_dedup.as_slice(), openpgp.is_empty(), ssh.is_empty()) {
        let options: Vec<String> = init::verify_options(one)
            .iter()
            .map(|(flag, value)| format!("{flag} {}", super::hook::sh_quote(&escape(value))))
            .collect();
        out.push_str(&format!(
            "verify with\n    gitsign verify {}\n  or trust it in a policy (gitsign policy --help), with the entry:\n",
            options.join(" ")
        ));
    } else {
        out.push_str("write a policy (gitsign policy --help) with the entry:\n");
    }
    out.push_str("    [authority.signers]\n");
    match pairs_dedup.as_slice() {
        [] => {}
        [one] => out.push_str(&format!("    sigstore = [{}]\n", init::entry(one))),
        more => {
            out.push_str("    sigstore = [\n");
            for p in more {
                out.push_str(&format!("      {},\n", init::entry(p)));
            }
            out.push_str("    ]\n");
        }
    }
    if !openpgp.is_empty() {
        let files: Vec<String> = openpgp
            .iter()
            .map(|k| format!("\"keys/{k}.asc\""))
            .collect();
        let export = match openpgp.as_slice() {
            [one] => format!("gpg --export --armor {one} > keys/{one}.asc"),
            _ => "gpg --export --armor KEY > keys/KEY.asc".into(),
        };
        out.push_str(&format!(
            "    openpgp = [{}]   # {export}, beside the policy\n",
            files.join(", ")
        ));
    }
    if !ssh.is_empty() {
        if ssh_lines.is_empty() {
            out.push_str(&format!(
                "    ssh = \"allowed_signers\"   # git's format: PRINCIPAL namespaces=\"git\" PUBLIC-KEY, for {}\n",
                ssh.join(", ")
            ));
        } else {
            out.push_str("    ssh = \"allowed_signers\"   # beside the policy, in git's format:\n");
            for l in &ssh_lines {
                out.push_str(&format!("    #   {l}\n"));
            }
        }
    }
    out
}

/// After a signature was made as `identity`, when no policy is configured for the
/// repository: who signed, and what trusts them.
pub fn after_signing(identity: &Identity) -> String {
    let found = Found::Sigstore {
        subject: identity.subject().to_owned(),
        pair: pair(identity),
    };
    format!(
        "gitsign: signer {}; no policy is configured for this repository (gitsign.policy, gitsign.policyAnchor): to trust this signer, {}",
        sigstore_phrase(identity.subject(), identity.issuer.as_deref().unwrap_or("")),
        suggestion(&[found])
    )
}

/// The allowed signers line trusting the SSH key that made the signature of commit `raw`:
/// the committer's email as principal, and the key, when the signature verifies under it.
fn allowed_signers_line(raw: &[u8], hash: crate::git::object::HashKind) -> Option<String> {
    use crate::git::object;
    let split = object::split_commit(raw, hash)?;
    let key = crate::ssh::signing_key(&split.payload, &split.signature)?;
    let committer = object::header_value(&split.payload, "committer")?;
    let committer = String::from_utf8_lossy(committer);
    let email = committer
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(email, _)| email.trim())
        .filter(|e| !e.is_empty() && !e.contains(char::is_whitespace))
        .unwrap_or("PRINCIPAL");
    Some(format!("{email} namespaces=\"git\" {key}"))
}

/// What `verified` (commit `raw`, a tip) says about its signer.
fn found(
    verified: &crate::check::Verified,
    raw: &[u8],
    hash: crate::git::object::HashKind,
) -> Found {
    use crate::check::Signer;
    let report = &verified.report;
    match (&report.outcome, &verified.signer) {
        (Outcome::Good, Some(Signer::Sigstore { .. })) => match &report.identity {
            Some(identity) => Found::Sigstore {
                subject: identity.subject().to_owned(),
                pair: pair(identity),
            },
            None => Found::NotVerified("no identity".into()),
        },
        (Outcome::Good, Some(Signer::Openpgp { fingerprint, .. })) => Found::Openpgp {
            key: fingerprint.clone(),
        },
        (Outcome::Good, Some(Signer::Ssh { principal, key, .. })) => Found::Ssh {
            key: key.clone(),
            principal: Some(principal.clone()),
            line: None,
        },
        (Outcome::Bad(Failure::Unsigned), _) => Found::Unsigned,
        // Keys no option names: the signature says which key made it.
        (Outcome::Bad(Failure::Openpgp(crate::openpgp::Failure::UnknownKey { issuer })), _) => {
            Found::Openpgp {
                key: issuer.clone(),
            }
        }
        (Outcome::Bad(Failure::Ssh(crate::ssh::Failure::UnknownKey { fingerprint })), _) => {
            Found::Ssh {
                key: fingerprint.clone(),
                principal: None,
                line: allowed_signers_line(raw, hash),
            }
        }
        _ => Found::NotVerified(
            super::output::problem(report)
                .map(|(msg, _)| msg)
                .unwrap_or_else(|| "no signer".into()),
        ),
    }
}

/// The commits the revisions end at.
fn tips(selection: &crate::git::repo::Selection) -> Vec<gix::ObjectId> {
    let mut tips: Vec<gix::ObjectId> = selection
        .single
        .iter()
        .chain(selection.include.iter())
        .copied()
        .collect();
    tips.sort_unstable();
    tips.dedup();
    tips
}

/// `gitsign verify` with nothing saying whom to trust: the error naming the signers of the
/// tip(s) of `specs` and what to write to trust them (exit 2: nothing was decided).
pub fn untrusted(setup: &VerifySetup, repo: &Repo, specs: &[String]) -> CliError {
    let missing = "no identity options, no policy (--policy, git config gitsign.policy) and no policy anchor (--policy-anchor, git config gitsign.policyAnchor) say whom to trust";
    let usage = |msg: String| {
        CliError::new(Exit::Usage, anyhow::anyhow!(msg)).hint(
            "pass --certificate-identity (or -regexp) and --certificate-oidc-issuer (or -regexp), or a policy: gitsign policy init --from RANGE proposes one",
        )
    };
    let selection = match repo.select(specs) {
        Ok(s) => s,
        Err(_) => return usage(missing.to_owned()),
    };
    let tips = tips(&selection);
    let shared = repo.shared();
    let local = shared.to_thread_local();
    let any = Policy::default();
    let checker = Checker::new(setup, &any, Kept::In(&shared));
    let name = match tips.as_slice() {
        [_] => crate::git::refname::tip_of(specs),
        _ => None,
    };
    let mut found_all = Vec::new();
    let mut named = Vec::new();
    for id in tips.iter().take(MAX_TIPS) {
        let hex = id.to_hex().to_string();
        let short = hex.get(..12).unwrap_or(&hex).to_owned();
        // A revision that is the id itself is not repeated.
        let label = match name {
            Some(n) if !hex.starts_with(&n.to_ascii_lowercase()) => {
                format!("{} ({short})", escape(n))
            }
            _ => short,
        };
        let f = match crate::git::repo::raw_object(&local, *id) {
            Ok(raw) => {
                let batch = checker.check(&[Signed::Object {
                    raw: &raw,
                    kind: ObjectKind::Commit,
                    hash: repo.hash_kind(),
                }]);
                super::output::eprint_warnings(&batch.warnings);
                match batch.verified.first() {
                    Some(v) => found(v, &raw, repo.hash_kind()),
                    None => Found::NotVerified("no verdict".into()),
                }
            }
            Err(e) => Found::NotVerified(escape(&e.to_string()).into_owned()),
        };
        named.push(format!("{label} is {}", f.phrase()));
        found_all.push(f);
    }
    if tips.len() > MAX_TIPS {
        named.push(format!("{} more tips not checked", tips.len() - MAX_TIPS));
    }
    let what = if named.len() == 1 {
        "the tip"
    } else {
        "the tips"
    };
    let msg = format!("{missing}; {what}: {}", named.join("; "));
    // A policy committed at HEAD is trusted only from an anchor the user chooses: say so.
    let committed = commits_a_policy(&local).then_some(
        "  (HEAD commits .gitsign/policy.toml: to judge by it, trust it from a commit you checked: git config gitsign.policyAnchor COMMIT)\n",
    );
    let text = suggestion(&found_all);
    if text.is_empty() {
        return match committed {
            Some(c) => CliError::new(Exit::Usage, anyhow::anyhow!(msg)).hint(format!(
                "pass --certificate-identity (or -regexp) and --certificate-oidc-issuer (or -regexp), or a policy\n{}",
                c.trim_end()
            )),
            None => usage(msg),
        };
    }
    CliError::new(Exit::Usage, anyhow::anyhow!(msg)).hint(format!(
        "to trust {}, {text}{}  (gitsign policy init --from RANGE proposes a whole policy from a range's signers)",
        if found_all.len() == 1 { "this signer" } else { "these signers" },
        committed.unwrap_or_default(),
    ))
}

/// Whether HEAD's tree holds a committed policy (`.gitsign/policy.toml`).
fn commits_a_policy(repo: &gix::Repository) -> bool {
    let Ok(tree) = repo.head_tree() else {
        return false;
    };
    tree.lookup_entry_by_path(crate::policy::history::POLICY_PATH)
        .ok()
        .flatten()
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(san: &str, issuer: &str) -> Identity {
        Identity {
            sans: vec![san.into()],
            issuer: Some(issuer.into()),
            ..Identity::default()
        }
    }

    #[test]
    fn after_signing_names_the_signer_and_a_pastable_entry() {
        let text = after_signing(&identity(
            "alice@example.com",
            "https://accounts.google.com",
        ));
        assert_eq!(
            text,
            "gitsign: signer alice@example.com, issuer https://accounts.google.com; no policy is configured for this repository (gitsign.policy, gitsign.policyAnchor): to trust this signer, verify with\n\
             \x20   gitsign verify --certificate-identity 'alice@example.com' --certificate-oidc-issuer 'https://accounts.google.com'\n\
             \x20 or trust it in a policy (gitsign policy --help), with the entry:\n\
             \x20   [authority.signers]\n\
             \x20   sigstore = [{ identity = \"alice@example.com\", issuer = \"https://accounts.google.com\" }]\n"
        );
        let entry_lines: String = text
            .lines()
            .skip(3)
            .map(|l| format!("{}\n", l.trim_start()))
            .collect();
        let policy = format!(
            "{entry_lines}[[rule]]\nrefs = [\"refs/heads/main\"]\nauthorities = [\"signers\"]\n"
        );
        let parsed = crate::policy::PolicyFile::parse(&policy, "pasted", &crate::policy::NoFiles)
            .unwrap_or_else(|e| panic!("the entry pastes into a policy: {e}\n{policy}"));
        assert_eq!(parsed.authorities.len(), 1);
    }

    #[test]
    fn hostile_identities_are_shown_escaped_everywhere() {
        let text = after_signing(&identity(
            "x'\n[GNUPG:] GOODSIG\u{1b}[2K\u{202e}",
            "https://i\r",
        ));
        assert!(!text.contains('\u{1b}') && !text.contains('\r') && !text.contains('\u{202e}'));
        assert_eq!(
            text.lines().count(),
            5,
            "one line per line of the block, nothing injected: {text}"
        );
        assert!(
            !text.lines().any(|l| l.starts_with("[GNUPG:]")),
            "no status line can be forged: {text}"
        );
    }

    #[test]
    fn keys_and_several_pairs_become_one_authority() {
        let text = suggestion(&[
            Found::Sigstore {
                subject: "a@example.com".into(),
                pair: pair(&identity("a@example.com", "https://i")),
            },
            Found::Sigstore {
                subject: "b@example.com".into(),
                pair: pair(&identity("b@example.com", "https://i")),
            },
            Found::Openpgp {
                key: "ABCDEF0123456789".into(),
            },
            Found::Ssh {
                key: "SHA256:xyz".into(),
                principal: None,
                line: Some("dev@example.com namespaces=\"git\" ssh-ed25519 AAAA\u{1b}".into()),
            },
            Found::Unsigned,
        ]);
        assert!(
            !text.contains("gitsign verify"),
            "no one-pair command: {text}"
        );
        assert!(
            text.contains("      { identity = \"a@example.com\", issuer = \"https://i\" },\n"),
            "{text}"
        );
        assert!(
            text.contains("openpgp = [\"keys/ABCDEF0123456789.asc\"]"),
            "{text}"
        );
        assert!(text.contains("ssh = \"allowed_signers\""), "{text}");
        assert!(
            text.contains("    #   dev@example.com namespaces=\"git\" ssh-ed25519 AAAA\\x1b\n"),
            "the allowed signers line, escaped: {text}"
        );
        assert_eq!(
            suggestion(&[Found::Unsigned]),
            "",
            "nothing verified: nothing to suggest"
        );
    }
}
