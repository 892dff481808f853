//! Rekor v2 (rekor-tiles)–compatible log shards: one durable, append-only RFC 6962 tree per
//! shard the TUF repository announces ([`crate::tuf::Shard`]), served under
//! `/rekor-v2/<shard>/` (the shard's base URL in the trusted root and the signing config).
//!
//! Write API (rekor-tiles `POST /api/v2/log/entries`, proto3 JSON): a `CreateEntryRequest`
//! holding `hashedRekordRequestV002 { digest, signature { content, verifier {
//! x509Certificate | publicKey, keyDetails } } }`. As rekor-tiles does, the signature must
//! verify over the digest with the verifier's key (only `PKIX_ECDSA_P256_SHA_256` here),
//! else 400. The logged body is the RFC 8785 JSON of the `Entry` (`kind` hashedrekord,
//! `apiVersion` 0.0.2, `spec.hashedRekordV002 { data { algorithm SHA2_256, digest },
//! signature }`); the answer (201) is the `TransparencyLogEntry` — `logIndex`, `logId.keyId`
//! (SHA-256 of the shard key's SPKI), `kindVersion`, `inclusionProof` with the signed
//! checkpoint, `canonicalizedBody` — and, unlike Rekor v1, no integrated time and no SET.
//!
//! Checkpoints are C2SP signed notes, `"<origin>\n<size>\n<b64 root>\n\n— <origin>
//! <b64(key hint ‖ DER ECDSA-SHA256 sig)>\n"`; the origin is the host of the base URL (what
//! sigstore-go checks: `note.NewNoteVerifier(u.Hostname(), …)`), the key hint the first four
//! bytes of SHA-256 of the SPKI (rekor-tiles' ECDSA note key id).
//!
//! Read API (C2SP tlog-tiles): `GET /api/v2/checkpoint`, `GET /api/v2/tile/<L>/<N>[.p/<W>]`
//! (the hashes of level `L`: tree height `8·L`) and `GET /api/v2/tile/entries/<N>[.p/<W>]`
//! (entry bundles: each entry as a big-endian u16 length and the body).
//!
//! Durability: `<state>/rekor-v2/<shard>/entries.jsonl`, one line per entry, fsynced before
//! the 201; a torn last line (never acknowledged) is cut off on start.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use der::{Decode, Encode};
use serde_json::{json, Value};
use x509_cert::Certificate;

use crate::http::{Faults, Req, Resp};
use crate::keys::{self, b64, KeyPair};
use crate::merkle::{self, Tree};
use crate::tuf::Shard;
use crate::{lock, Error};

const ENTRIES_FILE: &str = "entries.jsonl";
/// Hashes per tile and entries per bundle (tlog-tiles).
const TILE_WIDTH: u64 = 256;
/// The only key details this log accepts (gitsign's, sigstore-python's and cosign's P-256 keys).
pub const KEY_DETAILS_P256: &str = "PKIX_ECDSA_P256_SHA_256";

/// Path prefix of every shard.
pub const PREFIX: &str = "/rekor-v2/";

struct ShardLog {
    key: KeyPair,
    path: PathBuf,
    inner: Mutex<Inner>,
}

struct Inner {
    tree: Tree,
    bodies: Vec<Vec<u8>>,
    by_leaf: HashMap<merkle::Hash, usize>,
    file: File,
}

/// Every shard's log, opened on first use.
pub struct Logs {
    dir: PathBuf,
    origin: String,
    open: Mutex<HashMap<String, Arc<ShardLog>>>,
}

/// The host of `base_url` (`http://127.0.0.1:PORT` → `127.0.0.1`): the checkpoint origin.
pub fn origin_of(base_url: &str) -> String {
    let rest = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host.to_owned(),
        _ => authority.to_owned(),
    }
}

