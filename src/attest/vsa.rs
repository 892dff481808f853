//! Verification summaries: a SLSA Verification Summary Attestation (VSA v1,
//! `slsa.dev/spec/v1.1/verification_summary`) about the tip commit of what `gitsign verify`
//! checked, shaped as the SLSA Source track's Source VSA (`slsa.dev/spec/v1.2` source
//! requirements, "Source verification summary attestation"):
//!
//! - one subject: `digest.gitCommit` the tip's id, `name` the full ref name the range's tip
//!   names (when it names one), `annotations.source_refs` the fully qualified refs;
//! - `verifier.id` [`VERIFIER_ID`], with gitsign's version;
//! - `resourceUri` the repository, as an SPDX download location (`git+https://…`,
//!   [`resource_uri`] from a remote URL);
//! - `policy` what the commits were judged by: the identity options as canonical JSON
//!   ([`flags_policy`], described by `uri` [`FLAGS_POLICY_URI`], its sha256 `digest` and the
//!   text itself as `content`), or a policy file ([`PolicySource::File`]: its URI and sha256);
//!   under a committed policy, the one that judged the tip commit (in force at its first
//!   parent; the anchor's own for the anchor), named by [`committed_policy_uri`] — the
//!   repository, the commit whose tree holds it and its path, as an SPDX download location
//!   (`git+https://host/repo@COMMIT#.gitsign/policy.toml`) — with the sha256 of its bytes;
//! - `verificationResult` `PASSED` when every commit verified, else `FAILED`;
//! - `verifiedLevels` [`PASSED_LEVEL`] when passed (a verifier that sees the repository, not
//!   the source control system's branch protection or provenance, can assert no more than
//!   Source Level 1: the revision is in a version control system), `FAILED` otherwise, as the
//!   VSA spec says for a failed policy.
//!
//! The statement is signed like any attestation ([`super::Envelope`] in a Sigstore bundle);
//! [`read`] is the verifier's side. Pure: inputs in, statement bytes out.

use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::Statement;

pub const PREDICATE_TYPE: &str = "https://slsa.dev/verification_summary/v1";
/// Who verified: this tool. Consumers accept only (signer, verifier) pairs they trust.
pub const VERIFIER_ID: &str = "https://github.com/sigstore/gitsign-rs";
/// What the canonical JSON of the identity options is ([`flags_policy`]).
pub const FLAGS_POLICY_URI: &str =
    "https://github.com/sigstore/gitsign-rs/policy/identity-flags/v1";
/// The level a passed verification asserts.
pub const PASSED_LEVEL: &str = "SLSA_SOURCE_LEVEL_1";
/// The `verifiedLevels` of a failed verification.
pub const FAILED_LEVEL: &str = "FAILED";
/// The SLSA version whose Source track these levels are.
pub const SLSA_VERSION: &str = "1.2";

/// The verdict of the run the summary records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed,
}

impl Verdict {
    /// Passed when at least one commit was checked and every one is good; an undecided
    /// commit is not good.
    pub fn of(tally: &crate::verify::Tally) -> Verdict {
        if tally.total() > 0 && tally.bad == 0 && tally.undecided == 0 {
            Verdict::Passed
        } else {
            Verdict::Failed
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Passed => "PASSED",
            Verdict::Failed => "FAILED",
        }
    }
}

/// What the commits were judged by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// The identity options, as [`flags_policy`] makes them.
    Flags(Vec<u8>),
    /// A policy file: where it lives (a URI consumers can fetch, or the path given) and its
    /// bytes, whose sha256 is recorded.
    File { uri: String, bytes: Vec<u8> },
}

impl PolicySource {
    fn descriptor(&self) -> Value {
        match self {
            PolicySource::Flags(text) => json!({
                "uri": FLAGS_POLICY_URI,
                "digest": { "sha256": crate::encoding::hex(&crate::crypto::sha256(text)) },
                "mediaType": "application/json",
                "content": base64::engine::general_purpose::STANDARD.encode(text),
            }),
            PolicySource::File { uri, bytes } => json!({
                "uri": uri,
                "digest": { "sha256": crate::encoding::hex(&crate::crypto::sha256(bytes)) },
            }),
        }
    }
}

