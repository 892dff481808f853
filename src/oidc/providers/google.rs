//! Google: cosign's `google-workload-identity` and `google-impersonate` providers.
//!
//! - Workload identity: `GET http://$GCE_METADATA_HOST/computeMetadata/v1/instance/
//!   service-accounts/default/identity?audience=<aud>&format=full` with `Metadata-Flavor:
//!   Google` (what `google.golang.org/api/idtoken` does on GCE); the body is the token.
//!   `GCE_METADATA_HOST` (default `169.254.169.254`) is the override Google's own libraries
//!   honour; it names a host (and port) only, so it cannot redirect to another scheme or path.
//! - Impersonation: an access token from Application Default Credentials (an
//!   `authorized_user` file in `GOOGLE_APPLICATION_CREDENTIALS` or gcloud's well-known file,
//!   else the metadata server), then `POST https://iamcredentials.googleapis.com/v1/projects/-/
//!   serviceAccounts/$GOOGLE_SERVICE_ACCOUNT_NAME:generateIdToken` `{"audience", "includeEmail":
//!   true}` → `{"token"}` (what `google.golang.org/api/impersonate` does).
//!
//! Tokens and refresh tokens are secrets: held in `Zeroizing`, never in an error message.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::http::Http;
use crate::oidc::{percent_encode, IdToken, OidcError};
use crate::platform::{self, Os};

/// The variable Google's libraries read for the metadata server's `host[:port]`.
pub const METADATA_HOST_ENV: &str = "GCE_METADATA_HOST";
const DEFAULT_METADATA_HOST: &str = "169.254.169.254";
/// The service account `google-impersonate` mints tokens for (cosign's variable).
pub const SERVICE_ACCOUNT_ENV: &str = "GOOGLE_SERVICE_ACCOUNT_NAME";
/// The IAM credentials API.
pub const IAM_CREDENTIALS: &str = "https://iamcredentials.googleapis.com";
/// Where the BIOS names the machine (Google's libraries read it to suggest GCE).
pub const DMI_PRODUCT_NAME: &str = "/sys/class/dmi/id/product_name";
const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

const WORKLOAD: &str = "google-workload-identity";
const IMPERSONATE: &str = "google-impersonate";

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn missing(provider: &'static str, reason: impl Into<String>) -> OidcError {
    OidcError::NotAvailable {
        provider,
        reason: reason.into(),
    }
}

/// Whether this looks like Google Compute: `GCE_METADATA_HOST` is set (the user says so), or
/// the BIOS product name starts with "Google". (Google's library also probes the metadata
/// address and DNS name on every machine; we do not, so `git commit` never waits on a
/// black-holed 169.254.169.254 off Google.)
pub fn on_gce(env: Env<'_>, dmi_product_name: &Path) -> bool {
    env(METADATA_HOST_ENV).is_some_and(|h| !h.is_empty())
        || std::fs::read_to_string(dmi_product_name)
            .is_ok_and(|name| name.trim_start().starts_with("Google"))
}

/// `http://<host>/computeMetadata/v1/<suffix>`, the host from `GCE_METADATA_HOST` if it is a
/// plain `host[:port]`.
fn metadata_url(env: Env<'_>, provider: &'static str, suffix: &str) -> Result<String, OidcError> {
    let host = env(METADATA_HOST_ENV)
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| DEFAULT_METADATA_HOST.to_owned());
    let plain = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !plain {
        return Err(missing(
            provider,
            format!("{METADATA_HOST_ENV} must be a host[:port], nothing else"),
        ));
    }
    Ok(format!("http://{host}/computeMetadata/v1/{suffix}"))
}

fn metadata_get(http: &Http, url: &str, what: &'static str) -> Result<Vec<u8>, OidcError> {
    let reply = http
        .get_with(url, &[("Metadata-Flavor", "Google")])
        .map_err(|source| OidcError::Http { what, source })?;
    if !reply.ok() {
        return Err(OidcError::refused(what, &reply));
    }
    Ok(reply.body)
}

/// `google-workload-identity`: the metadata server's ID token for `audience`.
pub fn workload_identity(http: &Http, env: Env<'_>, audience: &str) -> Result<IdToken, OidcError> {
    let url = metadata_url(
        env,
        WORKLOAD,
        &format!(
            "instance/service-accounts/default/identity?audience={}&format=full",
            percent_encode(audience)
        ),
    )?;
    let body = Zeroizing::new(metadata_get(http, &url, "the GCE metadata server")?);
    let text = Zeroizing::new(String::from_utf8_lossy(&body).trim().to_owned());
    if text.is_empty() {
        return Err(missing(WORKLOAD, "the metadata server answered no token"));
    }
    Ok(IdToken::new(text.to_string()))
}

