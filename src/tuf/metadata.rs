//! TUF metadata (specification 1.0): the four top-level roles and delegated targets roles as
//! typed values, their signature thresholds, versions, expiry, the hashes and lengths they
//! pin, and which delegated role a target path belongs to (§5.6.7.2: `paths` patterns matched
//! per path segment as Python's `fnmatch`, or `path_hash_prefixes`). Pure: bytes in, values or
//! [`TufError`] out; the update workflow that orders these checks is [`super::updater`].

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use super::canonical::canonical;
use super::TufError;
use crate::crypto::{Digest, PublicKey};
use crate::encoding::{hex, unhex};

/// A top-level role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Root,
    Timestamp,
    Snapshot,
    Targets,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Root => "root",
            Role::Timestamp => "timestamp",
            Role::Snapshot => "snapshot",
            Role::Targets => "targets",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A metadata file as signed: the typed `signed` part, its canonical bytes and the signatures.
#[derive(Debug, Clone)]
pub struct Signed<T> {
    pub signed: T,
    canonical: Vec<u8>,
    signatures: Vec<(String, Vec<u8>)>,
}

/// What every role's `signed` carries.
#[derive(Debug, Clone, Deserialize)]
struct Common {
    #[serde(rename = "_type")]
    kind: String,
    spec_version: String,
    version: u64,
    expires: String,
}

/// A public key with the signature scheme its metadata names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    key: PublicKey,
    scheme: Scheme,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// ECDSA or Ed25519 (which ignores the digest).
    Plain(Digest),
    RsaPss(Digest),
    RsaPkcs1(Digest),
}

impl Key {
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match self.scheme {
            Scheme::Plain(d) | Scheme::RsaPkcs1(d) => self.key.verify(d, msg, sig).is_ok(),
            Scheme::RsaPss(d) => self.key.verify_rsa_pss(d, msg, sig).is_ok(),
        }
    }
}

/// Key ids to keys; `None` for a key this client cannot use (it never counts).
type Keys = BTreeMap<String, Option<Key>>;

#[derive(Debug, Clone)]
pub struct Root {
    pub version: u64,
    pub expires: i64,
    pub consistent_snapshot: bool,
    keys: Keys,
    roles: BTreeMap<String, RoleKeys>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
struct RoleKeys {
    keyids: Vec<String>,
    threshold: u64,
}

/// `meta` entries of timestamp and snapshot.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct MetaFile {
    pub version: u64,
    pub length: Option<u64>,
    pub hashes: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone)]
pub struct Timestamp {
    pub version: u64,
    pub expires: i64,
    pub snapshot: MetaFile,
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub version: u64,
    pub expires: i64,
    pub meta: BTreeMap<String, MetaFile>,
}

/// A target's pinned length and hashes.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct TargetFile {
    pub length: u64,
    pub hashes: BTreeMap<String, String>,
}

impl TargetFile {
    /// The hash a consistent-snapshot repository prefixes the file name with: any listed one
    /// names the same content (sha256 when listed, else the first).
    pub fn prefix_hash(&self) -> Option<&str> {
        self.hashes
            .get("sha256")
            .or_else(|| self.hashes.values().next())
            .map(String::as_str)
    }
}

#[derive(Debug, Clone)]
pub struct Targets {
    pub version: u64,
    pub expires: i64,
    pub targets: BTreeMap<String, TargetFile>,
    pub delegations: Option<Delegations>,
}

/// A targets role's delegations: their keys, and the roles in the order they are searched.
#[derive(Debug, Clone)]
pub struct Delegations {
    keys: Keys,
    pub roles: Vec<DelegatedRole>,
}

#[derive(Debug, Clone)]
pub struct DelegatedRole {
    pub name: String,
    keys: RoleKeys,
    pub terminating: bool,
    paths: Paths,
}

#[derive(Debug, Clone)]
enum Paths {
    Patterns(Vec<String>),
    HashPrefixes(Vec<String>),
}

