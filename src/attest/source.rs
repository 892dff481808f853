//! The statement `gitsign show` prints, as Go gitsign's `pkg/attest` builds it: an in-toto
//! Statement v1 about a commit (predicate `https://gitsign.sigstore.dev/predicate/git/v0.1`)
//! or an annotated tag (`…/predicate/tag/v0.1`), the predicate holding the object's fields,
//! its signature and, for CMS signatures, each signer's certificate and DER signed attributes.
//! Field names are those of Go gitsign's test vectors (`pkg/attest/testdata/*.out.json`).
//! Pure: raw object bytes in, JSON out.

use base64::Engine as _;
use serde_json::{json, Map, Value};

pub const COMMIT_PREDICATE: &str = "https://gitsign.sigstore.dev/predicate/git/v0.1";
pub const TAG_PREDICATE: &str = "https://gitsign.sigstore.dev/predicate/tag/v0.1";

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SourceError {
    #[error("the object is not a well-formed {0}")]
    Malformed(&'static str),
    #[error("the object's CMS signature cannot be parsed")]
    Signature(#[source] crate::cms::CmsError),
}

/// Headers (continuation lines joined, each line ending in '\n' as go-git keeps them) and
/// the message.
struct Parsed {
    headers: Vec<(String, String)>,
    message: String,
}

fn parse(raw: &[u8], what: &'static str) -> Result<Parsed, SourceError> {
    let text = std::str::from_utf8(raw).map_err(|_| SourceError::Malformed(what))?;
    let (head, message) = match text.find("\n\n") {
        Some(at) => (&text[..at], &text[at + 2..]),
        None => (text.trim_end_matches('\n'), ""),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split('\n') {
        if let Some(cont) = line.strip_prefix(' ') {
            let (_, v) = headers.last_mut().ok_or(SourceError::Malformed(what))?;
            v.push_str(cont);
            v.push('\n');
        } else {
            let (k, v) = line.split_once(' ').ok_or(SourceError::Malformed(what))?;
            headers.push((k.to_owned(), format!("{v}\n")));
        }
    }
    Ok(Parsed {
        headers,
        message: message.to_owned(),
    })
}

impl Parsed {
    fn all(&self, key: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn one(&self, key: &str) -> Option<&str> {
        self.all(key).first().map(|v| v.trim_end_matches('\n'))
    }
}

/// `Name <email> 1668460399 -0500` as {name, email, date (UTC, RFC 3339)}.
fn person(value: &str) -> Value {
    let (name, rest) = value.split_once('<').unwrap_or((value, ""));
    let (email, when) = rest.split_once('>').unwrap_or((rest, ""));
    let secs = when
        .split_whitespace()
        .next()
        .and_then(|s| s.parse::<i64>().ok());
    let mut v = json!({ "name": name.trim_end(), "email": email });
    if let Some(t) = secs.and_then(|s| chrono::DateTime::from_timestamp(s, 0)) {
        v["date"] = t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
    }
    v
}

/// Go gitsign's `signer_info`: for a CMS signature, the signer's certificate (PEM) and its
/// signed attributes (DER SET, base64); nothing for other formats.
fn signer_info(signature: &str) -> Result<Option<Value>, SourceError> {
    if !signature.starts_with("-----BEGIN SIGNED MESSAGE-----") {
        return Ok(None);
    }
    let msg = crate::cms::parse(signature.as_bytes()).map_err(SourceError::Signature)?;
    let cert = msg
        .signer_certificate()
        .ok()
        .and_then(|i| msg.certificates.get(i));
    let Some(cert) = cert else {
        return Ok(Some(json!([])));
    };
    Ok(Some(json!([{
        "certificate": crate::pem::encode("CERTIFICATE", cert),
        "attributes": base64::engine::general_purpose::STANDARD.encode(&msg.signer.signed_attrs_der),
    }])))
}

fn subject(remote_url: Option<&str>, digests: Map<String, Value>) -> Value {
    let mut s = json!({ "digest": digests });
    if let Some(url) = remote_url.filter(|u| !u.is_empty()) {
        s["name"] = url.into();
    }
    json!([s])
}

fn digest_name(id: &str) -> &'static str {
    if id.len() == 64 {
        "sha256"
    } else {
        "sha1"
    }
}

fn statement(predicate_type: &str, subject: Value, predicate: Map<String, Value>) -> Value {
    json!({
        "_type": super::STATEMENT_TYPE,
        "subject": subject,
        "predicateType": predicate_type,
        "predicate": predicate,
    })
}

/// The statement about commit `id` (raw bytes `raw`), named after `remote_url` when known.
pub fn commit_statement(
    id: &str,
    raw: &[u8],
    remote_url: Option<&str>,
) -> Result<Value, SourceError> {
    let c = parse(raw, "commit")?;
    let tree = c.one("tree").ok_or(SourceError::Malformed("commit"))?;
    let mut source = Map::new();
    source.insert("tree".into(), tree.into());
    let parents: Vec<&str> = c
        .all("parent")
        .iter()
        .map(|p| p.trim_end_matches('\n'))
        .collect();
    if !parents.is_empty() {
        source.insert("parents".into(), parents.into());
    }
    for who in ["author", "committer"] {
        if let Some(v) = c.one(who) {
            source.insert(who.into(), person(v));
        }
    }
    if !c.message.is_empty() {
        source.insert("message".into(), c.message.clone().into());
    }
    let mut predicate = Map::new();
    predicate.insert("source".into(), source.into());
    if let Some(sig) = c.all("gpgsig").first() {
        predicate.insert("signature".into(), (*sig).into());
        if let Some(info) = signer_info(sig)? {
            predicate.insert("signer_info".into(), info);
        }
    }
    let mut digests = Map::new();
    digests.insert(digest_name(id).into(), id.into());
    Ok(statement(
        COMMIT_PREDICATE,
        subject(remote_url, digests),
        predicate,
    ))
}

/// The statement about annotated tag `id` (raw bytes `raw`).
pub fn tag_statement(id: &str, raw: &[u8], remote_url: Option<&str>) -> Result<Value, SourceError> {
    let split = crate::git::object::split_tag(raw);
    let (body, signature) = match &split {
        Some(s) => (
            s.payload.as_slice(),
            Some(String::from_utf8_lossy(&s.signature).into_owned()),
        ),
        None => (raw, None),
    };
    let t = parse(body, "tag")?;
    let mut source = Map::new();
    for (key, field) in [
        ("object", "object"),
        ("type", "object_type"),
        ("tag", "tag"),
    ] {
        source.insert(
            field.into(),
            t.one(key).ok_or(SourceError::Malformed("tag"))?.into(),
        );
    }
    if let Some(v) = t.one("tagger") {
        source.insert("tagger".into(), person(v));
    }
    if !t.message.is_empty() {
        source.insert("message".into(), t.message.clone().into());
    }
    let mut predicate = Map::new();
    predicate.insert("source".into(), source.into());
    if let Some(sig) = signature {
        if let Some(info) = signer_info(&sig)? {
            predicate.insert("signer_info".into(), info);
        }
        predicate.insert("signature".into(), sig.into());
    }
    let mut digests = Map::new();
    digests.insert(digest_name(id).into(), id.into());
    digests.insert("gitTag".into(), id.into());
    Ok(statement(
        TAG_PREDICATE,
        subject(remote_url, digests),
        predicate,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_read_as_go_git_reads_them() {
        assert_eq!(
            person("Billy Lynch <billy@chainguard.dev> 1668460399 -0500"),
            json!({"name": "Billy Lynch", "email": "billy@chainguard.dev", "date": "2022-11-14T21:13:19Z"}),
            "the date is UTC whatever the zone"
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for raw in [
            &b""[..],
            b"\xff\xfe",
            b" leading continuation\n\nmsg",
            b"tree\n",
        ] {
            let _ = commit_statement("00", raw, None);
            let _ = tag_statement("00", raw, None);
        }
        assert!(
            commit_statement("00", b"parent x\n\nmsg", None).is_err(),
            "a commit needs a tree"
        );
    }
}
