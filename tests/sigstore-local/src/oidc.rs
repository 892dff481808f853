//! The OpenID Connect issuer (OpenID Connect Discovery 1.0, RFC 7517 JWKS, RFC 7519/7515
//! ES256 ID tokens), with:
//!
//! - authorization code + PKCE S256 (RFC 6749 §4.1, RFC 7636) whose "browser" is any HTTP GET
//!   of the authorization URL: it approves the configured identity at once and redirects to
//!   the client's loopback `redirect_uri` with `code` and `state`; the token endpoint checks
//!   `code_verifier`, `redirect_uri`, `client_id` and that a code is used once;
//! - the device authorization grant (RFC 8628) with `authorization_pending`, `slow_down`,
//!   `expired_token` and `access_denied`; GET of `verification_uri_complete` approves;
//! - `/oidc/mint`: a token for any identity/claims, for `SIGSTORE_ID_TOKEN` and negative tests;
//! - a GitHub Actions–style issuer under `/actions` (`ACTIONS_ID_TOKEN_REQUEST_URL` answers
//!   `{"value": jwt}` with repository/workflow/ref/sha claims).
//!
//! [`Issuer::verify`] is what Fulcio uses: signature, issuer, audience, expiry, email_verified.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::Signature;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::http::{form_value, percent_encode, Req, Resp};
use crate::keys::{self, b64url, KeyPair};
use crate::{lock, Error, Options};

/// Lifetime of minted ID tokens (public issuers use 5–60 minutes).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(600);
/// Authorization codes are good for one minute, once.
const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// Clock skew tolerated on `iat`/`nbf`.
const SKEW_SECS: i64 = 60;

/// Which of the stack's two issuers signs a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenIssuer {
    /// The email issuer (`/oidc`): Fulcio issues an email SAN.
    Email,
    /// The GitHub Actions–style issuer (`/actions`): Fulcio issues a URI SAN.
    Actions,
}

/// The claims of a token to mint.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub issuer: TokenIssuer,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub audience: String,
    /// Seconds from now until `exp`; negative mints an already expired token.
    pub lifetime_secs: i64,
    pub nonce: Option<String>,
    /// Further claims, merged last.
    pub extra: Map<String, Value>,
}

impl TokenRequest {
    /// A verified email token for the `sigstore` audience, valid ten minutes.
    pub fn email(email: &str) -> Self {
        Self {
            issuer: TokenIssuer::Email,
            subject: email.to_string(),
            email: Some(email.to_string()),
            email_verified: true,
            audience: "sigstore".to_string(),
            lifetime_secs: TOKEN_LIFETIME.as_secs() as i64,
            nonce: None,
            extra: Map::new(),
        }
    }

    /// A GitHub Actions–style workflow token for `repository` (`owner/name`) at `git_ref`.
    pub fn actions(repository: &str, workflow_path: &str, git_ref: &str, sha: &str) -> Self {
        let owner = repository.split('/').next().unwrap_or(repository);
        let job_workflow_ref = format!("{repository}/{workflow_path}@{git_ref}");
        let mut extra = Map::new();
        for (k, v) in [
            ("repository", repository.to_string()),
            ("repository_owner", owner.to_string()),
            ("repository_id", "1".to_string()),
            ("repository_owner_id", "2".to_string()),
            ("workflow", "CI".to_string()),
            ("workflow_ref", job_workflow_ref.clone()),
            ("workflow_sha", sha.to_string()),
            ("job_workflow_ref", job_workflow_ref.clone()),
            ("job_workflow_sha", sha.to_string()),
            ("ref", git_ref.to_string()),
            ("sha", sha.to_string()),
            ("event_name", "push".to_string()),
            ("run_id", "1".to_string()),
            ("run_attempt", "1".to_string()),
            ("runner_environment", "github-hosted".to_string()),
        ] {
            extra.insert(k.to_string(), Value::String(v));
        }
        Self {
            issuer: TokenIssuer::Actions,
            subject: format!("repo:{repository}:ref:{git_ref}"),
            email: None,
            email_verified: false,
            audience: "sigstore".to_string(),
            lifetime_secs: TOKEN_LIFETIME.as_secs() as i64,
            nonce: None,
            extra,
        }
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    Malformed(&'static str),
    UnsupportedAlgorithm(String),
    BadSignature,
    UnknownIssuer(String),
    WrongAudience { want: String },
    Expired,
    NotYetValid,
    EmailNotVerified,
    MissingEmail,
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::Malformed(m) => write!(f, "malformed token: {m}"),
            TokenError::UnsupportedAlgorithm(a) => write!(f, "unsupported signing algorithm '{a}'"),
            TokenError::BadSignature => f.write_str("failed to verify signature"),
            TokenError::UnknownIssuer(i) => write!(f, "issuer '{i}' is not configured"),
            TokenError::WrongAudience { want } => write!(f, "expected audience '{want}'"),
            TokenError::Expired => f.write_str("token is expired"),
            TokenError::NotYetValid => f.write_str("token is not valid yet"),
            TokenError::EmailNotVerified => f.write_str("email_verified claim was false"),
            TokenError::MissingEmail => f.write_str("token has no email claim"),
        }
    }
}

