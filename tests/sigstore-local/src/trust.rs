//! The files a started stack leaves in its state directory for clients:
//! `trusted_root.json` (Sigstore trusted root, media type
//! `application/vnd.dev.sigstore.trustedroot+json;version=0.1`, the same shape as the
//! public-good instance's) and `env` (`export NAME=value` lines for gitsign), plus
//! `client_trust_config.json` (`application/vnd.dev.sigstore.clienttrustconfig.v0.1+json`)
//! for clients such as sigstore-python that take a whole trust configuration, and
//! `tuf_root.json`, the trust anchor of the TUF repository publishing the first two
//! ([`crate::tuf`]).

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::http::Shared;
use crate::keys::{b64, rfc3339};
use crate::tuf::Shard;
use crate::Error;

pub const TRUSTED_ROOT_FILE: &str = "trusted_root.json";
pub const ENV_FILE: &str = "env";
pub const CLIENT_TRUST_CONFIG_FILE: &str = "client_trust_config.json";

fn tlog(base_url: &str, key: &crate::keys::KeyPair, start: &str) -> Value {
    json!({
        "baseUrl": base_url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {
            "rawBytes": b64(key.spki_der()),
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            "validFor": { "start": start },
        },
        "logId": { "keyId": b64(&key.key_id()) },
    })
}

/// The base URL of a Rekor v2 shard.
pub fn shard_url(s: &Shared, shard: &Shard) -> String {
    format!("{}/rekor-v2/{}", s.base_url, shard.state.name)
}

fn shard_tlog(s: &Shared, shard: &Shard) -> Value {
    let mut v = tlog(
        &shard_url(s, shard),
        &shard.key,
        &rfc3339(Duration::from_secs(shard.state.start)),
    );
    if let (Some(end), Some(window)) = (shard.state.end, v.pointer_mut("/publicKey/validFor")) {
        window["end"] = Value::String(rfc3339(Duration::from_secs(end)));
    }
    v
}

pub fn trusted_root(s: &Shared) -> Value {
    trusted_root_with(s, &s.tuf.shards())
}

/// The trusted root with the Rekor v1 log and every Rekor v2 shard in `shards`.
pub fn trusted_root_with(s: &Shared, shards: &[Shard]) -> Value {
    let ca_start = rfc3339(s.ca.valid_from);
    let tsa_start = rfc3339(s.tsa.valid_from);
    let mut tlogs = vec![tlog(&s.base_url, s.rekor.key(), &ca_start)];
    tlogs.extend(shards.iter().map(|sh| shard_tlog(s, sh)));
    json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": tlogs,
        "certificateAuthorities": [{
            "subject": { "organization": "sigstore.local", "commonName": "sigstore-local" },
            "uri": s.base_url,
            "certChain": { "certificates": [
                { "rawBytes": b64(&s.ca.intermediate_der) },
                { "rawBytes": b64(&s.ca.root_der) },
            ] },
            "validFor": { "start": ca_start },
        }],
        "ctlogs": [tlog(&format!("{}/ct", s.base_url), &s.ca.ct_key, &ca_start)],
        "timestampAuthorities": [{
            "subject": { "organization": "sigstore.local", "commonName": "sigstore-local-tsa" },
            "uri": format!("{}/api/v1/timestamp", s.base_url),
            "certChain": { "certificates": [
                { "rawBytes": b64(&s.tsa.cert_der) },
                { "rawBytes": b64(&s.tsa.root_der) },
            ] },
            "validFor": { "start": tsa_start },
        }],
    })
}

/// A signing config (v0.2) pointing every service at this stack.
pub fn signing_config(s: &Shared) -> Value {
    signing_config_with(s, &s.tuf.shards())
}

