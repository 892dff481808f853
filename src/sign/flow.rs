//! One signature end to end: identity → key → certificate → CMS → log → timestamp →
//! self-check. The network edges ([`crate::oidc`], [`crate::fulcio`], [`crate::rekor`],
//! [`crate::tsa`]) are called in pipeline order; everything else is pure.
//!
//! Nothing is written to stdout here: the caller prints [`Signed::pem`] only after every step,
//! including verifying the result with our own verifier, succeeded — so git never stores a
//! signature that gitsign itself would reject.

use crate::cms::{self, SignError, UnsignedAttribute};
use crate::config::{Config, ConfigError, Key, RekorMode, RekorVersion};
use crate::http::Http;
use crate::key::EphemeralKey;
use crate::oidc::{self, OidcError};
use crate::trust::TrustedRoot;
use crate::verify::{self, policy::Policy, tlog};
use crate::x509::Cert;

/// Every setting signing reads, built once from the configuration: each has one default,
/// the key table's.
#[derive(Debug, Clone)]
pub struct Settings {
    pub fulcio_url: String,
    pub rekor_url: String,
    pub rekor_mode: RekorMode,
    /// `gitsign.rekorVersion`: the Rekor API entries are uploaded with.
    pub rekor_version: RekorVersion,
    pub timestamp_url: Option<String>,
    pub oidc: oidc::Settings,
    /// `gitsign.matchCommitter`.
    pub match_committer: bool,
    /// `gitsign.timeout`: one request to Fulcio, Rekor, the TSA or the issuer.
    pub timeout: std::time::Duration,
    /// `gitsign.logPath` / `GITSIGN_LOG`.
    pub log_path: Option<String>,
}

impl Settings {
    /// From the configuration and the service URLs resolved from it
    /// ([`crate::config::settings::services`]).
    pub fn from_config(
        config: &Config,
        services: &crate::config::settings::Services,
    ) -> Result<Settings, ConfigError> {
        Ok(Settings {
            fulcio_url: services.fulcio.value.clone(),
            rekor_url: services.rekor.value.clone(),
            rekor_mode: config.rekor_mode()?,
            rekor_version: services.rekor_version.value,
            timestamp_url: services.timestamp.as_ref().map(|t| t.value.clone()),
            oidc: oidc::Settings::from_config(config)?,
            match_committer: config.bool(Key::MatchCommitter)?,
            timeout: config.seconds(Key::Timeout)?,
            log_path: config.get(Key::LogPath).map(str::to_owned),
        })
    }
}

/// What to sign and where.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub payload: &'a [u8],
    pub fulcio_url: &'a str,
    pub rekor_url: &'a str,
    pub rekor_mode: RekorMode,
    pub rekor_version: RekorVersion,
    pub timestamp_url: Option<&'a str>,
    pub root: &'a TrustedRoot,
    pub oidc: &'a oidc::Settings,
    /// With `gitsign.matchCommitter`: the committer (name, email) the identity must match.
    pub committer: Option<Committer>,
}

/// The committer git will record, for `gitsign.matchCommitter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committer {
    pub name: String,
    pub email: String,
}

impl<'a> Request<'a> {
    pub fn new(
        payload: &'a [u8],
        settings: &'a Settings,
        root: &'a TrustedRoot,
        committer: Option<Committer>,
    ) -> Request<'a> {
        Request {
            payload,
            fulcio_url: &settings.fulcio_url,
            rekor_url: &settings.rekor_url,
            rekor_mode: settings.rekor_mode,
            rekor_version: settings.rekor_version,
            timestamp_url: settings.timestamp_url.as_deref(),
            root,
            oidc: &settings.oidc,
            committer,
        }
    }
}