/// The identity options as canonical JSON: an object of the options given (flag names
/// without `--`; string values, `true` for switches), keys sorted, no whitespace. Two runs
/// with the same options give the same bytes, so the same digest.
pub fn flags_policy(options: &[(&str, Option<&str>)], switches: &[(&str, bool)]) -> Vec<u8> {
    let mut m = Map::new();
    for (name, value) in options {
        if let Some(v) = value {
            m.insert((*name).to_owned(), Value::String((*v).to_owned()));
        }
    }
    for (name, on) in switches {
        if *on {
            m.insert((*name).to_owned(), Value::Bool(true));
        }
    }
    // serde_json's map is ordered by key (no `preserve_order`): the output is canonical.
    serde_json::to_vec(&Value::Object(m)).unwrap_or_default()
}

/// Where a committed policy is: `RESOURCE@COMMIT#PATH` (SPDX's `@revision` and
/// `#sub_path`), which anyone with the repository can fetch and digest.
pub fn committed_policy_uri(resource_uri: &str, commit: &str, path: &str) -> String {
    format!("{resource_uri}@{commit}#{path}")
}

/// The summary's inputs.
#[derive(Debug, Clone)]
pub struct Summary<'a> {
    /// The tip commit's id (hex).
    pub commit: &'a str,
    /// The full ref name the range's tip names, if any.
    pub name: Option<&'a str>,
    /// Fully qualified refs pointing at the tip when it was verified.
    pub source_refs: &'a [String],
    /// The repository ([`resource_uri`]).
    pub resource_uri: &'a str,
    /// When the verification ran (Unix seconds).
    pub time_verified: i64,
    pub policy: &'a PolicySource,
    pub verdict: Verdict,
    /// gitsign's version.
    pub version: &'a str,
}

/// The in-toto statement of `s`.
pub fn statement(s: &Summary<'_>) -> Vec<u8> {
    let mut subject = json!({ "digest": { "gitCommit": s.commit } });
    if let Some(name) = s.name {
        subject["name"] = name.into();
    }
    if !s.source_refs.is_empty() {
        subject["annotations"] = json!({ "source_refs": s.source_refs });
    }
    let level = match s.verdict {
        Verdict::Passed => PASSED_LEVEL,
        Verdict::Failed => FAILED_LEVEL,
    };
    let v = json!({
        "_type": super::STATEMENT_TYPE,
        "subject": [subject],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "verifier": { "id": VERIFIER_ID, "version": { "gitsign": s.version } },
            "timeVerified": crate::encoding::rfc3339(s.time_verified),
            "resourceUri": s.resource_uri,
            "policy": s.policy.descriptor(),
            "verificationResult": s.verdict.as_str(),
            "verifiedLevels": [level],
            "slsaVersion": SLSA_VERSION,
        },
    });
    serde_json::to_vec(&v).unwrap_or_default()
}

