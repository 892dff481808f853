//! TUF metadata (specification 1.0): the four top-level roles as typed values, their
//! signature thresholds, versions, expiry and the hashes and lengths they pin. Pure: bytes in,
//! values or [`TufError`] out; the update workflow that orders these checks is
//! [`super::updater`].

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

#[derive(Debug, Clone)]
pub struct Root {
    pub version: u64,
    pub expires: i64,
    pub consistent_snapshot: bool,
    keys: BTreeMap<String, Option<(PublicKey, Digest)>>,
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

#[derive(Debug, Clone)]
pub struct Targets {
    pub version: u64,
    pub expires: i64,
    pub targets: BTreeMap<String, TargetFile>,
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

/// Parse the envelope and the common fields; checks `_type`, the spec major version and
/// that `signed` has a canonical form.
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
            Some(r) if r.threshold >= 1 => {}
            Some(_) => return Err(bad(file, format!("role '{role}' has threshold 0"))),
            None => return Err(bad(file, format!("role '{role}' is missing"))),
        }
    }
    let root = Root {
        version: common.version,
        expires: expires(&common, file)?,
        consistent_snapshot: raw.consistent_snapshot,
        keys: raw
            .keys
            .into_iter()
            .map(|(id, k)| (id, k.parse()))
            .collect(),
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

pub fn parse_targets(bytes: &[u8], file: &str) -> Result<Signed<Targets>, TufError> {
    #[derive(Deserialize)]
    struct Raw {
        targets: BTreeMap<String, Value>,
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
    Ok(with(
        s,
        Targets {
            version: common.version,
            expires: expires(&common, file)?,
            targets,
        },
    ))
}

impl<T> Signed<T> {
    /// Check that at least `threshold` distinct keys of `role` in `root` signed this.
    pub fn verify_by(&self, root: &Root, role: Role) -> Result<(), TufError> {
        let Some(keys) = root.roles.get(role.name()) else {
            return Err(TufError::Signature {
                role,
                valid: 0,
                threshold: 1,
            });
        };
        let mut good: Vec<&str> = Vec::new();
        for id in &keys.keyids {
            if good.contains(&id.as_str()) {
                continue;
            }
            let Some(Some((key, digest))) = root.keys.get(id) else {
                continue;
            };
            let signed_by_key = self
                .signatures
                .iter()
                .filter(|(k, _)| k == id)
                .any(|(_, sig)| key.verify(*digest, &self.canonical, sig).is_ok());
            if signed_by_key {
                good.push(id);
            }
        }
        if (good.len() as u64) < keys.threshold {
            return Err(TufError::Signature {
                role,
                valid: good.len() as u64,
                threshold: keys.threshold,
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
    /// The key and the digest its scheme signs with; `None` for schemes this client does not
    /// implement (such a key never counts towards a threshold).
    fn parse(self) -> Option<(PublicKey, Digest)> {
        let public = self.keyval.public.trim();
        match (self.keytype.as_str(), self.scheme.as_str()) {
            ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => Some((
                PublicKey::from_spki_der(&pem_spki(public)?).ok()?,
                Digest::Sha256,
            )),
            ("ecdsa" | "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384") => Some((
                PublicKey::from_spki_der(&pem_spki(public)?).ok()?,
                Digest::Sha384,
            )),
            ("ed25519", "ed25519") => {
                let raw = unhex(public).filter(|r| r.len() == 32)?;
                // SubjectPublicKeyInfo for id-Ed25519 (RFC 8410) around the raw key.
                let mut der = vec![
                    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
                ];
                der.extend_from_slice(&raw);
                Some((PublicKey::from_spki_der(&der).ok()?, Digest::Sha512))
            }
            _ => None,
        }
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

/// Check `bytes` against a pinned length and hashes (every hash this client knows must
/// match, and at least one must be known when hashes are given).
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
    let mut known = 0;
    for (alg, want) in hashes {
        let got = match alg.as_str() {
            "sha256" => hex(&crate::crypto::sha256(bytes)),
            "sha512" => {
                use sha2::Digest as _;
                hex(&sha2::Sha512::digest(bytes))
            }
            _ => continue,
        };
        known += 1;
        if !got.eq_ignore_ascii_case(want) {
            return Err(TufError::Hash {
                file: file.to_owned(),
            });
        }
    }
    if known == 0 {
        return Err(TufError::Hash {
            file: file.to_owned(),
        });
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
