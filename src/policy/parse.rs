//! The TOML parse of a policy ([`super::LANGUAGE_HELP`]) into a [`PolicyFile`], with file,
//! line and column for every error: TOML syntax and unknown keys (the `toml` crate's spans),
//! unknown authority names, bad regexps, bad times, unreadable key files. A bad policy is
//! refused whole (fail closed): no rule of a file with an error is ever used.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::source::FileSource;
use super::{
    Authority, Cutoff, DefaultAction, Deletions, FulcioExtension, KeyFile, PolicyFile, RefGlob,
    Rule, SigstoreEntry, Transparency, Validity,
};
use crate::verify::policy::{Matcher, Re2};

/// A problem in a policy, located for the person who has to fix it.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFile {
    default: Option<Spanned<String>>,
    policy_authorities: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    authority: BTreeMap<Spanned<String>, RawAuthority>,
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuthority {
    sigstore: Option<Vec<Spanned<RawEntry>>>,
    openpgp: Option<Spanned<KeyFiles>>,
    ssh: Option<Spanned<KeyFiles>>,
}

/// A Sigstore entry, checked key by key against [`FulcioExtension`]'s table and the fixed keys.
type RawEntry = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawKeyFileTable {
    file: Spanned<String>,
    valid_after: Option<Spanned<toml::Value>>,
    valid_before: Option<Spanned<toml::Value>>,
}

/// One key file entry: a path, or a table with bounds.
enum RawKeyFile {
    Path(String),
    Table(RawKeyFileTable),
}

impl<'de> Deserialize<'de> for RawKeyFile {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawKeyFile;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a path or a table { file = \"…\", valid-after = …, valid-before = … }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawKeyFile, E> {
                Ok(RawKeyFile::Path(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawKeyFile, A::Error> {
                RawKeyFileTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawKeyFile::Table)
            }
        }
        d.deserialize_any(V)
    }
}

/// `openpgp` / `ssh`: one path, one table, or a list of either (each with its span).
struct KeyFiles(Vec<(Option<Range<usize>>, RawKeyFile)>);

