//! The policy file of `gitsign hook`, as the hook judges it: each rule with its authorities.
//! The language and its parse are [`crate::policy`] (one parser: a hook file is a policy
//! file, and the hook's files from before authorities keep their meaning there); what the keys
//! mean for a push is written once, in [`super::POLICY_HELP`] (`gitsign hook --help`); how a
//! rule judges a verified object is [`super::judge`], through [`crate::policy::judge`].
//!
//! Unknown keys are errors, so a misspelt `identites` cannot silently drop a constraint. Each
//! rule needs at least one authority (or identity and issuer constraints), like `gitsign
//! verify`: "any signer at all" is not a policy. Regexps are RE2 syntax, unanchored unless
//! anchored (as in cosign and `gitsign verify`).

use std::path::Path;

pub use crate::policy::{Cutoff, DefaultAction, Deletions, RefGlob, Rule, Transparency};
use crate::policy::{Directory, FileSource, NoFiles};

/// A parsed, validated policy file.
#[derive(Debug, Clone)]
pub struct PolicyFile {
    pub default: DefaultAction,
    pub rules: Vec<Rule>,
}

/// A problem in the file, located for the person who has to fix it.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("line {line}, column {column}: {message}")]
pub struct PolicyFileError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl From<crate::policy::ParseError> for PolicyFileError {
    fn from(e: crate::policy::ParseError) -> PolicyFileError {
        PolicyFileError {
            line: e.line,
            column: e.column,
            message: e.message,
        }
    }
}

impl PolicyFile {
    /// Parse and validate a policy that names no key files; every error carries the line and
    /// column it is about.
    pub fn parse(text: &str) -> Result<PolicyFile, PolicyFileError> {
        Self::parse_with(text, &NoFiles)
    }

    /// Parse and validate the policy at `path`, its key files read beside it.
    pub fn parse_at(text: &str, path: &Path) -> Result<PolicyFile, PolicyFileError> {
        Self::parse_with(text, &Directory::of(path))
    }

    fn parse_with(text: &str, files: &dyn FileSource) -> Result<PolicyFile, PolicyFileError> {
        let file = crate::policy::PolicyFile::parse(text, "policy", files)?;
        Ok(PolicyFile {
            default: file.default,
            rules: file.rules,
        })
    }

    /// The rule governing `refname`: the first whose globs match.
    pub fn rule_for(&self, refname: &str) -> Option<&Rule> {
        self.rule_index_for(refname).and_then(|i| self.rules.get(i))
    }

