//! Identity policy: who must have signed, as cosign and Go gitsign express it.
//!
//! `--certificate-identity` / `-regexp` match any subject alternative name (email, URI, …);
//! `--certificate-oidc-issuer` / `-regexp` match Fulcio's issuer extension (1.3.6.1.4.1.57264.1.8,
//! or the deprecated 1.1); the GitHub workflow flags match extensions 1.3.6.1.4.1.57264.1.2–1.6.
//! Regexps are anchored only where the user anchors them, as in cosign (Go `regexp.MatchString`).

use const_oid::ObjectIdentifier;
use regex::Regex;

use crate::verify::cert::Cert;

/// What the certificate says about its subject.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    /// Subject alternative names, in certificate order.
    pub sans: Vec<String>,
    pub issuer: Option<String>,
    pub github_workflow_trigger: Option<String>,
    pub github_workflow_sha: Option<String>,
    pub github_workflow_name: Option<String>,
    pub github_workflow_repository: Option<String>,
    pub github_workflow_ref: Option<String>,
}

const fn fulcio(n: u32) -> ObjectIdentifier {
    match n {
        2 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.2"),
        3 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.3"),
        4 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.4"),
        5 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.5"),
        _ => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.6"),
    }
}

impl Identity {
    pub fn from_cert(cert: &Cert) -> Identity {
        Identity {
            sans: cert
                .subject_alt_names()
                .into_iter()
                .map(|(_, v)| v)
                .collect(),
            issuer: cert.oidc_issuer(),
            github_workflow_trigger: cert.raw_string_extension(&fulcio(2)),
            github_workflow_sha: cert.raw_string_extension(&fulcio(3)),
            github_workflow_name: cert.raw_string_extension(&fulcio(4)),
            github_workflow_repository: cert.raw_string_extension(&fulcio(5)),
            github_workflow_ref: cert.raw_string_extension(&fulcio(6)),
        }
    }

    /// The first SAN, which is the signer for every Fulcio certificate.
    pub fn subject(&self) -> &str {
        self.sans.first().map(String::as_str).unwrap_or("")
    }
}

/// Exact string, regular expression, or any of several (a policy file rule listing
/// `identities` and `identity-regexps` together).
#[derive(Debug, Clone)]
pub enum Matcher {
    Exact(String),
    Regex(Regex),
    AnyOf(Vec<Matcher>),
}

impl Matcher {
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(s) => s == value,
            Matcher::Regex(r) => r.is_match(value),
            Matcher::AnyOf(ms) => ms.iter().any(|m| m.matches(value)),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Matcher::Exact(s) => write!(f, "'{s}'"),
            Matcher::Regex(r) => write!(f, "/{}/", r.as_str()),
            Matcher::AnyOf(ms) if ms.len() == 1 => write!(f, "{}", ms[0]),
            Matcher::AnyOf(ms) => {
                f.write_str("any of ")?;
                for (i, m) in ms.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{m}")?;
                }
                Ok(())
            }
        }
    }
}

/// A required identity; every field present must match.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub identity: Option<Matcher>,
    pub issuer: Option<Matcher>,
    pub github_workflow_trigger: Option<String>,
    pub github_workflow_sha: Option<String>,
    pub github_workflow_name: Option<String>,
    pub github_workflow_repository: Option<String>,
    pub github_workflow_ref: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum PolicyError {
    #[error("identity mismatch: certificate names {got}, policy wants {want}")]
    IdentityMismatch { got: String, want: String },
    #[error("issuer mismatch: certificate was issued for '{got}', policy wants {want}")]
    IssuerMismatch { got: String, want: String },
    #[error("{field} mismatch: certificate says '{got}', policy wants '{want}'")]
    ExtensionMismatch {
        field: &'static str,
        got: String,
        want: String,
    },
}