impl DelegatedRole {
    /// Whether this role is trusted for `target` (§5.6.7.2.1).
    pub fn delegates(&self, target: &str) -> bool {
        match &self.paths {
            Paths::HashPrefixes(prefixes) => {
                let h = hex(&crate::crypto::sha256(target.as_bytes()));
                prefixes.iter().any(|p| h.starts_with(p.as_str()))
            }
            Paths::Patterns(patterns) => patterns.iter().any(|p| path_matches(target, p)),
        }
    }
}

/// A target path against a `paths` pattern, as python-tuf: the same number of `/`-separated
/// segments, each matching as Python's `fnmatch` (`*` any run, `?` one character, `[…]` and
/// `[!…]` sets); a `*` never crosses a `/`.
pub fn path_matches(target: &str, pattern: &str) -> bool {
    let t: Vec<&str> = target.split('/').collect();
    let p: Vec<&str> = pattern.split('/').collect();
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| {
            let t: Vec<char> = t.chars().collect();
            let p: Vec<char> = p.chars().collect();
            fnmatch(&t, &p)
        })
}

fn fnmatch(t: &[char], p: &[char]) -> bool {
    let Some((&first, rest)) = p.split_first() else {
        return t.is_empty();
    };
    match first {
        '*' => (0..=t.len()).any(|i| fnmatch(&t[i..], rest)),
        '?' => !t.is_empty() && fnmatch(&t[1..], rest),
        '[' => match (t.first(), char_set(rest)) {
            (Some(&c), Some((matches, after))) => matches(c) && fnmatch(&t[1..], after),
            (_, Some(_)) => false,
            // No closing bracket: a literal '['.
            (Some('['), None) => fnmatch(&t[1..], rest),
            (_, None) => false,
        },
        c => t.first() == Some(&c) && fnmatch(&t[1..], rest),
    }
}

type CharTest<'a> = Box<dyn Fn(char) -> bool + 'a>;

/// The set after a `[`: a membership test and the pattern after its `]`, or `None` when the
/// set never closes.
fn char_set(p: &[char]) -> Option<(CharTest<'_>, &[char])> {
    let (negate, body_start) = match p.first() {
        Some('!') => (true, 1),
        _ => (false, 0),
    };
    // A ']' right after '[' or '[!' is a member, as in Python.
    let close = (body_start + 1..p.len()).find(|&i| p[i] == ']')?;
    let body = &p[body_start..close];
    let test = move |c: char| {
        let mut i = 0;
        let mut hit = false;
        while i < body.len() {
            if i + 2 < body.len() && body[i + 1] == '-' {
                hit |= body[i] <= c && c <= body[i + 2];
                i += 3;
            } else {
                hit |= body[i] == c;
                i += 1;
            }
        }
        hit != negate
    };
    Some((Box::new(test), &p[close + 1..]))
}

/// Common accessors the workflow needs for every role.
pub trait Meta {
    const ROLE: Role;
    fn version(&self) -> u64;
    fn expires(&self) -> i64;
}

macro_rules! meta {
    ($t:ty, $r:expr) => {
        impl Meta for $t {
            const ROLE: Role = $r;
            fn version(&self) -> u64 {
                self.version
            }
            fn expires(&self) -> i64 {
                self.expires
            }
        }
    };
}
meta!(Root, Role::Root);
meta!(Timestamp, Role::Timestamp);
meta!(Snapshot, Role::Snapshot);
meta!(Targets, Role::Targets);

fn bad(file: &str, reason: impl Into<String>) -> TufError {
    TufError::Malformed {
        file: file.to_owned(),
        reason: reason.into(),
    }
}