/// `google-impersonate`: an ID token for `audience` minted for `GOOGLE_SERVICE_ACCOUNT_NAME`
/// by the IAM credentials API at `iam` ([`IAM_CREDENTIALS`]).
pub fn impersonate(
    http: &Http,
    env: Env<'_>,
    audience: &str,
    iam: &str,
    dmi_product_name: &Path,
) -> Result<IdToken, OidcError> {
    let target = env(SERVICE_ACCOUNT_ENV)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| missing(IMPERSONATE, format!("{SERVICE_ACCOUNT_ENV} is not set")))?;
    if !target
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'@' | b'.' | b'-' | b'_'))
    {
        return Err(missing(
            IMPERSONATE,
            format!("{SERVICE_ACCOUNT_ENV} is not a service account email"),
        ));
    }
    let access = source_access_token(http, env, dmi_product_name)?;
    let auth = Zeroizing::new(format!("Bearer {}", access.as_str()));
    let url = format!("{iam}/v1/projects/-/serviceAccounts/{target}:generateIdToken");
    let what = "the IAM credentials API";
    let reply = http
        .post_json_with(
            &url,
            &[("Authorization", auth.as_str())],
            &serde_json::json!({ "audience": audience, "includeEmail": true }),
        )
        .map_err(|source| OidcError::Http { what, source })?;
    if !reply.ok() {
        return Err(OidcError::refused(what, &reply));
    }
    let body = Zeroizing::new(reply.body);
    let v: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|_| missing(IMPERSONATE, "the IAM credentials answer is not JSON"))?;
    v.get("token")
        .and_then(serde_json::Value::as_str)
        .filter(|t| !t.is_empty())
        .map(|t| IdToken::new(t.to_owned()))
        .ok_or_else(|| missing(IMPERSONATE, "the IAM credentials answer has no 'token'"))
}

/// Application Default Credentials, as Google's libraries look for them: the file named by
/// `GOOGLE_APPLICATION_CREDENTIALS`, else gcloud's well-known file, else (on GCE) the
/// metadata server. Of the file types, `authorized_user` (gcloud's) is supported.
fn source_access_token(
    http: &Http,
    env: Env<'_>,
    dmi_product_name: &Path,
) -> Result<Zeroizing<String>, OidcError> {
    let file = env("GOOGLE_APPLICATION_CREDENTIALS")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| well_known_file(Os::HOST, env).filter(|p| p.is_file()));
    if let Some(path) = file {
        return authorized_user(http, &path);
    }
    if !on_gce(env, dmi_product_name) {
        return Err(missing(
            IMPERSONATE,
            "no Application Default Credentials: set GOOGLE_APPLICATION_CREDENTIALS, run `gcloud auth application-default login`, or run on Google Cloud",
        ));
    }
    let url = metadata_url(
        env,
        IMPERSONATE,
        &format!(
            "instance/service-accounts/default/token?scopes={}",
            percent_encode(CLOUD_PLATFORM_SCOPE)
        ),
    )?;
    let body = Zeroizing::new(metadata_get(http, &url, "the GCE metadata server")?);
    access_token_of(&body, "the metadata server's answer")
}

/// gcloud's Application Default Credentials file: in `CLOUDSDK_CONFIG`, else gcloud's
/// configuration directory — `%APPDATA%\gcloud` on Windows, `~/.config/gcloud` elsewhere (as
/// Google's auth libraries look for it).
fn well_known_file(os: Os, env: Env<'_>) -> Option<PathBuf> {
    let set = |name: &str| env(name).filter(|d| !d.is_empty()).map(PathBuf::from);
    let dir = match (set("CLOUDSDK_CONFIG"), os) {
        (Some(d), _) => d,
        (None, Os::Windows) => set("APPDATA")?.join("gcloud"),
        (None, Os::Unix) => {
            let os_env = |k: &str| env(k).map(std::ffi::OsString::from);
            platform::home(os, &os_env, &|_| false)?
                .join(".config")
                .join("gcloud")
        }
    };
    Some(dir.join("application_default_credentials.json"))
}

fn access_token_of(body: &[u8], what: &str) -> Result<Zeroizing<String>, OidcError> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| missing(IMPERSONATE, format!("{what} is not JSON")))?;
    v.get("access_token")
        .and_then(serde_json::Value::as_str)
        .filter(|t| !t.is_empty())
        .map(|t| Zeroizing::new(t.to_owned()))
        .ok_or_else(|| missing(IMPERSONATE, format!("{what} has no access_token")))
}