/// A verified token.
#[derive(Debug, Clone)]
pub struct Verified {
    pub issuer: TokenIssuer,
    pub issuer_url: String,
    pub claims: Map<String, Value>,
}

impl Verified {
    pub fn claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// What a proof of possession signs: the email for email tokens, else `sub`
    /// (sigstore's `SubjectFromToken`).
    pub fn pop_subject(&self) -> Option<&str> {
        self.claim("email").or_else(|| self.claim("sub"))
    }
}

struct AuthCode {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    email: String,
    expires: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DeviceState {
    Pending,
    Approved(String),
    Denied,
}

struct DeviceGrant {
    user_code: String,
    client_id: String,
    expires: Instant,
    interval: Duration,
    last_poll: Option<Instant>,
    state: DeviceState,
}

/// The issuer state.
pub struct Issuer {
    url: String,
    actions_url: String,
    key: KeyPair,
    kid: String,
    client_id: String,
    identity: Mutex<String>,
    codes: Mutex<HashMap<String, AuthCode>>,
    devices: Mutex<HashMap<String, DeviceGrant>>,
    device_interval: Duration,
    device_ttl: Duration,
    actions_request_token: String,
}

fn now_secs() -> i64 {
    keys::now().as_secs() as i64
}

impl Issuer {
    pub fn load(options: &Options, base_url: &str, keys_dir: &Path) -> Result<Self, Error> {
        let key = KeyPair::load_or_create(keys_dir, "oidc")?;
        let kid = keys::hex(&key.key_id()[..8]);
        Ok(Self::with_key(options, base_url, key, kid))
    }

    fn with_key(options: &Options, base_url: &str, key: KeyPair, kid: String) -> Self {
        Self {
            url: format!("{base_url}/oidc"),
            actions_url: format!("{base_url}/actions"),
            key,
            kid,
            client_id: options.client_id.clone(),
            identity: Mutex::new(options.identity.clone()),
            codes: Mutex::new(HashMap::new()),
            devices: Mutex::new(HashMap::new()),
            device_interval: options.device_interval,
            device_ttl: options.device_code_ttl,
            actions_request_token: options.actions_request_token.clone(),
        }
    }

    pub fn issuer_url(&self) -> &str {
        &self.url
    }

    pub fn actions_issuer_url(&self) -> &str {
        &self.actions_url
    }

    pub fn actions_request_token(&self) -> &str {
        &self.actions_request_token
    }

    pub fn set_identity(&self, identity: &str) {
        *lock(&self.identity) = identity.to_string();
    }

    fn identity(&self) -> String {
        lock(&self.identity).clone()
    }

    /// Sign arbitrary claims as an ES256 JWT with this issuer's key.
    pub fn sign_claims(&self, claims: &Value) -> String {
        sign_jwt(&self.key, &self.kid, claims)
    }

