//! The Rekor v1–compatible transparency log: `hashedrekord` 0.0.1 entries in a durable,
//! append-only RFC 6962 tree ([`crate::merkle`]), answered in Rekor's v1 JSON.
//!
//! Every entry response carries `integratedTime`, `logID` (hex SHA-256 of the log's SPKI),
//! `logIndex`, `verification.signedEntryTimestamp` (ECDSA over the RFC 8785 canonical JSON of
//! `{body, integratedTime, logID, logIndex}`, as Rekor's SET) and `verification.inclusionProof`
//! with a checkpoint in the signed-note format Rekor v1 uses:
//! `"<origin>\n<size>\n<b64 root>\n\n— <name> <b64(keyhint‖DER sig)>\n"`.
//!
//! Durability: `<state>/rekor/entries.jsonl` gets one line per entry and is fsynced before
//! the 201 is sent; on start a torn last line (a crash mid-write, never acknowledged) is cut
//! off and everything before it is served again, so the tree and its root hash are the same.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use der::{Decode, Encode};
use serde_json::{json, Value};
use x509_cert::Certificate;

use crate::http::{Faults, Req, Resp};
use crate::keys::{self, b64, hex, KeyPair};
use crate::merkle::{self, Tree};
use crate::{lock, Error};

/// The signer name on checkpoints and the host part of the origin line.
pub const LOG_NAME: &str = "sigstore-local";
const ENTRIES_FILE: &str = "entries.jsonl";
const TREE_ID_FILE: &str = "tree_id";

#[derive(Debug, Clone)]
struct Entry {
    body: Vec<u8>,
    integrated_time: i64,
}

struct Inner {
    tree: Tree,
    entries: Vec<Entry>,
    by_leaf: HashMap<merkle::Hash, usize>,
    /// The search keys of each entry, parsed once when it is logged (a search then compares
    /// strings instead of parsing every certificate: 1,000 searches over 1,000 entries went
    /// from ~25 s of parsing to milliseconds).
    index: Vec<Option<IndexKeys>>,
    file: File,
}

/// The log.
pub struct Log {
    key: KeyPair,
    tree_id: i64,
    path: PathBuf,
    inner: Mutex<Inner>,
}