/// Parse the envelope and the common fields; checks `_type`, the spec major version, that
/// `signed` has a canonical form and that no key id signed twice.
fn envelope(bytes: &[u8], file: &str, role: Role) -> Result<(Value, Common, Signed<()>), TufError> {
    #[derive(Deserialize)]
    struct Env {
        signed: Value,
        signatures: Vec<Sig>,
    }
    #[derive(Deserialize)]
    struct Sig {
        keyid: String,
        sig: String,
    }
    let env: Env = serde_json::from_slice(bytes).map_err(|e| bad(file, e.to_string()))?;
    let common: Common =
        serde_json::from_value(env.signed.clone()).map_err(|e| bad(file, e.to_string()))?;
    if common.kind != role.name() {
        return Err(bad(
            file,
            format!("_type is '{}', expected '{role}'", common.kind),
        ));
    }
    if common.spec_version.split('.').next() != Some("1") {
        return Err(bad(
            file,
            format!("unsupported spec_version '{}'", common.spec_version),
        ));
    }
    let canonical = canonical(&env.signed).ok_or_else(|| bad(file, "not canonical JSON"))?;
    let mut seen = std::collections::BTreeSet::new();
    for s in &env.signatures {
        if !seen.insert(s.keyid.as_str()) {
            return Err(bad(file, format!("key id '{}' signs twice", s.keyid)));
        }
    }
    let signatures = env
        .signatures
        .into_iter()
        // An unparseable signature counts for nothing; it cannot make the threshold.
        .filter_map(|s| Some((s.keyid, unhex(&s.sig)?)))
        .collect();
    Ok((
        env.signed,
        common,
        Signed {
            signed: (),
            canonical,
            signatures,
        },
    ))
}

fn expires(common: &Common, file: &str) -> Result<i64, TufError> {
    crate::encoding::parse_rfc3339(&common.expires)
        .ok_or_else(|| bad(file, format!("invalid expires '{}'", common.expires)))
}

fn with<T>(s: Signed<()>, signed: T) -> Signed<T> {
    Signed {
        signed,
        canonical: s.canonical,
        signatures: s.signatures,
    }
}

fn check_role_keys(file: &str, name: &str, r: &RoleKeys) -> Result<(), TufError> {
    if r.threshold < 1 {
        return Err(bad(file, format!("role '{name}' has threshold 0")));
    }
    let unique: std::collections::BTreeSet<&String> = r.keyids.iter().collect();
    if unique.len() != r.keyids.len() {
        return Err(bad(file, format!("role '{name}' lists a key id twice")));
    }
    Ok(())
}

fn parse_keys(raw: BTreeMap<String, RawKey>) -> Keys {
    raw.into_iter().map(|(id, k)| (id, k.parse())).collect()
}

pub fn parse_root(bytes: &[u8], file: &str) -> Result<Signed<Root>, TufError> {
    #[derive(Deserialize)]
    struct Raw {
        #[serde(default)]
        consistent_snapshot: bool,
        keys: BTreeMap<String, RawKey>,
        roles: BTreeMap<String, RoleKeys>,
    }
    let (signed, common, s) = envelope(bytes, file, Role::Root)?;
    let raw: Raw = serde_json::from_value(signed).map_err(|e| bad(file, e.to_string()))?;
    for role in [Role::Root, Role::Timestamp, Role::Snapshot, Role::Targets] {
        match raw.roles.get(role.name()) {
            Some(r) => check_role_keys(file, role.name(), r)?,
            None => return Err(bad(file, format!("role '{role}' is missing"))),
        }
    }
    let root = Root {
        version: common.version,
        expires: expires(&common, file)?,
        consistent_snapshot: raw.consistent_snapshot,
        keys: parse_keys(raw.keys),
        roles: raw.roles,
    };
    Ok(with(s, root))
}

pub fn parse_timestamp(bytes: &[u8], file: &str) -> Result<Signed<Timestamp>, TufError> {
    #[derive(Deserialize)]
    struct Raw {
        meta: BTreeMap<String, MetaFile>,
    }
    let (signed, common, s) = envelope(bytes, file, Role::Timestamp)?;
    let mut raw: Raw = serde_json::from_value(signed).map_err(|e| bad(file, e.to_string()))?;
    let snapshot = raw
        .meta
        .remove("snapshot.json")
        .ok_or_else(|| bad(file, "no snapshot.json in meta"))?;
    Ok(with(
        s,
        Timestamp {
            version: common.version,
            expires: expires(&common, file)?,
            snapshot,
        },
    ))
}

