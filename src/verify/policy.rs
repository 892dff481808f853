//! Identity policy: who must have signed, as cosign and Go gitsign express it.
//!
//! `--certificate-identity` / `-regexp` match any subject alternative name (email, URI, …);
//! `--certificate-oidc-issuer` / `-regexp` match Fulcio's issuer extension (1.3.6.1.4.1.57264.1.8,
//! or the deprecated 1.1); the GitHub workflow flags match extensions 1.3.6.1.4.1.57264.1.2–1.6.
//! Regexps are anchored only where the user anchors them, as in cosign (Go `regexp.MatchString`),
//! and written in Go's RE2 syntax ([`Re2`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use regex::Regex;

use crate::oid;
use crate::x509::fulcio::FulcioExtension;
use crate::x509::Cert;

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
    /// Every Fulcio extension the certificate carries (the v1 claims above included), for
    /// policies that constrain them ([`crate::policy`]).
    #[serde(skip)]
    pub extensions: BTreeMap<FulcioExtension, String>,
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
            github_workflow_trigger: cert
                .raw_string_extension(&oid::FULCIO_GITHUB_WORKFLOW_TRIGGER),
            github_workflow_sha: cert.raw_string_extension(&oid::FULCIO_GITHUB_WORKFLOW_SHA),
            github_workflow_name: cert.raw_string_extension(&oid::FULCIO_GITHUB_WORKFLOW_NAME),
            github_workflow_repository: cert
                .raw_string_extension(&oid::FULCIO_GITHUB_WORKFLOW_REPOSITORY),
            github_workflow_ref: cert.raw_string_extension(&oid::FULCIO_GITHUB_WORKFLOW_REF),
            extensions: cert.fulcio_extensions(),
        }
    }

    /// The first SAN, which is the signer for every Fulcio certificate.
    pub fn subject(&self) -> &str {
        self.sans.first().map(String::as_str).unwrap_or("")
    }
}

/// A regular expression in Go's RE2 syntax, compiled with the `regex` crate.
///
/// The two agree on nearly everything (`(?i)` with Unicode case folding, `\pL`, `\p{Ll}`,
/// `\p{Greek}`, `[[:alpha:]]`, `(?P<n>…)`, `(?s)`, `\A`, `\z`). Where they differ, the
/// pattern is rewritten to RE2's meaning before compiling: `\Q…\E` quotes literally (the
/// crate has no such syntax), and `\d \w \s \b` (with their negations) are ASCII-only as in
/// RE2, where the crate would make them Unicode-aware.
#[derive(Debug)]
pub struct Re2 {
    source: String,
    compiled: Regex,
    /// Values already matched, with the answer: a range names a few signers thousands of
    /// times, and a look-up here costs a tenth of running the regex (bounded, cleared when
    /// full).
    answers: Mutex<HashMap<String, bool>>,
}

/// At most this many answers are kept per expression.
const ANSWERS_CAPACITY: usize = 1024;

impl Clone for Re2 {
    fn clone(&self) -> Re2 {
        Re2 {
            source: self.source.clone(),
            compiled: self.compiled.clone(),
            answers: Mutex::default(),
        }
    }
}

impl Re2 {
    pub fn new(pattern: &str) -> Result<Re2, regex::Error> {
        Ok(Re2 {
            compiled: Regex::new(&re2_to_rust(pattern))?,
            source: pattern.to_owned(),
            answers: Mutex::default(),
        })
    }

    pub fn is_match(&self, value: &str) -> bool {
        if let Some(known) = self.answers.lock().ok().and_then(|a| a.get(value).copied()) {
            return known;
        }
        let matched = self.compiled.is_match(value);
        if let Ok(mut answers) = self.answers.lock() {
            if answers.len() >= ANSWERS_CAPACITY {
                answers.clear();
            }
            answers.insert(value.to_owned(), matched);
        }
        matched
    }