impl Log {
    /// Open (or create) the log in `dir`, replaying its entries file.
    pub fn open(dir: &Path, keys_dir: &Path) -> Result<Self, Error> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let key = KeyPair::load_or_create(keys_dir, "rekor")?;
        let tree_id_path = dir.join(TREE_ID_FILE);
        let tree_id = if tree_id_path.exists() {
            fs::read_to_string(&tree_id_path)
                .map_err(|e| Error::io(&tree_id_path, e))?
                .trim()
                .parse::<i64>()
                .map_err(|e| Error::State(format!("{}: {e}", tree_id_path.display())))?
        } else {
            let b = keys::random_bytes::<8>();
            let id = (i64::from_be_bytes(b) & i64::MAX).max(1);
            fs::write(&tree_id_path, format!("{id}\n")).map_err(|e| Error::io(&tree_id_path, e))?;
            id
        };
        let path = dir.join(ENTRIES_FILE);
        let entries = replay(&path)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let mut tree = Tree::new();
        let mut by_leaf = HashMap::new();
        let mut index = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let leaf = merkle::leaf_hash(&e.body);
            tree.push(leaf);
            by_leaf.insert(leaf, i);
            index.push(IndexKeys::of(&e.body));
        }
        Ok(Self {
            key,
            tree_id,
            path,
            inner: Mutex::new(Inner {
                tree,
                entries,
                by_leaf,
                index,
                file,
            }),
        })
    }

    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    pub fn tree_id(&self) -> i64 {
        self.tree_id
    }

    /// Checkpoint origin line: `"<name> - <treeID>"`, as Rekor v1 writes it.
    pub fn origin(&self) -> String {
        format!("{LOG_NAME} - {}", self.tree_id)
    }

    pub fn size(&self) -> u64 {
        lock(&self.inner).entries.len() as u64
    }

    pub fn root_hex(&self) -> String {
        let inner = lock(&self.inner);
        inner
            .tree
            .root(inner.tree.len())
            .map(|r| hex(&r))
            .unwrap_or_default()
    }

    fn entry_id(&self, leaf: &merkle::Hash) -> String {
        format!("{:016x}{}", self.tree_id, hex(leaf))
    }

    /// The signed checkpoint for a tree head.
    pub fn checkpoint(&self, size: u64, root: &merkle::Hash) -> String {
        let note = format!("{}\n{size}\n{}\n", self.origin(), b64(root));
        let mut sig = self.key.key_id()[..4].to_vec();
        sig.extend_from_slice(&self.key.sign_der(note.as_bytes()));
        format!("{note}\n\u{2014} {LOG_NAME} {}\n", b64(&sig))
    }

    /// The SET payload: RFC 8785 JSON of `{body, integratedTime, logID, logIndex}` (keys
    /// already in canonical order; serde_json writes no whitespace).
    pub fn set_payload(
        body_b64: &str,
        integrated_time: i64,
        log_id_hex: &str,
        log_index: u64,
    ) -> Vec<u8> {
        let v = json!({ "body": body_b64, "integratedTime": integrated_time, "logID": log_id_hex, "logIndex": log_index });
        serde_json::to_vec(&v).unwrap_or_default()
    }

    /// One entry in Rekor's response shape, proved against the tree of `size`.
    fn entry_json(
        &self,
        inner: &Inner,
        index: usize,
        faults: &Faults,
    ) -> Result<(String, Value), Resp> {
        let e = inner
            .entries
            .get(index)
            .ok_or_else(|| Resp::rekor_error(404, "entry not found"))?;
        let size = inner.tree.len();
        let leaf = *inner
            .tree
            .leaf(index)
            .ok_or_else(|| Resp::rekor_error(404, "entry not found"))?;
        let root = inner
            .tree
            .root(size)
            .map_err(|e| Resp::rekor_error(500, &e.to_string()))?;
        let hashes = if faults.proof_for_other_leaf {
            if size > 1 {
                inner
                    .tree
                    .inclusion_proof((index + 1) % size, size)
                    .unwrap_or_default()
            } else {
                vec![merkle::leaf_hash(b"another leaf")]
            }
        } else {
            inner
                .tree
                .inclusion_proof(index, size)
                .map_err(|e| Resp::rekor_error(500, &e.to_string()))?
        };
        let log_id = hex(&self.key.key_id());
        let body_b64 = b64(&e.body);
        let signed_index = if faults.bad_set_signature {
            index as u64 + 1
        } else {
            index as u64
        };
        let set = self.key.sign_der(&Self::set_payload(
            &body_b64,
            e.integrated_time,
            &log_id,
            signed_index,
        ));
        let v = json!({
            "body": body_b64,
            "integratedTime": e.integrated_time,
            "logID": log_id,
            "logIndex": index,
            "verification": {
                "inclusionProof": {
                    "checkpoint": self.checkpoint(size as u64, &root),
                    "hashes": hashes.iter().map(|h| hex(h)).collect::<Vec<_>>(),
                    "logIndex": index,
                    "rootHash": hex(&root),
                    "treeSize": size,
                },
                "signedEntryTimestamp": b64(&set),
            }
        });
        Ok((self.entry_id(&leaf), v))
    }

    pub fn handle(&self, req: &Req, route: &str, faults: &Faults) -> Resp {
        match route {
            "POST /api/v1/log/entries" => self.create_entry(req, faults),
            "GET /api/v1/log/entries" => self.get_by_index(req, faults),
            "GET /api/v1/log/entries/{uuid}" => {
                let id = req.path.trim_start_matches("/api/v1/log/entries/");
                self.get_by_uuid(id, faults)
            }
            "POST /api/v1/log/entries/retrieve" => self.retrieve(req, faults),
            "POST /api/v1/index/retrieve" => self.search_index(req),
            "GET /api/v1/log" => self.log_info(),
            "GET /api/v1/log/publicKey" => {
                Resp::text(200, "application/x-pem-file", self.key.public_pem())
            }
            "GET /api/v1/log/proof" => self.consistency(req),
            _ => Resp::rekor_error(404, "unknown Rekor endpoint"),
        }
    }

    fn create_entry(&self, req: &Req, faults: &Faults) -> Resp {
        let Some(proposed) = req.json() else {
            return Resp::rekor_error(400, "request body is not JSON");
        };
        let body = match canonical_hashedrekord(&proposed) {
            Ok(b) => b,
            Err(m) => return Resp::rekor_error(400, &m),
        };
        let leaf = merkle::leaf_hash(&body);
        let mut inner = lock(&self.inner);
        if let Some(&i) = inner.by_leaf.get(&leaf) {
            let id = self.entry_id(&leaf);
            let _ = i;
            return Resp::rekor_error(
                409,
                &format!(
                    "an equivalent entry already exists in the transparency log with UUID {id}"
                ),
            )
            .with_header("Location", &format!("/api/v1/log/entries/{id}"));
        }
        let entry = Entry {
            body,
            integrated_time: keys::now().as_secs() as i64,
        };
        let line = json!({ "integratedTime": entry.integrated_time, "body": b64(&entry.body) })
            .to_string()
            + "\n";
        if let Err(r) = append_durably(&mut inner.file, &self.path, &line) {
            return r;
        }
        let index = inner.tree.push(leaf);
        inner.index.push(IndexKeys::of(&entry.body));
        inner.entries.push(entry);
        inner.by_leaf.insert(leaf, index);
        match self.entry_json(&inner, index, faults) {
            Ok((id, v)) => Resp::json(201, &json!({ id.clone(): v }))
                .with_header("Location", &format!("/api/v1/log/entries/{id}"))
                .with_header("ETag", &id),
            Err(r) => r,
        }
    }

    fn index_of_uuid(&self, inner: &Inner, id: &str) -> Option<usize> {
        let id = id.to_ascii_lowercase();
        let uuid = match id.len() {
            64 => id.as_str(),
            80 if id[..16] == format!("{:016x}", self.tree_id) => &id[16..],
            _ => return None,
        };
        let leaf: merkle::Hash = keys::unhex(uuid)?.try_into().ok()?;
        inner.by_leaf.get(&leaf).copied()
    }

    fn get_by_uuid(&self, id: &str, faults: &Faults) -> Resp {
        let inner = lock(&self.inner);
        let Some(i) = self.index_of_uuid(&inner, id) else {
            return Resp::rekor_error(404, &format!("entry with UUID '{id}' not found"));
        };
        match self.entry_json(&inner, i, faults) {
            Ok((id, v)) => Resp::json(200, &json!({ id: v })),
            Err(r) => r,
        }
    }

    fn get_by_index(&self, req: &Req, faults: &Faults) -> Resp {
        let Some(i) = req
            .query_param("logIndex")
            .and_then(|s| s.parse::<usize>().ok())
        else {
            return Resp::rekor_error(400, "logIndex must be a non-negative integer");
        };
        let inner = lock(&self.inner);
        match self.entry_json(&inner, i, faults) {
            Ok((id, v)) => Resp::json(200, &json!({ id: v })),
            Err(_) => Resp::rekor_error(404, &format!("no entry at logIndex {i}")),
        }
    }

    fn retrieve(&self, req: &Req, faults: &Faults) -> Resp {
        let Some(q) = req.json().filter(Value::is_object) else {
            return Resp::rekor_error(400, "request body must be a JSON object");
        };
        if !["entryUUIDs", "logIndexes", "entries"]
            .iter()
            .any(|k| q.get(k).is_some_and(Value::is_array))
        {
            return Resp::rekor_error(400, "one of entryUUIDs, logIndexes or entries is required");
        }
        let inner = lock(&self.inner);
        let mut indexes = Vec::new();
        for id in q
            .get("entryUUIDs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(i) = id.as_str().and_then(|s| self.index_of_uuid(&inner, s)) {
                indexes.push(i);
            }
        }
        for i in q
            .get("logIndexes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(i) = i.as_u64().filter(|&i| (i as usize) < inner.entries.len()) {
                indexes.push(i as usize);
            }
        }
        for e in q
            .get("entries")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Ok(body) = canonical_hashedrekord(e) {
                if let Some(&i) = inner.by_leaf.get(&merkle::leaf_hash(&body)) {
                    indexes.push(i);
                }
            }
        }
        let mut out = Vec::new();
        for i in indexes {
            if let Ok((id, v)) = self.entry_json(&inner, i, faults) {
                out.push(json!({ id: v }));
            }
        }
        Resp::json(200, &Value::Array(out))
    }

    fn search_index(&self, req: &Req) -> Resp {
        let Some(q) = req.json() else {
            return Resp::rekor_error(400, "request body is not JSON");
        };
        let hash = q
            .get("hash")
            .and_then(Value::as_str)
            .map(|h| h.to_ascii_lowercase());
        let hash = hash.map(|h| {
            if h.contains(':') {
                h
            } else {
                format!("sha256:{h}")
            }
        });
        let email = q
            .get("email")
            .and_then(Value::as_str)
            .map(|e| e.to_ascii_lowercase());
        let key = match q.pointer("/publicKey/content").and_then(Value::as_str) {
            Some(c) => match keys::unb64(c).and_then(|b| spki_of(&b)) {
                Some(k) => Some(k),
                None => {
                    return Resp::rekor_error(
                        400,
                        "publicKey.content is not a PEM or DER key or certificate",
                    )
                }
            },
            None => None,
        };
        if hash.is_none() && email.is_none() && key.is_none() {
            return Resp::rekor_error(400, "one of hash, email or publicKey is required");
        }
        let and = q.get("operator").and_then(Value::as_str) == Some("and");
        let inner = lock(&self.inner);
        let mut out = Vec::new();
        for (i, idx) in inner.index.iter().enumerate() {
            let Some(idx) = idx else { continue };
            let checks = [
                hash.as_ref().map(|h| idx.hash == *h),
                email.as_ref().map(|m| idx.emails.contains(m)),
                key.as_ref().map(|k| idx.spki == *k),
            ];
            let mut present = checks.iter().flatten();
            let hit = if and {
                present.all(|b| *b)
            } else {
                present.any(|b| *b)
            };
            if hit {
                if let Some(leaf) = inner.tree.leaf(i) {
                    out.push(Value::String(self.entry_id(leaf)));
                }
            }
        }
        Resp::json(200, &Value::Array(out))
    }

    fn log_info(&self) -> Resp {
        let inner = lock(&self.inner);
        let size = inner.tree.len();
        let root = inner.tree.root(size).unwrap_or_default();
        Resp::json(
            200,
            &json!({
                "rootHash": hex(&root),
                "treeSize": size,
                "signedTreeHead": self.checkpoint(size as u64, &root),
                "treeID": self.tree_id.to_string(),
                "inactiveShards": [],
            }),
        )
    }

    fn consistency(&self, req: &Req) -> Resp {
        let parse = |k: &str| req.query_param(k).map(|s| s.parse::<usize>());
        let first = match parse("firstSize") {
            None => 1,
            Some(Ok(v)) => v,
            Some(Err(_)) => return Resp::rekor_error(400, "firstSize must be an integer"),
        };
        let Some(Ok(last)) = parse("lastSize") else {
            return Resp::rekor_error(400, "lastSize is required");
        };
        if let Some(t) = req.query_param("treeID") {
            if t != self.tree_id.to_string() {
                return Resp::rekor_error(400, &format!("unknown treeID {t}"));
            }
        }
        let inner = lock(&self.inner);
        let proof = inner.tree.consistency_proof(first, last);
        let root = inner.tree.root(last);
        match (proof, root) {
            (Ok(p), Ok(r)) => Resp::json(
                200,
                &json!({ "rootHash": hex(&r), "hashes": p.iter().map(|h| hex(h)).collect::<Vec<_>>() }),
            ),
            _ => Resp::rekor_error(
                400,
                &format!(
                    "firstSize {first} and lastSize {last} must satisfy 0 <= first <= last <= {}",
                    inner.tree.len()
                ),
            ),
        }
    }
}

