//! ID tokens (OpenID Connect Core §2, RFC 7519 JWT, RFC 7515 JWS): decoding, and verification
//! against the issuer's discovery document and JWKS (RFC 7517) with ES256 or RS256 (ring).
//!
//! Checked: signature by a key of the issuer's JWKS (by `kid`, else every key of the right
//! type), `iss` equal to the discovery document's `issuer`, the expected audience among `aud`,
//! `exp` in the future, `nbf`/`iat` not in the future (60 s skew), the expected `nonce`, and
//! `email_verified: true` whenever an `email` claim is present.

use base64::Engine as _;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::encoding::rfc3339;
use crate::http::{Http, HttpError};

/// Clock skew tolerated on `nbf`/`iat`.
const SKEW_SECS: i64 = 60;

/// A raw ID token. Wiped from memory on drop; `Debug` never shows it.
#[derive(Clone)]
pub struct IdToken(Zeroizing<String>);

impl IdToken {
    pub fn new(raw: String) -> IdToken {
        IdToken(Zeroizing::new(raw.trim().to_owned()))
    }

    /// The compact JWS, for the one place that must send it (Fulcio).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for IdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdToken(redacted)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the ID token is malformed: {0}")]
    Malformed(&'static str),
    #[error("the ID token's issuer '{0}' is not an https URL (or http on loopback)")]
    IssuerUrl(String),
    #[error("could not fetch the OpenID configuration of '{issuer}'")]
    Discovery {
        issuer: String,
        #[source]
        source: HttpError,
    },
    #[error("the OpenID configuration of '{issuer}' is unusable: {reason}")]
    BadDiscovery { issuer: String, reason: String },
    #[error("the ID token was issued by '{got}', expected '{want}'")]
    WrongIssuer { got: String, want: String },
    #[error("the ID token is signed with '{0}'; supported: ES256, RS256")]
    Algorithm(String),
    #[error("the ID token's signature does not verify with the keys of '{0}'")]
    BadSignature(String),
    #[error("the ID token is for audience {got}, expected '{want}'")]
    WrongAudience { got: String, want: String },
    #[error("the ID token expired at {0}")]
    Expired(String),
    #[error("the ID token is not valid before {0}")]
    NotYetValid(String),
    #[error("the ID token's nonce does not match the one this login sent")]
    Nonce,
    #[error("the ID token's email '{0}' is not verified (email_verified is not true)")]
    EmailNotVerified(String),
    #[error("the ID token has neither an email nor a subject")]
    NoSubject,
}

/// The claims gitsign uses.
#[derive(Debug, Clone)]
pub struct Claims {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub expires: i64,
    pub all: Map<String, Value>,
}

impl Claims {
    /// What the proof of possession signs and Fulcio names: the email when there is one,
    /// else `sub` (sigstore's `SubjectFromToken`).
    pub fn pop_subject(&self) -> &str {
        self.email.as_deref().unwrap_or(&self.subject)
    }
}

fn b64url(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()
}

struct Parts {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

fn split(token: &str) -> Result<Parts, TokenError> {
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(TokenError::Malformed("expected three dot-separated parts"));
    };
    let json = |part: &str, what| -> Result<Map<String, Value>, TokenError> {
        b64url(part)
            .and_then(|b| serde_json::from_slice::<Map<String, Value>>(&b).ok())
            .ok_or(TokenError::Malformed(what))
    };
    Ok(Parts {
        header: json(h, "header is not base64url JSON")?,
        claims: json(p, "payload is not base64url JSON")?,
        signing_input: format!("{h}.{p}"),
        signature: b64url(s).ok_or(TokenError::Malformed("signature is not base64url"))?,
    })
}

fn claims_of(map: Map<String, Value>) -> Result<Claims, TokenError> {
    let s = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
    let issuer = s("iss").ok_or(TokenError::Malformed("no iss claim"))?;
    let subject = s("sub").unwrap_or_default();
    let email = s("email");
    if subject.is_empty() && email.is_none() {
        return Err(TokenError::NoSubject);
    }
    let expires = map
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(TokenError::Malformed("no exp claim"))?;
    Ok(Claims {
        issuer,
        subject,
        email,
        expires,
        all: map,
    })
}

/// Read the claims without checking anything (to learn the issuer before discovery).
pub fn peek(token: &IdToken) -> Result<Claims, TokenError> {
    claims_of(split(token.expose())?.claims)
}

/// What the token must satisfy.
#[derive(Debug, Clone, Default)]
pub struct Expect<'a> {
    /// The issuer it must come from; `None` accepts the token's own `iss` (ambient tokens,
    /// which Fulcio checks against its configured issuers).
    pub issuer: Option<&'a str>,
    pub audience: &'a str,
    pub nonce: Option<&'a str>,
}

