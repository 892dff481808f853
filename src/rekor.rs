//! Rekor v1: log a `hashedrekord` 0.0.1 entry for a signature (`POST /api/v1/log/entries`) and
//! check what comes back before it is embedded.
//!
//! The entry logs the SHA-256 of the DER signed attributes (what the CMS signature covers),
//! the signature and the leaf certificate PEM — the body Go gitsign logs
//! ([`crate::verify::rekor_body::hashedrekord_body`]). The answer must carry a signed entry
//! timestamp and an inclusion proof that verify against the trust root for exactly that body
//! ([`crate::verify::tlog::verify_entry`]); only then is it embedded as unsigned attribute
//! 1.3.6.1.4.1.57264.3.1. A 409 (the same entry is already logged) fetches the existing entry
//! by the UUID Rekor names and checks it the same way.

pub mod v2;

use base64::Engine as _;
use serde_json::Value;

use crate::encoding::unhex;
use crate::http::{Http, HttpError};
use crate::trust::TrustedRoot;
use crate::verify::tlog::{self, InclusionProof, TlogEntry, TlogError, VerifiedEntry};

#[derive(Debug, thiserror::Error)]
pub enum RekorError {
    #[error("could not reach Rekor at '{url}'")]
    Http {
        url: String,
        #[source]
        source: HttpError,
    },
    #[error("Rekor answered {status}: {message}")]
    Refused { status: u16, message: String },
    #[error("Rekor's answer is malformed: {0}")]
    Malformed(String),
    #[error("Rekor logged a different body than the one sent")]
    BodyMismatch,
    #[error("Rekor's answer lacks a {0}, which an embedded entry needs")]
    MissingProof(&'static str),
    #[error("Rekor's entry does not verify against the trusted root")]
    Verify(#[source] TlogError),
}

/// A logged and verified entry, ready for [`tlog::encode_embedded`].
#[derive(Debug, Clone)]
pub struct Logged {
    pub entry: TlogEntry,
    pub verified: VerifiedEntry,
}

/// Upload the hashedrekord entry for (`digest` of the signed attributes, `signature`,
/// `cert_pem`) and verify the answer.
pub fn upload_entry(
    http: &Http,
    rekor_url: &str,
    digest: &[u8; 32],
    signature: &[u8],
    cert_pem: &str,
    root: &TrustedRoot,
) -> Result<Logged, RekorError> {
    let body = tlog::hashedrekord_body(&crate::encoding::hex(digest), signature, cert_pem);
    let proposed: Value =
        serde_json::from_slice(&body).map_err(|e| RekorError::Malformed(e.to_string()))?;
    let base = rekor_url.trim_end_matches('/');
    let url = format!("{base}/api/v1/log/entries");
    let reply = http
        .post_json(&url, &proposed)
        .map_err(|source| RekorError::Http {
            url: url.clone(),
            source,
        })?;
    let reply = match reply.status {
        409 => {
            // Already logged: Rekor names the existing entry in Location (and the message).
            let uuid = reply
                .location
                .as_deref()
                .and_then(|l| l.rsplit('/').next())
                .map(str::to_owned)
                .or_else(|| uuid_from_message(&reply.body))
                .ok_or_else(|| {
                    RekorError::Malformed("409 without the existing entry's UUID".into())
                })?;
            let get = format!("{base}/api/v1/log/entries/{uuid}");
            http.get(&get)
                .map_err(|source| RekorError::Http { url: get, source })?
        }
        _ => reply,
    };
    if !reply.ok() {
        let message = reply.error_message();
        return Err(RekorError::Refused {
            status: reply.status,
            message,
        });
    }
    let v: Value = serde_json::from_slice(&reply.body)
        .map_err(|e| RekorError::Malformed(format!("not JSON: {e}")))?;
    let entry = parse_entry(&v)?;
    if entry.canonicalized_body != body {
        return Err(RekorError::BodyMismatch);
    }
    if entry.signed_entry_timestamp.is_none() {
        return Err(RekorError::MissingProof("signed entry timestamp"));
    }
    if entry.inclusion_proof.is_none() {
        return Err(RekorError::MissingProof("inclusion proof"));
    }
    let verified = tlog::verify_entry(&entry, &body, root).map_err(RekorError::Verify)?;
    Ok(Logged { entry, verified })
}

fn uuid_from_message(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let msg = v.get("message")?.as_str()?;
    msg.split_whitespace()
        .rev()
        .find(|w| w.len() >= 64 && w.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned)
}

/// Rekor's `{uuid: LogEntry}` (or a one-element array of it) as a [`TlogEntry`].
pub fn parse_entry(v: &Value) -> Result<TlogEntry, RekorError> {
    let bad = |m: &str| RekorError::Malformed(m.to_owned());
    let obj = match v {
        Value::Array(a) => a.first().and_then(Value::as_object),
        other => other.as_object(),
    }
    .ok_or_else(|| bad("expected an object keyed by entry UUID"))?;
    let (_, e) = obj.iter().next().ok_or_else(|| bad("no entry"))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = e
        .get("body")
        .and_then(Value::as_str)
        .and_then(|s| b64.decode(s).ok())
        .ok_or_else(|| bad("no base64 body"))?;
    let int = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_i64)
            .ok_or_else(|| RekorError::Malformed(format!("no integer {k}")))
    };
    let log_id = e
        .get("logID")
        .and_then(Value::as_str)
        .and_then(unhex)
        .ok_or_else(|| bad("no hex logID"))?;
    let set = e
        .pointer("/verification/signedEntryTimestamp")
        .and_then(Value::as_str)
        .map(|s| {
            b64.decode(s)
                .map_err(|_| bad("signedEntryTimestamp is not base64"))
        })
        .transpose()?;
    let proof = match e.pointer("/verification/inclusionProof") {
        Some(p) => {
            let hashes = p
                .get("hashes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|h| h.as_str().and_then(unhex))
                        .collect::<Option<Vec<_>>>()
                })
                .unwrap_or(Some(Vec::new()))
                .ok_or_else(|| bad("an inclusion proof hash is not hex"))?;
            Some(InclusionProof {
                log_index: int(p, "logIndex")?,
                root_hash: p
                    .get("rootHash")
                    .and_then(Value::as_str)
                    .and_then(unhex)
                    .ok_or_else(|| bad("no hex rootHash"))?,
                tree_size: int(p, "treeSize")?,
                hashes,
                checkpoint: p
                    .get("checkpoint")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            })
        }
        None => None,
    };
    let (kind, version) = serde_json::from_slice::<Value>(&body)
        .ok()
        .map(|b| {
            let s = |k: &str| {
                b.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            (s("kind"), s("apiVersion"))
        })
        .unwrap_or_default();
    Ok(TlogEntry {
        log_index: int(e, "logIndex")?,
        log_id,
        kind,
        version,
        integrated_time: int(e, "integratedTime")?,
        signed_entry_timestamp: set,
        inclusion_proof: proof,
        canonicalized_body: body,
    })
}