/// Append one entry line to the entries file and fsync it: durable before acknowledged (the
/// caller makes the entry visible only after this). A failure is the 500 to answer.
pub(crate) fn append_durably(file: &mut File, path: &Path, line: &str) -> Result<(), Resp> {
    file.write_all(line.as_bytes())
        .and_then(|_| file.sync_data())
        .map_err(|e| {
            Resp::rekor_error(
                500,
                &format!("cannot persist entry to {}: {e}", path.display()),
            )
        })
}

/// The complete lines of a durable entries file (JSON Lines) with their 0-based numbers,
/// after cutting a torn last line (a crash mid-append) off the file.
pub(crate) fn durable_lines(path: &Path) -> Result<Vec<(usize, Vec<u8>)>, Error> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let data = fs::read(path).map_err(|e| Error::io(path, e))?;
    let complete = data
        .iter()
        .rposition(|&b| b == b'\n')
        .map(|p| p + 1)
        .unwrap_or(0);
    if complete < data.len() {
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        f.set_len(complete as u64)
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(path, e))?;
    }
    Ok(data[..complete]
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(n, line)| (n, line.to_vec()))
        .collect())
}

/// Read the entries file, cutting off a torn last line.
fn replay(path: &Path) -> Result<Vec<Entry>, Error> {
    let mut out = Vec::new();
    for (n, line) in durable_lines(path)? {
        let line = line.as_slice();
        let v: Value = serde_json::from_slice(line)
            .map_err(|e| Error::State(format!("{} line {}: {e}", path.display(), n + 1)))?;
        let body = v.get("body").and_then(Value::as_str).and_then(keys::unb64);
        let t = v.get("integratedTime").and_then(Value::as_i64);
        match (body, t) {
            (Some(body), Some(integrated_time)) => out.push(Entry {
                body,
                integrated_time,
            }),
            _ => {
                return Err(Error::State(format!(
                    "{} line {}: missing body or integratedTime",
                    path.display(),
                    n + 1
                )))
            }
        }
    }
    Ok(out)
}