    /// The position of [`Self::rule_for`]'s rule in `rules`: two refs are governed by the same
    /// rule when these are equal.
    pub fn rule_index_for(&self, refname: &str) -> Option<usize> {
        self.rules
            .iter()
            .position(|r| r.refs.iter().any(|g| g.matches(refname)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
default = "reject"
[[rule]]
refs = ["refs/heads/main", "refs/tags/*"]
identities = ["alice@example.com"]
identity-regexps = ['^.*@example\.com$']
issuers = ["https://accounts.google.com"]
issuer-regexps = []
transparency = "embedded"
unsigned-before = "2024-01-01T00:00:00Z"

[[rule]]
refs = ["refs/heads/*"]
identity-regexps = ['.*']
issuer-regexps = ['.*']
unsigned-before = "30e099f11647d8f47f25382a730f909e4a1911fd"
deletions = "reject"
"#;

    fn err(text: &str) -> PolicyFileError {
        PolicyFile::parse(text).expect_err("the policy must be refused")
    }

    #[test]
    fn parses_the_documented_shape() {
        let p = PolicyFile::parse(FULL).expect("the documented example parses");
        assert_eq!(p.default, DefaultAction::Reject);
        assert_eq!(p.rules.len(), 2, "two rules");
        let main = p.rule_for("refs/heads/main").expect("main has a rule");
        assert_eq!(
            main.line, 4,
            "the rule is named by the line of its refs key"
        );
        assert_eq!(main.transparency, Transparency::Embedded);
        assert_eq!(main.unsigned_before, Some(Cutoff::Time(1_704_067_200)));
        assert_eq!(
            main.deletions,
            Deletions::Allow,
            "deletions default to allow"
        );
        assert_eq!(
            main.authorities.len(),
            1,
            "the rule's identities are one authority"
        );
        let id = &main.authorities[0].sigstore[0].identity;
        assert!(id.matches("alice@example.com") && id.matches("bob@example.com"));
        assert!(
            !id.matches("mallory@evil.example"),
            "neither member matches"
        );
        let dev = p
            .rule_for("refs/heads/dev")
            .expect("the second rule catches other branches");
        assert_eq!(dev.line, 13);
        assert_eq!(
            dev.transparency,
            Transparency::Any,
            "transparency defaults to any"
        );
        assert_eq!(
            dev.unsigned_before,
            Some(Cutoff::Commit(
                "30e099f11647d8f47f25382a730f909e4a1911fd".into()
            ))
        );
        assert_eq!(dev.deletions, Deletions::Reject);
        assert_eq!(
            p.rule_for("refs/tags/v1.0").map(|r| r.line),
            Some(4),
            "the first matching rule wins"
        );
        assert!(
            p.rule_for("refs/notes/commits").is_none(),
            "no rule matches notes"
        );
    }

    #[test]
    fn default_is_reject_when_omitted_and_toml_datetimes_are_accepted() {
        let p = PolicyFile::parse(
            "[[rule]]\nrefs = ['refs/*']\nidentities = ['a']\nissuers = ['b']\nunsigned-before = 2024-01-01T00:00:00+01:00\n",
        )
        .expect("parses");
        assert_eq!(p.default, DefaultAction::Reject, "fail closed");
        assert_eq!(
            p.rules[0].unsigned_before,
            Some(Cutoff::Time(1_704_063_600))
        );
        assert!(
            PolicyFile::parse("").is_ok(),
            "an empty file rejects everything"
        );
    }

    #[test]
    fn errors_name_line_and_problem() {
        let e = err("default = \"maybe\"\n");
        assert_eq!((e.line, e.column), (1, 11));
        assert_eq!(
            e.message,
            "invalid default \"maybe\": expected \"reject\" or \"allow\""
        );

        let e = err(
            "default = \"allow\"\n[[rule]]\nrefs = ['refs/heads/main']\nidentites = ['alice']\n",
        );
        assert_eq!(e.line, 4, "an unknown key is an error at its line: {e}");
        assert!(e.message.contains("unknown field `identites`"), "{e}");

        let e = err("[[rule]]\nrefs = ['refs/heads/main']\nissuers = ['x']\n");
        assert_eq!(e.line, 2);
        assert!(e.message.starts_with("rule has no identity"), "{e}");

        let e = err(
            "[[rule]]\nrefs = ['refs/heads/main']\nidentities = ['a']\nissuer-regexps = ['(']\n",
        );
        assert_eq!(e.line, 4);
        assert!(
            e.message
                .starts_with("invalid regular expression in issuer-regexps"),
            "{e}"
        );

        let e = err("[[rule]]\nrefs = ['main']\nidentities = ['a']\nissuers = ['b']\n");
        assert!(e.message.contains("does not start with refs/"), "{e}");

        let e = err("[[rule]]\nrefs = ['refs/x']\nidentities = ['a']\nissuers = ['b']\nunsigned-before = 'last tuesday'\n");
        assert_eq!(e.line, 5);
        assert!(
            e.message
                .starts_with("invalid unsigned-before \"last tuesday\""),
            "{e}"
        );

        let e = err("[[rule]]\nrefs = ['refs/x']\nidentities = ['a']\nissuers = ['b']\ntransparency = 'offline'\n");
        assert_eq!(e.line, 5);
        assert!(
            e.message.contains("\"embedded\" or \"online\" or \"any\""),
            "{e}"
        );

        let e = err("default = \"reject\"\n[[rule]\n");
        assert_eq!(e.line, 2, "a TOML syntax error keeps its line: {e}");
        assert!(
            !e.message.contains('\n'),
            "one line for the remote: prefix: {e}"
        );

        let e = err("[[rule]]\nidentities = ['a']\nissuers = ['b']\n");
        assert!(e.message.contains("missing field `refs`"), "{e}");
    }

    #[test]
    fn hostile_input_does_not_panic() {
        for text in [
            "\u{0}",
            "[[rule]]\nrefs = [1]\n",
            "rule = 3",
            "default = [\n",
            "[[rule]]\nrefs=['refs/a']\nidentities=['a']\nissuers=['b']\nunsigned-before=[]\n",
            "é = 'x'",
        ] {
            let _ = PolicyFile::parse(text);
        }
        assert_eq!(
            crate::policy::parse::locate("ab\ncd", 99),
            (2, 3),
            "offsets past the end clamp"
        );
    }
}
