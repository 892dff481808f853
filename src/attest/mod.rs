//! Attestations about git objects, as Go gitsign's `attest` makes them: an in-toto Statement
//! v1 (in-toto/attestation `spec/v1/statement.md`) whose one subject is the commit or tree
//! (`{"gitCommit": id}` / `{"gitTree": id}`), signed as a DSSE envelope (DSSE `protocol.md`,
//! payload type `application/vnd.in-toto+json`), stored under `refs/attestations/commits` or
//! `refs/attestations/trees` ([`store`]).
//!
//! Go gitsign keeps only the envelope (`NAME.sig`) beside the predicate (`NAME`); the
//! certificate and the log entry stay in Rekor. We write the same two files, byte-compatible,
//! and a Sigstore bundle (`NAME.sigstore.json`: the same envelope, the Fulcio certificate and
//! the Rekor entry with its inclusion proof) so verification is offline and goes through the
//! one verification core ([`crate::verify::Verifier::verify_input`]). Pure: bytes in, values out.
//!
//! [`source`] builds the statement `gitsign show` prints: Go gitsign's git predicate
//! (`https://gitsign.sigstore.dev/predicate/git/v0.1`) describing a commit and its signature;
//! [`vsa`] the SLSA verification summary `gitsign verify --vsa` signs about what it verified.

pub mod source;
pub mod store;
pub mod strict_json;
pub mod vsa;

use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::verify::tlog::TlogEntry;
use crate::verify::{Content, Signer, VerificationInput, WithoutAnchor};

pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// The suffix of the DSSE envelope file, as Go gitsign names it.
pub const SIG_SUFFIX: &str = ".sig";
/// The suffix of our bundle file.
pub const BUNDLE_SUFFIX: &str = ".sigstore.json";

/// What an attestation is about: a commit or a tree (Go gitsign's `--objtype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Subject {
    /// The commit itself
    Commit,
    /// The commit's tree: survives rebases and squashes that keep the content
    Tree,
}

impl Subject {
    /// The in-toto digest name Go gitsign uses.
    pub fn digest_name(self) -> &'static str {
        match self {
            Subject::Commit => "gitCommit",
            Subject::Tree => "gitTree",
        }
    }

    /// The ref Go gitsign stores these attestations under.
    pub fn ref_name(self) -> &'static str {
        match self {
            Subject::Commit => "refs/attestations/commits",
            Subject::Tree => "refs/attestations/trees",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AttestError {
    #[error("the predicate is not a JSON object: {0}")]
    Predicate(String),
    #[error("the DSSE envelope is malformed: {0}")]
    Envelope(String),
    #[error("the in-toto statement is malformed: {0}")]
    Statement(String),
    #[error("the statement is about {got}, not {want}")]
    SubjectMismatch { got: String, want: String },
    #[error("the predicate type is '{got}', not '{want}'")]
    PredicateType { got: String, want: String },
    #[error("the predicate file beside the envelope is not the predicate that was signed")]
    PredicateCopy,
    #[error("the bundle's envelope is not the one in the .sig file")]
    EnvelopeMismatch,
}

/// The statement about `id` (a commit or tree id), with `predicate` (JSON object bytes).
pub fn statement(
    subject: Subject,
    id: &str,
    predicate_type: &str,
    predicate: &[u8],
) -> Result<Vec<u8>, AttestError> {
    let predicate = predicate_object(predicate)?;
    let v = json!({
        "_type": STATEMENT_TYPE,
        "subject": [{ "digest": { subject.digest_name(): id } }],
        "predicateType": predicate_type,
        "predicate": predicate,
    });
    serde_json::to_vec(&v).map_err(|e| AttestError::Statement(e.to_string()))
}

/// Go gitsign reads the predicate into a protobuf `Struct`: it must be a JSON object.
fn predicate_object(bytes: &[u8]) -> Result<Map<String, Value>, AttestError> {
    match strict_json::parse(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(AttestError::Predicate("it is not an object".into())),
        Err(e) => Err(AttestError::Predicate(e.to_string())),
    }
}

/// A DSSE envelope with one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub payload_type: String,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(s: &str, what: &str) -> Result<Vec<u8>, AttestError> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(s))
        .map_err(|_| AttestError::Envelope(format!("{what} is not base64")))
}