/// SPKI DER from PEM/DER certificate or public key bytes.
fn spki_of(bytes: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(bytes).ok();
    if let Some(t) = text {
        if let Some(der) = keys::pem_blocks(t, "CERTIFICATE").into_iter().next() {
            return Certificate::from_der(&der)
                .ok()?
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .ok();
        }
        if let Some(der) = keys::pem_blocks(t, "PUBLIC KEY").into_iter().next() {
            return Some(der);
        }
    }
    if let Ok(c) = Certificate::from_der(bytes) {
        return c.tbs_certificate.subject_public_key_info.to_der().ok();
    }
    spki::SubjectPublicKeyInfoRef::from_der(bytes)
        .ok()
        .map(|_| bytes.to_vec())
}

/// Validate a proposed `hashedrekord` 0.0.1 entry and return Rekor's canonical body bytes.
pub fn canonical_hashedrekord(v: &Value) -> Result<Vec<u8>, String> {
    if v.get("kind").and_then(Value::as_str) != Some("hashedrekord") {
        return Err("only kind 'hashedrekord' is supported".into());
    }
    if v.get("apiVersion").and_then(Value::as_str) != Some("0.0.1") {
        return Err("only hashedrekord apiVersion '0.0.1' is supported".into());
    }
    let algo = v
        .pointer("/spec/data/hash/algorithm")
        .and_then(Value::as_str)
        .unwrap_or("");
    if algo != "sha256" {
        return Err(format!(
            "unsupported hash algorithm '{algo}' (sha256 expected)"
        ));
    }
    let value = v
        .pointer("/spec/data/hash/value")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    let digest = keys::unhex(&value)
        .filter(|d| d.len() == 32)
        .ok_or("spec.data.hash.value must be 64 hex digits")?;
    let sig = v
        .pointer("/spec/signature/content")
        .and_then(Value::as_str)
        .and_then(keys::unb64)
        .ok_or("spec.signature.content must be base64")?;
    let key_bytes = v
        .pointer("/spec/signature/publicKey/content")
        .and_then(Value::as_str)
        .and_then(keys::unb64)
        .ok_or("spec.signature.publicKey.content must be base64")?;
    // Canonical key material: PEM re-armoured from DER, as Rekor re-marshals it.
    let text = std::str::from_utf8(&key_bytes).unwrap_or("");
    let (canonical_pem, spki) =
        if let Some(der) = keys::pem_blocks(text, "CERTIFICATE").into_iter().next() {
            let c = Certificate::from_der(&der).map_err(|e| format!("invalid certificate: {e}"))?;
            let spki = c
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .map_err(|e| e.to_string())?;
            (keys::pem("CERTIFICATE", &der), spki)
        } else if let Some(der) = keys::pem_blocks(text, "PUBLIC KEY").into_iter().next() {
            (keys::pem("PUBLIC KEY", &der), der)
        } else {
            return Err(
                "spec.signature.publicKey.content must be a PEM certificate or public key".into(),
            );
        };
    if !keys::verify_prehash_der(&spki, &digest, &sig) {
        return Err(
            "verifying signature: invalid signature when validating ASN.1 encoded signature".into(),
        );
    }
    let body = json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": { "hash": { "algorithm": "sha256", "value": value } },
            "signature": { "content": b64(&sig), "publicKey": { "content": b64(canonical_pem.as_bytes()) } },
        },
    });
    serde_json::to_vec(&body).map_err(|e| e.to_string())
}