/// The result.
#[derive(Debug, Clone)]
pub struct Signed {
    pub pem: String,
    pub der: Vec<u8>,
    pub leaf: Cert,
    pub identity: String,
    pub log_index: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("could not get an identity token")]
    Identity(#[source] OidcError),
    #[error("could not get a signing certificate")]
    Certificate(#[source] crate::fulcio::FulcioError),
    #[error("could not log the signature in the transparency log")]
    Log(#[source] crate::rekor::RekorError),
    #[error("could not get a timestamp")]
    Timestamp(#[source] crate::tsa::TsaError),
    #[error("could not build the signature")]
    Cms(#[source] SignError),
    #[error("the identity '{identity}' does not match the committer '{committer}' (gitsign.matchCommitter is on)")]
    CommitterMismatch { identity: String, committer: String },
    #[error("Rekor v2 (gitsign.rekorVersion=2) entries carry no signing time, and no timestamp authority is configured")]
    RekorV2WithoutTimestamp,
    #[error("online Rekor mode (gitsign.rekorMode=online) needs Rekor v1's search API, which Rekor v2 (gitsign.rekorVersion=2) does not have")]
    RekorV2Online,
    #[error("online Rekor mode (gitsign.rekorMode=online) signs commits and tags only, and the payload is neither")]
    OnlineMode,
    #[error("the finished signature does not verify: {0}")]
    SelfCheck(String),
    #[error("invalid credential cache setting")]
    Config(#[source] crate::config::ConfigError),
}

impl FlowError {
    /// What the user can do next.
    pub fn hint(&self) -> String {
        let nothing = "nothing was signed, so git did not create the commit or tag";
        let what = match self {
            FlowError::Identity(OidcError::UnsupportedProvider { .. }) => "set gitsign.tokenProvider (or GITSIGN_TOKEN_PROVIDER) to one of the supported providers, or unset it".to_owned(),
            FlowError::Identity(OidcError::Token { .. }) => "get a fresh ID token (SIGSTORE_ID_TOKEN) from an issuer Fulcio trusts, or unset SIGSTORE_ID_TOKEN to sign in with the browser".to_owned(),
            FlowError::Identity(OidcError::Opener { .. }) => "without a browser, sign in with a code on any device (git config gitsign.tokenProvider device), or pass a token in SIGSTORE_ID_TOKEN; or fix gitsign.urlOpener / GITSIGN_URL_OPENER".to_owned(),
            FlowError::Identity(OidcError::Timeout(_)) => "open the login URL shown above and sign in, allow longer with gitsign.loginTimeout / GITSIGN_LOGIN_TIMEOUT (seconds), or use gitsign.tokenProvider=device or SIGSTORE_ID_TOKEN".to_owned(),
            FlowError::Identity(OidcError::NotAvailable { .. }) => "the token provider named above has no token here: fix what it names, or choose another with gitsign.tokenProvider (GITSIGN_TOKEN_PROVIDER)".to_owned(),
            FlowError::Identity(_) => "check gitsign.issuer / GITSIGN_OIDC_ISSUER and that the issuer is reachable".to_owned(),
            FlowError::Certificate(e) if e.is_token_problem() => "Fulcio did not accept the identity token; check that it is fresh and from an issuer Fulcio trusts".to_owned(),
            FlowError::Certificate(crate::fulcio::FulcioError::Chain(_) | crate::fulcio::FulcioError::Sct(_)) => "check that the trusted root (gitsign.trustedRoot / GITSIGN_TRUSTED_ROOT) belongs to the Fulcio at gitsign.fulcio".to_owned(),
            FlowError::Certificate(_) => "check gitsign.fulcio / GITSIGN_FULCIO_URL and that Fulcio is reachable".to_owned(),
            FlowError::Log(crate::rekor::RekorError::Verify(_)) => "check that the trusted root (gitsign.trustedRoot / GITSIGN_TRUSTED_ROOT) holds the key of the Rekor at gitsign.rekor".to_owned(),
            FlowError::Log(_) => "check gitsign.rekor / GITSIGN_REKOR_URL and that Rekor is reachable".to_owned(),
            FlowError::Timestamp(crate::tsa::TsaError::Verify(_)) => "the timestamp authority must be in the trusted root or in gitsign.timestampCertChain (GITSIGN_TIMESTAMP_CERT_CHAIN: its PEM chain, root CA included)".to_owned(),
            FlowError::Timestamp(_) => "check gitsign.timestampServerURL, or unset it to rely on the transparency log alone".to_owned(),
            FlowError::CommitterMismatch { .. } => "commit as the signing identity (git config user.email), or turn gitsign.matchCommitter off".to_owned(),
            FlowError::RekorV2WithoutTimestamp => "set gitsign.timestampServerURL (or GITSIGN_TIMESTAMP_SERVER_URL) to an RFC 3161 timestamp authority in the trusted root, or log in Rekor v1 (unset gitsign.rekorVersion)".to_owned(),
            FlowError::RekorV2Online => "sign in the default offline mode (git config --unset gitsign.rekorMode), or log in Rekor v1 (unset gitsign.rekorVersion)".to_owned(),
            FlowError::OnlineMode => "sign other payloads in the default offline mode: git config --unset gitsign.rekorMode (or GITSIGN_REKOR_MODE=offline)".to_owned(),
            FlowError::Cms(_) | FlowError::SelfCheck(_) => "this is a bug in gitsign; please report it with the output of the failing command".to_owned(),
            FlowError::Config(_) => "fix the value named above: gitsign.cacheScope is 'directory' or 'user', gitsign.credentialStore is 'agent' or 'keyring'".to_owned(),
        };
        format!("{what}; {nothing}")
    }
}

/// What a login buys and the credential cache keeps: an ephemeral key and the certificate
/// Fulcio issued for it.
#[derive(Debug)]
pub struct Credentials {
    pub key: EphemeralKey,
    pub issued: crate::fulcio::Issued,
    /// The identity the certificate names (email, else the token subject).
    pub identity: String,
    /// The email the certificate names, if any (for `gitsign.matchCommitter`).
    pub email: Option<String>,
}

/// Sign `req.payload` after a fresh login. `say` gets human progress text; `now` is the
/// current Unix time.
pub fn sign(
    http: &Http,
    req: &Request<'_>,
    env: &dyn Fn(&str) -> Option<String>,
    say: &mut dyn FnMut(&str),
    now: impl Fn() -> i64,
) -> Result<Signed, FlowError> {
    let creds = login(http, req, env, say, &now)?;
    sign_with(http, req, &creds, now)
}

fn check_mode(req: &Request<'_>) -> Result<(), FlowError> {
    if req.rekor_version == RekorVersion::V2 {
        if req.rekor_mode == RekorMode::Online {
            return Err(FlowError::RekorV2Online);
        }
        if req.timestamp_url.is_none() {
            return Err(FlowError::RekorV2WithoutTimestamp);
        }
    }
    if req.rekor_mode == RekorMode::Online && crate::git::object_id::classify(req.payload).is_none()
    {
        return Err(FlowError::OnlineMode);
    }
    Ok(())
}

/// The first half of the pipeline: identity → key → certificate.
pub fn login(
    http: &Http,
    req: &Request<'_>,
    env: &dyn Fn(&str) -> Option<String>,
    say: &mut dyn FnMut(&str),
    now: &dyn Fn() -> i64,
) -> Result<Credentials, FlowError> {
    check_mode(req)?;
    let id = oidc::identity(http, req.oidc, env, say, now()).map_err(FlowError::Identity)?;
    login_with(http, req, &id, now)
}

/// The certificate half of [`login`], for an identity token already obtained (the credential
/// cache obtains an explicitly given token first, to compare it with what it holds).
pub fn login_with(
    http: &Http,
    req: &Request<'_>,
    id: &oidc::Identity,
    now: &dyn Fn() -> i64,
) -> Result<Credentials, FlowError> {
    check_mode(req)?;
    let subject = id.claims.pop_subject().to_owned();
    // Before asking Fulcio: a token with an email gets a certificate naming only that email,
    // so it decides already; without one, the certificate's URIs decide (in `sign_with`).
    if id.claims.email.is_some() {
        check_committer(req, &subject, id.claims.email.as_deref(), &[])?;
    }
    let key = EphemeralKey::generate().map_err(|e| FlowError::Cms(e.into()))?;
    let issued = crate::fulcio::request_certificate(
        http,
        req.fulcio_url,
        &id.token,
        &subject,
        &key,
        req.root,
        now(),
    )
    .map_err(FlowError::Certificate)?;
    Ok(Credentials {
        key,
        issued,
        identity: subject,
        email: id.claims.email.clone(),
    })
}

/// With `gitsign.matchCommitter`, as Go gitsign's `matchSAN`: the identity's email is the
/// committer's email, or one of its URIs is the committer's name (`user.name`, for
/// identities without an email such as CI workflows). `uris` are the certificate's URI
/// SANs, when a certificate is at hand.
pub fn check_committer(
    req: &Request<'_>,
    identity: &str,
    email: Option<&str>,
    uris: &[String],
) -> Result<(), FlowError> {
    let Some(committer) = &req.committer else {
        return Ok(());
    };
    let email_matches = email.is_some_and(|e| e.eq_ignore_ascii_case(&committer.email));
    let uri_matches = uris.contains(&committer.name);
    if email_matches || uri_matches {
        return Ok(());
    }
    Err(FlowError::CommitterMismatch {
        identity: identity.to_owned(),
        committer: format!("{} <{}>", committer.name, committer.email),
    })
}

/// [`check_committer`] for credentials from a login or the cache, certificate URIs included.
pub fn check_credentials(req: &Request<'_>, creds: &Credentials) -> Result<(), FlowError> {
    let uris: Vec<String> = creds
        .issued
        .leaf
        .subject_alt_names()
        .into_iter()
        .filter(|(kind, _)| *kind == "uri")
        .map(|(_, v)| v)
        .collect();
    check_committer(req, &creds.identity, creds.email.as_deref(), &uris)
}

/// The second half: signature → log → timestamp → self-check, with credentials from a login
/// or the credential cache.
pub fn sign_with(
    http: &Http,
    req: &Request<'_>,
    creds: &Credentials,
    now: impl Fn() -> i64,
) -> Result<Signed, FlowError> {
    check_mode(req)?;
    check_credentials(req, creds)?;
    let (key, issued, subject) = (&creds.key, &creds.issued, creds.identity.clone());

    let signing_time = now();
    let signed_attrs = cms::signed_attributes(req.payload, signing_time).map_err(FlowError::Cms)?;
    // The key signs the proof of possession, this and (online mode) the object id; it is gone
    // when the caller drops it (or, cached, when its certificate is about to expire).
    let signature = key
        .sign(&signed_attrs)
        .map_err(|e| FlowError::Cms(e.into()))?;

    let mut unsigned = Vec::new();
    let leaf_pem = issued.leaf.to_pem();
    let mut v2_index = None;
    if req.rekor_mode == RekorMode::Offline {
        let logged = match req.rekor_version {
            RekorVersion::V1 => crate::rekor::upload_entry(
                http,
                req.rekor_url,
                &crate::crypto::sha256(&signed_attrs),
                &signature,
                &leaf_pem,
                req.root,
            ),
            RekorVersion::V2 => crate::rekor::v2::upload_entry(
                http,
                req.rekor_url,
                &signed_attrs,
                &signature,
                &issued.leaf,
                req.root,
            ),
        }
        .map_err(FlowError::Log)?;
        v2_index = (req.rekor_version == RekorVersion::V2).then_some(logged.entry.log_index);
        unsigned.push(UnsignedAttribute {
            oid: tlog::OID_TLOG_ENTRY,
            value_der: tlog::encode_embedded(&logged.entry),
        });
    }

    if let Some(url) = req.timestamp_url {
        let token = crate::tsa::request_timestamp(http, url, &signature, req.root)
            .map_err(FlowError::Timestamp)?;
        unsigned.push(UnsignedAttribute {
            oid: crate::oid::TIMESTAMP_TOKEN,
            value_der: token,
        });
    }

    let der = cms::encode(&issued.leaf.der, &signed_attrs, &signature, &unsigned)
        .map_err(FlowError::Cms)?;
    let pem = cms::armor(&der);

    // Online mode (Go gitsign's `LegacySHASign`): log the id the object will have once git
    // inserts this signature, signed by the same key, instead of embedding an entry.
    let mut online = None;
    if req.rekor_mode == RekorMode::Online {
        let ids = crate::git::object_id::signed_object_ids(req.payload, pem.as_bytes())
            .ok_or(FlowError::OnlineMode)?;
        let id_signature = key
            .sign(ids.real.as_bytes())
            .map_err(|e| FlowError::Cms(e.into()))?;
        let logged = crate::rekor::upload_entry(
            http,
            req.rekor_url,
            &crate::crypto::sha256(ids.real.as_bytes()),
            &id_signature,
            &leaf_pem,
            req.root,
        )
        .map_err(FlowError::Log)?;
        online = Some((ids, logged));
    }

    // Our own verifier must accept it, time anchor included.
    let policy = Policy::default();
    let verifier = verify::Verifier::new(req.root, verify::Waivers::default());
    let checked = verifier.check_detached(req.payload, pem.as_bytes(), &policy, || {
        online.as_ref().map(|(ids, _)| ids.clone())
    });
    let report = match (&online, &checked.needs_entry) {
        (Some((_, logged)), Some(needs)) => {
            let entry = std::slice::from_ref(&logged.entry);
            needs
                .complete(entry, &verifier, verify::Undecided::NoTimeAnchor)
                .0
        }
        _ => checked.report,
    };
    match &report.outcome {
        verify::Outcome::Good => {}
        verify::Outcome::Bad(f) => return Err(FlowError::SelfCheck(f.to_string())),
        verify::Outcome::Undecided(why) => return Err(FlowError::SelfCheck(why.to_string())),
    }
    let log_index = match &report.anchor {
        Some(verify::Anchor::Tlog { log_index, .. }) => Some(*log_index),
        _ => v2_index,
    };
    Ok(Signed {
        pem,
        der,
        leaf: issued.leaf.clone(),
        identity: subject,
        log_index,
    })
}