impl<'de> Deserialize<'de> for KeyFiles {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyFiles;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a path, a table { file = \"…\" }, or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyFiles, E> {
                Ok(KeyFiles(vec![(None, RawKeyFile::Path(v.to_owned()))]))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<KeyFiles, A::Error> {
                let t = RawKeyFileTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(KeyFiles(vec![(None, RawKeyFile::Table(t))]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyFiles, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<RawKeyFile>>()? {
                    let span = item.span();
                    out.push((Some(span), item.into_inner()));
                }
                Ok(KeyFiles(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRule {
    refs: Spanned<Vec<Spanned<String>>>,
    authorities: Option<Spanned<Vec<Spanned<String>>>>,
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
pub(crate) fn locate(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.as_bytes().get(..offset).unwrap_or(b"");
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    (line, offset - line_start + 1)
}

/// Authority names: what a TOML bare key allows, so `[authority.NAME]` needs no quotes and
/// no name can look like a rule's inline authority.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The keys of a Sigstore entry besides the Fulcio extensions.
const ENTRY_KEYS: &[&str] = &[
    "identity",
    "identity-regexp",
    "issuer",
    "issuer-regexp",
    "valid-after",
    "valid-before",
];

struct Ctx<'a> {
    text: &'a str,
    file: &'a str,
    files: &'a dyn FileSource,
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, message: impl Into<String>) -> ParseError {
        let (line, column) = locate(self.text, span.start);
        ParseError {
            file: self.file.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    fn line(&self, span: &Range<usize>) -> usize {
        locate(self.text, span.start).0
    }

    fn choice<T: Copy>(
        &self,
        value: &Option<Spanned<String>>,
        key: &str,
        choices: &[(&str, T)],
        default: T,
    ) -> Result<T, ParseError> {
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

    fn regex(&self, value: &str, span: Range<usize>, key: &str) -> Result<Matcher, ParseError> {
        Re2::new(value).map(Matcher::Regex).map_err(|e| {
            let first = e.to_string();
            let first = first.lines().last().unwrap_or("").trim().to_owned();
            self.err(
                span,
                format!("invalid regular expression in {key}: {first}"),
            )
        })
    }

    /// `identities` + `identity-regexps` as one any-of matcher; both empty is an error.
    fn any_of(
        &self,
        exact: &[Spanned<String>],
        regexps: &[Spanned<String>],
        what: &str,
        rule_span: Range<usize>,
    ) -> Result<Matcher, ParseError> {
        let mut all: Vec<Matcher> = exact
            .iter()
            .map(|s| Matcher::Exact(s.get_ref().clone()))
            .collect();
        for r in regexps {
            all.push(self.regex(r.get_ref(), r.span(), &format!("{what}-regexps"))?);
        }
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

    /// An RFC 3339 time, as a string or a TOML offset date-time.
    fn time(&self, v: &Spanned<toml::Value>, key: &str) -> Result<i64, ParseError> {
        let text = match v.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Datetime(d) => d.to_string(),
            _ => {
                return Err(self.err(
                    v.span(),
                    format!("{key} must be an RFC 3339 time, e.g. 2024-01-01T00:00:00Z"),
                ))
            }
        };
        chrono::DateTime::parse_from_rfc3339(text.trim())
            .map(|d| d.timestamp())
            .map_err(|e| {
                self.err(
                    v.span(),
                    format!(
                        "invalid {key} \"{}\": not an RFC 3339 time with an offset ({e}), e.g. \"2024-01-01T00:00:00Z\"",
                        text.trim()
                    ),
                )
            })
    }

    fn validity(
        &self,
        after: Option<&Spanned<toml::Value>>,
        before: Option<&Spanned<toml::Value>>,
    ) -> Result<Validity, ParseError> {
        let v = Validity {
            after: after.map(|a| self.time(a, "valid-after")).transpose()?,
            before: before.map(|b| self.time(b, "valid-before")).transpose()?,
        };
        if let (Some(a), Some(b), Some(span)) = (v.after, v.before, before) {
            if a >= b {
                return Err(self.err(
                    span.span(),
                    "valid-before is not after valid-after: the entry would admit nothing",
                ));
            }
        }
        Ok(v)
    }

    fn cutoff(&self, v: &Spanned<toml::Value>) -> Result<Cutoff, ParseError> {
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

    fn string<'v>(&self, v: &'v Spanned<toml::Value>, key: &str) -> Result<&'v str, ParseError> {
        match v.get_ref() {
            toml::Value::String(s) => Ok(s),
            other => Err(self.err(
                v.span(),
                format!("{key} must be a string, not {}", other.type_str()),
            )),
        }
    }

    /// One `sigstore = [{ … }]` entry: identity and issuer (exact or regexp, exactly one of
    /// each), extension values, validity.
    fn sigstore_entry(&self, raw: &Spanned<RawEntry>) -> Result<SigstoreEntry, ParseError> {
        let span = raw.span();
        let mut extensions = Vec::new();
        let mut get: BTreeMap<&str, &Spanned<toml::Value>> = BTreeMap::new();
        for (key, value) in raw.get_ref() {
            let k = key.get_ref().as_str();
            if let Some(ext) = FulcioExtension::from_key(k) {
                extensions.push((ext, self.string(value, k)?.to_owned()));
            } else if ENTRY_KEYS.contains(&k) {
                get.insert(k, value);
            } else {
                return Err(self.err(
                    key.span(),
                    format!(
                        "unknown key `{k}` in a sigstore entry: expected identity or identity-regexp, issuer or issuer-regexp, valid-after, valid-before, or a Fulcio extension ({})",
                        FulcioExtension::ALL.iter().map(|e| e.key()).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
        let matcher = |what: &str| -> Result<Matcher, ParseError> {
            let regexp_key = format!("{what}-regexp");
            match (get.get(what), get.get(regexp_key.as_str())) {
                (Some(_), Some(r)) => Err(self.err(
                    r.span(),
                    format!("set {what} or {regexp_key}, not both"),
                )),
                (Some(v), None) => Ok(Matcher::Exact(self.string(v, what)?.to_owned())),
                (None, Some(r)) => {
                    let pattern = self.string(r, &regexp_key)?;
                    self.regex(pattern, r.span(), &regexp_key)
                }
                (None, None) => Err(self.err(
                    span.clone(),
                    format!(
                        "sigstore entry has no {what}: set {what} or {regexp_key} (an identity is only meaningful bound to its issuer; {regexp_key} = '.*' accepts any explicitly)"
                    ),
                )),
            }
        };
        let identity = matcher("identity")?;
        let issuer = matcher("issuer")?;
        Ok(SigstoreEntry {
            line: self.line(&span),
            identity,
            issuer,
            extensions,
            validity: self.validity(
                get.get("valid-after").copied(),
                get.get("valid-before").copied(),
            )?,
        })
    }

    fn key_files(
        &self,
        raw: &Spanned<KeyFiles>,
        kind: &str,
        authority: &str,
    ) -> Result<Vec<KeyFile>, ParseError> {
        let mut out = Vec::new();
        for (span, entry) in &raw.get_ref().0 {
            let span = span.clone().unwrap_or_else(|| raw.span());
            let (path, path_span, validity) = match entry {
                RawKeyFile::Path(p) => (p.clone(), span.clone(), Validity::default()),
                RawKeyFile::Table(t) => (
                    t.file.get_ref().clone(),
                    t.file.span(),
                    self.validity(t.valid_after.as_ref(), t.valid_before.as_ref())?,
                ),
            };
            let what = if kind == "ssh" {
                "SSH allowed-signers file"
            } else {
                "OpenPGP key file"
            };
            let bytes = self.files.read(&path).map_err(|e| {
                self.err(
                    path_span.clone(),
                    format!(
                        "cannot read the {what} '{path}' of authority '{authority}' ({}): {e}",
                        self.files.describe(&path)
                    ),
                )
            })?;
            out.push(KeyFile {
                line: self.line(&path_span),
                shown: self.files.describe(&path),
                path,
                bytes,
                validity,
            });
        }
        if out.is_empty() {
            return Err(self.err(
                raw.span(),
                format!("{kind} lists no files: remove it or name a file"),
            ));
        }
        Ok(out)
    }

    fn authority(
        &self,
        name: &Spanned<String>,
        raw: &RawAuthority,
    ) -> Result<Authority, ParseError> {
        let n = name.get_ref();
        if !valid_name(n) {
            return Err(self.err(
                name.span(),
                format!("invalid authority name \"{n}\": use letters, digits, '-' and '_'"),
            ));
        }
        let sigstore = raw
            .sigstore
            .iter()
            .flatten()
            .map(|e| self.sigstore_entry(e))
            .collect::<Result<Vec<_>, _>>()?;
        let openpgp = match &raw.openpgp {
            Some(k) => self.key_files(k, "openpgp", n)?,
            None => Vec::new(),
        };
        let ssh = match &raw.ssh {
            Some(k) => self.key_files(k, "ssh", n)?,
            None => Vec::new(),
        };
        if sigstore.is_empty() && openpgp.is_empty() && ssh.is_empty() {
            return Err(self.err(
                name.span(),
                format!("authority '{n}' admits no one: give it sigstore, openpgp or ssh entries"),
            ));
        }
        Ok(Authority {
            name: n.clone(),
            line: self.line(&name.span()),
            sigstore,
            openpgp,
            ssh,
        })
    }

    /// The position of the named authority `name`, among the first `named` of `all`.
    fn lookup(
        &self,
        all: &[Authority],
        named: usize,
        name: &Spanned<String>,
        key: &str,
    ) -> Result<usize, ParseError> {
        let known = all.get(..named).unwrap_or_default();
        known
            .iter()
            .position(|a| &a.name == name.get_ref())
            .ok_or_else(|| {
                let defined: Vec<String> = known.iter().map(|a| format!("'{}'", a.name)).collect();
                let defined = if defined.is_empty() {
                    "none is defined: add an [authority.NAME] table".to_owned()
                } else {
                    format!("defined: {}", defined.join(", "))
                };
                self.err(
                    name.span(),
                    format!(
                        "unknown authority '{}' in {key} ({defined})",
                        name.get_ref()
                    ),
                )
            })
    }

    /// A rule; its inline identities, if any, are appended to `all` as its own authority.
    fn rule(
        &self,
        raw: &RawRule,
        all: &mut Vec<Authority>,
        named: usize,
    ) -> Result<Rule, ParseError> {
        let rule_span = raw.refs.span();
        let line = self.line(&rule_span);
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
            refs.push(RefGlob::new(g.get_ref().clone()));
        }
        let mut authorities: Vec<usize> = Vec::new();
        if let Some(names) = &raw.authorities {
            if names.get_ref().is_empty() {
                return Err(self.err(
                    names.span(),
                    "authorities is empty: name who may sign, e.g. [\"maintainers\"]",
                ));
            }
            for name in names.get_ref() {
                let i = self.lookup(all, named, name, "authorities")?;
                if !authorities.contains(&i) {
                    authorities.push(i);
                }
            }
        }
        let inline = !(raw.identities.is_empty()
            && raw.identity_regexps.is_empty()
            && raw.issuers.is_empty()
            && raw.issuer_regexps.is_empty());
        if inline || raw.authorities.is_none() {
            if !inline && raw.authorities.is_none() {
                return Err(self.err(
                    rule_span,
                    "rule has no authority: set authorities = [\"NAME\"] (or identities and issuers)",
                ));
            }
            let identity = self.any_of(
                &raw.identities,
                &raw.identity_regexps,
                "identity",
                rule_span.clone(),
            )?;
            let issuer = self.any_of(
                &raw.issuers,
                &raw.issuer_regexps,
                "issuer",
                rule_span.clone(),
            )?;
            authorities.push(all.len());
            all.push(Authority {
                name: format!("(rule at line {line})"),
                line,
                sigstore: vec![SigstoreEntry {
                    line,
                    identity,
                    issuer,
                    extensions: Vec::new(),
                    validity: Validity::default(),
                }],
                openpgp: Vec::new(),
                ssh: Vec::new(),
            });
        }
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
            line,
            refs,
            authorities: authorities
                .iter()
                .filter_map(|&i| all.get(i).cloned())
                .collect(),
            transparency,
            unsigned_before,
            deletions,
        })
    }
}

pub(super) fn parse(
    text: &str,
    file: &str,
    files: &dyn FileSource,
) -> Result<PolicyFile, ParseError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| locate(text, s.start));
        ParseError {
            file: file.to_owned(),
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
    let ctx = Ctx { text, file, files };
    let default = ctx.choice(
        &raw.default,
        "default",
        &[
            ("reject", DefaultAction::Reject),
            ("allow", DefaultAction::Allow),
        ],
        DefaultAction::Reject,
    )?;
    // Named authorities in file order, so errors and listings follow the text.
    let mut named: Vec<(&Spanned<String>, &RawAuthority)> = raw.authority.iter().collect();
    named.sort_by_key(|(name, _)| name.span().start);
    let mut authorities = named
        .into_iter()
        .map(|(name, a)| ctx.authority(name, a))
        .collect::<Result<Vec<_>, _>>()?;
    let named = authorities.len();
    let mut policy_authorities = Vec::new();
    for name in raw.policy_authorities.iter().flat_map(|p| p.get_ref()) {
        let i = ctx.lookup(&authorities, named, name, "policy-authorities")?;
        if !policy_authorities.contains(&i) {
            policy_authorities.push(i);
        }
    }
    let mut rules = Vec::new();
    for r in &raw.rule {
        rules.push(ctx.rule(r, &mut authorities, named)?);
    }
    Ok(PolicyFile {
        file: file.to_owned(),
        default,
        authorities,
        policy_authorities,
        rules,
    })
}