impl Envelope {
    /// The JSON Go gitsign writes (sigstore's `dsse` wrapper: `keyid` empty).
    pub fn to_json(&self) -> Vec<u8> {
        let v = json!({
            "payloadType": self.payload_type,
            "payload": b64(&self.payload),
            "signatures": [{ "keyid": "", "sig": b64(&self.signature) }],
        });
        serde_json::to_vec(&v).unwrap_or_default()
    }

    pub fn parse(bytes: &[u8]) -> Result<Envelope, AttestError> {
        let v: Value =
            serde_json::from_slice(bytes).map_err(|e| AttestError::Envelope(e.to_string()))?;
        let field = |name: &str| {
            v.get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| AttestError::Envelope(format!("no '{name}' string")))
        };
        let payload_type = field("payloadType")?.to_owned();
        let payload = unb64(field("payload")?, "payload")?;
        let sigs = v
            .get("signatures")
            .and_then(Value::as_array)
            .ok_or_else(|| AttestError::Envelope("no 'signatures' list".into()))?;
        let [sig] = sigs.as_slice() else {
            return Err(AttestError::Envelope(format!(
                "{} signatures, gitsign writes one",
                sigs.len()
            )));
        };
        let signature = unb64(
            sig.get("sig")
                .and_then(Value::as_str)
                .ok_or_else(|| AttestError::Envelope("a signature without 'sig'".into()))?,
            "sig",
        )?;
        Ok(Envelope {
            payload_type,
            payload,
            signature,
        })
    }

    /// The bytes the signature covers: PAE(payload type, payload).
    pub fn signed_bytes(&self) -> Vec<u8> {
        crate::verify::pae(&self.payload_type, &self.payload)
    }
}

/// What a verifier checks in a statement before trusting its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub predicate_type: String,
    pub predicate: Value,
    /// Every `(digest name, value)` of every subject.
    pub digests: Vec<(String, String)>,
}

impl Statement {
    pub fn parse(payload: &[u8]) -> Result<Statement, AttestError> {
        let bad = |m: &str| AttestError::Statement(m.to_owned());
        let v = strict_json::parse(payload).map_err(|e| bad(&e.to_string()))?;
        // protojson writes `_type`; Go's own test vectors also use the proto field name.
        let ty = v
            .get("_type")
            .or_else(|| v.get("type"))
            .and_then(Value::as_str);
        if ty != Some(STATEMENT_TYPE) {
            return Err(bad(&format!("_type is not '{STATEMENT_TYPE}'")));
        }
        let predicate_type = v
            .get("predicateType")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no predicateType"))?
            .to_owned();
        let mut digests = Vec::new();
        for s in v
            .get("subject")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no subject list"))?
        {
            let d = s
                .get("digest")
                .and_then(Value::as_object)
                .ok_or_else(|| bad("a subject without digest"))?;
            for (k, val) in d {
                let val = val
                    .as_str()
                    .ok_or_else(|| bad("a digest that is not a string"))?;
                digests.push((k.clone(), val.to_owned()));
            }
        }
        Ok(Statement {
            predicate_type,
            predicate: v.get("predicate").cloned().unwrap_or(Value::Null),
            digests,
        })
    }

