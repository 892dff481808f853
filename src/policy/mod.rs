//! Trust written down once: the policy language read by `gitsign policy check`, `gitsign verify
//! --policy`, the pre-receive hook and git's `--verify` path (which trusts only the signers it
//! admits), its parser and its judge; [`history`] keeps a committed policy under its own
//! authorities from an anchor commit. The language is stated once, in [`LANGUAGE_HELP`]
//! (`gitsign policy --help`); [`init`] proposes a first policy from a history's signers.
//!
//! A policy names *authorities* — who may sign: Sigstore identities bound to their issuers,
//! OpenPGP key files, SSH allowed-signers files — and *rules* that give refs to authorities.
//! [`PolicyFile::parse`] reads one (TOML; every error names file, line and column), with key
//! files read through a [`FileSource`] (the policy's directory, or the tree of the commit
//! holding a committed policy). [`Rule::admit`] says which authority of a rule admits
//! a verified [`Signer`], or why none does. Pure over the file source; no printing.
//!
//! The hook's policy files from before authorities keep their meaning: a rule's
//! `identities` / `identity-regexps` × `issuers` / `issuer-regexps` become one unnamed
//! authority of that rule (any listed identity with any listed issuer, as before), shown as
//! `(rule at line N)`; `default`, `transparency`, `unsigned-before` and `deletions` are
//! unchanged (the hook's own tests run through this parser).

pub mod history;
pub mod init;
pub mod judge;
pub(crate) mod parse;
pub mod signer;
pub mod source;
pub mod tally;
#[cfg(test)]
mod tests;
mod verdict;

pub use crate::x509::fulcio::FulcioExtension;
pub use judge::{KeyFormats, Refusal};
pub use parse::ParseError;
pub use signer::{Signer, SigstoreSigner};
pub use source::{Directory, FileSource, GitTree, NoFiles, SourceError};
pub use tally::AuthorityTally;

use crate::verify::policy::Matcher;