/// Search keys of one entry.
struct IndexKeys {
    hash: String,
    emails: Vec<String>,
    spki: Vec<u8>,
}

impl IndexKeys {
    fn of(body: &[u8]) -> Option<IndexKeys> {
        let v: Value = serde_json::from_slice(body).ok()?;
        let hash = format!("sha256:{}", v.pointer("/spec/data/hash/value")?.as_str()?);
        let key = keys::unb64(v.pointer("/spec/signature/publicKey/content")?.as_str()?)?;
        let spki = spki_of(&key)?;
        let mut emails = Vec::new();
        if let Some(der) = keys::pem_blocks(std::str::from_utf8(&key).ok()?, "CERTIFICATE")
            .into_iter()
            .next()
        {
            if let Ok(c) = Certificate::from_der(&der) {
                for e in c.tbs_certificate.extensions.iter().flatten() {
                    if e.extn_id == crate::ca::SAN_OID {
                        if let Ok(san) =
                            x509_cert::ext::pkix::SubjectAltName::from_der(e.extn_value.as_bytes())
                        {
                            for n in san.0 {
                                if let x509_cert::ext::pkix::name::GeneralName::Rfc822Name(m) = n {
                                    emails.push(m.as_str().to_ascii_lowercase());
                                }
                            }
                        }
                    }
                }
            }
        }
        Some(IndexKeys { hash, emails, spki })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    use p256::ecdsa::Signature;
    use sha2::{Digest, Sha256};

    fn proposed(key: &KeyPair, payload: &[u8]) -> Value {
        let digest = Sha256::digest(payload);
        let sig: Signature = key.signing_key().sign_prehash(&digest).unwrap();
        json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
            "signature": {"content": b64(sig.to_der().as_bytes()), "publicKey": {"content": b64(key.public_pem().as_bytes())}},
            "data": {"hash": {"algorithm": "sha256", "value": hex(&digest)}}}})
    }

    fn post(log: &Log, v: &Value, faults: &Faults) -> Resp {
        let req = Req {
            method: "POST".into(),
            path: "/api/v1/log/entries".into(),
            body: v.to_string().into_bytes(),
            ..Req::default()
        };
        log.handle(&req, "POST /api/v1/log/entries", faults)
    }

    fn only_entry(r: &Resp) -> Value {
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        v.as_object().unwrap().values().next().unwrap().clone()
    }

    #[test]
    fn set_and_checkpoint_signatures_verify() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), dir.path()).unwrap();
        let signer = KeyPair::generate();
        let r = post(&log, &proposed(&signer, b"hello"), &Faults::default());
        assert_eq!(
            r.status,
            201,
            "a valid entry must be created: {}",
            String::from_utf8_lossy(&r.body)
        );
        let e = only_entry(&r);
        let payload = Log::set_payload(
            e["body"].as_str().unwrap(),
            e["integratedTime"].as_i64().unwrap(),
            e["logID"].as_str().unwrap(),
            e["logIndex"].as_u64().unwrap(),
        );
        let set = keys::unb64(e["verification"]["signedEntryTimestamp"].as_str().unwrap()).unwrap();
        assert!(
            keys::verify_der(log.key().spki_der(), &payload, &set),
            "the SET must verify with the log key"
        );
        assert_eq!(
            e["logID"].as_str().unwrap(),
            hex(&log.key().key_id()),
            "logID must be the hex key id"
        );

        let cp = e["verification"]["inclusionProof"]["checkpoint"]
            .as_str()
            .unwrap();
        let (note, sigline) = cp.split_once("\n\n").unwrap();
        let note = format!("{note}\n");
        let lines: Vec<&str> = note.lines().collect();
        assert_eq!(lines[0], log.origin(), "first line must be the origin");
        assert_eq!(lines[1], "1", "second line must be the tree size");
        let root = keys::unb64(lines[2]).unwrap();
        assert_eq!(
            hex(&root),
            e["verification"]["inclusionProof"]["rootHash"]
                .as_str()
                .unwrap(),
            "checkpoint root must match the proof"
        );
        let sig_b64 = sigline
            .strip_prefix("\u{2014} sigstore-local ")
            .unwrap()
            .trim_end_matches('\n');
        let sig = keys::unb64(sig_b64).unwrap();
        assert_eq!(
            &sig[..4],
            &log.key().key_id()[..4],
            "the key hint must be the first 4 bytes of the key id"
        );
        assert!(
            keys::verify_der(log.key().spki_der(), note.as_bytes(), &sig[4..]),
            "the checkpoint signature must verify"
        );
    }

    #[test]
    fn duplicate_entries_get_409_with_location() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), dir.path()).unwrap();
        let signer = KeyPair::generate();
        let p = proposed(&signer, b"dup");
        assert_eq!(
            post(&log, &p, &Faults::default()).status,
            201,
            "first upload creates"
        );
        let r = post(&log, &p, &Faults::default());
        assert_eq!(r.status, 409, "second upload of the same entry conflicts");
        assert!(
            r.headers
                .iter()
                .any(|(k, v)| k == "Location" && v.starts_with("/api/v1/log/entries/")),
            "409 must carry Location"
        );
    }

    #[test]
    fn entries_with_bad_signatures_or_shapes_are_400() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), dir.path()).unwrap();
        let signer = KeyPair::generate();
        let mut p = proposed(&signer, b"x");
        p["spec"]["data"]["hash"]["value"] = json!(hex(&Sha256::digest(b"y")));
        assert_eq!(
            post(&log, &p, &Faults::default()).status,
            400,
            "a signature over another hash must be refused"
        );
        for bad in [
            json!({}),
            json!({"kind": "rekord"}),
            json!([1, 2]),
            json!({"kind": "hashedrekord", "apiVersion": "0.0.1", "spec": 5}),
        ] {
            assert_eq!(
                post(&log, &bad, &Faults::default()).status,
                400,
                "malformed entry {bad} must be 400"
            );
        }
        assert_eq!(log.size(), 0, "nothing invalid may be appended");
    }

    #[test]
    fn restart_serves_the_same_tree_and_drops_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let signer = KeyPair::generate();
        let (root, size) = {
            let log = Log::open(dir.path(), dir.path()).unwrap();
            for i in 0..5u8 {
                assert_eq!(
                    post(&log, &proposed(&signer, &[i]), &Faults::default()).status,
                    201,
                    "append {i}"
                );
            }
            (log.root_hex(), log.size())
        };
        // A crash in the middle of the next append: half a line, never acknowledged.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join(ENTRIES_FILE))
            .unwrap();
        f.write_all(b"{\"integratedTime\":1,\"bo").unwrap();
        drop(f);
        let log = Log::open(dir.path(), dir.path()).unwrap();
        assert_eq!(
            log.size(),
            size,
            "a reopened log must have every acknowledged entry and no torn one"
        );
        assert_eq!(
            log.root_hex(),
            root,
            "a reopened log must have the same root hash"
        );
        assert_eq!(
            post(&log, &proposed(&signer, b"after"), &Faults::default()).status,
            201,
            "the log must accept appends after recovery"
        );
        assert_eq!(
            Log::open(dir.path(), dir.path()).unwrap().size(),
            size + 1,
            "the recovered file must stay well-formed"
        );
    }
}