/// The route key of a shard request: `"POST /rekor-v2/{shard}/api/v2/log/entries"`, …
pub fn route(method: &str, path: &str) -> Option<String> {
    let rest = path.strip_prefix(PREFIX)?;
    let (shard, api) = rest.split_once('/')?;
    if shard.is_empty() {
        return None;
    }
    let r = match (method, api) {
        ("POST", "api/v2/log/entries") => "api/v2/log/entries",
        ("GET", "api/v2/checkpoint") => "api/v2/checkpoint",
        ("GET", a) if a.starts_with("api/v2/tile/entries/") => "api/v2/tile/entries/{n}",
        ("GET", a) if a.starts_with("api/v2/tile/") => "api/v2/tile/{l}/{n}",
        _ => return None,
    };
    Some(format!("{method} {PREFIX}{{shard}}/{r}"))
}

impl Logs {
    pub fn new(state_dir: &Path, base_url: &str) -> Logs {
        Logs {
            dir: state_dir.join("rekor-v2"),
            origin: origin_of(base_url),
            open: Mutex::new(HashMap::new()),
        }
    }

    fn shard(&self, shard: &Shard) -> Result<Arc<ShardLog>, Error> {
        let mut open = lock(&self.open);
        if let Some(l) = open.get(&shard.state.name) {
            return Ok(l.clone());
        }
        let log = Arc::new(ShardLog::open(
            &self.dir.join(&shard.state.name),
            shard.key.clone(),
        )?);
        open.insert(shard.state.name.clone(), log.clone());
        Ok(log)
    }

    /// Number of entries in `shard` (0 if never written).
    pub fn size(&self, shard: &Shard) -> u64 {
        self.shard(shard)
            .map(|l| lock(&l.inner).bodies.len() as u64)
            .unwrap_or(0)
    }

    /// Handle a request routed by [`route`]; `shards` are the TUF repository's.
    pub fn handle(&self, shards: &[Shard], req: &Req, route: &str, faults: &Faults) -> Resp {
        let Some(rest) = req.path.strip_prefix(PREFIX) else {
            return Resp::rekor_error(404, "not a Rekor v2 shard path");
        };
        let (name, api) = rest.split_once('/').unwrap_or((rest, ""));
        let Some(shard) = shards.iter().find(|s| s.state.name == name) else {
            return Resp::rekor_error(404, &format!("no Rekor v2 shard '{name}'"));
        };
        let log = match self.shard(shard) {
            Ok(l) => l,
            Err(e) => return Resp::rekor_error(500, &e.to_string()),
        };
        if route.ends_with("/api/v2/log/entries") {
            log.create_entry(&self.origin, req, faults)
        } else if route.ends_with("/api/v2/checkpoint") {
            let inner = lock(&log.inner);
            let size = inner.tree.len();
            let Ok(root) = inner.tree.root(size) else {
                return Resp::rekor_error(500, "no tree head");
            };
            let note = log.checkpoint(&self.origin, size as u64, &root, faults);
            Resp::text(200, "text/plain; charset=utf-8", note)
        } else if let Some(tile) = api.strip_prefix("api/v2/tile/entries/") {
            match parse_tile_index(tile) {
                Some((n, w)) => log.entry_bundle(n, w),
                None => Resp::rekor_error(400, "malformed entry bundle path"),
            }
        } else if let Some(tile) = api.strip_prefix("api/v2/tile/") {
            let parsed = tile
                .split_once('/')
                .and_then(|(l, rest)| Some((l.parse::<u64>().ok()?, parse_tile_index(rest)?)));
            match parsed {
                Some((level, (n, w))) if level < 8 => log.tile(level, n, w),
                _ => Resp::rekor_error(400, "malformed tile path"),
            }
        } else {
            Resp::rekor_error(404, "unknown Rekor v2 endpoint")
        }
    }
}