impl Policy {
    /// Check `id` against every constraint of the policy.
    pub fn check(&self, id: &Identity) -> Result<(), PolicyError> {
        if let Some(m) = &self.identity {
            if !id.sans.iter().any(|s| m.matches(s)) {
                return Err(PolicyError::IdentityMismatch {
                    got: if id.sans.is_empty() {
                        "no identity".into()
                    } else {
                        id.sans
                            .iter()
                            .map(|s| format!("'{s}'"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                    want: m.to_string(),
                });
            }
        }
        if let Some(m) = &self.issuer {
            let got = id.issuer.clone().unwrap_or_default();
            if !m.matches(&got) {
                return Err(PolicyError::IssuerMismatch {
                    got,
                    want: m.to_string(),
                });
            }
        }
        let fields = [
            (
                "github workflow trigger",
                &self.github_workflow_trigger,
                &id.github_workflow_trigger,
            ),
            (
                "github workflow sha",
                &self.github_workflow_sha,
                &id.github_workflow_sha,
            ),
            (
                "github workflow name",
                &self.github_workflow_name,
                &id.github_workflow_name,
            ),
            (
                "github workflow repository",
                &self.github_workflow_repository,
                &id.github_workflow_repository,
            ),
            (
                "github workflow ref",
                &self.github_workflow_ref,
                &id.github_workflow_ref,
            ),
        ];
        for (field, want, got) in fields {
            if let Some(want) = want {
                let got = got.clone().unwrap_or_default();
                if &got != want {
                    return Err(PolicyError::ExtensionMismatch {
                        field,
                        got,
                        want: want.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.identity.is_none()
            && self.issuer.is_none()
            && self.github_workflow_trigger.is_none()
            && self.github_workflow_sha.is_none()
            && self.github_workflow_name.is_none()
            && self.github_workflow_repository.is_none()
            && self.github_workflow_ref.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Identity {
        Identity {
            sans: vec!["alice@example.com".into()],
            issuer: Some("https://accounts.google.com".into()),
            ..Identity::default()
        }
    }

    #[test]
    fn exact_and_regex_identities() {
        let p = Policy {
            identity: Some(Matcher::Exact("alice@example.com".into())),
            issuer: Some(Matcher::Regex(
                Regex::new(r"^https://accounts\.google\.com$").expect("re"),
            )),
            ..Policy::default()
        };
        assert_eq!(p.check(&id()), Ok(()), "the signer and issuer match");
        let wrong = Policy {
            identity: Some(Matcher::Exact("bob@example.com".into())),
            ..Policy::default()
        };
        assert!(
            matches!(
                wrong.check(&id()),
                Err(PolicyError::IdentityMismatch { .. })
            ),
            "another identity is refused"
        );
        let unanchored = Policy {
            issuer: Some(Matcher::Regex(Regex::new("google").expect("re"))),
            ..Policy::default()
        };
        assert_eq!(
            unanchored.check(&id()),
            Ok(()),
            "unanchored regexps match substrings like Go's"
        );
    }

    #[test]
    fn any_of_matches_when_one_member_matches() {
        let p = Policy {
            identity: Some(Matcher::AnyOf(vec![
                Matcher::Exact("bob@example.com".into()),
                Matcher::Regex(Regex::new(r"^alice@").expect("re")),
            ])),
            ..Policy::default()
        };
        assert_eq!(p.check(&id()), Ok(()), "the regexp member matches alice");
        let none = Policy {
            identity: Some(Matcher::AnyOf(vec![
                Matcher::Exact("bob@example.com".into()),
                Matcher::Exact("carol@example.com".into()),
            ])),
            ..Policy::default()
        };
        match none.check(&id()) {
            Err(PolicyError::IdentityMismatch { want, .. }) => assert_eq!(
                want, "any of 'bob@example.com', 'carol@example.com'",
                "the refusal lists every accepted identity"
            ),
            other => panic!("no member matches, so the check must fail: {other:?}"),
        }
        assert!(
            !Matcher::AnyOf(Vec::new()).matches("alice@example.com"),
            "an empty any-of matches nothing"
        );
    }

    #[test]
    fn workflow_extensions_must_be_present_to_match() {
        let p = Policy {
            github_workflow_repository: Some("sigstore/gitsign".into()),
            ..Policy::default()
        };
        assert!(
            matches!(p.check(&id()), Err(PolicyError::ExtensionMismatch { .. })),
            "a certificate without the extension does not satisfy it"
        );
    }
}
