//! Identity: an OpenID Connect ID token for Fulcio, chosen the way Go gitsign chooses
//! (`gitsign.tokenProvider` / `GITSIGN_TOKEN_PROVIDER`, else ambient credentials, else the
//! browser):
//!
//! - `envvar`: `SIGSTORE_ID_TOKEN`;
//! - `filesystem`: `/var/run/sigstore/cosign/oidc-token` (Kubernetes projected tokens);
//! - `github-actions`: `ACTIONS_ID_TOKEN_REQUEST_URL` + `ACTIONS_ID_TOKEN_REQUEST_TOKEN`;
//! - `buildkite-agent`: `buildkite-agent oidc request-token --audience …`;
//! - `spiffe`, `google-workload-identity`, `google-impersonate`: [`providers`];
//!
//! Without `gitsign.tokenProvider`, every ambient provider that is present is tried in that
//! order (cosign's registration order, which Go gitsign v0.17.1 uses), the next one when one
//! fails; the last failure is reported.
//!
//! Ambient tokens are requested for, and must be issued to, the audience `gitsign.clientID`
//! (`sigstore` unless set), as Go gitsign passes its client ID to cosign's providers.
//! - `interactive`: authorization code + PKCE S256 + `state` + `nonce` on a 127.0.0.1 loopback
//!   redirect ([`interactive`], RFC 6749 §4.1, RFC 7636, RFC 8252);
//! - `device`: the device authorization grant ([`device`], RFC 8628).
//!
//! Every token, ambient or not, is verified against its issuer's discovery document and JWKS
//! ([`jwt`]) before its subject is signed: a bad token fails here, with a clear message, rather
//! than as an opaque 401 from Fulcio. The environment comes in as a lookup function so
//! selection is testable without touching the process environment.

pub mod device;
pub mod interactive;
pub mod jwt;
pub mod opener;
pub mod providers;

use std::path::Path;
use std::time::Duration;

pub use jwt::{Claims, IdToken, TokenError};

use crate::config::{Config, ConfigError, Key};
use crate::encoding::hex_digit;
use crate::http::{Http, HttpError};

/// Where Kubernetes and cosign put a projected service-account token.
pub const FILESYSTEM_TOKEN_PATH: &str = "/var/run/sigstore/cosign/oidc-token";
/// The audience public-good Fulcio requires, and the default `gitsign.clientID`.
pub const SIGSTORE_AUDIENCE: &str = "sigstore";

/// A token source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    EnvVar,
    Filesystem,
    GithubActions,
    Buildkite,
    Spiffe,
    GoogleWorkloadIdentity,
    GoogleImpersonate,
    Interactive,
    Device,
}

/// Names accepted in `gitsign.tokenProvider`, in the order ambient detection tries them.
pub const SUPPORTED: &[(&str, Provider)] = &[
    ("envvar", Provider::EnvVar),
    ("filesystem", Provider::Filesystem),
    ("github-actions", Provider::GithubActions),
    ("buildkite-agent", Provider::Buildkite),
    ("spiffe", Provider::Spiffe),
    ("google-workload-identity", Provider::GoogleWorkloadIdentity),
    ("google-impersonate", Provider::GoogleImpersonate),
    ("interactive", Provider::Interactive),
    ("device", Provider::Device),
];