    /// The pattern as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// Rewrite an RE2 pattern into the `regex` crate's syntax with the same meaning (see [`Re2`]).
fn re2_to_rust(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    // Inside `[...]`: `None` outside a class, else the characters seen since its `[` (so a
    // `]` right after `[` or `[^` is a literal, as in RE2).
    let mut class: Option<usize> = None;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    out.push('\\'); // a trailing backslash: let the compiler report it
                    break;
                };
                let inside = class.is_some();
                match next {
                    'Q' => {
                        let mut literal = String::new();
                        while let Some(q) = chars.next() {
                            if q == '\\' && chars.peek() == Some(&'E') {
                                chars.next();
                                break;
                            }
                            literal.push(q);
                        }
                        if inside {
                            for l in literal.chars() {
                                out.push_str(&regex::escape(&l.to_string()));
                            }
                        } else {
                            out.push_str(&regex::escape(&literal));
                        }
                    }
                    'd' | 'D' | 'w' | 'W' | 's' | 'S' => {
                        let set = match next.to_ascii_lowercase() {
                            'd' => "0-9",
                            'w' => "0-9A-Za-z_",
                            _ => "\\t\\n\\x0C\\r ",
                        };
                        let negated = next.is_ascii_uppercase();
                        match (inside, negated) {
                            (false, false) => out.push_str(&format!("[{set}]")),
                            (false, true) => out.push_str(&format!("[^{set}]")),
                            (true, false) => out.push_str(set),
                            // A negated class inside a class: the crate's nested class.
                            (true, true) => out.push_str(&format!("[^{set}]")),
                        }
                    }
                    'b' | 'B' if !inside => out.push_str(&format!("(?-u:\\{next})")),
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
                if let Some(n) = class.as_mut() {
                    *n += 2;
                }
            }
            '[' if class.is_none() => {
                out.push('[');
                class = Some(0);
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
                if chars.peek() == Some(&']') {
                    chars.next();
                    out.push_str("\\]");
                    class = Some(1);
                }
            }
            '[' if chars.peek() == Some(&':') => {
                // `[:alpha:]` inside a class: copy through its closing `:]`.
                out.push('[');
                let mut prev = '[';
                for n in chars.by_ref() {
                    out.push(n);
                    if prev == ':' && n == ']' {
                        break;
                    }
                    prev = n;
                }
                if let Some(n) = class.as_mut() {
                    *n += 1;
                }
            }
            '[' => {
                // A literal `[` inside a class (RE2); the crate would read a nested class.
                out.push_str("\\[");
                if let Some(n) = class.as_mut() {
                    *n += 1;
                }
            }
            ']' if class.is_some() => {
                out.push(']');
                class = None;
            }
            // The crate reads `&&`, `--` and `~~` inside a class as set operations; RE2 as
            // literals.
            '&' | '-' | '~' if class.is_some() && chars.peek() == Some(&c) => {
                chars.next();
                out.push_str(&format!("\\{c}\\{c}"));
                if let Some(n) = class.as_mut() {
                    *n += 2;
                }
            }
            other => {
                out.push(other);
                if let Some(n) = class.as_mut() {
                    *n += 1;
                }
            }
        }
    }
    out
}

/// Exact string, regular expression, or any of several (a policy file rule listing
/// `identities` and `identity-regexps` together).
#[derive(Debug, Clone)]
pub enum Matcher {
    Exact(String),
    Regex(Re2),
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
    /// A policy file's rule: none of its authorities admits the signer ([`crate::policy`]).
    #[error("the signer {signer} is not admitted by any authority of the rule ({authorities})")]
    NotAdmitted { signer: String, authorities: String },
    /// A policy file's rule: an authority admits the signer, but not at the time it signed.
    #[error("the signer {signer} is admitted by authority '{authority}' only {validity}, and signed {at}")]
    OutsideValidity {
        signer: String,
        authority: String,
        validity: String,
        at: String,
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
                Re2::new(r"^https://accounts\.google\.com$").expect("re"),
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
            issuer: Some(Matcher::Regex(Re2::new("google").expect("re"))),
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
                Matcher::Regex(Re2::new(r"^alice@").expect("re")),
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

    /// Issue 13: what Go's regexp package accepts, with Go's answers (checked with Go 1.22's
    /// `regexp.MatchString`, the function cosign and Go gitsign call).
    #[test]
    fn go_re2_regexps_compile_and_match_as_in_go() {
        let cases: &[(&str, &str, bool)] = &[
            (r"(?i)BILLY@chainguard\.dev", "billy@chainguard.dev", true),
            (r"(?i)straße", "STRASSE", false),
            (r"(?i)σ", "Σ", true),
            (r"^\pL+@", "élodie@example.com", true),
            (r"^\p{Ll}+$", "abcé", true),
            (r"^\p{Ll}+$", "Abc", false),
            (r"\p{Greek}", "αβ", true),
            (r"^[[:alpha:]]+$", "abc", true),
            (r"^\d+$", "١٢٣", false),
            (r"^\d+$", "123", true),
            (r"^\w+$", "é", false),
            (r"^[\w.]+@", "a.b@x", true),
            (r"^\s$", "\u{2003}", false),
            (r"\bfoo\b", "éfooé", true),
            (r"^\Qa.b*c\E$", "a.b*c", true),
            (r"^\Qa.b*c\E$", "aXbbc", false),
            (r"^[a-c&&b]+$", "a&&b", true),
            (r"^[[]+$", "[[", true),
            (r"^[]a]+$", "]a", true),
            (r"(?P<user>[^@]+)@example\.com$", "x@example.com", true),
            (r"(?s)a.b", "a\nb", true),
        ];
        for (pattern, value, want) in cases {
            let re = Re2::new(pattern).unwrap_or_else(|e| panic!("Go accepts {pattern}: {e}"));
            assert_eq!(
                re.is_match(value),
                *want,
                "{pattern} against {value:?} answers as Go's regexp does"
            );
            assert_eq!(re.as_str(), *pattern, "the pattern is shown as written");
        }
        assert!(Re2::new(r"a(b").is_err(), "an unbalanced group is refused");
        assert!(Re2::new("a\\").is_err(), "a trailing backslash is refused");
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