/// `<N>[.p/<W>]` with N in tlog-tiles' path encoding (`x001/x234/067`) → (N, W); W is 256 for
/// a full tile.
fn parse_tile_index(s: &str) -> Option<(u64, u64)> {
    let (n_part, width) = match s.rsplit_once(".p/") {
        Some((n, w)) => {
            let w: u64 = w.parse().ok().filter(|w| (1..TILE_WIDTH).contains(w))?;
            (n, w)
        }
        None => (s, TILE_WIDTH),
    };
    let parts: Vec<&str> = n_part.split('/').collect();
    let (last, init) = parts.split_last()?;
    let mut n: u64 = 0;
    for p in init {
        let digits = p.strip_prefix('x')?;
        n = n.checked_mul(1000)?.checked_add(three_digits(digits)?)?;
    }
    n = n.checked_mul(1000)?.checked_add(three_digits(last)?)?;
    Some((n, width))
}

fn three_digits(s: &str) -> Option<u64> {
    (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// tlog-tiles' path encoding of a tile index: `1234067` → `x001/x234/067`.
pub fn tile_path(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

impl ShardLog {
    fn open(dir: &Path, key: KeyPair) -> Result<ShardLog, Error> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join(ENTRIES_FILE);
        let bodies = replay(&path)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let mut tree = Tree::new();
        let mut by_leaf = HashMap::new();
        for (i, b) in bodies.iter().enumerate() {
            let leaf = merkle::leaf_hash(b);
            tree.push(leaf);
            by_leaf.insert(leaf, i);
        }
        Ok(ShardLog {
            key,
            path,
            inner: Mutex::new(Inner {
                tree,
                bodies,
                by_leaf,
                file,
            }),
        })
    }

    fn checkpoint(&self, origin: &str, size: u64, root: &merkle::Hash, faults: &Faults) -> String {
        let note = format!("{origin}\n{size}\n{}\n", b64(root));
        let mut sig = self.key.key_id()[..4].to_vec();
        let signed = if faults.wrong_signature || faults.bad_set_signature {
            format!("{origin}\n{}\n{}\n", size + 1, b64(root))
        } else {
            note.clone()
        };
        sig.extend_from_slice(&self.key.sign_der(signed.as_bytes()));
        format!("{note}\n\u{2014} {origin} {}\n", b64(&sig))
    }

    fn create_entry(&self, origin: &str, req: &Req, faults: &Faults) -> Resp {
        let Some(request) = req.json() else {
            return Resp::rekor_error(400, "request body is not JSON");
        };
        let body = match canonical_hashedrekord_v002(&request) {
            Ok(b) => b,
            Err(m) => return Resp::rekor_error(400, &m),
        };
        let leaf = merkle::leaf_hash(&body);
        let mut inner = lock(&self.inner);
        // rekor-tiles deduplicates identical entries and returns the existing one.
        let index = match inner.by_leaf.get(&leaf) {
            Some(&i) => i,
            None => {
                let line = json!({ "body": b64(&body) }).to_string() + "\n";
                if let Err(r) = crate::rekor::append_durably(&mut inner.file, &self.path, &line) {
                    return r;
                }
                let i = inner.tree.push(leaf);
                inner.bodies.push(body);
                inner.by_leaf.insert(leaf, i);
                i
            }
        };
        match self.entry_json(&inner, origin, index, faults) {
            Some(v) => Resp::json(201, &v),
            None => Resp::rekor_error(500, "cannot prove the entry"),
        }
    }

    fn entry_json(
        &self,
        inner: &Inner,
        origin: &str,
        index: usize,
        faults: &Faults,
    ) -> Option<Value> {
        let size = inner.tree.len();
        let root = inner.tree.root(size).ok()?;
        let proved = if faults.proof_for_other_leaf && size > 1 {
            (index + 1) % size
        } else {
            index
        };
        let hashes = inner.tree.inclusion_proof(proved, size).ok()?;
        let body = inner.bodies.get(index)?;
        Some(json!({
            "logIndex": index.to_string(),
            "logId": { "keyId": b64(&self.key.key_id()) },
            "kindVersion": { "kind": "hashedrekord", "version": "0.0.2" },
            "inclusionProof": {
                "logIndex": index.to_string(),
                "rootHash": b64(&root),
                "treeSize": size.to_string(),
                "hashes": hashes.iter().map(|h| b64(h)).collect::<Vec<_>>(),
                "checkpoint": { "envelope": self.checkpoint(origin, size as u64, &root, faults) },
            },
            "canonicalizedBody": b64(body),
        }))
    }

    /// A level-`level` tile: the hashes of the complete subtrees of height `8·level` at
    /// indices `n·256 .. n·256+width`.
    fn tile(&self, level: u64, n: u64, width: u64) -> Resp {
        let inner = lock(&self.inner);
        let height = 8 * level as u32;
        let size = inner.tree.len() as u64;
        let first = n.saturating_mul(TILE_WIDTH);
        let complete = size >> height;
        if first.saturating_add(width) > complete {
            return Resp::rekor_error(404, "tile not available");
        }
        let mut out = Vec::with_capacity(width as usize * 32);
        for i in first..first + width {
            match subtree_hash(&inner.tree, height, i) {
                Some(h) => out.extend_from_slice(&h),
                None => return Resp::rekor_error(404, "tile not available"),
            }
        }
        Resp::text(200, "application/octet-stream", out)
    }

    fn entry_bundle(&self, n: u64, width: u64) -> Resp {
        let inner = lock(&self.inner);
        let first = n.saturating_mul(TILE_WIDTH) as usize;
        let Some(entries) = inner
            .bodies
            .get(first..first.saturating_add(width as usize))
        else {
            return Resp::rekor_error(404, "entry bundle not available");
        };
        let mut out = Vec::new();
        for e in entries {
            let Ok(len) = u16::try_from(e.len()) else {
                return Resp::rekor_error(500, "entry too large for a bundle");
            };
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(e);
        }
        Resp::text(200, "application/octet-stream", out)
    }
}

/// The hash of the complete subtree of height `height` at index `i` (leaves
/// `i·2^height .. (i+1)·2^height`).
fn subtree_hash(tree: &Tree, height: u32, i: u64) -> Option<merkle::Hash> {
    if height == 0 {
        return tree.leaf(usize::try_from(i).ok()?).copied();
    }
    let l = subtree_hash(tree, height - 1, 2 * i)?;
    let r = subtree_hash(tree, height - 1, 2 * i + 1)?;
    Some(merkle::node_hash(&l, &r))
}

/// Validate a `CreateEntryRequest` with `hashedRekordRequestV002` and return the canonical
/// `Entry` body rekor-tiles logs.
pub fn canonical_hashedrekord_v002(v: &Value) -> Result<Vec<u8>, String> {
    let hr = v
        .get("hashedRekordRequestV002")
        .ok_or("only hashedRekordRequestV002 entries are supported")?;
    let digest = hr
        .get("digest")
        .and_then(Value::as_str)
        .and_then(keys::unb64)
        .ok_or("missing digest")?;
    if digest.len() != 32 {
        return Err(format!(
            "digest must be 32 bytes (SHA2_256), got {}",
            digest.len()
        ));
    }
    let sig = hr
        .pointer("/signature/content")
        .and_then(Value::as_str)
        .and_then(keys::unb64)
        .filter(|s| !s.is_empty())
        .ok_or("missing signature")?;
    let verifier = hr
        .pointer("/signature/verifier")
        .ok_or("missing verifier")?;
    let key_details = verifier
        .get("keyDetails")
        .and_then(Value::as_str)
        .unwrap_or("");
    if key_details != KEY_DETAILS_P256 {
        return Err(format!(
            "invalid verifier: unsupported key details '{key_details}' ({KEY_DETAILS_P256} expected)"
        ));
    }
    let (which, raw, spki) = if let Some(raw) = verifier
        .pointer("/x509Certificate/rawBytes")
        .and_then(Value::as_str)
    {
        let der = keys::unb64(raw).ok_or("invalid verifier: certificate is not base64")?;
        let cert = Certificate::from_der(&der)
            .map_err(|e| format!("invalid verifier: invalid certificate: {e}"))?;
        let spki = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| e.to_string())?;
        ("x509Certificate", der, spki)
    } else if let Some(raw) = verifier
        .pointer("/publicKey/rawBytes")
        .and_then(Value::as_str)
    {
        let der = keys::unb64(raw).ok_or("invalid verifier: public key is not base64")?;
        spki::SubjectPublicKeyInfoRef::from_der(&der)
            .map_err(|e| format!("invalid verifier: invalid public key: {e}"))?;
        ("publicKey", der.clone(), der)
    } else {
        return Err("invalid verifier: neither x509Certificate nor publicKey".into());
    };
    if !keys::verify_prehash_der(&spki, &digest, &sig) {
        return Err("verifying signature: invalid signature".into());
    }
    // serde_json's map is sorted and writes no whitespace: RFC 8785 for these values.
    let body = json!({
        "apiVersion": "0.0.2",
        "kind": "hashedrekord",
        "spec": { "hashedRekordV002": {
            "data": { "algorithm": "SHA2_256", "digest": b64(&digest) },
            "signature": {
                "content": b64(&sig),
                "verifier": { "keyDetails": key_details, which: { "rawBytes": b64(&raw) } },
            },
        } },
    });
    serde_json::to_vec(&body).map_err(|e| e.to_string())
}

/// Read the entries file, cutting off a torn last line.
fn replay(path: &Path) -> Result<Vec<Vec<u8>>, Error> {
    let mut out = Vec::new();
    for (n, line) in crate::rekor::durable_lines(path)? {
        let line = line.as_slice();
        let body = serde_json::from_slice::<Value>(line)
            .ok()
            .and_then(|v| v.get("body").and_then(Value::as_str).and_then(keys::unb64))
            .ok_or_else(|| Error::State(format!("{} line {}: no body", path.display(), n + 1)))?;
        out.push(body);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuf::ShardState;
    use sha2::{Digest, Sha256};

    fn shard() -> Shard {
        Shard {
            state: ShardState {
                name: "shard-1".into(),
                key: "k".into(),
                start: 0,
                end: None,
            },
            key: KeyPair::generate(),
        }
    }

    fn request(signer: &KeyPair, msg: &[u8]) -> Value {
        let digest = Sha256::digest(msg);
        json!({ "hashedRekordRequestV002": {
            "digest": b64(&digest),
            "signature": {
                "content": b64(&signer.sign_der(msg)),
                "verifier": { "publicKey": { "rawBytes": b64(signer.spki_der()) }, "keyDetails": KEY_DETAILS_P256 },
            },
        } })
    }

    fn post(logs: &Logs, sh: &Shard, v: &Value, faults: &Faults) -> Resp {
        let req = Req {
            method: "POST".into(),
            path: "/rekor-v2/shard-1/api/v2/log/entries".into(),
            body: serde_json::to_vec(v).unwrap(),
            ..Req::default()
        };
        let r = route("POST", &req.path).unwrap();
        logs.handle(std::slice::from_ref(sh), &req, &r, faults)
    }

    fn get(logs: &Logs, sh: &Shard, path: &str) -> Resp {
        let req = Req {
            method: "GET".into(),
            path: format!("/rekor-v2/shard-1/{path}"),
            ..Req::default()
        };
        let r = route("GET", &req.path).unwrap();
        logs.handle(std::slice::from_ref(sh), &req, &r, &Faults::default())
    }

    #[test]
    fn tile_paths_follow_the_spec_encoding() {
        assert_eq!(tile_path(1_234_067), "x001/x234/067");
        assert_eq!(tile_path(5), "005");
        assert_eq!(parse_tile_index("x001/x234/067"), Some((1_234_067, 256)));
        assert_eq!(parse_tile_index("000.p/7"), Some((0, 7)));
        assert_eq!(parse_tile_index("1/2"), None, "groups need the x prefix");
        assert_eq!(
            parse_tile_index("000.p/256"),
            None,
            "a partial tile is narrower than 256"
        );
        assert_eq!(
            origin_of("http://127.0.0.1:4711/rekor-v2/shard-1"),
            "127.0.0.1"
        );
    }

    #[test]
    fn entries_are_proved_checkpointed_and_served_as_tiles() {
        let dir = tempfile::tempdir().unwrap();
        let logs = Logs::new(dir.path(), "http://127.0.0.1:1");
        let sh = shard();
        let signer = KeyPair::generate();
        let mut bodies = Vec::new();
        for i in 0..3u8 {
            let r = post(&logs, &sh, &request(&signer, &[i; 5]), &Faults::default());
            assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(v["logIndex"], i.to_string());
            assert!(
                v.get("integratedTime").is_none(),
                "v2 entries carry no time"
            );
            let body = keys::unb64(v["canonicalizedBody"].as_str().unwrap()).unwrap();
            let proof: Vec<merkle::Hash> = v["inclusionProof"]["hashes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    keys::unb64(h.as_str().unwrap())
                        .unwrap()
                        .try_into()
                        .unwrap()
                })
                .collect();
            let root: merkle::Hash = keys::unb64(v["inclusionProof"]["rootHash"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap();
            assert!(merkle::verify_inclusion(
                &merkle::leaf_hash(&body),
                i as u64,
                i as u64 + 1,
                &proof,
                &root
            ));
            let cp = v["inclusionProof"]["checkpoint"]["envelope"]
                .as_str()
                .unwrap();
            let (text, sigline) = cp.split_once("\n\n").unwrap();
            assert_eq!(text, format!("127.0.0.1\n{}\n{}", i + 1, b64(&root)));
            let sig = keys::unb64(sigline.trim_end().rsplit(' ').next().unwrap()).unwrap();
            assert_eq!(sig[..4], sh.key.key_id()[..4]);
            assert!(keys::verify_der(
                sh.key.spki_der(),
                format!("{text}\n").as_bytes(),
                &sig[4..]
            ));
            bodies.push(body);
        }
        let tile = get(&logs, &sh, "api/v2/tile/0/000.p/3");
        assert_eq!(tile.status, 200);
        let want: Vec<u8> = bodies.iter().flat_map(|b| merkle::leaf_hash(b)).collect();
        assert_eq!(tile.body, want, "a level-0 tile holds the leaf hashes");
        assert_eq!(
            get(&logs, &sh, "api/v2/tile/0/000").status,
            404,
            "no full tile yet"
        );
        let bundle = get(&logs, &sh, "api/v2/tile/entries/000.p/2");
        assert_eq!(bundle.status, 200);
        let len = u16::from_be_bytes([bundle.body[0], bundle.body[1]]) as usize;
        assert_eq!(&bundle.body[2..2 + len], &bodies[0][..]);
        // Restart: the same tree.
        drop(logs);
        let logs = Logs::new(dir.path(), "http://127.0.0.1:1");
        assert_eq!(logs.size(&sh), 3);
    }

    #[test]
    fn bad_requests_are_400() {
        let dir = tempfile::tempdir().unwrap();
        let logs = Logs::new(dir.path(), "http://127.0.0.1:1");
        let sh = shard();
        let signer = KeyPair::generate();
        let mut v = request(&signer, b"x");
        v["hashedRekordRequestV002"]["digest"] = json!(b64(&Sha256::digest(b"y")));
        assert_eq!(
            post(&logs, &sh, &v, &Faults::default()).status,
            400,
            "wrong digest"
        );
        let mut v = request(&signer, b"x");
        v["hashedRekordRequestV002"]["signature"]["verifier"]["keyDetails"] = json!("PKIX_ED25519");
        assert_eq!(
            post(&logs, &sh, &v, &Faults::default()).status,
            400,
            "unsupported key"
        );
        assert_eq!(post(&logs, &sh, &json!({}), &Faults::default()).status, 400);
        assert_eq!(logs.size(&sh), 0, "nothing was logged");
    }
}