/// Entries per `POST /api/v1/log/entries/retrieve` (the Rekor v1 API's `maxItems` for
/// `entryUUIDs`).
pub const RETRIEVE_BATCH: usize = 10;

/// An entry as Rekor served it: its UUID, the JSON `{uuid: LogEntry}` (kept verbatim as the
/// proof in the cache and in notes, so any Rekor client can check it) and the decoded entry.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub uuid: String,
    pub json: String,
    pub entry: TlogEntry,
}

/// Decode a kept proof (the JSON of [`Fetched::json`]).
pub fn parse_proof(json: &[u8]) -> Result<Fetched, RekorError> {
    let v: Value = serde_json::from_slice(json)
        .map_err(|e| RekorError::Malformed(format!("not JSON: {e}")))?;
    fetched(v)
}

fn fetched(v: Value) -> Result<Fetched, RekorError> {
    let entry = parse_entry(&v)?;
    let uuid = v
        .as_object()
        .and_then(|o| o.keys().next().cloned())
        .unwrap_or_default();
    Ok(Fetched {
        uuid,
        json: v.to_string(),
        entry,
    })
}

fn refused(status: u16, reply: &crate::http::Reply) -> RekorError {
    let message = reply.error_message();
    RekorError::Refused { status, message }
}

fn post(http: &Http, url: &str, body: &Value) -> Result<Value, RekorError> {
    let reply = http
        .post_json(url, body)
        .map_err(|source| RekorError::Http {
            url: url.to_owned(),
            source,
        })?;
    if !reply.ok() {
        return Err(refused(reply.status, &reply));
    }
    serde_json::from_slice(&reply.body).map_err(|e| RekorError::Malformed(format!("not JSON: {e}")))
}