pub fn parse_snapshot(bytes: &[u8], file: &str) -> Result<Signed<Snapshot>, TufError> {
    #[derive(Deserialize)]
    struct Raw {
        meta: BTreeMap<String, MetaFile>,
    }
    let (signed, common, s) = envelope(bytes, file, Role::Snapshot)?;
    let raw: Raw = serde_json::from_value(signed).map_err(|e| bad(file, e.to_string()))?;
    if !raw.meta.contains_key("targets.json") {
        return Err(bad(file, "no targets.json in meta"));
    }
    Ok(with(
        s,
        Snapshot {
            version: common.version,
            expires: expires(&common, file)?,
            meta: raw.meta,
        },
    ))
}

/// Top-level `targets.json` or a delegated targets role (both have `_type` "targets").
pub fn parse_targets(bytes: &[u8], file: &str) -> Result<Signed<Targets>, TufError> {
    #[derive(Deserialize)]
    struct Raw {
        targets: BTreeMap<String, Value>,
        delegations: Option<RawDelegations>,
    }
    #[derive(Deserialize)]
    struct RawDelegations {
        keys: BTreeMap<String, RawKey>,
        #[serde(default)]
        roles: Option<Vec<RawRole>>,
    }
    #[derive(Deserialize)]
    struct RawRole {
        name: String,
        keyids: Vec<String>,
        threshold: u64,
        #[serde(default)]
        terminating: bool,
        paths: Option<Vec<String>>,
        path_hash_prefixes: Option<Vec<String>>,
    }
    let (signed, common, s) = envelope(bytes, file, Role::Targets)?;
    let raw: Raw = serde_json::from_value(signed).map_err(|e| bad(file, e.to_string()))?;
    let targets = raw
        .targets
        .into_iter()
        .map(|(name, v)| {
            serde_json::from_value(v)
                .map(|t| (name.clone(), t))
                .map_err(|e| bad(file, format!("target '{name}': {e}")))
        })
        .collect::<Result<_, _>>()?;
    let delegations = match raw.delegations {
        None => None,
        Some(d) => {
            let mut roles = Vec::new();
            let mut names = std::collections::BTreeSet::new();
            for r in d.roles.unwrap_or_default() {
                let keys = RoleKeys {
                    keyids: r.keyids,
                    threshold: r.threshold,
                };
                check_role_keys(file, &r.name, &keys)?;
                if !names.insert(r.name.clone()) {
                    return Err(bad(file, format!("role '{}' is delegated twice", r.name)));
                }
                let paths = match (r.paths, r.path_hash_prefixes) {
                    (Some(p), None) => Paths::Patterns(p),
                    (None, Some(h)) => Paths::HashPrefixes(h),
                    _ => {
                        return Err(bad(
                            file,
                            format!(
                                "role '{}' needs exactly one of paths and path_hash_prefixes",
                                r.name
                            ),
                        ))
                    }
                };
                roles.push(DelegatedRole {
                    name: r.name,
                    keys,
                    terminating: r.terminating,
                    paths,
                });
            }
            Some(Delegations {
                keys: parse_keys(d.keys),
                roles,
            })
        }
    };
    Ok(with(
        s,
        Targets {
            version: common.version,
            expires: expires(&common, file)?,
            targets,
            delegations,
        },
    ))
}

impl<T> Signed<T> {
    /// Check that at least `threshold` distinct keys of top-level `role` in `root` signed this.
    pub fn verify_by(&self, root: &Root, role: Role) -> Result<(), TufError> {
        match root.roles.get(role.name()) {
            Some(keys) => self.verify_with(&root.keys, keys, role.name()),
            None => Err(TufError::Signature {
                role: role.name().to_owned(),
                valid: 0,
                threshold: 1,
            }),
        }
    }

    /// Check this delegated role's signatures against the delegation that names it.
    pub fn verify_delegated(
        &self,
        delegations: &Delegations,
        role: &DelegatedRole,
    ) -> Result<(), TufError> {
        self.verify_with(&delegations.keys, &role.keys, &role.name)
    }