    pub fn mint(&self, r: &TokenRequest) -> String {
        let now = now_secs();
        let iss = match r.issuer {
            TokenIssuer::Email => &self.url,
            TokenIssuer::Actions => &self.actions_url,
        };
        let exp = now + r.lifetime_secs;
        let iat = if r.lifetime_secs < 0 {
            exp - TOKEN_LIFETIME.as_secs() as i64
        } else {
            now
        };
        let mut c = Map::new();
        c.insert("iss".into(), json!(iss));
        c.insert("sub".into(), json!(r.subject));
        c.insert("aud".into(), json!(r.audience));
        c.insert("iat".into(), json!(iat));
        c.insert("nbf".into(), json!(iat));
        c.insert("exp".into(), json!(exp));
        if let Some(e) = &r.email {
            c.insert("email".into(), json!(e));
            c.insert("email_verified".into(), json!(r.email_verified));
        }
        if let Some(n) = &r.nonce {
            c.insert("nonce".into(), json!(n));
        }
        for (k, v) in &r.extra {
            c.insert(k.clone(), v.clone());
        }
        self.sign_claims(&Value::Object(c))
    }

    /// Verify a token as Fulcio would: ES256 signature by this issuer's key, a configured
    /// issuer, the client id among the audiences, unexpired, and a verified email for the
    /// email issuer.
    pub fn verify(&self, jwt: &str) -> Result<Verified, TokenError> {
        let parts: Vec<&str> = jwt.trim().split('.').collect();
        let [h, p, s] = parts.as_slice() else {
            return Err(TokenError::Malformed("expected three parts"));
        };
        let header: Value = keys::unb64url(h)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(TokenError::Malformed("header is not base64url JSON"))?;
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        if alg != "ES256" {
            return Err(TokenError::UnsupportedAlgorithm(alg.to_string()));
        }
        let sig = keys::unb64url(s).ok_or(TokenError::Malformed("signature is not base64url"))?;
        let sig = Signature::from_slice(&sig).map_err(|_| TokenError::BadSignature)?;
        self.key
            .verifying_key()
            .verify(format!("{h}.{p}").as_bytes(), &sig)
            .map_err(|_| TokenError::BadSignature)?;
        let claims: Map<String, Value> = keys::unb64url(p)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(TokenError::Malformed("payload is not base64url JSON"))?;
        let iss = claims
            .get("iss")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let issuer = if iss == self.url {
            TokenIssuer::Email
        } else if iss == self.actions_url {
            TokenIssuer::Actions
        } else {
            return Err(TokenError::UnknownIssuer(iss));
        };
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => *a == self.client_id,
            Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(&self.client_id)),
            _ => false,
        };
        if !aud_ok {
            return Err(TokenError::WrongAudience {
                want: self.client_id.clone(),
            });
        }
        let now = now_secs();
        match claims.get("exp").and_then(Value::as_i64) {
            Some(exp) if exp > now => {}
            _ => return Err(TokenError::Expired),
        }
        for k in ["iat", "nbf"] {
            if let Some(t) = claims.get(k).and_then(Value::as_i64) {
                if t > now + SKEW_SECS {
                    return Err(TokenError::NotYetValid);
                }
            }
        }
        if issuer == TokenIssuer::Email {
            if claims.get("email").and_then(Value::as_str).is_none() {
                return Err(TokenError::MissingEmail);
            }
            if claims.get("email_verified").and_then(Value::as_bool) != Some(true) {
                return Err(TokenError::EmailNotVerified);
            }
        }
        Ok(Verified {
            issuer,
            issuer_url: iss,
            claims,
        })
    }

    /// The route pattern of an issuer request, if it is one.
    pub fn route(&self, method: &str, path: &str) -> Option<&'static str> {
        Some(match (method, path) {
            ("GET", "/oidc/.well-known/openid-configuration") => {
                "/oidc/.well-known/openid-configuration"
            }
            ("GET", "/oidc/keys") => "/oidc/keys",
            ("GET", "/oidc/auth") => "/oidc/auth",
            ("POST", "/oidc/token") => "/oidc/token",
            ("POST", "/oidc/device/code") => "/oidc/device/code",
            ("GET", "/oidc/device") => "/oidc/device",
            ("GET" | "POST", "/oidc/mint") => "/oidc/mint",
            ("GET", "/actions/.well-known/openid-configuration") => {
                "/actions/.well-known/openid-configuration"
            }
            ("GET", "/actions/keys") => "/actions/keys",
            ("GET" | "POST", "/actions/token") => "/actions/token",
            _ => return None,
        })
    }

    pub fn handle(&self, req: &Req, route: &str) -> Resp {
        let path = route.split_once(' ').map(|(_, p)| p).unwrap_or(route);
        match path {
            "/oidc/.well-known/openid-configuration" => {
                Resp::json(200, &self.discovery(&self.url, true))
            }
            "/actions/.well-known/openid-configuration" => {
                Resp::json(200, &self.discovery(&self.actions_url, false))
            }
            "/oidc/keys" | "/actions/keys" => Resp::json(200, &self.jwks()),
            "/oidc/auth" => self.authorize(req),
            "/oidc/token" => self.token(req),
            "/oidc/device/code" => self.device_code(req),
            "/oidc/device" => self.device_approve(req),
            "/oidc/mint" => self.mint_endpoint(req),
            "/actions/token" => self.actions_token(req),
            _ => Resp::oauth_error(404, "not_found", "no such endpoint"),
        }
    }

    fn discovery(&self, iss: &str, interactive: bool) -> Value {
        let mut d = json!({
            "issuer": iss,
            "jwks_uri": format!("{iss}/keys"),
            "response_types_supported": ["code", "id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "email", "email_verified"],
        });
        if interactive {
            if let Some(o) = d.as_object_mut() {
                o.insert(
                    "authorization_endpoint".into(),
                    json!(format!("{iss}/auth")),
                );
                o.insert("token_endpoint".into(), json!(format!("{iss}/token")));
                o.insert(
                    "device_authorization_endpoint".into(),
                    json!(format!("{iss}/device/code")),
                );
                o.insert("scopes_supported".into(), json!(["openid", "email"]));
                o.insert("code_challenge_methods_supported".into(), json!(["S256"]));
                o.insert(
                    "grant_types_supported".into(),
                    json!([
                        "authorization_code",
                        "urn:ietf:params:oauth:grant-type:device_code"
                    ]),
                );
                o.insert(
                    "token_endpoint_auth_methods_supported".into(),
                    json!(["none", "client_secret_post"]),
                );
            }
        }
        d
    }

    fn jwks(&self) -> Value {
        let point = self.key.verifying_key().to_encoded_point(false);
        let x = point.x().map(|x| b64url(x)).unwrap_or_default();
        let y = point.y().map(|y| b64url(y)).unwrap_or_default();
        json!({ "keys": [{ "kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": self.kid, "use": "sig", "alg": "ES256" }] })
    }

    fn authorize(&self, req: &Req) -> Resp {
        let q = |k: &str| req.query_param(k).unwrap_or("").to_string();
        let redirect_uri = q("redirect_uri");
        if !is_loopback_redirect(&redirect_uri) {
            return Resp::oauth_error(
                400,
                "invalid_request",
                "redirect_uri must be an http loopback URL",
            );
        }
        if q("client_id") != self.client_id {
            return Resp::oauth_error(400, "unauthorized_client", "unknown client_id");
        }
        if q("response_type") != "code" {
            return Resp::oauth_error(400, "unsupported_response_type", "only response_type=code");
        }
        if !q("scope").split(' ').any(|s| s == "openid") {
            return Resp::oauth_error(400, "invalid_scope", "scope must include openid");
        }
        if q("code_challenge_method") != "S256" || q("code_challenge").len() < 43 {
            return Resp::oauth_error(
                400,
                "invalid_request",
                "PKCE with code_challenge_method=S256 is required",
            );
        }
        let state = q("state");
        if state.is_empty() {
            return Resp::oauth_error(400, "invalid_request", "state is required");
        }
        let code = keys::random_token();
        lock(&self.codes).insert(
            code.clone(),
            AuthCode {
                client_id: q("client_id"),
                redirect_uri: redirect_uri.clone(),
                challenge: q("code_challenge"),
                nonce: req.query_param("nonce").map(str::to_string),
                email: self.identity(),
                expires: Instant::now() + CODE_LIFETIME,
            },
        );
        let sep = if redirect_uri.contains('?') { '&' } else { '?' };
        Resp::redirect(&format!(
            "{redirect_uri}{sep}code={}&state={}",
            percent_encode(&code),
            percent_encode(&state)
        ))
    }

    fn token(&self, req: &Req) -> Resp {
        let form = req.form();
        match form_value(&form, "grant_type") {
            Some("authorization_code") => self.token_from_code(&form),
            Some("urn:ietf:params:oauth:grant-type:device_code") => self.token_from_device(&form),
            _ => Resp::oauth_error(
                400,
                "unsupported_grant_type",
                "grant_type must be authorization_code or device_code",
            ),
        }
    }

    fn token_response(&self, email: &str, nonce: Option<String>) -> Resp {
        let mut r = TokenRequest::email(email);
        r.audience = self.client_id.clone();
        r.nonce = nonce;
        let id_token = self.mint(&r);
        Resp::json(
            200,
            &json!({
                "access_token": keys::random_token(),
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME.as_secs(),
                "scope": "openid email",
                "id_token": id_token,
            }),
        )
        .with_header("Cache-Control", "no-store")
    }

    fn token_from_code(&self, form: &[(String, String)]) -> Resp {
        let code = form_value(form, "code").unwrap_or("");
        // One use only: the code is gone whether or not the exchange succeeds.
        let Some(grant) = lock(&self.codes).remove(code) else {
            return Resp::oauth_error(
                400,
                "invalid_grant",
                "unknown, used or expired authorization code",
            );
        };
        if grant.expires < Instant::now() {
            return Resp::oauth_error(400, "invalid_grant", "authorization code expired");
        }
        if form_value(form, "client_id").is_some_and(|c| c != grant.client_id) {
            return Resp::oauth_error(
                400,
                "invalid_client",
                "client_id does not match the authorization request",
            );
        }
        if form_value(form, "redirect_uri") != Some(grant.redirect_uri.as_str()) {
            return Resp::oauth_error(
                400,
                "invalid_grant",
                "redirect_uri does not match the authorization request",
            );
        }
        let verifier = form_value(form, "code_verifier").unwrap_or("");
        if !(43..=128).contains(&verifier.len())
            || b64url(&Sha256::digest(verifier.as_bytes())) != grant.challenge
        {
            return Resp::oauth_error(
                400,
                "invalid_grant",
                "code_verifier does not match code_challenge",
            );
        }
        self.token_response(&grant.email, grant.nonce)
    }

    fn device_code(&self, req: &Req) -> Resp {
        let form = req.form();
        if form_value(&form, "client_id") != Some(self.client_id.as_str()) {
            return Resp::oauth_error(400, "invalid_client", "unknown client_id");
        }
        let device_code = keys::random_token();
        let raw = keys::random_bytes::<8>();
        let alphabet = b"BCDFGHJKLMNPQRSTVWXZ";
        let uc: String = raw
            .iter()
            .map(|b| alphabet[(*b as usize) % alphabet.len()] as char)
            .collect();
        let user_code = format!("{}-{}", &uc[..4], &uc[4..]);
        lock(&self.devices).insert(
            device_code.clone(),
            DeviceGrant {
                user_code: user_code.clone(),
                client_id: self.client_id.clone(),
                expires: Instant::now() + self.device_ttl,
                interval: self.device_interval,
                last_poll: None,
                state: DeviceState::Pending,
            },
        );
        let verification_uri = format!("{}/device", self.url);
        Resp::json(
            200,
            &json!({
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": verification_uri,
                "verification_uri_complete": format!("{verification_uri}?user_code={}", percent_encode(&user_code)),
                "expires_in": self.device_ttl.as_secs(),
                "interval": self.device_interval.as_secs().max(1),
            }),
        )
    }

    /// The "user" visiting the verification URI: approves (or, with `deny=1`, denies).
    fn device_approve(&self, req: &Req) -> Resp {
        let Some(user_code) = req.query_param("user_code") else {
            return Resp::text(400, "text/plain", "user_code is required\n");
        };
        let deny = req
            .query_param("deny")
            .is_some_and(|v| v == "1" || v == "true");
        let identity = self.identity();
        let mut devices = lock(&self.devices);
        let Some(grant) = devices.values_mut().find(|g| g.user_code == user_code) else {
            return Resp::text(404, "text/plain", "unknown user code\n");
        };
        if grant.expires < Instant::now() {
            return Resp::text(400, "text/plain", "code expired\n");
        }
        grant.state = if deny {
            DeviceState::Denied
        } else {
            DeviceState::Approved(identity.clone())
        };
        let msg = if deny {
            "denied\n".to_string()
        } else {
            format!("approved {identity}\n")
        };
        Resp::text(200, "text/plain", msg)
    }

    fn token_from_device(&self, form: &[(String, String)]) -> Resp {
        let code = form_value(form, "device_code").unwrap_or("");
        let mut devices = lock(&self.devices);
        let Some(grant) = devices.get_mut(code) else {
            return Resp::oauth_error(400, "invalid_grant", "unknown device_code");
        };
        if form_value(form, "client_id").is_some_and(|c| c != grant.client_id) {
            return Resp::oauth_error(400, "invalid_client", "client_id does not match");
        }
        let now = Instant::now();
        if grant.expires < now {
            devices.remove(code);
            return Resp::oauth_error(400, "expired_token", "the device code expired");
        }
        let too_soon = grant
            .last_poll
            .is_some_and(|t| now.duration_since(t) < grant.interval);
        grant.last_poll = Some(now);
        if too_soon {
            // RFC 8628 §3.5: slow down, and the interval grows for every later poll.
            grant.interval += self.device_interval;
            return Resp::oauth_error(400, "slow_down", "polling too fast");
        }
        match grant.state.clone() {
            DeviceState::Pending => Resp::oauth_error(
                400,
                "authorization_pending",
                "the user has not approved yet",
            ),
            DeviceState::Denied => {
                devices.remove(code);
                Resp::oauth_error(400, "access_denied", "the user denied the request")
            }
            DeviceState::Approved(email) => {
                devices.remove(code);
                drop(devices);
                self.token_response(&email, None)
            }
        }
    }

    fn mint_endpoint(&self, req: &Req) -> Resp {
        let mut params: Vec<(String, String)> = req.query.clone();
        params.extend(req.form());
        let get = |k: &str| form_value(&params, k).map(str::to_string);
        let mut r = match get("issuer").as_deref() {
            Some("actions") => TokenRequest::actions(
                get("repository").as_deref().unwrap_or("octo-org/octo-repo"),
                get("workflow_path")
                    .as_deref()
                    .unwrap_or(".github/workflows/ci.yml"),
                get("ref").as_deref().unwrap_or("refs/heads/main"),
                get("sha")
                    .as_deref()
                    .unwrap_or("0000000000000000000000000000000000000000"),
            ),
            Some("oidc") | None => {
                TokenRequest::email(&get("email").unwrap_or_else(|| self.identity()))
            }
            Some(other) => {
                return Resp::oauth_error(
                    400,
                    "invalid_request",
                    &format!("unknown issuer '{other}'"),
                )
            }
        };
        r.audience = get("aud").unwrap_or_else(|| self.client_id.clone());
        if let Some(sub) = get("sub") {
            r.subject = sub;
        }
        if let Some(ttl) = get("ttl") {
            match ttl.parse::<i64>() {
                Ok(t) => r.lifetime_secs = t,
                Err(_) => {
                    return Resp::oauth_error(
                        400,
                        "invalid_request",
                        "ttl must be an integer number of seconds",
                    )
                }
            }
        }
        if get("email_verified").as_deref() == Some("false") {
            r.email_verified = false;
        }
        r.nonce = get("nonce");
        Resp::text(200, "application/jwt", self.mint(&r))
    }

    fn actions_token(&self, req: &Req) -> Resp {
        if req.bearer() != Some(self.actions_request_token.as_str()) {
            return Resp::json(401, &json!({ "message": "Bad credentials" }));
        }
        let mut r = TokenRequest::actions(
            req.query_param("repository")
                .unwrap_or("octo-org/octo-repo"),
            ".github/workflows/ci.yml",
            req.query_param("ref").unwrap_or("refs/heads/main"),
            req.query_param("sha")
                .unwrap_or("0000000000000000000000000000000000000000"),
        );
        if let Some(aud) = req.query_param("audience") {
            r.audience = aud.to_string();
        }
        Resp::json(200, &json!({ "count": 1, "value": self.mint(&r) }))
    }
}