/// UUIDs of the entries logging `sha256:<digest_hex>` (`POST /api/v1/index/retrieve`).
pub fn search_hash(
    http: &Http,
    rekor_url: &str,
    digest_hex: &str,
) -> Result<Vec<String>, RekorError> {
    search(
        http,
        rekor_url,
        &serde_json::json!({ "hash": format!("sha256:{digest_hex}") }),
    )
}

/// UUIDs of the entries signed by the key of `cert_pem`: Go gitsign's query
/// (`{"publicKey": {"format": "x509", "content": base64(PEM)}}`).
pub fn search_public_key(
    http: &Http,
    rekor_url: &str,
    cert_pem: &str,
) -> Result<Vec<String>, RekorError> {
    let content = base64::engine::general_purpose::STANDARD.encode(cert_pem.as_bytes());
    search(
        http,
        rekor_url,
        &serde_json::json!({ "publicKey": { "format": "x509", "content": content } }),
    )
}

fn search(http: &Http, rekor_url: &str, query: &Value) -> Result<Vec<String>, RekorError> {
    let url = format!("{}/api/v1/index/retrieve", rekor_url.trim_end_matches('/'));
    let v = post(http, &url, query)?;
    let list = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Array(a) => a,
        _ => {
            return Err(RekorError::Malformed(
                "the index answer is not a list of UUIDs".into(),
            ))
        }
    };
    list.into_iter()
        .map(|u| match u {
            Value::String(s)
                if !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                Ok(s)
            }
            _ => Err(RekorError::Malformed(
                "the index answer holds something that is not a UUID".into(),
            )),
        })
        .collect()
}

/// The entries with these UUIDs, [`RETRIEVE_BATCH`] per `POST /api/v1/log/entries/retrieve`.
/// Entries Rekor does not know are simply absent from the answer.
pub fn retrieve(
    http: &Http,
    rekor_url: &str,
    uuids: &[String],
) -> Result<Vec<Fetched>, RekorError> {
    let url = format!(
        "{}/api/v1/log/entries/retrieve",
        rekor_url.trim_end_matches('/')
    );
    let mut out = Vec::new();
    for batch in uuids.chunks(RETRIEVE_BATCH) {
        let v = post(http, &url, &serde_json::json!({ "entryUUIDs": batch }))?;
        let Value::Array(items) = v else {
            return Err(RekorError::Malformed(
                "the retrieve answer is not a list of entries".into(),
            ));
        };
        for item in items {
            out.push(fetched(item)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_answers_are_errors_not_panics() {
        for v in [
            serde_json::json!(null),
            serde_json::json!({}),
            serde_json::json!({"x": {"body": "!!"}}),
            serde_json::json!({"x": {"body": "e30=", "logID": "zz", "logIndex": 1, "integratedTime": 1}}),
            serde_json::json!([{"x": {"body": "e30=", "logID": "00", "logIndex": 1, "integratedTime": 1,
                "verification": {"inclusionProof": {"hashes": [1], "logIndex": 0, "treeSize": 1, "rootHash": "00"}}}}]),
        ] {
            assert!(parse_entry(&v).is_err(), "{v} must be refused");
        }
        assert_eq!(
            uuid_from_message(br#"{"message":"an equivalent entry already exists in the transparency log with UUID 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}"#).as_deref(),
            Some("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
            "a 409 without Location still names the entry"
        );
    }
}
