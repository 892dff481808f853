//! A first policy proposed from the signers a history already has (`gitsign policy init
//! --from RANGE`): the verified Sigstore signers grouped into identity/issuer pairs, each
//! with how often and when it signed, written as a policy file for a person to review. Pure:
//! signers in, TOML text out; the text parses with [`super::PolicyFile::parse`] and admits
//! every signer it was made from.
//!
//! CI workflow identities name the ref they ran for (`…/release.yml@refs/tags/v1.2.0`), so a
//! release workflow has as many identities as releases: they are grouped under one anchored
//! `identity-regexp` on the workflow (`^…/release\.yml@`), keeping the issuer exact. Every
//! other identity (email addresses, SPIFFE and other URIs) stays exact. Values come from
//! certificates, so they are written as TOML basic strings with every quote, backslash and
//! control character escaped: a certificate cannot add keys to the proposal.

use std::collections::BTreeMap;

use super::SigstoreSigner;

/// How a proposed entry names its identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum IdentityPattern {
    Exact(String),
    /// An anchored regexp over a workflow identity without its `@ref`.
    Workflow {
        prefix: String,
    },
}

/// One identity/issuer pair seen in the range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub identity: IdentityPattern,
    pub issuer: String,
    /// Signatures by this pair.
    pub count: usize,
    /// Earliest and latest proven signing times among them.
    pub first: Option<i64>,
    pub last: Option<i64>,
}

/// The pattern for a subject: workflow identities (`https://…@refs/…`) by their workflow.
fn pattern(subject: &str) -> IdentityPattern {
    match subject.split_once("@refs/") {
        Some((prefix, _)) if subject.starts_with("https://") && !prefix.is_empty() => {
            IdentityPattern::Workflow {
                prefix: prefix.to_owned(),
            }
        }
        _ => IdentityPattern::Exact(subject.to_owned()),
    }
}

/// Group `signers` into identity/issuer pairs, most frequent first (then by identity).
pub fn group<'a>(signers: impl IntoIterator<Item = &'a SigstoreSigner>) -> Vec<Seen> {
    let mut by: BTreeMap<(IdentityPattern, String), Seen> = BTreeMap::new();
    for s in signers {
        let identity = pattern(s.identity.subject());
        let issuer = s.identity.issuer.clone().unwrap_or_default();
        let seen = by
            .entry((identity.clone(), issuer.clone()))
            .or_insert(Seen {
                identity,
                issuer,
                count: 0,
                first: None,
                last: None,
            });
        seen.count += 1;
        if let Some(t) = s.signing_time {
            seen.first = Some(seen.first.map_or(t, |f| f.min(t)));
            seen.last = Some(seen.last.map_or(t, |l| l.max(t)));
        }
    }
    let mut out: Vec<Seen> = by.into_values().collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.identity.cmp(&b.identity))
            .then_with(|| a.issuer.cmp(&b.issuer))
    });
    out
}

