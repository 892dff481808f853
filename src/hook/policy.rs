//! The policy file of `gitsign hook`: its types, the TOML parse with line and column for
//! every error (a bad file refuses the push, naming where: fail closed), and [`RefGlob`].
//! What the keys mean is written once, in [`super::POLICY_HELP`] (`gitsign hook --help`);
//! how a rule judges a verified object is [`super::judge`].
//!
//! Unknown keys are errors, so a misspelt `identites` cannot silently drop a constraint. Each
//! rule needs at least one identity and one issuer constraint, like `gitsign verify`: "any
//! signer at all" is not a policy. Regexps are RE2 syntax, unanchored unless anchored (as in
//! cosign and `gitsign verify`).

use serde::Deserialize;
use toml::Spanned;

use crate::verify::policy::{Matcher, Policy, Re2};

/// What happens to refs no rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultAction {
    Reject,
    Allow,
}

/// Which proofs of the signing time (and of transparency) a rule accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transparency {
    /// A Rekor entry embedded in the signature, verified offline.
    Embedded,
    /// Embedded, or an entry found by an online Rekor lookup.
    Online,
    /// Anything `Online` accepts, or an RFC 3161 timestamp.
    Any,
}

impl std::fmt::Display for Transparency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transparency::Embedded => "embedded",
            Transparency::Online => "online",
            Transparency::Any => "any",
        })
    }
}

/// Whether refs a rule matches may be deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletions {
    Allow,
    Reject,
}

/// History the rule accepts without signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cutoff {
    /// Committer dates strictly before this Unix time.
    Time(i64),
    /// This commit and its ancestors (full lowercase hex id).
    Commit(String),
}

/// A glob over ref names: `*` matches any run of characters (including `/`, as in git
/// refspecs), `?` exactly one; everything else is literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefGlob(String);

impl RefGlob {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, name: &str) -> bool {
        glob_match(self.0.as_bytes(), name.as_bytes())
    }
}

/// Iterative wildcard match with one backtrack point: O(len(pattern) * len(name)) at worst.
fn glob_match(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pat.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// One `[[rule]]`.
#[derive(Debug, Clone)]
pub struct Rule {
    /// 1-based line of the rule's `refs` key, to name the rule in messages.
    pub line: usize,
    pub refs: Vec<RefGlob>,
    /// Identity and issuer constraints (any-of within each).
    pub policy: Policy,
    pub transparency: Transparency,
    pub unsigned_before: Option<Cutoff>,
    pub deletions: Deletions,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    default: Option<Spanned<String>>,
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRule {
    refs: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    identities: Vec<Spanned<String>>,
    #[serde(default)]
    identity_regexps: Vec<Spanned<String>>,
    #[serde(default)]
    issuers: Vec<Spanned<String>>,
    #[serde(default)]
    issuer_regexps: Vec<Spanned<String>>,
    transparency: Option<Spanned<String>>,
    unsigned_before: Option<Spanned<toml::Value>>,
    deletions: Option<Spanned<String>>,
}

/// 1-based line and column of a byte offset.
fn locate(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.as_bytes().get(..offset).unwrap_or(b"");
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    (line, offset - line_start + 1)
}

struct Ctx<'a> {
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> PolicyFileError {
        let (line, column) = locate(self.text, span.start);
        PolicyFileError {
            line,
            column,
            message: message.into(),
        }
    }

    fn choice<T: Copy>(
        &self,
        value: &Option<Spanned<String>>,
        key: &str,
        choices: &[(&str, T)],
        default: T,
    ) -> Result<T, PolicyFileError> {
        let Some(v) = value else { return Ok(default) };
        choices
            .iter()
            .find(|(name, _)| *name == v.get_ref())
            .map(|&(_, t)| t)
            .ok_or_else(|| {
                let names: Vec<String> = choices.iter().map(|(n, _)| format!("\"{n}\"")).collect();
                self.err(
                    v.span(),
                    format!(
                        "invalid {key} \"{}\": expected {}",
                        v.get_ref(),
                        names.join(" or ")
                    ),
                )
            })
    }

    fn regexes(
        &self,
        values: &[Spanned<String>],
        key: &str,
    ) -> Result<Vec<Matcher>, PolicyFileError> {
        values
            .iter()
            .map(|v| {
                Re2::new(v.get_ref()).map(Matcher::Regex).map_err(|e| {
                    let first = e.to_string();
                    let first = first.lines().last().unwrap_or("").trim().to_owned();
                    self.err(
                        v.span(),
                        format!("invalid regular expression in {key}: {first}"),
                    )
                })
            })
            .collect()
    }

    /// `identities` + `identity-regexps` as one any-of matcher; both empty is an error.
    fn matcher(
        &self,
        exact: &[Spanned<String>],
        regexps: &[Spanned<String>],
        what: &str,
        rule_span: std::ops::Range<usize>,
    ) -> Result<Matcher, PolicyFileError> {
        let mut all: Vec<Matcher> = exact
            .iter()
            .map(|s| Matcher::Exact(s.get_ref().clone()))
            .collect();
        all.extend(self.regexes(regexps, &format!("{what}-regexps"))?);
        if all.is_empty() {
            return Err(self.err(
                rule_span,
                format!(
                    "rule has no {what}: set {plural} or {what}-regexps (use ['.*'] to accept any {what} explicitly)",
                    plural = if what == "identity" { "identities" } else { "issuers" }
                ),
            ));
        }
        Ok(Matcher::AnyOf(all))
    }

    fn cutoff(&self, v: &Spanned<toml::Value>) -> Result<Cutoff, PolicyFileError> {
        let text = match v.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Datetime(d) => d.to_string(),
            _ => {
                return Err(self.err(
                    v.span(),
                    "unsigned-before must be an RFC 3339 time or a full commit id",
                ))
            }
        };
        let t = text.trim();
        let is_hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
        if (t.len() == 40 || t.len() == 64) && is_hex(t) {
            return Ok(Cutoff::Commit(t.to_ascii_lowercase()));
        }
        match chrono::DateTime::parse_from_rfc3339(t) {
            Ok(d) => Ok(Cutoff::Time(d.timestamp())),
            Err(e) => Err(self.err(
                v.span(),
                format!(
                    "invalid unsigned-before \"{t}\": not a full commit id (40 or 64 hex digits) nor an RFC 3339 time ({e}), e.g. \"2024-01-01T00:00:00Z\""
                ),
            )),
        }
    }

    fn rule(&self, raw: &RawRule) -> Result<Rule, PolicyFileError> {
        let rule_span = raw.refs.span();
        if raw.refs.get_ref().is_empty() {
            return Err(self.err(
                rule_span,
                "refs is empty: list the refs this rule governs, e.g. [\"refs/heads/main\"]",
            ));
        }
        let mut refs = Vec::new();
        for g in raw.refs.get_ref() {
            if !g.get_ref().starts_with("refs/") {
                return Err(self.err(
                    g.span(),
                    format!(
                        "ref glob \"{}\" does not start with refs/ (write full ref names, e.g. \"refs/heads/main\", \"refs/tags/*\")",
                        g.get_ref()
                    ),
                ));
            }
            refs.push(RefGlob(g.get_ref().clone()));
        }
        let identity = self.matcher(
            &raw.identities,
            &raw.identity_regexps,
            "identity",
            rule_span.clone(),
        )?;
        let issuer = self.matcher(
            &raw.issuers,
            &raw.issuer_regexps,
            "issuer",
            rule_span.clone(),
        )?;
        let transparency = self.choice(
            &raw.transparency,
            "transparency",
            &[
                ("embedded", Transparency::Embedded),
                ("online", Transparency::Online),
                ("any", Transparency::Any),
            ],
            Transparency::Any,
        )?;
        let deletions = self.choice(
            &raw.deletions,
            "deletions",
            &[("allow", Deletions::Allow), ("reject", Deletions::Reject)],
            Deletions::Allow,
        )?;
        let unsigned_before = raw
            .unsigned_before
            .as_ref()
            .map(|v| self.cutoff(v))
            .transpose()?;
        Ok(Rule {
            line: locate(self.text, rule_span.start).0,
            refs,
            policy: Policy {
                identity: Some(identity),
                issuer: Some(issuer),
                ..Policy::default()
            },
            transparency,
            unsigned_before,
            deletions,
        })
    }
}