/// The repository URI of a git remote URL, as an SPDX download location: `git+` and the URL
/// with any user name and password removed for http(s) (a token in the URL must not be
/// published) and any password removed otherwise; `user@host:path` (scp-like) becomes
/// `git+ssh://user@host/path`, an absolute path `git+file://…`. `None` for what names no
/// repository others can identify (a relative path, control characters, an empty URL).
pub fn resource_uri(remote: &str) -> Option<String> {
    let remote = remote.trim();
    if remote.is_empty() || remote.chars().any(|c| c.is_control() || c == ' ') {
        return None;
    }
    if remote.starts_with("git+") {
        return Some(remote.to_owned());
    }
    if let Some((scheme, rest)) = remote.split_once("://") {
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+')
        {
            return None;
        }
        let (authority, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        let host = match authority.rsplit_once('@') {
            Some((user, host)) => {
                if scheme.starts_with("http") {
                    host.to_owned()
                } else {
                    let user = user.split(':').next().unwrap_or("");
                    format!("{user}@{host}")
                }
            }
            None => authority.to_owned(),
        };
        return Some(format!("git+{scheme}://{host}{path}"));
    }
    if remote.starts_with('/') {
        return Some(format!("git+file://{remote}"));
    }
    // scp-like: [user@]host:path, the host without '/' (git's rule for telling it from a path).
    let (host, path) = remote.split_once(':')?;
    if host.is_empty() || host.contains('/') || path.is_empty() {
        return None;
    }
    let path = path.strip_prefix('/').unwrap_or(path);
    Some(format!("git+ssh://{host}/{path}"))
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum VsaError {
    #[error("the statement is not a verification summary: its predicate type is '{0}'")]
    NotSummary(String),
    #[error("the summary was made by the verifier '{0}', not gitsign ({VERIFIER_ID})")]
    Verifier(String),
    #[error("the summary has no valid '{0}'")]
    Field(&'static str),
    #[error("the summary's subject is not one commit: {0}")]
    Subject(String),
    #[error(transparent)]
    Statement(#[from] super::AttestError),
}

/// What a summary says, as a verifier reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub commit: String,
    pub name: Option<String>,
    pub verdict: Verdict,
    pub levels: Vec<String>,
    pub resource_uri: String,
    /// Unix seconds.
    pub time_verified: i64,
    pub policy_uri: String,
    pub policy_sha256: Option<String>,
}

/// Read a signed statement as a gitsign verification summary: an in-toto statement with the
/// VSA predicate type, this tool as verifier, one subject naming one commit, and every
/// required field well-formed. The caller checks that commit is the one it expects and the
/// signature.
pub fn read(payload: &[u8]) -> Result<Reading, VsaError> {
    let statement = Statement::parse(payload)?;
    let subjects = super::strict_json::parse(payload)
        .ok()
        .and_then(|v| v.get("subject").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    let [subject] = subjects.as_slice() else {
        return Err(VsaError::Subject(format!("{} subjects", subjects.len())));
    };
    if statement.predicate_type != PREDICATE_TYPE {
        return Err(VsaError::NotSummary(statement.predicate_type.clone()));
    }
    let p = &statement.predicate;
    let text = |v: &Value, field: &'static str| {
        v.as_str().map(str::to_owned).ok_or(VsaError::Field(field))
    };
    let verifier = text(&p["verifier"]["id"], "verifier.id")?;
    if verifier != VERIFIER_ID {
        return Err(VsaError::Verifier(verifier));
    }
    let commits: Vec<&str> = statement
        .digests
        .iter()
        .filter(|(k, _)| k == "gitCommit")
        .map(|(_, v)| v.as_str())
        .collect();
    let [commit] = commits.as_slice() else {
        return Err(VsaError::Subject(format!(
            "{} gitCommit digests",
            commits.len()
        )));
    };
    let verdict = match p["verificationResult"].as_str() {
        Some("PASSED") => Verdict::Passed,
        Some("FAILED") => Verdict::Failed,
        _ => return Err(VsaError::Field("verificationResult")),
    };
    let levels = p["verifiedLevels"]
        .as_array()
        .and_then(|a| a.iter().map(|l| l.as_str().map(str::to_owned)).collect())
        .ok_or(VsaError::Field("verifiedLevels"))?;
    let levels: Vec<String> = levels;
    // A passed summary claiming FAILED (or the reverse with no FAILED) contradicts itself.
    if (verdict == Verdict::Passed) == levels.iter().any(|l| l == FAILED_LEVEL) {
        return Err(VsaError::Field("verifiedLevels"));
    }
    let time_verified = p["timeVerified"]
        .as_str()
        .and_then(crate::encoding::parse_rfc3339)
        .ok_or(VsaError::Field("timeVerified"))?;
    Ok(Reading {
        commit: (*commit).to_owned(),
        name: subject["name"].as_str().map(str::to_owned),
        verdict,
        levels,
        resource_uri: text(&p["resourceUri"], "resourceUri")?,
        time_verified,
        policy_uri: text(&p["policy"]["uri"], "policy.uri")?,
        policy_sha256: p["policy"]["digest"]["sha256"].as_str().map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

    fn sample(verdict: Verdict, policy: &PolicySource) -> Vec<u8> {
        let refs = vec!["refs/heads/main".to_owned()];
        statement(&Summary {
            commit: ID,
            name: Some("refs/heads/main"),
            source_refs: &refs,
            resource_uri: "git+https://github.com/acme/app",
            time_verified: 1_700_000_000,
            policy,
            verdict,
            version: "0.1.0",
        })
    }

    fn flags() -> PolicySource {
        PolicySource::Flags(flags_policy(
            &[
                (
                    "certificate-oidc-issuer",
                    Some("https://accounts.example.com"),
                ),
                ("certificate-identity", Some("alice@example.com")),
                ("certificate-identity-regexp", None),
            ],
            &[
                ("insecure-ignore-sct", false),
                ("insecure-ignore-tlog", true),
            ],
        ))
    }

    #[test]
    fn the_statement_is_a_source_vsa_about_the_tip() {
        let bytes = sample(Verdict::Passed, &flags());
        let v: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(v["_type"], "https://in-toto.io/Statement/v1", "in-toto v1");
        assert_eq!(v["predicateType"], PREDICATE_TYPE, "the VSA predicate type");
        let subject = &v["subject"][0];
        assert_eq!(subject["digest"]["gitCommit"], ID, "the tip commit");
        assert_eq!(subject["name"], "refs/heads/main", "named by its ref");
        assert_eq!(
            subject["annotations"]["source_refs"][0], "refs/heads/main",
            "the Source track's source_refs annotation"
        );
        let p = &v["predicate"];
        assert_eq!(p["verifier"]["id"], VERIFIER_ID, "this tool verified");
        assert_eq!(p["timeVerified"], "2023-11-14T22:13:20Z", "RFC 3339 UTC");
        assert_eq!(p["resourceUri"], "git+https://github.com/acme/app");
        assert_eq!(p["verificationResult"], "PASSED");
        assert_eq!(p["verifiedLevels"], json!(["SLSA_SOURCE_LEVEL_1"]));
        assert_eq!(p["policy"]["uri"], FLAGS_POLICY_URI, "the flags' policy");
        let content = base64::engine::general_purpose::STANDARD
            .decode(p["policy"]["content"].as_str().expect("content"))
            .expect("base64");
        assert_eq!(
            String::from_utf8(content.clone()).expect("utf8"),
            r#"{"certificate-identity":"alice@example.com","certificate-oidc-issuer":"https://accounts.example.com","insecure-ignore-tlog":true}"#,
            "canonical: the options given, keys sorted, no whitespace"
        );
        // The digest recorded is sha256 of the content, computed here by an independent oracle.
        let out = std::process::Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write as _;
                c.stdin.take().expect("stdin").write_all(&content)?;
                c.wait_with_output()
            })
            .expect("sha256sum runs");
        let want = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_owned();
        assert_eq!(
            p["policy"]["digest"]["sha256"],
            want.as_str(),
            "sha256 of the policy"
        );

        let failed: Value =
            serde_json::from_slice(&sample(Verdict::Failed, &flags())).expect("json");
        assert_eq!(failed["predicate"]["verificationResult"], "FAILED");
        assert_eq!(
            failed["predicate"]["verifiedLevels"],
            json!(["FAILED"]),
            "a failed policy lists FAILED, as the VSA spec says"
        );
    }

    #[test]
    fn a_policy_file_is_named_by_uri_and_digest() {
        let file = PolicySource::File {
            uri: "git+https://github.com/acme/app@refs/heads/main#.gitsign/policy".into(),
            bytes: b"abc".to_vec(),
        };
        let v: Value = serde_json::from_slice(&sample(Verdict::Passed, &file)).expect("json");
        assert_eq!(
            v["predicate"]["policy"],
            json!({
                "uri": "git+https://github.com/acme/app@refs/heads/main#.gitsign/policy",
                // sha256("abc"), FIPS 180-2 appendix B.1.
                "digest": {"sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
            })
        );
    }

    #[test]
    fn the_verdict_passes_only_when_every_commit_is_good() {
        use crate::verify::Tally;
        let t = |good, bad, undecided| Tally {
            good,
            bad,
            undecided,
        };
        assert_eq!(Verdict::of(&t(3, 0, 0)), Verdict::Passed);
        assert_eq!(Verdict::of(&t(3, 1, 0)), Verdict::Failed, "one bad commit");
        assert_eq!(
            Verdict::of(&t(3, 0, 1)),
            Verdict::Failed,
            "an undecided one"
        );
        assert_eq!(
            Verdict::of(&t(0, 0, 0)),
            Verdict::Failed,
            "nothing verified"
        );
    }

    #[test]
    fn remote_urls_become_spdx_locations_without_credentials() {
        for (remote, want) in [
            (
                "https://github.com/acme/app.git",
                Some("git+https://github.com/acme/app.git"),
            ),
            (
                "https://x-access-token:ghs_secret@github.com/acme/app",
                Some("git+https://github.com/acme/app"),
            ),
            (
                "https://ci@example.com/app",
                Some("git+https://example.com/app"),
            ),
            (
                "ssh://git:pw@example.com:22/app",
                Some("git+ssh://git@example.com:22/app"),
            ),
            (
                "git@github.com:acme/app.git",
                Some("git+ssh://git@github.com/acme/app.git"),
            ),
            (
                "example.com:/srv/app",
                Some("git+ssh://example.com/srv/app"),
            ),
            ("/srv/git/app.git", Some("git+file:///srv/git/app.git")),
            (
                "file:///srv/git/app.git",
                Some("git+file:///srv/git/app.git"),
            ),
            (
                "git+https://github.com/acme/app",
                Some("git+https://github.com/acme/app"),
            ),
            ("../app", None),
            ("app", None),
            ("", None),
            ("https://example.com/a\nb", None),
        ] {
            assert_eq!(resource_uri(remote).as_deref(), want, "{remote:?}");
        }
    }

    #[test]
    fn read_takes_back_what_statement_wrote_and_refuses_other_summaries() {
        let bytes = sample(Verdict::Passed, &flags());
        let v: Value = serde_json::from_slice(&bytes).expect("json");
        let r = read(&bytes).expect("a gitsign summary");
        assert_eq!(r.commit, ID);
        assert_eq!(r.name.as_deref(), Some("refs/heads/main"));
        assert_eq!(r.verdict, Verdict::Passed);
        assert_eq!(r.levels, vec![PASSED_LEVEL.to_owned()]);
        assert_eq!(r.resource_uri, "git+https://github.com/acme/app");
        assert_eq!(r.time_verified, 1_700_000_000);
        assert_eq!(r.policy_uri, FLAGS_POLICY_URI);

        let edit = |f: &dyn Fn(&mut Value)| {
            let mut v = v.clone();
            f(&mut v);
            read(&serde_json::to_vec(&v).expect("json"))
        };
        assert_eq!(
            edit(&|v| v["predicateType"] = "https://slsa.dev/provenance/v1".into()),
            Err(VsaError::NotSummary(
                "https://slsa.dev/provenance/v1".into()
            ))
        );
        assert_eq!(
            edit(&|v| v["predicate"]["verifier"]["id"] = "https://evil.example".into()),
            Err(VsaError::Verifier("https://evil.example".into()))
        );
        assert_eq!(
            edit(&|v| v["predicate"]["verificationResult"] = "MAYBE".into()),
            Err(VsaError::Field("verificationResult"))
        );
        assert_eq!(
            edit(&|v| v["predicate"]["verifiedLevels"] = json!(["FAILED"])),
            Err(VsaError::Field("verifiedLevels")),
            "PASSED with a FAILED level contradicts itself"
        );
        assert_eq!(
            edit(&|v| v["predicate"]["timeVerified"] = "yesterday".into()),
            Err(VsaError::Field("timeVerified"))
        );
        assert!(
            matches!(
                edit(&|v| v["subject"] =
                    json!([{"digest": {"gitCommit": ID}}, {"digest": {"gitCommit": "00"}}])),
                Err(VsaError::Subject(_))
            ),
            "a summary about two commits is not gitsign's"
        );
        assert!(
            matches!(
                edit(&|v| v["subject"] = json!([{"digest": {"gitTree": ID}}])),
                Err(VsaError::Subject(_))
            ),
            "nor one about a tree"
        );
        assert!(
            matches!(
                edit(&|v| v["_type"] = "https://in-toto.io/Statement/v0.1".into()),
                Err(VsaError::Statement(_))
            ),
            "nor another statement version"
        );
    }
}