/// An `authorized_user` credentials file: its refresh token traded at Google's token endpoint.
fn authorized_user(http: &Http, path: &Path) -> Result<Zeroizing<String>, OidcError> {
    let shown = crate::text::escape(&path.display().to_string()).into_owned();
    let raw = Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| missing(IMPERSONATE, format!("cannot read {shown}: {e}")))?,
    );
    let v: serde_json::Value = serde_json::from_slice(&raw)
        .map_err(|_| missing(IMPERSONATE, format!("{shown} is not JSON")))?;
    let field = |k: &str| v.get(k).and_then(serde_json::Value::as_str).unwrap_or("");
    if field("type") != "authorized_user" {
        return Err(missing(
            IMPERSONATE,
            format!(
                "{shown} holds '{}' credentials; only 'authorized_user' (gcloud auth application-default login) is supported",
                crate::text::escape(field("type"))
            ),
        ));
    }
    let refresh = Zeroizing::new(field("refresh_token").to_owned());
    let what = "Google's token endpoint";
    let reply = http
        .post_form(
            GOOGLE_TOKEN_URL,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", field("client_id")),
                ("client_secret", field("client_secret")),
                ("refresh_token", refresh.as_str()),
            ],
        )
        .map_err(|source| OidcError::Http { what, source })?;
    if !reply.ok() {
        return Err(OidcError::refused(what, &reply));
    }
    access_token_of(&Zeroizing::new(reply.body), "Google's token answer")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_default_credentials_are_where_gcloud_writes_them() {
        let table = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let file = "application_default_credentials.json";
        let both = table(&[("HOME", "/h"), ("APPDATA", "C:/Users/u/AppData/Roaming")]);
        assert_eq!(
            well_known_file(Os::Unix, &both),
            Some(PathBuf::from("/h/.config/gcloud").join(file)),
            "~/.config/gcloud on Linux and macOS"
        );
        assert_eq!(
            well_known_file(Os::Windows, &both),
            Some(PathBuf::from("C:/Users/u/AppData/Roaming/gcloud").join(file)),
            "%APPDATA%\\gcloud on Windows, even when HOME is set"
        );
        let custom = table(&[("CLOUDSDK_CONFIG", "/cfg"), ("APPDATA", "C:/A")]);
        for os in [Os::Unix, Os::Windows] {
            assert_eq!(
                well_known_file(os, &custom),
                Some(PathBuf::from("/cfg").join(file)),
                "CLOUDSDK_CONFIG wins on {os:?}"
            );
        }
        assert_eq!(
            well_known_file(Os::Windows, &table(&[("HOME", "/h")])),
            None,
            "no APPDATA"
        );
    }
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::net::TcpListener;
    use std::time::Duration;

    /// A loopback HTTP/1.1 server answering `answers` in order, one connection each; returns
    /// its `host:port` and the requests it saw (request line, headers lower-cased, body).
    fn fake(answers: Vec<(u16, &'static str)>) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr").to_string();
        let h = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for (status, body) in answers {
                let (mut s, _) = l.accept().expect("accept");
                let mut r = BufReader::new(s.try_clone().expect("clone"));
                let mut req = String::new();
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    r.read_line(&mut line).expect("line");
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        len = v.trim().parse().expect("length");
                    }
                    req.push_str(&lower);
                }
                let mut b = vec![0; len];
                r.read_exact(&mut b).expect("body");
                req.push_str(&String::from_utf8_lossy(&b));
                seen.push(req);
                write!(
                    s,
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .expect("answer");
            }
            seen
        });
        (addr, h)
    }

    fn env_of(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
        move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn workload_identity_asks_the_metadata_server_for_the_audience() {
        let (host, h) = fake(vec![(200, "hdr.payload.sig\n")]);
        let env = env_of(vec![(METADATA_HOST_ENV, host)]);
        let http = Http::new(Duration::from_secs(5));
        let t = workload_identity(&http, &env, "sigstore").expect("token");
        assert_eq!(t.expose(), "hdr.payload.sig");
        let seen = h.join().expect("fake");
        assert!(
            seen[0].starts_with("get /computemetadata/v1/instance/service-accounts/default/identity?audience=sigstore&format=full http/1.1"),
            "{seen:?}"
        );
        assert!(seen[0].contains("metadata-flavor: google\r\n"), "{seen:?}");
    }

    #[test]
    fn workload_identity_refusals_and_odd_hosts_are_errors() {
        let (host, h) = fake(vec![(404, "not here")]);
        let env = env_of(vec![(METADATA_HOST_ENV, host)]);
        let http = Http::new(Duration::from_secs(5));
        let e = workload_identity(&http, &env, "sigstore").expect_err("404");
        assert!(e.to_string().contains("404"), "{e}");
        h.join().expect("fake");
        for bad in ["evil.example/x?", "user@host", "host#frag", "a b"] {
            let env = env_of(vec![(METADATA_HOST_ENV, bad.to_owned())]);
            let e = workload_identity(&http, &env, "sigstore").expect_err(bad);
            assert!(e.to_string().contains("host[:port]"), "{bad}: {e}");
        }
    }

    #[test]
    fn impersonation_trades_a_metadata_access_token_at_iam_credentials() {
        let (host, h) = fake(vec![
            (
                200,
                r#"{"access_token":"at-123","expires_in":3599,"token_type":"Bearer"}"#,
            ),
            (200, r#"{"token":"id.token.sig"}"#),
        ]);
        let env = env_of(vec![
            (METADATA_HOST_ENV, host.clone()),
            (
                SERVICE_ACCOUNT_ENV,
                "signer@proj.iam.gserviceaccount.com".into(),
            ),
        ]);
        let http = Http::new(Duration::from_secs(5));
        let t = impersonate(
            &http,
            &env,
            "sigstore",
            &format!("http://{host}"),
            Path::new("/nonexistent"),
        )
        .expect("token");
        assert_eq!(t.expose(), "id.token.sig");
        let seen = h.join().expect("fake");
        assert!(
            seen[0].starts_with("get /computemetadata/v1/instance/service-accounts/default/token?scopes=https%3a%2f%2fwww.googleapis.com%2fauth%2fcloud-platform "),
            "{seen:?}"
        );
        assert!(seen[0].contains("metadata-flavor: google\r\n"));
        assert!(
            seen[1].starts_with("post /v1/projects/-/serviceaccounts/signer@proj.iam.gserviceaccount.com:generateidtoken "),
            "{seen:?}"
        );
        assert!(
            seen[1].contains("authorization: bearer at-123\r\n"),
            "{seen:?}"
        );
        let body = seen[1].rsplit("\r\n").next().unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(body).expect("json body");
        assert_eq!(
            v,
            serde_json::json!({"audience": "sigstore", "includeEmail": true})
        );
    }

    #[test]
    fn impersonation_needs_a_target_and_credentials() {
        let http = Http::new(Duration::from_secs(1));
        let none = env_of(vec![]);
        let e = impersonate(
            &http,
            &none,
            "sigstore",
            "http://127.0.0.1:9",
            Path::new("/x"),
        )
        .expect_err("no target");
        assert!(e.to_string().contains(SERVICE_ACCOUNT_ENV), "{e}");
        let odd = env_of(vec![(SERVICE_ACCOUNT_ENV, "a/../b".into())]);
        let e = impersonate(
            &http,
            &odd,
            "sigstore",
            "http://127.0.0.1:9",
            Path::new("/x"),
        )
        .expect_err("odd target");
        assert!(e.to_string().contains("not a service account email"), "{e}");
        let off_google = env_of(vec![(
            SERVICE_ACCOUNT_ENV,
            "sa@p.iam.gserviceaccount.com".into(),
        )]);
        let e = impersonate(
            &http,
            &off_google,
            "sigstore",
            "http://127.0.0.1:9",
            Path::new("/x"),
        )
        .expect_err("no ADC");
        assert!(
            e.to_string().contains("Application Default Credentials"),
            "{e}"
        );
        let dir = tempfile::tempdir().expect("dir");
        let key = dir.path().join("sa.json");
        std::fs::write(&key, r#"{"type":"service_account","private_key":"secret"}"#)
            .expect("write");
        let sa = env_of(vec![
            (SERVICE_ACCOUNT_ENV, "sa@p.iam.gserviceaccount.com".into()),
            ("GOOGLE_APPLICATION_CREDENTIALS", key.display().to_string()),
        ]);
        let e = impersonate(
            &http,
            &sa,
            "sigstore",
            "http://127.0.0.1:9",
            Path::new("/x"),
        )
        .expect_err("service account keys");
        assert!(e.to_string().contains("'service_account'"), "{e}");
        assert!(!e.to_string().contains("secret"), "{e}");
    }

    #[test]
    fn gce_is_detected_by_the_variable_or_the_bios_name() {
        let dir = tempfile::tempdir().expect("dir");
        let dmi = dir.path().join("product_name");
        let none = env_of(vec![]);
        assert!(!on_gce(&none, &dmi), "no variable, no file");
        std::fs::write(&dmi, "Standard PC (Q35 + ICH9, 2009)\n").expect("write");
        assert!(!on_gce(&none, &dmi));
        std::fs::write(&dmi, "Google Compute Engine\n").expect("write");
        assert!(on_gce(&none, &dmi));
        let set = env_of(vec![(METADATA_HOST_ENV, "127.0.0.1:1".into())]);
        assert!(on_gce(&set, Path::new("/nonexistent")));
    }
}