fn sign_jwt(key: &KeyPair, kid: &str, claims: &Value) -> String {
    let header = json!({ "alg": "ES256", "typ": "JWT", "kid": kid });
    let signing_input = format!(
        "{}.{}",
        b64url(&serde_json::to_vec(&header).unwrap_or_default()),
        b64url(&serde_json::to_vec(claims).unwrap_or_default())
    );
    let sig = key.sign_raw(signing_input.as_bytes());
    format!("{signing_input}.{}", b64url(&sig))
}

/// RFC 8252 §7.3: native clients redirect to http://127.0.0.1:PORT/… or localhost.
fn is_loopback_redirect(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> Issuer {
        let o = Options::new("/nonexistent");
        Issuer::with_key(&o, "http://127.0.0.1:1", KeyPair::generate(), "k1".into())
    }

    fn claims(i: &Issuer) -> Map<String, Value> {
        let now = now_secs();
        let v = json!({"iss": i.url, "sub": "a@b.c", "aud": "sigstore", "iat": now, "exp": now + 60,
                       "email": "a@b.c", "email_verified": true});
        v.as_object().unwrap().clone()
    }

    #[test]
    fn verify_accepts_a_minted_token() {
        let i = issuer();
        let t = i.mint(&TokenRequest::email("dev@example.com"));
        let v = i.verify(&t).expect("a freshly minted token must verify");
        assert_eq!(
            v.claim("email"),
            Some("dev@example.com"),
            "email claim must survive"
        );
        assert_eq!(
            v.issuer,
            TokenIssuer::Email,
            "the email issuer must be recognised"
        );
    }

    #[test]
    fn verify_rejects_wrong_issuer() {
        let i = issuer();
        let mut c = claims(&i);
        c.insert("iss".into(), json!("https://accounts.example.org"));
        assert_eq!(
            i.verify(&i.sign_claims(&Value::Object(c))).unwrap_err(),
            TokenError::UnknownIssuer("https://accounts.example.org".into()),
            "an unconfigured issuer must be refused"
        );
    }

    #[test]
    fn verify_rejects_wrong_audience() {
        let i = issuer();
        let mut c = claims(&i);
        c.insert("aud".into(), json!(["other"]));
        assert!(
            matches!(
                i.verify(&i.sign_claims(&Value::Object(c))),
                Err(TokenError::WrongAudience { .. })
            ),
            "a token for another audience must be refused"
        );
    }

    #[test]
    fn verify_rejects_signature_by_another_key() {
        let i = issuer();
        let other = issuer();
        let forged = sign_jwt(&other.key, "k1", &Value::Object(claims(&i)));
        assert_eq!(
            i.verify(&forged).unwrap_err(),
            TokenError::BadSignature,
            "another key's signature must be refused"
        );
        let t = i.mint(&TokenRequest::email("dev@example.com"));
        let (head, _) = t.rsplit_once('.').unwrap();
        let tampered = format!("{head}.{}", b64url(&[0u8; 64]));
        assert_eq!(
            i.verify(&tampered).unwrap_err(),
            TokenError::BadSignature,
            "a zeroed signature must be refused"
        );
    }

    #[test]
    fn verify_rejects_expired_and_unverified_tokens() {
        let i = issuer();
        let mut r = TokenRequest::email("dev@example.com");
        r.lifetime_secs = -5;
        assert_eq!(
            i.verify(&i.mint(&r)).unwrap_err(),
            TokenError::Expired,
            "an expired token must be refused"
        );
        let mut r = TokenRequest::email("dev@example.com");
        r.email_verified = false;
        assert_eq!(
            i.verify(&i.mint(&r)).unwrap_err(),
            TokenError::EmailNotVerified,
            "email_verified=false must be refused"
        );
    }

    #[test]
    fn verify_rejects_garbage_without_panicking() {
        let i = issuer();
        for t in [
            "",
            "a.b",
            "a.b.c",
            "....",
            "eyJhbGciOiJub25lIn0.e30.",
            "\u{0}.\u{1}.\u{2}",
        ] {
            assert!(i.verify(t).is_err(), "garbage token {t:?} must be refused");
        }
    }

    #[test]
    fn loopback_redirects_only() {
        assert!(
            is_loopback_redirect("http://127.0.0.1:5555/auth/callback"),
            "127.0.0.1 is loopback"
        );
        assert!(
            is_loopback_redirect("http://localhost:80/cb?x=1"),
            "localhost is loopback"
        );
        assert!(
            !is_loopback_redirect("https://evil.example/cb"),
            "remote hosts are refused"
        );
        assert!(
            !is_loopback_redirect("http://127.0.0.1.evil.example/cb"),
            "lookalike hosts are refused"
        );
    }
}
