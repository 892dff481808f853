//! The device authorization grant (RFC 8628): for hosts without a browser. The user code and
//! verification URI are printed (and the complete URI handed to the opener, like the browser
//! flow); the token endpoint is polled at the issuer's interval, slowing down by 5 s on
//! `slow_down` (§3.5), until approval, denial, expiry or the login timeout.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{IdToken, OidcError, Settings};
use crate::http::Http;

const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

pub fn login(
    http: &Http,
    settings: &Settings,
    discovery: &Value,
    say: &mut dyn FnMut(&str),
) -> Result<IdToken, OidcError> {
    let what = "the issuer's device endpoint";
    let endpoint = |k: &str| super::discovery_endpoint(discovery, k);
    let device_endpoint = endpoint("device_authorization_endpoint")?;
    let token_endpoint = endpoint("token_endpoint")?;
    let reply = http
        .post_form(
            &device_endpoint,
            &[
                ("client_id", &settings.client_id),
                ("scope", "openid email"),
            ],
        )
        .map_err(|source| OidcError::Http { what, source })?;
    if !reply.ok() {
        return Err(OidcError::refused(what, &reply));
    }
    let v: Value = serde_json::from_slice(&reply.body).map_err(|_| OidcError::Refused {
        what,
        status: reply.status,
        body: "the answer is not JSON".into(),
    })?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let device_code =
        zeroize::Zeroizing::new(s("device_code").ok_or_else(|| OidcError::Refused {
            what,
            status: reply.status,
            body: "no device_code".into(),
        })?);
    let user_code = s("user_code").unwrap_or_default();
    let uri = s("verification_uri").unwrap_or_default();
    let complete = s("verification_uri_complete");
    let mut interval = Duration::from_secs(
        v.get("interval")
            .and_then(Value::as_u64)
            .unwrap_or(5)
            .max(1),
    );
    let expires_in =
        Duration::from_secs(v.get("expires_in").and_then(Value::as_u64).unwrap_or(300));
    let shown = crate::text::escape;
    say(&format!(
        "To sign in, visit {} and enter the code {}\n",
        shown(&uri),
        shown(&user_code)
    ));
    if let Some(c) = &complete {
        say(&format!("or open {}\n", shown(c)));
        if let Some(o) = &settings.url_opener {
            // The code can be typed on any device: an opener failure changes nothing here.
            let _ = super::opener::launch(Some(o), c);
        }
    }
    let deadline = Instant::now() + expires_in.min(settings.login_timeout);
    loop {
        std::thread::sleep(interval);
        if Instant::now() > deadline {
            return Err(OidcError::Timeout(
                settings.login_timeout.as_secs().min(expires_in.as_secs()),
            ));
        }
        let reply = http
            .post_form(
                &token_endpoint,
                &[
                    ("grant_type", GRANT_TYPE),
                    ("device_code", device_code.as_str()),
                    ("client_id", &settings.client_id),
                ],
            )
            .map_err(|source| OidcError::Http {
                what: "the issuer's token endpoint",
                source,
            })?;
        if reply.ok() {
            return parse_token(&reply.body).ok_or_else(|| OidcError::Refused {
                what: "the issuer's token endpoint",
                status: reply.status,
                body: "the answer has no id_token".into(),
            });
        }
        let err: Option<String> = serde_json::from_slice::<Value>(&reply.body)
            .ok()
            .and_then(|e| e.get("error").and_then(Value::as_str).map(str::to_owned));
        match err.as_deref() {
            Some("authorization_pending") => {}
            Some("slow_down") => interval += Duration::from_secs(5),
            Some("access_denied") => {
                return Err(OidcError::Denied(
                    "the sign-in was denied on the device page".into(),
                ))
            }
            Some("expired_token") => {
                return Err(OidcError::Denied(
                    "the device code expired before sign-in".into(),
                ))
            }
            _ => return Err(OidcError::refused("the issuer's token endpoint", &reply)),
        }
    }
}

fn parse_token(body: &[u8]) -> Option<IdToken> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("id_token")
        .and_then(Value::as_str)
        .map(|t| IdToken::new(t.to_owned()))
}