/// Whether an issuer URL may be fetched: https, or http on a loopback address.
fn fetchable(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// The discovery document of `issuer`.
pub fn discover(http: &Http, issuer: &str) -> Result<Value, TokenError> {
    if !fetchable(issuer) {
        return Err(TokenError::IssuerUrl(issuer.to_owned()));
    }
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let bad = |reason: String| TokenError::BadDiscovery {
        issuer: issuer.to_owned(),
        reason,
    };
    let reply = http.get(&url).map_err(|source| TokenError::Discovery {
        issuer: issuer.to_owned(),
        source,
    })?;
    if !reply.ok() {
        return Err(bad(format!(
            "{url} answered {} {}",
            reply.status,
            reply.snippet()
        )));
    }
    let doc: Value =
        serde_json::from_slice(&reply.body).map_err(|e| bad(format!("not JSON: {e}")))?;
    if doc
        .get("issuer")
        .and_then(Value::as_str)
        .map(|s| s.trim_end_matches('/'))
        != Some(issuer.trim_end_matches('/'))
    {
        return Err(bad(
            "its 'issuer' differs from the URL it was fetched from".into()
        ));
    }
    Ok(doc)
}

/// Verify `token` against its issuer's discovery document and JWKS, then the claims.
pub fn verify(
    http: &Http,
    token: &IdToken,
    expect: &Expect<'_>,
    now: i64,
) -> Result<Claims, TokenError> {
    let parts = split(token.expose())?;
    let claims = claims_of(parts.claims.clone())?;
    if let Some(want) = expect.issuer {
        if claims.issuer.trim_end_matches('/') != want.trim_end_matches('/') {
            return Err(TokenError::WrongIssuer {
                got: claims.issuer.clone(),
                want: want.to_owned(),
            });
        }
    }
    // Cheap checks first: an expired token fails without a round trip.
    if claims.expires <= now {
        return Err(TokenError::Expired(rfc3339(claims.expires)));
    }
    let doc = discover(http, &claims.issuer)?;
    let jwks_uri =
        doc.get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| TokenError::BadDiscovery {
                issuer: claims.issuer.clone(),
                reason: "no jwks_uri".into(),
            })?;
    let reply = http.get(jwks_uri).map_err(|source| TokenError::Discovery {
        issuer: claims.issuer.clone(),
        source,
    })?;
    let jwks: Value =
        serde_json::from_slice(&reply.body).map_err(|_| TokenError::BadDiscovery {
            issuer: claims.issuer.clone(),
            reason: format!(
                "the JWKS at {jwks_uri} is not JSON (status {})",
                reply.status
            ),
        })?;
    check_signature(&parts, &jwks, &claims.issuer)?;
    check_claims(&claims, expect, now)?;
    Ok(claims)
}

fn check_signature(parts: &Parts, jwks: &Value, issuer: &str) -> Result<(), TokenError> {
    use ring::signature::{self, UnparsedPublicKey};
    let alg = parts
        .header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or("none");
    let kid = parts.header.get("kid").and_then(Value::as_str);
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let field = |k: &Value, name: &str| k.get(name).and_then(Value::as_str).and_then(b64url);
    let msg = parts.signing_input.as_bytes();
    let candidates = keys
        .iter()
        .filter(|k| match (kid, k.get("kid").and_then(Value::as_str)) {
            (Some(want), Some(have)) => want == have,
            _ => true,
        });
    for k in candidates {
        let kty = k.get("kty").and_then(Value::as_str).unwrap_or("");
        let ok = match (alg, kty) {
            ("ES256", "EC") => {
                let (Some(x), Some(y)) = (field(k, "x"), field(k, "y")) else {
                    continue;
                };
                if k.get("crv").and_then(Value::as_str) != Some("P-256")
                    || x.len() != 32
                    || y.len() != 32
                {
                    continue;
                }
                let point = [&[4u8][..], &x, &y].concat();
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(msg, &parts.signature)
                    .is_ok()
            }
            ("RS256", "RSA") => {
                let (Some(n), Some(e)) = (field(k, "n"), field(k, "e")) else {
                    continue;
                };
                signature::RsaPublicKeyComponents { n, e }
                    .verify(
                        &signature::RSA_PKCS1_2048_8192_SHA256,
                        msg,
                        &parts.signature,
                    )
                    .is_ok()
            }
            ("ES256" | "RS256", _) => continue,
            (other, _) => return Err(TokenError::Algorithm(other.to_owned())),
        };
        if ok {
            return Ok(());
        }
    }
    Err(TokenError::BadSignature(issuer.to_owned()))
}