/// The statement of the language: `gitsign policy --help`; the README summarises it.
pub const LANGUAGE_HELP: &str = "\
A policy names authorities (who may sign) and rules (which refs each may sign):

    default = \"reject\"                      # refs no rule matches: \"reject\" or \"allow\"
    policy-authorities = [\"maintainers\"]    # who may change a committed policy

    [authority.maintainers]                 # Sigstore: identity AND issuer, as pairs
    sigstore = [
      { identity = \"alice@example.com\", issuer = \"https://accounts.google.com\" },
    ]
    [[authority.release.sigstore]]          # the same, one table per entry
    identity-regexp = '^https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/'
    issuer = \"https://token.actions.githubusercontent.com\"
    source-repository-uri = \"https://github.com/acme/app\"   # Fulcio extensions
    valid-after = 2024-01-01T00:00:00Z      # and valid-before: bounds on the signing time
    [authority.github-web-flow]             # OpenPGP: files of armored public keys
    openpgp = [\"keys/web-flow.asc\"]
    [authority.laptops]                     # SSH: git's allowed-signers format
    ssh = \"allowed_signers\"

    [[rule]]                                # the first rule whose refs match applies
    refs = [\"refs/heads/main\", \"refs/tags/*\"]   # globs: * any run, ? one char
    authorities = [\"maintainers\", \"release\", \"github-web-flow\", \"laptops\"]
    transparency = \"any\"                    # \"embedded\" | \"online\" | \"any\"
    unsigned-before = \"2024-01-01T00:00:00Z\"  # or a full commit id
    deletions = \"allow\"                     # or \"reject\"

A Sigstore entry needs identity or identity-regexp (matched against every subject
alternative name) and issuer or issuer-regexp; regexps are RE2, unanchored unless
anchored. It may require exact values of Fulcio certificate extensions:
github-workflow-trigger, -sha, -name, -repository, -ref (the deprecated v1
claims), build-signer-uri, build-signer-digest, runner-environment,
source-repository-uri, -digest, -ref, -identifier, -owner-uri,
-owner-identifier, build-config-uri, build-config-digest, build-trigger,
run-invocation-uri, source-repository-visibility-at-signing,
deployment-environment; a certificate without the extension does not match.

openpgp and ssh take a path, a list of paths, or tables { file = \"…\",
valid-after = …, valid-before = … }. Paths are relative to the policy file; for a
committed policy, to the policy's directory in the same commit's tree. valid-after
(inclusive) and valid-before (exclusive) bound the signing time (RFC 3339, or a TOML
date-time); an entry with a bound admits no signature whose time is unknown.

A rule names its authorities, and may also list, as before authorities existed,
identities, identity-regexps, issuers and issuer-regexps: any listed identity
with any listed issuer is then one more, unnamed authority of that rule. A
signature is good under a rule when it verifies and one of the rule's authorities
admits its signer; the first that does is the one reported. transparency,
unsigned-before and deletions are the hook's (gitsign hook --help).

Under a policy, OpenPGP and SSH signatures verify against the key files of all
its authorities (--openpgp-keys, --ssh-allowed-signers and
gpg.ssh.allowedSignersFile do not apply; gpg.ssh.revocationFile does): a key in
none is an unknown key (unknown_key). One verifies, and is good under a rule
when one of the rule's authorities holds its key: an OpenPGP file the (sub)key
that signed, an allowed-signers file the key for the principal, in namespace
git, at the committer's time (the file's own namespaces=, valid-after and
valid-before). A key of an authority the rule does not name is refused as a
Sigstore signer outside the rule is (identity_mismatch). An entry's valid-after
and valid-before bound the OpenPGP signature's creation time and the SSH
commit's committer time: the signer's claims, as nothing else dates them.

Unknown keys, unknown authority names, bad regexps, bad times and unreadable key
files are errors naming file, line and column.";

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
    pub fn new(pattern: impl Into<String>) -> RefGlob {
        RefGlob(pattern.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, name: &str) -> bool {
        crate::wildcard::matches(self.0.as_bytes(), name.as_bytes())
    }
}

/// The signing times an entry admits: `after <= t < before`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Validity {
    pub after: Option<i64>,
    pub before: Option<i64>,
}

impl Validity {
    pub fn is_unbounded(&self) -> bool {
        self.after.is_none() && self.before.is_none()
    }

    /// Whether a signature made at `time` is within the bounds; an unknown time is within
    /// no bound.
    pub fn admits(&self, time: Option<i64>) -> bool {
        if self.is_unbounded() {
            return true;
        }
        let Some(t) = time else { return false };
        self.after.is_none_or(|a| t >= a) && self.before.is_none_or(|b| t < b)
    }
}

impl std::fmt::Display for Validity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |t: i64| crate::encoding::rfc3339(t);
        match (self.after, self.before) {
            (Some(a), Some(b)) => write!(f, "from {} until {}", show(a), show(b)),
            (Some(a), None) => write!(f, "from {}", show(a)),
            (None, Some(b)) => write!(f, "until {}", show(b)),
            (None, None) => f.write_str("at any time"),
        }
    }
}

/// One Sigstore identity an authority admits: an identity bound to its issuer.
#[derive(Debug, Clone)]
pub struct SigstoreEntry {
    /// 1-based line of the entry.
    pub line: usize,
    /// Matched against every subject alternative name.
    pub identity: Matcher,
    pub issuer: Matcher,
    /// Exact values the certificate's extensions must hold.
    pub extensions: Vec<(FulcioExtension, String)>,
    pub validity: Validity,
}

/// An OpenPGP key file or an SSH allowed-signers file, read when the policy was parsed.
#[derive(Debug, Clone)]
pub struct KeyFile {
    /// 1-based line of the entry naming it.
    pub line: usize,
    /// The path as the policy writes it (relative to the policy file).
    pub path: String,
    /// The file as its source names it (for messages).
    pub shown: String,
    pub bytes: Vec<u8>,
    pub validity: Validity,
}

/// Who may sign: a named `[authority.NAME]` table, or a rule's inline identities.
#[derive(Debug, Clone)]
pub struct Authority {
    /// The table's name, or `(rule at line N)` for a rule's inline identities (a name no
    /// table can have: names are letters, digits, `-` and `_`).
    pub name: String,
    /// 1-based line of the table header (of the rule's `refs` for an inline authority).
    pub line: usize,
    pub sigstore: Vec<SigstoreEntry>,
    pub openpgp: Vec<KeyFile>,
    pub ssh: Vec<KeyFile>,
}

impl Authority {
    /// Whether this authority is a rule's inline `identities` × `issuers`.
    pub fn is_inline(&self) -> bool {
        self.name.starts_with('(')
    }
}

/// One `[[rule]]`.
#[derive(Debug, Clone)]
pub struct Rule {
    /// 1-based line of the rule's `refs` key, to name the rule in messages.
    pub line: usize,
    pub refs: Vec<RefGlob>,
    /// Who may sign, in the order the rule lists them (a rule's inline identities and issuers
    /// last, as one authority).
    pub authorities: Vec<Authority>,
    pub transparency: Transparency,
    pub unsigned_before: Option<Cutoff>,
    pub deletions: Deletions,
}

/// A parsed, validated policy.
#[derive(Debug, Clone)]
pub struct PolicyFile {
    /// How the file is named in messages.
    pub file: String,
    pub default: DefaultAction,
    /// Named authorities in name order, then the rules' inline authorities in rule order.
    pub authorities: Vec<Authority>,
    /// Positions in `authorities` of those who may change a committed policy.
    pub policy_authorities: Vec<usize>,
    pub rules: Vec<Rule>,
}

impl PolicyFile {
    /// Parse and validate `text`, reading the key files it names from `files`; `file` names
    /// the policy in errors. Every error carries file, line and column.
    pub fn parse(text: &str, file: &str, files: &dyn FileSource) -> Result<PolicyFile, ParseError> {
        parse::parse(text, file, files)
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

    /// The named authority `name`.
    pub fn authority(&self, name: &str) -> Option<&Authority> {
        self.authorities.iter().find(|a| a.name == name)
    }

    /// Things that are valid but probably not meant: authorities no rule and no
    /// `policy-authorities` names.
    pub fn warnings(&self) -> Vec<String> {
        let used = |name: &str| {
            self.rules
                .iter()
                .flat_map(|r| r.authorities.iter())
                .any(|a| a.name == name)
                || self
                    .policy_authorities
                    .iter()
                    .any(|&i| self.authorities.get(i).is_some_and(|a| a.name == name))
        };
        self.authorities
            .iter()
            .filter(|a| !used(&a.name))
            .map(|a| {
                format!(
                    "{}:{}: authority '{}' is named by no rule and not in policy-authorities",
                    self.file, a.line, a.name
                )
            })
            .collect()
    }
}
