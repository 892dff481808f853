//! The browser login: OAuth 2.0 authorization code grant (RFC 6749 §4.1) with PKCE S256
//! (RFC 7636), `state` and OpenID `nonce`, redirected to a loopback listener (RFC 8252 §7.3).
//!
//! The listener binds 127.0.0.1 (a random port, or the one of `gitsign.redirectURL`); the
//! redirect URI names `localhost`, which is what public-good Sigstore's issuer registers for
//! native clients. The authorization URL is always printed and also handed to the opener
//! ([`super::opener`]: `gitsign.urlOpener` / `GITSIGN_URL_OPENER`, else the platform's).
//! Without a terminal, an opener that fails or is absent ends the login at once, naming it
//! and its exit status: nobody could open the URL by hand, and waiting would only hang git.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{percent_decode, percent_encode, random_token, IdToken, OidcError, Settings};
use crate::http::Http;

const CALLBACK_PATH: &str = "/auth/callback";

/// `(token, nonce)`: the nonce is checked against the token's claim by the caller.
pub fn login(
    http: &Http,
    settings: &Settings,
    discovery: &Value,
    say: &mut dyn FnMut(&str),
) -> Result<(IdToken, String), OidcError> {
    let endpoint = |k: &str| super::discovery_endpoint(discovery, k);
    let auth_endpoint = endpoint("authorization_endpoint")?;
    let token_endpoint = endpoint("token_endpoint")?;

    let (listener, redirect_uri, path) = bind(settings.redirect_url.as_deref())?;
    let verifier = zeroize::Zeroizing::new(random_token()?);
    let challenge = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(crate::crypto::sha256(verifier.as_bytes()))
    };
    let state = random_token()?;
    let nonce = random_token()?;
    let mut params = vec![
        ("response_type", "code".to_owned()),
        ("client_id", settings.client_id.clone()),
        ("redirect_uri", redirect_uri.clone()),
        ("scope", "openid email".to_owned()),
        ("state", state.clone()),
        ("nonce", nonce.clone()),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256".to_owned()),
    ];
    if let Some(c) = &settings.connector_id {
        params.push(("connector_id", c.clone()));
    }
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect();
    let sep = if auth_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    let url = format!("{auth_endpoint}{sep}{}", query.join("&"));

    say(&format!(
        "Your browser will now be opened to:\n{}\n",
        crate::text::escape(&url)
    ));
    let mut launched = super::opener::launch(settings.url_opener.as_ref(), &url);

    let code = zeroize::Zeroizing::new(wait_for_code(
        &listener,
        &path,
        &state,
        settings,
        &mut launched,
        say,
    )?);

    let secret = settings.client_secret.clone();
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", &redirect_uri),
        ("client_id", &settings.client_id),
        ("code_verifier", verifier.as_str()),
    ];
    if let Some(s) = secret.as_deref() {
        form.push(("client_secret", s.as_str()));
    }
    let token = exchange(http, &token_endpoint, &form)?;
    Ok((token, nonce))
}

/// POST a token request; the answer's `id_token`.
pub fn exchange(
    http: &Http,
    token_endpoint: &str,
    form: &[(&str, &str)],
) -> Result<IdToken, OidcError> {
    let reply = http
        .post_form(token_endpoint, form)
        .map_err(|source| OidcError::Http {
            what: "the issuer's token endpoint",
            source,
        })?;
    if !reply.ok() {
        return Err(OidcError::refused("the issuer's token endpoint", &reply));
    }
    let v: Value = serde_json::from_slice(&reply.body).map_err(|_| OidcError::Refused {
        what: "the issuer's token endpoint",
        status: reply.status,
        body: "the answer is not JSON".into(),
    })?;
    v.get("id_token")
        .and_then(Value::as_str)
        .map(|t| IdToken::new(t.to_owned()))
        .ok_or_else(|| OidcError::Refused {
            what: "the issuer's token endpoint",
            status: reply.status,
            body: "the answer has no id_token".into(),
        })
}