    /// The statement must name `id` as the subject kind asked for, and (when given) have the
    /// predicate type asked for.
    pub fn check(
        &self,
        subject: Subject,
        id: &str,
        predicate_type: Option<&str>,
    ) -> Result<(), AttestError> {
        let name = subject.digest_name();
        if !self
            .digests
            .iter()
            .any(|(k, v)| k == name && v.eq_ignore_ascii_case(id))
        {
            let got = self
                .digests
                .iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(AttestError::SubjectMismatch {
                got: if got.is_empty() {
                    "nothing".into()
                } else {
                    got
                },
                want: format!("{name}:{id}"),
            });
        }
        if let Some(want) = predicate_type {
            if self.predicate_type != want {
                return Err(AttestError::PredicateType {
                    got: self.predicate_type.clone(),
                    want: want.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// The predicate file stored beside the envelope must be the signed predicate, as JSON
    /// with no key given twice (a reader keeping the first of two would see another value).
    pub fn check_copy(&self, file: &[u8]) -> Result<(), AttestError> {
        match strict_json::parse(file) {
            Ok(v) if v == self.predicate => Ok(()),
            _ => Err(AttestError::PredicateCopy),
        }
    }
}

/// A Sigstore bundle v0.3 over `envelope`: the leaf certificate and the Rekor entry (a
/// `hashedrekord` of the PAE bytes, with its signed entry timestamp and inclusion proof).
pub fn bundle_json(leaf_der: &[u8], entry: &TlogEntry, envelope: &Envelope) -> Vec<u8> {
    let mut tlog = json!({
        "logIndex": entry.log_index.to_string(),
        "logId": { "keyId": b64(&entry.log_id) },
        "kindVersion": { "kind": "hashedrekord", "version": "0.0.1" },
        "integratedTime": entry.integrated_time.to_string(),
        "canonicalizedBody": b64(&entry.canonicalized_body),
    });
    if let Some(set) = &entry.signed_entry_timestamp {
        tlog["inclusionPromise"] = json!({ "signedEntryTimestamp": b64(set) });
    }
    if let Some(p) = &entry.inclusion_proof {
        tlog["inclusionProof"] = json!({
            "logIndex": p.log_index.to_string(),
            "rootHash": b64(&p.root_hash),
            "treeSize": p.tree_size.to_string(),
            "hashes": p.hashes.iter().map(|h| b64(h)).collect::<Vec<_>>(),
            "checkpoint": { "envelope": p.checkpoint },
        });
    }
    let v = json!({
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {
            "certificate": { "rawBytes": b64(leaf_der) },
            "tlogEntries": [tlog],
        },
        "dsseEnvelope": {
            "payloadType": envelope.payload_type,
            "payload": b64(&envelope.payload),
            "signatures": [{ "sig": b64(&envelope.signature), "keyid": "" }],
        },
    });
    serde_json::to_vec_pretty(&v).unwrap_or_default()
}

/// The core's input for an attestation: the bundle's certificate and log entries over the
/// envelope in the `.sig` file (which must be the bundle's). Subject, predicate type and the
/// predicate copy are checked by the caller with [`Statement::check`] and
/// [`Statement::check_copy`] before this is verified.
pub fn verification_input(
    bundle: &crate::verify::bundle::Bundle,
    envelope: &Envelope,
) -> Result<VerificationInput, crate::verify::Failure> {
    use crate::verify::bundle::{BundleError, Material, Signed};
    match &bundle.signed {
        Signed::Dsse {
            payload_type,
            payload,
            signature,
        } if *payload_type == envelope.payload_type
            && *payload == envelope.payload
            && *signature == envelope.signature => {}
        _ => return Err(BundleError::Malformed(AttestError::EnvelopeMismatch.to_string()).into()),
    }
    if envelope.payload_type != PAYLOAD_TYPE {
        return Err(BundleError::PayloadType(envelope.payload_type.clone()).into());
    }
    let Material::Certificates(ders) = &bundle.material else {
        return Err(BundleError::KeyNotApplicable.into());
    };
    let (leaf, extra) = ders
        .split_first()
        .ok_or(BundleError::EmptyCertificateChain)?;
    let cert = crate::x509::Cert::parse(leaf).map_err(crate::verify::Failure::Certificate)?;
    let key = crate::crypto::PublicKey::from_spki_der(&cert.spki_der)
        .map_err(crate::verify::Failure::Signature)?;
    Ok(VerificationInput {
        content: Content::Dsse {
            payload_type: envelope.payload_type.clone(),
            payload: envelope.payload.clone(),
        },
        digest: key.default_digest(),
        signature: envelope.signature.clone(),
        signer: Signer::Certificate {
            leaf: leaf.clone(),
            extra: extra.to_vec(),
        },
        tlog_entries: bundle.tlog_entries.clone(),
        timestamps: bundle.timestamps.clone(),
        signing_time: None,
        without_anchor: WithoutAnchor::Bad,
        require_tlog: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "f44de7aee552f119f94d70137b3bebb93f6bca5d";

    #[test]
    fn statement_names_the_object_and_round_trips() {
        let bytes = statement(
            Subject::Tree,
            ID,
            "https://slsa.dev/provenance/v1",
            br#"{"a":1}"#,
        )
        .expect("an object predicate");
        let v: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(v["_type"], STATEMENT_TYPE, "in-toto v1 statement");
        assert_eq!(
            v["subject"][0]["digest"]["gitTree"], ID,
            "Go gitsign's digest name"
        );
        let s = Statement::parse(&bytes).expect("parses back");
        assert_eq!(
            s.check(Subject::Tree, ID, Some("https://slsa.dev/provenance/v1")),
            Ok(())
        );
        assert!(
            matches!(
                s.check(Subject::Commit, ID, None),
                Err(AttestError::SubjectMismatch { .. })
            ),
            "a tree attestation is not about the commit"
        );
        assert!(
            matches!(
                s.check(Subject::Tree, &ID.replace('f', "0"), None),
                Err(AttestError::SubjectMismatch { .. })
            ),
            "nor about another tree"
        );
        assert!(
            matches!(
                s.check(Subject::Tree, ID, Some("x")),
                Err(AttestError::PredicateType { .. })
            ),
            "the predicate type is checked when asked"
        );
        assert_eq!(
            s.check_copy(b" {\"a\": 1}\n"),
            Ok(()),
            "the copy is compared as JSON"
        );
        assert_eq!(s.check_copy(br#"{"a":2}"#), Err(AttestError::PredicateCopy));
        // Regression (hostile review): serde_json keeps the last of repeated keys, so this
        // copy compared equal to the signed `{"a":1}` while a first-wins reader sees 2.
        assert_eq!(
            s.check_copy(br#"{"a":2,"a":1}"#),
            Err(AttestError::PredicateCopy),
            "a copy with a repeated key is not the signed predicate"
        );
        let twice = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"gitTree":"f44de7aee552f119f94d70137b3bebb93f6bca5d"}}],"predicateType":"a","predicateType":"b","predicate":{}}"#;
        assert!(
            matches!(Statement::parse(twice), Err(AttestError::Statement(_))),
            "a signed statement with a repeated key is refused"
        );
    }

    #[test]
    fn predicates_must_be_objects_as_go_requires() {
        for bad in [&b"[1]"[..], b"3", b"not json", b""] {
            assert!(
                matches!(
                    statement(Subject::Commit, ID, "t", bad),
                    Err(AttestError::Predicate(_))
                ),
                "{:?} is refused",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn envelope_json_is_go_gitsigns_and_parses_back() {
        let env = Envelope {
            payload_type: PAYLOAD_TYPE.into(),
            payload: b"{}".to_vec(),
            signature: vec![1, 2, 3],
        };
        assert_eq!(
            String::from_utf8(env.to_json()).expect("utf8"),
            r#"{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"keyid":"","sig":"AQID"}]}"#,
            "sigstore's dsse envelope fields"
        );
        assert_eq!(Envelope::parse(&env.to_json()), Ok(env));
        for bad in [
            &br#"{}"#[..],
            br#"{"payloadType":"x","payload":"!!","signatures":[]}"#,
            br#"{"payloadType":"x","payload":"e30=","signatures":[]}"#,
            br#"{"payloadType":"x","payload":"e30=","signatures":[{"sig":"AQ=="},{"sig":"AQ=="}]}"#,
        ] {
            assert!(
                Envelope::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