fn check_claims(claims: &Claims, expect: &Expect<'_>, now: i64) -> Result<(), TokenError> {
    let aud_ok = match claims.all.get("aud") {
        Some(Value::String(a)) => a == expect.audience,
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(expect.audience)),
        _ => false,
    };
    if !aud_ok {
        let got = claims
            .all
            .get("aud")
            .map(|v| v.to_string())
            .unwrap_or_else(|| "none".into());
        return Err(TokenError::WrongAudience {
            got,
            want: expect.audience.to_owned(),
        });
    }
    for k in ["nbf", "iat"] {
        if let Some(t) = claims.all.get(k).and_then(Value::as_i64) {
            if t > now + SKEW_SECS {
                return Err(TokenError::NotYetValid(rfc3339(t)));
            }
        }
    }
    if let Some(want) = expect.nonce {
        if claims.all.get("nonce").and_then(Value::as_str) != Some(want) {
            return Err(TokenError::Nonce);
        }
    }
    if let Some(email) = &claims.email {
        if claims.all.get("email_verified").and_then(Value::as_bool) != Some(true) {
            return Err(TokenError::EmailNotVerified(email.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(claims: Value) -> IdToken {
        let e = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        IdToken::new(format!(
            "{}.{}.{}",
            e(&serde_json::json!({"alg":"ES256"})),
            e(&claims),
            "AAAA"
        ))
    }

    #[test]
    fn claims_require_verified_email_audience_and_nonce() {
        let now = 1_700_000_000;
        let ok = serde_json::json!({"iss":"https://i","sub":"s","aud":"sigstore","exp":now+60,
            "email":"a@b.c","email_verified":true,"nonce":"n1"});
        let c = peek(&token(ok.clone())).expect("well-formed token");
        let expect = Expect {
            issuer: None,
            audience: "sigstore",
            nonce: Some("n1"),
        };
        assert!(
            check_claims(&c, &expect, now).is_ok(),
            "a verified email with matching nonce passes"
        );
        assert_eq!(
            c.pop_subject(),
            "a@b.c",
            "the proof of possession signs the email"
        );
        let mut unverified = ok.clone();
        unverified["email_verified"] = Value::Bool(false);
        let c = peek(&token(unverified)).expect("parse");
        assert!(
            matches!(
                check_claims(&c, &expect, now),
                Err(TokenError::EmailNotVerified(_))
            ),
            "email_verified=false is refused"
        );
        let c = peek(&token(ok.clone())).expect("parse");
        let other = Expect {
            nonce: Some("n2"),
            ..expect.clone()
        };
        assert!(
            matches!(check_claims(&c, &other, now), Err(TokenError::Nonce)),
            "a replayed token with another nonce is refused"
        );
        let aud = Expect {
            audience: "other",
            ..expect
        };
        assert!(
            matches!(
                check_claims(&c, &aud, now),
                Err(TokenError::WrongAudience { .. })
            ),
            "another audience is refused"
        );
    }

    #[test]
    fn garbage_tokens_are_errors_not_panics() {
        for t in [
            "",
            "a",
            "a.b",
            "a.b.c.d",
            "....",
            "e30.e30.",
            "\u{0}.\u{1}.\u{2}",
        ] {
            assert!(
                peek(&IdToken::new(t.into())).is_err(),
                "{t:?} must be refused"
            );
        }
        assert_eq!(
            format!("{:?}", IdToken::new("secret".into())),
            "IdToken(redacted)",
            "Debug never shows the token"
        );
    }

    #[test]
    fn only_https_or_loopback_issuers_are_fetched() {
        assert!(
            fetchable("https://oauth2.sigstore.dev/auth"),
            "https is fetched"
        );
        assert!(
            fetchable("http://127.0.0.1:8080/oidc"),
            "loopback http is fetched"
        );
        assert!(
            !fetchable("http://example.com/oidc"),
            "plain http elsewhere is refused"
        );
        assert!(
            !fetchable("http://127.0.0.1.evil.example/x"),
            "lookalike hosts are refused"
        );
        assert!(
            !fetchable("file:///etc/passwd"),
            "other schemes are refused"
        );
    }
}