    /// A threshold of distinct keys: a key id counts once, and so does one public key listed
    /// under several key ids.
    fn verify_with(&self, keys: &Keys, role: &RoleKeys, name: &str) -> Result<(), TufError> {
        let mut good: Vec<&Key> = Vec::new();
        for id in &role.keyids {
            let Some(Some(key)) = keys.get(id) else {
                continue;
            };
            if good.iter().any(|k| k.key == key.key) {
                continue;
            }
            let signed_by_key = self
                .signatures
                .iter()
                .filter(|(k, _)| k == id)
                .any(|(_, sig)| key.verify(&self.canonical, sig));
            if signed_by_key {
                good.push(key);
            }
        }
        if (good.len() as u64) < role.threshold {
            return Err(TufError::Signature {
                role: name.to_owned(),
                valid: good.len() as u64,
                threshold: role.threshold,
            });
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
struct RawKey {
    keytype: String,
    scheme: String,
    keyval: RawKeyVal,
}

#[derive(Debug, Clone, Deserialize)]
struct RawKeyVal {
    public: String,
}

impl RawKey {
    /// The key and its scheme; `None` for schemes this client does not implement (such a key
    /// never counts towards a threshold).
    fn parse(self) -> Option<Key> {
        let public = self.keyval.public.trim();
        let spki = || PublicKey::from_spki_der(&pem_spki(public)?).ok();
        let (key, scheme) = match (self.keytype.as_str(), self.scheme.as_str()) {
            ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => {
                (spki()?, Scheme::Plain(Digest::Sha256))
            }
            ("ecdsa" | "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384") => {
                (spki()?, Scheme::Plain(Digest::Sha384))
            }
            ("rsa", scheme) => {
                let scheme = match scheme {
                    "rsassa-pss-sha256" => Scheme::RsaPss(Digest::Sha256),
                    "rsassa-pss-sha384" => Scheme::RsaPss(Digest::Sha384),
                    "rsassa-pss-sha512" => Scheme::RsaPss(Digest::Sha512),
                    "rsa-pkcs1v15-sha256" => Scheme::RsaPkcs1(Digest::Sha256),
                    "rsa-pkcs1v15-sha384" => Scheme::RsaPkcs1(Digest::Sha384),
                    "rsa-pkcs1v15-sha512" => Scheme::RsaPkcs1(Digest::Sha512),
                    _ => return None,
                };
                (spki()?, scheme)
            }
            ("ed25519", "ed25519") => {
                let raw = unhex(public).filter(|r| r.len() == 32)?;
                // SubjectPublicKeyInfo for id-Ed25519 (RFC 8410) around the raw key.
                let mut der = vec![
                    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
                ];
                der.extend_from_slice(&raw);
                (
                    PublicKey::from_spki_der(&der).ok()?,
                    Scheme::Plain(Digest::Sha512),
                )
            }
            _ => return None,
        };
        // A key whose type and scheme disagree with its algorithm never verifies anything;
        // keep the mismatch out rather than let a PKCS #1 verifier see an EC key.
        let rsa = matches!(scheme, Scheme::RsaPss(_) | Scheme::RsaPkcs1(_));
        (rsa == key.is_rsa()).then_some(Key { key, scheme })
    }
}

/// The DER inside a `PUBLIC KEY` PEM block.
fn pem_spki(pem: &str) -> Option<Vec<u8>> {
    let body = pem
        .strip_prefix("-----BEGIN PUBLIC KEY-----")?
        .trim_end()
        .strip_suffix("-----END PUBLIC KEY-----")?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// Check `bytes` against a pinned length and hashes: every listed hash must be one this
/// client computes (sha256, sha384, sha512) and match, as python-tuf requires; an unknown
/// algorithm is a failure, never skipped.
pub fn check_pinned(
    file: &str,
    bytes: &[u8],
    length: Option<u64>,
    hashes: Option<&BTreeMap<String, String>>,
) -> Result<(), TufError> {
    if let Some(len) = length {
        if bytes.len() as u64 != len {
            return Err(TufError::Length {
                file: file.to_owned(),
                expected: len,
                got: bytes.len() as u64,
            });
        }
    }
    let Some(hashes) = hashes else {
        return Ok(());
    };
    let hash_error = || TufError::Hash {
        file: file.to_owned(),
    };
    if hashes.is_empty() {
        return Err(hash_error());
    }
    for (alg, want) in hashes {
        use sha2::Digest as _;
        let got = match alg.as_str() {
            "sha256" => hex(&crate::crypto::sha256(bytes)),
            "sha384" => hex(&sha2::Sha384::digest(bytes)),
            "sha512" => hex(&sha2::Sha512::digest(bytes)),
            _ => return Err(hash_error()),
        };
        if !got.eq_ignore_ascii_case(want) {
            return Err(hash_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data/tuf-public-good")
                .join(name),
        )
        .expect("the test vector parses")
    }

    #[test]
    fn public_good_root_15_is_signed_by_root_14_and_by_itself() {
        let v14 =
            parse_root(&data("14.root.json"), "14.root.json").expect("the test vector parses");
        let v15 =
            parse_root(&data("15.root.json"), "15.root.json").expect("the test vector parses");
        assert_eq!(v15.signed.version, 15, "the file is version 15");
        v15.verify_by(&v14.signed, Role::Root)
            .expect("root 15 must carry a threshold of root 14's keys");
        v15.verify_by(&v15.signed, Role::Root)
            .expect("root 15 must carry a threshold of its own keys");
        v14.verify_by(&v14.signed, Role::Root)
            .expect("root 14 is self-signed");
    }

    #[test]
    fn public_good_timestamp_snapshot_and_targets_verify_and_pin_each_other() {
        let root = parse_root(&data("15.root.json"), "root.json")
            .expect("the test vector parses")
            .signed;
        let ts = parse_timestamp(&data("timestamp.json"), "timestamp.json")
            .expect("the test vector parses");
        ts.verify_by(&root, Role::Timestamp)
            .expect("the timestamp role key signed timestamp.json");
        let snap = parse_snapshot(&data("snapshot.json"), "snapshot.json")
            .expect("the test vector parses");
        snap.verify_by(&root, Role::Snapshot)
            .expect("the snapshot role key signed snapshot.json");
        assert_eq!(
            snap.signed.version, ts.signed.snapshot.version,
            "the timestamp names this snapshot"
        );
        let targets = parse_targets(&data("14.targets.json"), "targets.json")
            .expect("the test vector parses");
        targets
            .verify_by(&root, Role::Targets)
            .expect("a threshold of targets keys signed targets.json");
        assert_eq!(
            targets.signed.version, snap.signed.meta["targets.json"].version,
            "the snapshot names this targets version"
        );
        assert!(
            targets.signed.targets.contains_key("trusted_root.json"),
            "public-good publishes trusted_root.json"
        );
        // The wrong role's keys must not do: the timestamp key cannot sign targets.
        assert!(
            matches!(
                ts.verify_by(&root, Role::Targets),
                Err(TufError::Signature { .. })
            ),
            "a timestamp signature must not satisfy the targets role"
        );
    }

    #[test]
    fn a_changed_byte_breaks_the_signature() {
        let root = parse_root(&data("15.root.json"), "root.json")
            .expect("the test vector parses")
            .signed;
        let text = String::from_utf8(data("timestamp.json")).expect("the test vector parses");
        let tampered = text.replacen("\"version\": 165", "\"version\": 166", 1);
        assert_ne!(text, tampered, "the edit must apply");
        let ts =
            parse_timestamp(tampered.as_bytes(), "timestamp.json").expect("the test vector parses");
        assert!(
            matches!(
                ts.verify_by(&root, Role::Timestamp),
                Err(TufError::Signature {
                    valid: 0,
                    threshold: 1,
                    ..
                })
            ),
            "a tampered timestamp must not verify"
        );
    }

    #[test]
    fn wrong_type_and_garbage_are_errors_not_panics() {
        assert!(
            matches!(
                parse_timestamp(&data("snapshot.json"), "timestamp.json"),
                Err(TufError::Malformed { .. })
            ),
            "a snapshot is not a timestamp"
        );
        for junk in [&b""[..], b"{", b"[]", b"{\"signed\":1,\"signatures\":[]}"] {
            assert!(
                parse_root(junk, "root.json").is_err(),
                "junk must not parse"
            );
        }
    }

    /// RSASSA-PSS keys (`rsa` / `rsassa-pss-sha256`, allowed by the specification): a
    /// signature made by openssl verifies, a PKCS #1 v1.5 one by the same key does not.
    #[test]
    fn rsassa_pss_keys_verify_what_openssl_signs() {
        use std::process::Command;
        let dir = tempfile::tempdir().expect("test setup");
        let key = dir.path().join("key.pem");
        let ok = Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
            ])
            .arg(&key)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            eprintln!("skipped: openssl not available (rsassa_pss_keys_verify_what_openssl_signs)");
            return;
        }
        let public = Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&key)
            .output()
            .expect("openssl runs");
        let public = String::from_utf8(public.stdout).expect("PEM is text");
        let signed = serde_json::json!({"_type": "timestamp", "spec_version": "1.0.31",
            "version": 1, "expires": "2099-01-01T00:00:00Z",
            "meta": {"snapshot.json": {"version": 1}}});
        let bytes = canonical(&signed).expect("test setup");
        let msg = dir.path().join("msg");
        std::fs::write(&msg, &bytes).expect("test setup");
        let sign = |pss: bool| {
            let mut cmd = Command::new("openssl");
            cmd.args(["dgst", "-sha256", "-sign"]).arg(&key);
            if pss {
                cmd.args([
                    "-sigopt",
                    "rsa_padding_mode:pss",
                    "-sigopt",
                    "rsa_pss_saltlen:digest",
                ]);
            }
            let out = cmd.arg(&msg).output().expect("openssl runs");
            assert!(out.status.success(), "openssl signs");
            hex(&out.stdout)
        };
        let root_json = serde_json::json!({"signed": {"_type": "root", "spec_version": "1.0.31",
            "version": 1, "expires": "2099-01-01T00:00:00Z", "consistent_snapshot": true,
            "keys": {"r": {"keytype": "rsa", "scheme": "rsassa-pss-sha256",
                           "keyval": {"public": public}}},
            "roles": {"root": {"keyids": ["r"], "threshold": 1},
                      "timestamp": {"keyids": ["r"], "threshold": 1},
                      "snapshot": {"keyids": ["r"], "threshold": 1},
                      "targets": {"keyids": ["r"], "threshold": 1}}},
            "signatures": []});
        let root = parse_root(root_json.to_string().as_bytes(), "root.json")
            .expect("the root parses")
            .signed;
        for (pss, want) in [(true, true), (false, false)] {
            let env = serde_json::json!({"signed": signed,
                "signatures": [{"keyid": "r", "sig": sign(pss)}]});
            let ts = parse_timestamp(env.to_string().as_bytes(), "timestamp.json")
                .expect("the timestamp parses");
            assert_eq!(
                ts.verify_by(&root, Role::Timestamp).is_ok(),
                want,
                "PSS signature: {pss}; only PSS verifies under rsassa-pss-sha256"
            );
        }
    }

    #[test]
    fn pinned_length_and_hashes() {
        let mut h = BTreeMap::new();
        h.insert("sha256".to_string(), hex(&crate::crypto::sha256(b"abc")));
        assert!(
            check_pinned("f", b"abc", Some(3), Some(&h)).is_ok(),
            "matches"
        );
        assert!(
            matches!(
                check_pinned("f", b"abd", Some(3), Some(&h)),
                Err(TufError::Hash { .. })
            ),
            "a different body fails the hash"
        );
        assert!(
            matches!(
                check_pinned("f", b"abcd", Some(3), Some(&h)),
                Err(TufError::Length { .. })
            ),
            "a longer body fails the length"
        );
        let mut unknown = BTreeMap::new();
        unknown.insert("md5".to_string(), "00".to_string());
        assert!(
            check_pinned("f", b"abc", None, Some(&unknown)).is_err(),
            "no known hash is a failure, not a pass"
        );
    }
}