impl PolicyFile {
    /// Parse and validate; every error carries the line and column it is about.
    pub fn parse(text: &str) -> Result<PolicyFile, PolicyFileError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| locate(text, s.start));
            PolicyFileError {
                line,
                column,
                // toml's messages may span lines ("invalid table header\nexpected `.`, `]]`").
                message: e
                    .message()
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect::<Vec<_>>()
                    .join(": "),
            }
        })?;
        let ctx = Ctx { text };
        let default = ctx.choice(
            &raw.default,
            "default",
            &[
                ("reject", DefaultAction::Reject),
                ("allow", DefaultAction::Allow),
            ],
            DefaultAction::Reject,
        )?;
        let rules = raw
            .rule
            .iter()
            .map(|r| ctx.rule(r))
            .collect::<Result<_, _>>()?;
        Ok(PolicyFile { default, rules })
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
        let id = main.policy.identity.as_ref().expect("identity matcher");
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
    fn globs_match_like_refspecs() {
        let g = |p: &str| RefGlob(p.into());
        assert!(g("refs/tags/*").matches("refs/tags/v1.0"));
        assert!(
            g("refs/tags/*").matches("refs/tags/release/v1"),
            "* crosses /"
        );
        assert!(!g("refs/tags/*").matches("refs/heads/main"));
        assert!(g("refs/heads/main").matches("refs/heads/main"));
        assert!(
            !g("refs/heads/main").matches("refs/heads/main2"),
            "literal globs are exact"
        );
        assert!(g("refs/heads/release-?").matches("refs/heads/release-1"));
        assert!(!g("refs/heads/release-?").matches("refs/heads/release-10"));
        assert!(g("refs/*/ma*n").matches("refs/heads/main"));
        assert!(g("refs/**").matches("refs/a/b/c"));
        assert!(!g("refs/*x").matches("refs/abc"));
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
        assert_eq!(locate("ab\ncd", 99), (2, 3), "offsets past the end clamp");
    }
}