/// Bind the listener. Returns it, the redirect URI to send, and the callback path.
fn bind(redirect_url: Option<&str>) -> Result<(TcpListener, String, String), OidcError> {
    let Some(url) = redirect_url else {
        let l = TcpListener::bind(("127.0.0.1", 0)).map_err(OidcError::Listener)?;
        let port = l.local_addr().map_err(OidcError::Listener)?.port();
        return Ok((
            l,
            format!("http://localhost:{port}{CALLBACK_PATH}"),
            CALLBACK_PATH.to_owned(),
        ));
    };
    let bad = |why: &str| {
        OidcError::Listener(std::io::Error::other(format!("redirect URL '{url}' {why}")))
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("must start with http://"))?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "80"));
    if !matches!(host, "localhost" | "127.0.0.1") {
        return Err(bad("must name localhost or 127.0.0.1"));
    }
    let port: u16 = port.parse().map_err(|_| bad("has an invalid port"))?;
    let l = TcpListener::bind(("127.0.0.1", port)).map_err(OidcError::Listener)?;
    let port = l.local_addr().map_err(OidcError::Listener)?.port();
    let path = path.split('?').next().unwrap_or("/").to_owned();
    Ok((l, format!("http://{host}:{port}{path}"), path))
}

fn wait_for_code(
    listener: &TcpListener,
    path: &str,
    state: &str,
    settings: &Settings,
    opener: &mut super::opener::Launched,
    say: &mut dyn FnMut(&str),
) -> Result<String, OidcError> {
    let mut reported = false;
    let deadline = Instant::now() + settings.login_timeout;
    listener
        .set_nonblocking(true)
        .map_err(OidcError::Listener)?;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Some(result) = handle(stream, path, state, settings) {
                    return result;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(why) = opener.failure().filter(|_| !reported) {
                    if !settings.terminal {
                        return Err(OidcError::Opener {
                            program: opener.program.clone(),
                            why,
                        });
                    }
                    say(&format!(
                        "The URL opener '{}' {why}; open the URL above by hand.\n",
                        opener.program
                    ));
                    reported = true;
                }
                if Instant::now() >= deadline {
                    return Err(OidcError::Timeout(settings.login_timeout.as_secs()));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(OidcError::Listener(e)),
        }
    }
}

/// Answer one request on the listener. `None`: not the callback (favicon, probes), keep waiting.
fn handle(
    mut stream: TcpStream,
    path: &str,
    state: &str,
    settings: &Settings,
) -> Option<Result<String, OidcError>> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let target = head
        .lines()
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("");
    let (req_path, query) = target.split_once('?').unwrap_or((target, ""));
    if req_path != path {
        respond(&mut stream, 404, "not found");
        return None;
    }
    let params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if let Some(err) = get("error") {
        respond(
            &mut stream,
            400,
            "The login was not completed. You can close this window.",
        );
        let desc = get("error_description")
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        return Some(Err(OidcError::Denied(format!("{err}{desc}"))));
    }
    // Constant-time enough for a one-shot random value; what matters is that it is checked.
    if get("state").as_deref() != Some(state) {
        respond(
            &mut stream,
            400,
            "The login response did not match this login. You can close this window.",
        );
        return Some(Err(OidcError::StateMismatch));
    }
    let Some(code) = get("code").filter(|c| !c.is_empty()) else {
        respond(
            &mut stream,
            400,
            "The login response had no code. You can close this window.",
        );
        return Some(Err(OidcError::Denied(
            "the redirect carried no authorization code".into(),
        )));
    };
    respond(&mut stream, 200, &success_page(settings));
    Some(Ok(code))
}

fn success_page(settings: &Settings) -> String {
    let close = if settings.autoclose {
        format!(
            "<p>This window closes in {} seconds.</p><script>setTimeout(function(){{window.close()}},{})</script>",
            settings.autoclose_timeout,
            settings.autoclose_timeout.saturating_mul(1000)
        )
    } else {
        String::new()
    };
    format!("<!doctype html><html><head><title>gitsign</title></head><body><h1>Signed in</h1><p>gitsign received your login; you can return to the terminal.</p>{close}</body></html>")
}

fn respond(stream: &mut TcpStream, status: u16, body: &str) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let ct = if body.starts_with("<!doctype") {
        "text/html; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_url_must_be_loopback_http() {
        assert!(
            bind(Some("https://localhost:1/cb")).is_err(),
            "https cannot be served by the listener"
        );
        assert!(
            bind(Some("http://example.com:8080/cb")).is_err(),
            "remote hosts are refused"
        );
        let (_l, uri, path) = bind(Some("http://localhost:0/auth/custom")).expect("port 0 binds");
        assert!(
            uri.starts_with("http://localhost:") && uri.ends_with("/auth/custom"),
            "the bound port is in the URI: {uri}"
        );
        assert_eq!(
            path, "/auth/custom",
            "the callback path comes from the configured URL"
        );
        let (_l, uri, _) = bind(None).expect("a random port binds");
        assert!(
            uri.ends_with(CALLBACK_PATH),
            "the default callback path is Go gitsign's: {uri}"
        );
    }
}