/// The signing config with the Rekor v1 log and every Rekor v2 shard in `shards` (each
/// within its window).
pub fn signing_config_with(s: &Shared, shards: &[Shard]) -> Value {
    let start = rfc3339(s.ca.valid_from);
    let svc = |url: String, v: u32| json!({ "url": url, "majorApiVersion": v, "validFor": { "start": start }, "operator": "sigstore.local" });
    let mut rekor = vec![svc(s.base_url.clone(), 1)];
    for sh in shards {
        let mut window = json!({ "start": rfc3339(Duration::from_secs(sh.state.start)) });
        if let Some(end) = sh.state.end {
            window["end"] = Value::String(rfc3339(Duration::from_secs(end)));
        }
        rekor.push(json!({ "url": shard_url(s, sh), "majorApiVersion": 2, "validFor": window, "operator": "sigstore.local" }));
    }
    json!({
        "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
        "caUrls": [svc(s.base_url.clone(), 1)],
        "oidcUrls": [svc(s.oidc.issuer_url().to_string(), 1)],
        "rekorTlogUrls": rekor,
        "tsaUrls": [svc(format!("{}/api/v1/timestamp", s.base_url), 1)],
        "rekorTlogConfig": { "selector": "ANY" },
        "tsaConfig": { "selector": "ANY" },
    })
}

/// The TUF targets: `trusted_root.json` and `signing_config.v0.2.json` for `shards`.
pub fn tuf_targets(s: &Shared, shards: &[Shard]) -> crate::tuf::Targets {
    let pretty = |v: &Value| serde_json::to_vec_pretty(v).unwrap_or_default();
    vec![
        (
            crate::tuf::TRUSTED_ROOT_TARGET.to_string(),
            pretty(&trusted_root_with(s, shards)),
        ),
        (
            crate::tuf::SIGNING_CONFIG_TARGET.to_string(),
            pretty(&signing_config_with(s, shards)),
        ),
    ]
}

pub fn client_trust_config(s: &Shared) -> Value {
    json!({
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": trusted_root(s),
        "signingConfig": signing_config(s),
    })
}

pub fn env_vars(s: &Shared, state_dir: &Path) -> Vec<(String, String)> {
    vec![
        ("GITSIGN_FULCIO_URL".into(), s.base_url.clone()),
        ("GITSIGN_REKOR_URL".into(), s.base_url.clone()),
        (
            "GITSIGN_OIDC_ISSUER".into(),
            s.oidc.issuer_url().to_string(),
        ),
        ("GITSIGN_OIDC_CLIENT_ID".into(), "sigstore".into()),
        (
            "GITSIGN_TRUSTED_ROOT".into(),
            state_dir.join(TRUSTED_ROOT_FILE).display().to_string(),
        ),
        (
            "GITSIGN_TIMESTAMP_SERVER_URL".into(),
            format!("{}/api/v1/timestamp", s.base_url),
        ),
        // Not read by gitsign: for `gitsign initialize --mirror … --root …` and TUF clients.
        (
            "SIGSTORE_LOCAL_TUF_MIRROR".into(),
            format!("{}/tuf", s.base_url),
        ),
        (
            "SIGSTORE_LOCAL_TUF_ROOT".into(),
            state_dir
                .join(crate::tuf::TUF_ROOT_FILE)
                .display()
                .to_string(),
        ),
    ]
}

/// Single-quote a value for POSIX sh unless it is plainly safe.
fn sh_quote(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/:._-@=+,".contains(c))
    {
        v.to_string()
    } else {
        format!("'{}'", v.replace('\'', r"'\''"))
    }
}

/// Write a file via a temporary sibling and rename, so readers never see half of it.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

pub fn write_state_files(s: &Shared, state_dir: &Path) -> Result<(), Error> {
    let pretty = |v: &Value| serde_json::to_vec_pretty(v).unwrap_or_default();
    s.tuf.publish(&tuf_targets(s, &s.tuf.shards()), state_dir)?;
    write_atomic(
        &state_dir.join(TRUSTED_ROOT_FILE),
        &pretty(&trusted_root(s)),
    )?;
    write_atomic(
        &state_dir.join(CLIENT_TRUST_CONFIG_FILE),
        &pretty(&client_trust_config(s)),
    )?;
    let env: String = env_vars(s, state_dir)
        .iter()
        .map(|(k, v)| format!("export {k}={}\n", sh_quote(v)))
        .collect();
    write_atomic(&state_dir.join(ENV_FILE), env.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_is_safe() {
        assert_eq!(
            sh_quote("/tmp/a b/x"),
            "'/tmp/a b/x'",
            "spaces must be quoted"
        );
        assert_eq!(
            sh_quote("it's"),
            r"'it'\''s'",
            "single quotes must be escaped"
        );
        assert_eq!(
            sh_quote("http://127.0.0.1:5/oidc"),
            "http://127.0.0.1:5/oidc",
            "plain URLs stay bare"
        );
    }
}
