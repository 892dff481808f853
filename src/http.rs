//! The one blocking HTTP client every network edge uses (OIDC, Fulcio, Rekor, TSA): bounded in
//! time, bounded in size, retried once on a transport failure or a 5xx, and never treating a
//! status code as a panic or a transport error — callers branch on [`Reply::status`].
//!
//! Blocking `ureq` over rustls (ring): a signature needs four to six sequential requests, so an
//! async runtime would only add start-up time to every `git commit`.

use std::time::Duration;

/// Largest response body read (a Rekor entry with proof is a few KiB; a JWKS a few hundred bytes).
const MAX_BODY: u64 = 10 << 20;
/// Most of a refusal's (non-2xx) body kept for its error message.
const ERROR_BODY: u64 = 64 << 10;
/// Pause before the single retry.
const RETRY_PAUSE: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("request to '{url}' failed")]
    Transport {
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("'{url}' is not an http(s) URL")]
    BadUrl { url: String },
}

/// A response: status, body, and the `Location` header (Rekor's 409 names the existing entry).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub location: Option<String>,
}

impl Reply {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text for error messages, cut to a readable length.
    pub fn snippet(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text = text.trim();
        match text.char_indices().nth(300) {
            Some((i, _)) => format!("{}…", &text[..i]),
            None => text.to_owned(),
        }
    }

    /// What a refusing server said: the `message` of its JSON error body (Fulcio's and Rekor's
    /// shape), else [`Reply::snippet`].
    pub fn error_message(&self) -> String {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_else(|| self.snippet())
    }
}

/// The client.
#[derive(Debug, Clone)]
pub struct Http {
    agent: ureq::Agent,
}

enum Body<'a> {
    None,
    Json(&'a serde_json::Value),
    Form(&'a [(&'a str, &'a str)]),
    Bytes(&'a str, &'a [u8]),
}

impl Http {
    /// A client whose every request (connect, send, receive) finishes within `timeout`.
    pub fn new(timeout: Duration) -> Http {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("gitsign-rs/", env!("CARGO_PKG_VERSION")))
            .build();
        Http {
            agent: ureq::Agent::new_with_config(config),
        }
    }

    pub fn get(&self, url: &str) -> Result<Reply, HttpError> {
        self.send(url, &[], Body::None)
    }

    /// GET with a smaller body limit than the default (TUF metadata has per-role limits); a
    /// longer body is a transport error whose source is `ureq::Error::BodyExceedsLimit`.
    pub fn get_limited(&self, url: &str, limit: u64) -> Result<Reply, HttpError> {
        self.send_limited(url, &[], Body::None, limit.min(MAX_BODY))
    }

    pub fn get_with(&self, url: &str, headers: &[(&str, &str)]) -> Result<Reply, HttpError> {
        self.send(url, headers, Body::None)
    }

    pub fn post_json(&self, url: &str, body: &serde_json::Value) -> Result<Reply, HttpError> {
        self.send(url, &[], Body::Json(body))
    }

    pub fn post_json_with(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &serde_json::Value,
    ) -> Result<Reply, HttpError> {
        self.send(url, headers, Body::Json(body))
    }

    pub fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Reply, HttpError> {
        self.send(url, &[], Body::Form(form))
    }

    pub fn post_bytes(
        &self,
        url: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<Reply, HttpError> {
        self.send(url, &[], Body::Bytes(content_type, body))
    }

    fn send(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: Body<'_>,
    ) -> Result<Reply, HttpError> {
        self.send_limited(url, headers, body, MAX_BODY)
    }

    fn send_limited(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: Body<'_>,
        limit: u64,
    ) -> Result<Reply, HttpError> {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(HttpError::BadUrl {
                url: url.to_owned(),
            });
        }
        match self.once(url, headers, &body, limit) {
            Ok(r) if r.status < 500 => Ok(r),
            // One retry: a 5xx or a dropped connection is often a rolling restart.
            Ok(_) | Err(_) => {
                std::thread::sleep(RETRY_PAUSE);
                self.once(url, headers, &body, limit)
            }
        }
    }

    fn once(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &Body<'_>,
        limit: u64,
    ) -> Result<Reply, HttpError> {
        let err = |source| HttpError::Transport {
            url: url.to_owned(),
            source: Box::new(source),
        };
        let result = match body {
            Body::None => {
                let mut rq = self.agent.get(url);
                for (k, v) in headers {
                    rq = rq.header(*k, *v);
                }
                rq.call()
            }
            Body::Json(v) => {
                let mut rq = self.agent.post(url).header("Accept", "application/json");
                for (k, v) in headers {
                    rq = rq.header(*k, *v);
                }
                rq.send_json(v)
            }
            Body::Form(f) => self
                .agent
                .post(url)
                .header("Accept", "application/json")
                .send_form(f.iter().copied()),
            Body::Bytes(ct, b) => self.agent.post(url).header("Content-Type", *ct).send(*b),
        };
        let mut resp = result.map_err(err)?;
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = if (200..300).contains(&status) {
            resp.body_mut()
                .with_config()
                .limit(limit)
                .read_to_vec()
                .map_err(err)?
        } else {
            // A refusal's body is only for the error message: its start is enough, and a
            // long 404 page must read as the 404 it is, not as a body over the limit.
            use std::io::Read as _;
            let mut start = Vec::new();
            resp.body_mut()
                .as_reader()
                .take(limit.min(ERROR_BODY))
                .read_to_end(&mut start)
                .map_err(|e| err(ureq::Error::Io(e)))?;
            start
        };
        Ok(Reply {
            status,
            body,
            location,
        })
    }
}