impl Provider {
    pub fn name(self) -> &'static str {
        SUPPORTED
            .iter()
            .find(|(_, p)| *p == self)
            .map(|(n, _)| *n)
            .unwrap_or("unknown")
    }

    fn ambient(self) -> bool {
        !matches!(self, Provider::Interactive | Provider::Device)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error(
        "token provider '{name}' is not supported (supported: {})",
        supported_names()
    )]
    UnsupportedProvider { name: String },
    #[error("token provider '{provider}' has no token: {reason}")]
    NotAvailable {
        provider: &'static str,
        reason: String,
    },
    #[error("the {provider} token is not usable")]
    Token {
        provider: &'static str,
        #[source]
        source: TokenError,
    },
    #[error("requesting a token from {what} failed")]
    Http {
        what: &'static str,
        #[source]
        source: HttpError,
    },
    #[error("{what} refused the request: {status} {body}")]
    Refused {
        what: &'static str,
        status: u16,
        body: String,
    },
    #[error("the login was denied: {0}")]
    Denied(String),
    #[error("the login redirect carried a different state than this login sent (possible cross-site request forgery)")]
    StateMismatch,
    #[error("no login completed within {0} seconds")]
    Timeout(u64),
    #[error("the URL opener '{program}' {why}, and with no terminal nobody can open the login URL by hand")]
    Opener { program: String, why: String },
    #[error("the login listener failed")]
    Listener(#[source] std::io::Error),
    #[error("{0}")]
    Discovery(#[source] TokenError),
}

impl OidcError {
    /// `what` answered with an error status: its status and the start of its body.
    pub(crate) fn refused(what: &'static str, reply: &crate::http::Reply) -> OidcError {
        OidcError::Refused {
            what,
            status: reply.status,
            body: reply.snippet(),
        }
    }
}

fn supported_names() -> String {
    SUPPORTED
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the flows need from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<zeroize::Zeroizing<String>>,
    pub redirect_url: Option<String>,
    pub connector_id: Option<String>,
    pub provider: Option<String>,
    /// `gitsign.urlOpener`, parsed (a bad command is a configuration error before any login).
    pub url_opener: Option<opener::Opener>,
    /// Whether someone can see the login URL and open it by hand (a controlling terminal).
    /// Without one, a login whose opener failed ends at once instead of waiting.
    pub terminal: bool,
    pub autoclose: bool,
    pub autoclose_timeout: u64,
    /// How long an interactive or device login may take.
    pub login_timeout: Duration,
}

impl Settings {
    /// The login settings, each with the key table's default. The client secret is read
    /// from `gitsign.clientSecretFile` here, trimmed, as Go gitsign reads it.
    pub fn from_config(config: &Config) -> Result<Settings, ConfigError> {
        let client_secret = match config.get(Key::ClientSecretFile) {
            Some(p) => Some(zeroize::Zeroizing::new(
                std::fs::read_to_string(p)
                    .map_err(|e| ConfigError::Unreadable {
                        path: p.to_owned(),
                        origin: config.origin(Key::ClientSecretFile),
                        reason: e.to_string(),
                    })?
                    .trim()
                    .to_owned(),
            )),
            None => None,
        };
        Ok(Settings {
            issuer: config.text(Key::Issuer).to_owned(),
            client_id: config.text(Key::ClientId).to_owned(),
            client_secret,
            redirect_url: config.get(Key::RedirectUrl).map(str::to_owned),
            connector_id: config.get(Key::ConnectorId).map(str::to_owned),
            provider: config.get(Key::TokenProvider).map(str::to_owned),
            url_opener: config
                .get(Key::UrlOpener)
                .map(|c| {
                    opener::Opener::parse(c).map_err(|reason| ConfigError::Invalid {
                        value: c.to_owned(),
                        origin: config.origin(Key::UrlOpener),
                        reason,
                    })
                })
                .transpose()?,
            terminal: false,
            autoclose: config.bool(Key::Autoclose)?,
            autoclose_timeout: config.count(Key::AutocloseTimeout)?,
            login_timeout: config.seconds(Key::LoginTimeout)?,
        })
    }
}

/// A verified token and where it came from.
#[derive(Debug)]
pub struct Identity {
    pub token: IdToken,
    pub claims: Claims,
    pub provider: Provider,
}

/// Other spellings accepted for a provider: Go gitsign's README names cosign's
/// `google-impersonate` provider `google-impersonation`.
const ALIASES: &[(&str, Provider)] = &[("google-impersonation", Provider::GoogleImpersonate)];

/// Parse a configured provider name.
pub fn parse_provider(name: &str) -> Result<Provider, OidcError> {
    let lower = name.trim().to_ascii_lowercase();
    SUPPORTED
        .iter()
        .chain(ALIASES)
        .find(|(n, _)| *n == lower)
        .map(|(_, p)| *p)
        .ok_or_else(|| OidcError::UnsupportedProvider {
            name: name.to_owned(),
        })
}

/// The token source the user named explicitly, if any: a configured non-interactive provider,
/// or, with none configured, a token in `SIGSTORE_ID_TOKEN`. A token from such a source names
/// the identity to sign as, so it wins over a cached credential of another identity.
pub fn explicit_provider(
    settings: &Settings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Provider>, OidcError> {
    if let Some(name) = settings
        .provider
        .as_deref()
        .filter(|n| !n.trim().is_empty())
    {
        let p = parse_provider(name)?;
        return Ok(p.ambient().then_some(p));
    }
    Ok(env("SIGSTORE_ID_TOKEN")
        .is_some_and(|t| !t.trim().is_empty())
        .then_some(Provider::EnvVar))
}

/// The provider to use: the configured one, else the first ambient one present, else
/// interactive.
pub fn select(
    settings: &Settings,
    env: &dyn Fn(&str) -> Option<String>,
    fs_token: &Path,
) -> Result<Provider, OidcError> {
    Ok(candidates(settings, env, fs_token)?
        .first()
        .copied()
        .unwrap_or(Provider::Interactive))
}

/// The providers to try, in order: the configured one, else every ambient one present
/// (cosign's `Enabled`), else interactive.
pub fn candidates(
    settings: &Settings,
    env: &dyn Fn(&str) -> Option<String>,
    fs_token: &Path,
) -> Result<Vec<Provider>, OidcError> {
    if let Some(name) = settings
        .provider
        .as_deref()
        .filter(|n| !n.trim().is_empty())
    {
        return Ok(vec![parse_provider(name)?]);
    }
    let present = |p: Provider| match p {
        Provider::EnvVar => env("SIGSTORE_ID_TOKEN").is_some_and(|t| !t.trim().is_empty()),
        Provider::Filesystem => fs_token.is_file(),
        Provider::GithubActions => {
            env("ACTIONS_ID_TOKEN_REQUEST_URL").is_some()
                && env("ACTIONS_ID_TOKEN_REQUEST_TOKEN").is_some()
        }
        Provider::Buildkite => env("BUILDKITE_AGENT_ACCESS_TOKEN").is_some(),
        Provider::Spiffe => providers::spiffe::enabled(env),
        Provider::GoogleWorkloadIdentity => {
            providers::google::on_gce(env, Path::new(providers::google::DMI_PRODUCT_NAME))
        }
        Provider::GoogleImpersonate => {
            env(providers::google::SERVICE_ACCOUNT_ENV).is_some_and(|v| !v.is_empty())
        }
        Provider::Interactive | Provider::Device => false,
    };
    let found: Vec<Provider> = SUPPORTED
        .iter()
        .map(|(_, p)| *p)
        .filter(|p| p.ambient() && present(*p))
        .collect();
    Ok(if found.is_empty() {
        vec![Provider::Interactive]
    } else {
        found
    })
}

/// Obtain and verify a token. `say` receives human text (login URLs, progress).
pub fn identity(
    http: &Http,
    settings: &Settings,
    env: &dyn Fn(&str) -> Option<String>,
    say: &mut dyn FnMut(&str),
    now: i64,
) -> Result<Identity, OidcError> {
    let mut last = None;
    let mut got = None;
    for p in candidates(settings, env, Path::new(FILESYSTEM_TOKEN_PATH))? {
        match fetch(http, p, settings, env, say) {
            Ok(t) => {
                got = Some((p, t));
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let (provider, token) = match (got, last) {
        (Some(found), _) => found,
        (None, Some(e)) => return Err(e),
        (None, None) => {
            return Err(OidcError::UnsupportedProvider {
                name: String::new(),
            })
        }
    };
    let (token, issuer, audience, nonce) = match token {
        Fetched::Ambient(t) => (t, None, settings.client_id.as_str(), None),
        Fetched::Interactive { token, nonce } => (
            token,
            Some(settings.issuer.as_str()),
            settings.client_id.as_str(),
            nonce,
        ),
    };
    let expect = jwt::Expect {
        issuer,
        audience,
        nonce: nonce.as_deref(),
    };
    let claims = jwt::verify(http, &token, &expect, now).map_err(|source| OidcError::Token {
        provider: provider.name(),
        source,
    })?;
    Ok(Identity {
        token,
        claims,
        provider,
    })
}

enum Fetched {
    Ambient(IdToken),
    Interactive {
        token: IdToken,
        nonce: Option<String>,
    },
}

fn fetch(
    http: &Http,
    provider: Provider,
    settings: &Settings,
    env: &dyn Fn(&str) -> Option<String>,
    say: &mut dyn FnMut(&str),
) -> Result<Fetched, OidcError> {
    let missing = |reason: &str| OidcError::NotAvailable {
        provider: provider.name(),
        reason: reason.to_owned(),
    };
    Ok(match provider {
        Provider::EnvVar => Fetched::Ambient(IdToken::new(
            env("SIGSTORE_ID_TOKEN")
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| missing("SIGSTORE_ID_TOKEN is not set"))?,
        )),
        Provider::Filesystem => {
            let raw = std::fs::read_to_string(FILESYSTEM_TOKEN_PATH)
                .map_err(|e| missing(&format!("cannot read {FILESYSTEM_TOKEN_PATH}: {e}")))?;
            Fetched::Ambient(IdToken::new(raw))
        }
        Provider::GithubActions => Fetched::Ambient(
            github_actions(http, env, &settings.client_id).map_err(|e| match e {
                Err(reason) => missing(&reason),
                Ok(e) => e,
            })?,
        ),
        Provider::Buildkite => {
            Fetched::Ambient(buildkite(&settings.client_id).map_err(|r| missing(&r))?)
        }
        Provider::Spiffe => Fetched::Ambient(providers::spiffe::fetch(
            env,
            &settings.client_id,
            Duration::from_secs(30),
        )?),
        Provider::GoogleWorkloadIdentity => Fetched::Ambient(providers::google::workload_identity(
            http,
            env,
            &settings.client_id,
        )?),
        Provider::GoogleImpersonate => Fetched::Ambient(providers::google::impersonate(
            http,
            env,
            &settings.client_id,
            providers::google::IAM_CREDENTIALS,
            Path::new(providers::google::DMI_PRODUCT_NAME),
        )?),
        Provider::Interactive => {
            let doc = jwt::discover(http, &settings.issuer).map_err(OidcError::Discovery)?;
            let (token, nonce) = interactive::login(http, settings, &doc, say)?;
            Fetched::Interactive {
                token,
                nonce: Some(nonce),
            }
        }
        Provider::Device => {
            let doc = jwt::discover(http, &settings.issuer).map_err(OidcError::Discovery)?;
            Fetched::Interactive {
                token: device::login(http, settings, &doc, say)?,
                nonce: None,
            }
        }
    })
}

/// GitHub Actions: GET `$ACTIONS_ID_TOKEN_REQUEST_URL&audience=<client id>` with the request
/// token as bearer; the answer is `{"value": jwt}`.
fn github_actions(
    http: &Http,
    env: &dyn Fn(&str) -> Option<String>,
    audience: &str,
) -> Result<IdToken, Result<OidcError, String>> {
    let url = env("ACTIONS_ID_TOKEN_REQUEST_URL")
        .ok_or_else(|| Err("ACTIONS_ID_TOKEN_REQUEST_URL is not set".to_owned()))?;
    let bearer = zeroize::Zeroizing::new(
        env("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
            .ok_or_else(|| Err("ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set".to_owned()))?,
    );
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{sep}audience={}", percent_encode(audience));
    let auth = zeroize::Zeroizing::new(format!("Bearer {}", bearer.as_str()));
    let reply = http
        .get_with(
            &url,
            &[
                ("Authorization", auth.as_str()),
                ("Accept", "application/json"),
            ],
        )
        .map_err(|source| {
            Ok(OidcError::Http {
                what: "the GitHub Actions token endpoint",
                source,
            })
        })?;
    if !reply.ok() {
        return Err(Ok(OidcError::refused(
            "the GitHub Actions token endpoint",
            &reply,
        )));
    }
    let v: serde_json::Value = serde_json::from_slice(&reply.body)
        .map_err(|_| Err("the answer is not JSON".to_owned()))?;
    v.get("value")
        .and_then(serde_json::Value::as_str)
        .map(|t| IdToken::new(t.to_owned()))
        .ok_or_else(|| Err("the answer has no 'value'".to_owned()))
}

/// Buildkite: the agent mints the token.
fn buildkite(audience: &str) -> Result<IdToken, String> {
    let out = std::process::Command::new("buildkite-agent")
        .args(["oidc", "request-token", "--audience", audience])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run buildkite-agent: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "buildkite-agent failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(IdToken::new(
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

/// RFC 3986 unreserved characters stay, everything else is %XX (for query strings and forms).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_digit(bytes[i + 1]), hex_digit(bytes[i + 2]))
            {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// 32 random bytes as base64url: PKCE verifiers, `state`, `nonce`.
pub fn random_token() -> Result<String, OidcError> {
    use base64::Engine as _;
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| OidcError::Listener(std::io::Error::other("no system randomness")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

/// An endpoint URL from the issuer's discovery document (OpenID Connect Discovery 1.0 §3).
pub(crate) fn discovery_endpoint(
    discovery: &serde_json::Value,
    key: &str,
) -> Result<String, OidcError> {
    discovery
        .get(key)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| OidcError::Refused {
            what: "the issuer",
            status: 0,
            body: format!("its discovery document has no {key}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(provider: Option<&str>) -> Settings {
        Settings {
            issuer: "https://issuer".into(),
            client_id: "sigstore".into(),
            client_secret: None,
            redirect_url: None,
            connector_id: None,
            provider: provider.map(str::to_owned),
            url_opener: None,
            terminal: false,
            autoclose: true,
            autoclose_timeout: 6,
            login_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn go_gitsigns_google_impersonation_spelling_is_accepted() {
        assert_eq!(
            parse_provider("google-impersonation").ok(),
            Some(Provider::GoogleImpersonate),
            "the spelling of Go gitsign's README"
        );
        assert_eq!(
            Provider::GoogleImpersonate.name(),
            "google-impersonate",
            "cosign's name stays the one shown"
        );
    }

    #[test]
    fn explicit_sources_are_a_named_provider_or_sigstore_id_token() {
        let none = |_: &str| None;
        let env_token = |k: &str| (k == "SIGSTORE_ID_TOKEN").then(|| "t".to_owned());
        assert_eq!(
            explicit_provider(&settings(None), &none).ok(),
            Some(None),
            "nothing given, nothing explicit"
        );
        assert_eq!(
            explicit_provider(&settings(None), &env_token).ok(),
            Some(Some(Provider::EnvVar)),
            "a token in SIGSTORE_ID_TOKEN is explicit"
        );
        assert_eq!(
            explicit_provider(&settings(Some("github-actions")), &env_token).ok(),
            Some(Some(Provider::GithubActions)),
            "a configured provider is explicit, and is the one used"
        );
        assert_eq!(
            explicit_provider(&settings(Some("interactive")), &env_token).ok(),
            Some(None),
            "a browser login names nobody in advance"
        );
    }

    #[test]
    fn selection_prefers_configured_then_ambient_then_interactive() {
        let none = |_: &str| None;
        let no_file = Path::new("/nonexistent/token");
        assert_eq!(
            select(&settings(None), &none, no_file).ok(),
            Some(Provider::Interactive),
            "nothing ambient: the browser"
        );
        let env_token = |k: &str| (k == "SIGSTORE_ID_TOKEN").then(|| "t".to_owned());
        assert_eq!(
            select(&settings(None), &env_token, no_file).ok(),
            Some(Provider::EnvVar),
            "SIGSTORE_ID_TOKEN wins"
        );
        let gha = |k: &str| {
            k.starts_with("ACTIONS_ID_TOKEN_REQUEST_")
                .then(|| "x".to_owned())
        };
        assert_eq!(
            select(&settings(None), &gha, no_file).ok(),
            Some(Provider::GithubActions),
            "GitHub Actions is detected"
        );
        assert_eq!(
            select(&settings(Some("device")), &env_token, no_file).ok(),
            Some(Provider::Device),
            "a configured provider beats ambient ones"
        );
    }

    #[test]
    fn every_present_ambient_provider_is_a_candidate_in_cosigns_order() {
        let dir = tempfile::tempdir().expect("dir");
        let sock = dir.path().join("api.sock");
        std::fs::write(&sock, "").expect("stand-in for the socket");
        let sock = sock.display().to_string();
        let all = move |k: &str| match k {
            "SIGSTORE_ID_TOKEN" => Some("t".to_owned()),
            "BUILDKITE_AGENT_ACCESS_TOKEN" => Some("b".to_owned()),
            "SPIFFE_ENDPOINT_SOCKET" => Some(sock.clone()),
            "GCE_METADATA_HOST" => Some("127.0.0.1:1".to_owned()),
            "GOOGLE_SERVICE_ACCOUNT_NAME" => Some("sa@p.iam.gserviceaccount.com".to_owned()),
            _ => None,
        };
        let no_file = Path::new("/nonexistent/token");
        assert_eq!(
            candidates(&settings(None), &all, no_file).ok(),
            Some(vec![
                Provider::EnvVar,
                Provider::Buildkite,
                Provider::Spiffe,
                Provider::GoogleWorkloadIdentity,
                Provider::GoogleImpersonate,
            ])
        );
        assert_eq!(
            candidates(&settings(Some("google-impersonate")), &all, no_file).ok(),
            Some(vec![Provider::GoogleImpersonate]),
            "a configured provider is the only candidate"
        );
        let missing_socket =
            |k: &str| (k == "SPIFFE_ENDPOINT_SOCKET").then(|| "/nonexistent/api.sock".to_owned());
        assert_eq!(
            candidates(&settings(None), &missing_socket, no_file).ok(),
            Some(vec![Provider::Interactive]),
            "a socket path that does not exist is not spiffe"
        );
    }

    #[test]
    fn unsupported_providers_name_the_supported_ones() {
        let err = parse_provider("google-impersonator").expect_err("no such provider");
        assert_eq!(
            err.to_string(),
            "token provider 'google-impersonator' is not supported (supported: envvar, filesystem, github-actions, buildkite-agent, spiffe, google-workload-identity, google-impersonate, interactive, device)"
        );
    }

    #[test]
    fn percent_coding_round_trips_and_survives_garbage() {
        let s = "a b&c=d/é~";
        assert_eq!(
            percent_decode(&percent_encode(s)),
            s,
            "encode then decode is the identity"
        );
        assert_eq!(
            percent_decode("%zz%4"),
            "%zz%4",
            "invalid escapes are kept, not panicked on"
        );
        assert_eq!(percent_decode("%"), "%", "a lone percent is kept");
    }
}