/// `s` as a TOML basic string, every character [`crate::text::escape`] would escape written
/// as a `\uXXXX` escape (they are all in the Basic Multilingual Plane).
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // Also what would reorder or hide text on a terminal (bidi overrides, zero-width
            // characters): the proposal is read by a person before it is trusted.
            c if crate::text::is_unsafe(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The anchored regexp a workflow pattern stands for: `^…/release\.yml@`.
fn workflow_regexp(prefix: &str) -> String {
    format!("^{}@", regex::escape(prefix))
}

/// The Sigstore entry admitting `s`'s pair, as a policy's `sigstore` list holds it:
/// `{ identity = "…", issuer = "…" }` (`identity-regexp` for a workflow).
pub fn entry(s: &Seen) -> String {
    let identity = match &s.identity {
        IdentityPattern::Exact(id) => format!("identity = {}", toml_string(id)),
        IdentityPattern::Workflow { prefix } => {
            format!(
                "identity-regexp = {}",
                toml_string(&workflow_regexp(prefix))
            )
        }
    };
    format!("{{ {identity}, issuer = {} }}", toml_string(&s.issuer))
}

/// The `gitsign verify` options admitting the same pair as [`entry`], as (option, value):
/// `--certificate-identity` (`--certificate-identity-regexp` for a workflow) and
/// `--certificate-oidc-issuer`. The values are raw: the caller quotes them for display.
pub fn verify_options(s: &Seen) -> [(&'static str, String); 2] {
    let identity = match &s.identity {
        IdentityPattern::Exact(id) => ("--certificate-identity", id.clone()),
        IdentityPattern::Workflow { prefix } => {
            ("--certificate-identity-regexp", workflow_regexp(prefix))
        }
    };
    [identity, ("--certificate-oidc-issuer", s.issuer.clone())]
}

/// The proposed policy: one authority `signers` holding every pair, and one rule giving
/// `refname` to it. `range` is named in the header comment (escaped like a value).
pub fn propose(seen: &[Seen], range: &str, refname: &str) -> String {
    let total: usize = seen.iter().map(|s| s.count).sum();
    let day = |t: Option<i64>| {
        t.map(|t| {
            crate::encoding::rfc3339(t)
                .chars()
                .take(10)
                .collect::<String>()
        })
        .unwrap_or_else(|| "unknown".into())
    };
    let mut out = format!(
        "# Proposed by gitsign policy init from {total} verified Sigstore signature(s) in {}:\n\
         # one entry per identity/issuer pair. Review every entry before trusting it.\n\n\
         [authority.signers]\nsigstore = [\n",
        toml_string(range)
    );
    for s in seen {
        out.push_str(&match (s.first, s.last) {
            (Some(_), Some(_)) => format!(
                "  # {} signature(s), {} to {}\n",
                s.count,
                day(s.first),
                day(s.last)
            ),
            _ => format!("  # {} signature(s), signing time not proven\n", s.count),
        });
        out.push_str(&format!("  {},\n", entry(s)));
    }
    out.push_str(&format!(
        "]\n\n[[rule]]\nrefs = [{}]\nauthorities = [\"signers\"]\n",
        toml_string(refname)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::judge::NoKeyFormats;
    use crate::policy::{NoFiles, PolicyFile, Signer};
    use crate::verify::policy::Identity;

    fn signer(san: &str, issuer: &str, t: i64) -> SigstoreSigner {
        SigstoreSigner {
            identity: Identity {
                sans: vec![san.into()],
                issuer: Some(issuer.into()),
                ..Identity::default()
            },
            signing_time: Some(t),
        }
    }

    const GOOGLE: &str = "https://accounts.google.com";
    const ACTIONS: &str = "https://token.actions.githubusercontent.com";
    const RELEASE: &str = "https://github.com/acme/app/.github/workflows/release.yml";

    fn history() -> Vec<SigstoreSigner> {
        vec![
            signer("alice@example.com", GOOGLE, 1_700_000_000),
            signer(
                &format!("{RELEASE}@refs/tags/v1.0.0"),
                ACTIONS,
                1_710_000_000,
            ),
            signer("alice@example.com", GOOGLE, 1_690_000_000),
            signer(
                &format!("{RELEASE}@refs/tags/v1.1.0"),
                ACTIONS,
                1_720_000_000,
            ),
            signer(
                &format!("{RELEASE}@refs/tags/v1.2.0"),
                ACTIONS,
                1_730_000_000,
            ),
            signer(
                "bob@example.com",
                "https://github.com/login/oauth",
                1_700_000_000,
            ),
            // The same address through another issuer is another pair.
            signer(
                "alice@example.com",
                "https://github.com/login/oauth",
                1_700_000_000,
            ),
        ]
    }

    #[test]
    fn signers_group_into_identity_issuer_pairs() {
        let seen = group(&history());
        let summary: Vec<(String, &str, usize)> = seen
            .iter()
            .map(|s| {
                let id = match &s.identity {
                    IdentityPattern::Exact(e) => e.clone(),
                    IdentityPattern::Workflow { prefix } => format!("{prefix}@*"),
                };
                (id, s.issuer.as_str(), s.count)
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (format!("{RELEASE}@*"), ACTIONS, 3),
                ("alice@example.com".into(), GOOGLE, 2),
                (
                    "alice@example.com".into(),
                    "https://github.com/login/oauth",
                    1
                ),
                (
                    "bob@example.com".into(),
                    "https://github.com/login/oauth",
                    1
                ),
            ],
            "most frequent first; a workflow's releases are one pair; issuers stay apart"
        );
        assert_eq!(
            (seen[1].first, seen[1].last),
            (Some(1_690_000_000), Some(1_700_000_000))
        );
    }

    #[test]
    fn the_proposal_parses_and_admits_exactly_its_signers() {
        let text = propose(&group(&history()), "main~100..main", "refs/heads/main");
        let p = PolicyFile::parse(&text, "proposal", &NoFiles)
            .unwrap_or_else(|e| panic!("the proposal parses: {e}\n{text}"));
        let rule = p.rule_for("refs/heads/main").expect("the rule");
        for s in history() {
            assert!(
                rule.admit(&Signer::Sigstore(s.clone()), &NoKeyFormats)
                    .is_ok(),
                "{:?} signed the range and is admitted",
                s.identity.sans
            );
        }
        for (san, issuer) in [
            ("bob@example.com", GOOGLE),
            (
                "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/evil",
                GOOGLE,
            ),
            (
                "https://github.com/acme/app/.github/workflows/release.ymlx@refs/tags/v2",
                ACTIONS,
            ),
            (
                "https://github.com/evil/app/.github/workflows/release.yml@refs/tags/v2",
                ACTIONS,
            ),
        ] {
            assert!(
                rule.admit(&Signer::Sigstore(signer(san, issuer, 0)), &NoKeyFormats)
                    .is_err(),
                "{san} with {issuer} did not sign the range"
            );
        }
        assert!(
            text.contains("# 3 signature(s), 2024-03-09 to 2024-10-27\n"),
            "{text}"
        );
        assert!(
            rule.admit(
                &Signer::Sigstore(signer(&format!("{RELEASE}@refs/tags/v9.0.0"), ACTIONS, 0)),
                &NoKeyFormats
            )
            .is_ok(),
            "a later release of the same workflow is admitted"
        );
    }

    #[test]
    fn one_entry_and_the_verify_options_admit_the_same_pair() {
        let seen = group(&[
            signer("alice@example.com", GOOGLE, 0),
            signer(&format!("{RELEASE}@refs/tags/v1.0.0"), ACTIONS, 0),
        ]);
        let text: Vec<String> = seen.iter().map(entry).collect();
        assert_eq!(
            text,
            vec![
                format!("{{ identity = \"alice@example.com\", issuer = \"{GOOGLE}\" }}"),
                format!("{{ identity-regexp = \"^https://github\\\\.com/acme/app/\\\\.github/workflows/release\\\\.yml@\", issuer = \"{ACTIONS}\" }}"),
            ],
            "a workflow by its anchored regexp, an address exactly"
        );
        assert_eq!(
            verify_options(&seen[0]),
            [
                ("--certificate-identity", "alice@example.com".to_owned()),
                ("--certificate-oidc-issuer", GOOGLE.to_owned())
            ]
        );
        assert_eq!(
            verify_options(&seen[1])[0],
            (
                "--certificate-identity-regexp",
                "^https://github\\.com/acme/app/\\.github/workflows/release\\.yml@".to_owned()
            )
        );
        let spoof = entry(&group(&[signer("eve\u{202e}moc.elpmaxe@", GOOGLE, 0)])[0]);
        assert!(
            spoof.contains("eve\\u202Emoc"),
            "a bidi override is written as an escape, not shown: {spoof}"
        );
    }

    #[test]
    fn hostile_identities_cannot_add_keys() {
        let evil =
            "x\" }, { identity-regexp = \".*\", issuer-regexp = \".*\" }]\n[authority.y]\n\\\u{7}";
        let text = propose(
            &group(&[signer(evil, GOOGLE, 0)]),
            "a\"\nb",
            "refs/heads/main",
        );
        let p = PolicyFile::parse(&text, "proposal", &NoFiles)
            .unwrap_or_else(|e| panic!("the proposal parses: {e}\n{text}"));
        assert_eq!(p.authorities.len(), 1, "no authority was injected");
        let entries = &p.authorities[0].sigstore;
        assert_eq!(entries.len(), 1);
        let rule = &p.rules[0];
        assert!(
            rule.admit(&Signer::Sigstore(signer(evil, GOOGLE, 0)), &NoKeyFormats)
                .is_ok(),
            "the identity round-trips exactly"
        );
        assert!(rule
            .admit(
                &Signer::Sigstore(signer("anyone", "anywhere", 0)),
                &NoKeyFormats
            )
            .is_err());
    }
}
