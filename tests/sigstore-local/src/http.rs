//! The HTTP layer: request/response values, routing to the four services, per-endpoint
//! request counters, switchable faults, and the `/admin` endpoints the binary exposes.
//!
//! One `tiny_http` accept loop hands each request to its own thread. Handlers are pure over
//! a [`Req`] and return a [`Resp`]; nothing here panics on malformed input — bad requests
//! get 400 with a JSON body shaped like Fulcio's or Rekor's errors.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};

use crate::ca::Ca;
use crate::{lock, oidc, rekor, tsa, tuf, Error, Options};

/// Largest request body accepted (a commit signature request is a few KiB).
const MAX_BODY: u64 = 8 << 20;

/// The services a fault can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    Oidc,
    Fulcio,
    Rekor,
    /// The Rekor v2 shards under `/rekor-v2/` ([`crate::rekor_v2`]).
    RekorV2,
    Tsa,
    Tuf,
}

impl Service {
    pub fn parse(s: &str) -> Option<Service> {
        match s.to_ascii_lowercase().as_str() {
            "oidc" => Some(Service::Oidc),
            "fulcio" => Some(Service::Fulcio),
            "rekor" => Some(Service::Rekor),
            "rekor_v2" | "rekor-v2" | "rekorv2" => Some(Service::RekorV2),
            "tsa" | "timestamp" => Some(Service::Tsa),
            "tuf" => Some(Service::Tuf),
            _ => None,
        }
    }
}

/// Misbehaviour to switch on for one service. Several may be combined.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Sleep this long before answering.
    pub delay: Option<Duration>,
    /// Answer with this status (e.g. 503) without handling the request.
    pub status: Option<u16>,
    /// Handle the request, then send a truncated, unparseable body with the real status.
    pub malformed_body: bool,
    /// Rekor: sign the SET over different bytes (a valid key, a wrong signature).
    pub bad_set_signature: bool,
    /// Rekor: hand out the inclusion proof of a different leaf.
    pub proof_for_other_leaf: bool,
    /// Any service: answer with a signature that does not verify ([`crate::fault`]); for
    /// Rekor the same as `bad_set_signature`.
    pub wrong_signature: bool,
    /// Apply to the next N requests of the service only, then switch off; None = until cleared.
    pub times: Option<u32>,
}

impl Faults {
    /// Parse the admin endpoint's JSON: `{"delay_ms":…, "status":…, "malformed_body":…,
    /// "bad_set_signature":…, "proof_for_other_leaf":…, "wrong_signature":…, "times":…}`.
    pub fn from_json(v: &Value) -> Result<Faults, String> {
        let obj = v.as_object().ok_or("faults must be a JSON object")?;
        for k in obj.keys() {
            if ![
                "service",
                "delay_ms",
                "status",
                "malformed_body",
                "bad_set_signature",
                "proof_for_other_leaf",
                "wrong_signature",
                "times",
            ]
            .contains(&k.as_str())
            {
                return Err(format!("unknown fault '{k}'"));
            }
        }
        let flag = |k: &str| obj.get(k).and_then(Value::as_bool).unwrap_or(false);
        let status = match obj.get("status").and_then(Value::as_u64) {
            Some(s) if (100..600).contains(&s) => Some(s as u16),
            Some(s) => return Err(format!("invalid status {s}")),
            None => None,
        };
        Ok(Faults {
            delay: obj
                .get("delay_ms")
                .and_then(Value::as_u64)
                .map(Duration::from_millis),
            status,
            malformed_body: flag("malformed_body"),
            bad_set_signature: flag("bad_set_signature"),
            proof_for_other_leaf: flag("proof_for_other_leaf"),
            wrong_signature: flag("wrong_signature"),
            times: obj
                .get("times")
                .and_then(Value::as_u64)
                .map(|t| t.min(u32::MAX as u64) as u32),
        })
    }
}

/// An HTTP request as the handlers see it.
#[derive(Debug, Clone, Default)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `application/x-www-form-urlencoded` body fields.
    pub fn form(&self) -> Vec<(String, String)> {
        parse_form(&String::from_utf8_lossy(&self.body))
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn bearer(&self) -> Option<&str> {
        let h = self.header("authorization")?;
        let (scheme, token) = h.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(token.trim())
    }
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(status: u16, v: &Value) -> Resp {
        Resp {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(v).unwrap_or_default(),
        }
    }

    pub fn text(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Resp {
        Resp {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn redirect(location: &str) -> Resp {
        Resp {
            status: 302,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Resp {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Rekor's error shape.
    pub fn rekor_error(status: u16, message: &str) -> Resp {
        Resp::json(status, &json!({ "code": status, "message": message }))
    }

    /// OAuth 2.0 error shape (RFC 6749 §5.2).
    pub fn oauth_error(status: u16, error: &str, description: &str) -> Resp {
        Resp::json(
            status,
            &json!({ "error": error, "error_description": description }),
        )
    }
}

pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len()
                && b[i + 1].is_ascii_hexdigit()
                && b[i + 2].is_ascii_hexdigit() =>
            {
                let hi = (b[i + 1] as char).to_digit(16).unwrap_or(0) as u8;
                let lo = (b[i + 2] as char).to_digit(16).unwrap_or(0) as u8;
                out.push(hi << 4 | lo);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

pub fn parse_form(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

pub fn form_value<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Everything the handlers share.
pub struct Shared {
    pub base_url: String,
    pub state_dir: std::path::PathBuf,
    pub oidc: oidc::Issuer,
    pub ca: Ca,
    pub rekor: rekor::Log,
    pub rekor_v2: crate::rekor_v2::Logs,
    pub tsa: tsa::Tsa,
    pub tuf: tuf::Repo,
    faults: Mutex<HashMap<Service, Faults>>,
    counts: Mutex<BTreeMap<String, u64>>,
}

impl Shared {
    pub fn load(options: &Options, base_url: &str) -> Result<Shared, Error> {
        let keys_dir = options.state_dir.join("keys");
        let certs_dir = options.state_dir.join("certs");
        for d in [&keys_dir, &certs_dir] {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
        }
        let shape = match options.key_shape {
            Some(shape) => shape,
            None => crate::KeyShape::from_env()?,
        };
        let ca = Ca::load_or_create(&keys_dir, &certs_dir, shape)?;
        let oidc = oidc::Issuer::load(options, base_url, &keys_dir)?;
        let rekor = rekor::Log::open(&options.state_dir.join("rekor"), &keys_dir)?;
        let tsa = tsa::Tsa::load_or_create(&keys_dir, &certs_dir)?;
        let tuf = tuf::Repo::open(&options.state_dir, &keys_dir, options.tuf_timestamp_ttl)?;
        Ok(Shared {
            base_url: base_url.to_string(),
            state_dir: options.state_dir.clone(),
            oidc,
            ca,
            rekor,
            rekor_v2: crate::rekor_v2::Logs::new(&options.state_dir, base_url),
            tsa,
            tuf,
            faults: Mutex::new(HashMap::new()),
            counts: Mutex::new(BTreeMap::new()),
        })
    }

    pub fn set_faults(&self, service: Service, faults: Faults) {
        lock(&self.faults).insert(service, faults);
    }

    pub fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    /// The faults for this request, consuming one of `times` if limited.
    fn take_faults(&self, service: Service) -> Faults {
        let mut all = lock(&self.faults);
        let Some(f) = all.get_mut(&service) else {
            return Faults::default();
        };
        let current = f.clone();
        match f.times.as_mut() {
            None => current,
            Some(0) => {
                all.remove(&service);
                Faults::default()
            }
            Some(n) => {
                *n -= 1;
                if *n == 0 {
                    all.remove(&service);
                }
                current
            }
        }
    }

    pub fn counts(&self) -> BTreeMap<String, u64> {
        lock(&self.counts).clone()
    }

    pub fn service_count(&self, service: Service) -> u64 {
        lock(&self.counts)
            .iter()
            .filter(|(k, _)| route_service(k) == Some(service))
            .map(|(_, v)| v)
            .sum()
    }

    fn count(&self, route: &str) {
        *lock(&self.counts).entry(route.to_string()).or_insert(0) += 1;
    }
}

/// Which service a route key (`"POST /api/v2/signingCert"`) belongs to.
fn route_service(route: &str) -> Option<Service> {
    let path = route.split_once(' ').map(|(_, p)| p).unwrap_or(route);
    if path.starts_with("/oidc") || path.starts_with("/actions") {
        Some(Service::Oidc)
    } else if path.starts_with("/api/v1/signingCert")
        || path.starts_with("/api/v2/")
        || path == "/api/v1/rootCert"
    {
        Some(Service::Fulcio)
    } else if path.starts_with(crate::rekor_v2::PREFIX) {
        Some(Service::RekorV2)
    } else if path.starts_with("/api/v1/log") || path.starts_with("/api/v1/index") {
        Some(Service::Rekor)
    } else if path.starts_with("/api/v1/timestamp") {
        Some(Service::Tsa)
    } else if path.starts_with("/tuf/") {
        Some(Service::Tuf)
    } else {
        None
    }
}

/// Accept until `stop`; one thread per request.
pub fn accept_loop(server: &tiny_http::Server, stop: &AtomicBool, shared: &std::sync::Arc<Shared>) {
    loop {
        let rq = match server.recv() {
            Ok(rq) => rq,
            Err(_) if stop.load(Ordering::SeqCst) => return,
            Err(_) => continue,
        };
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let shared = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("sigstore-local-req".into())
            .spawn(move || serve_one(rq, &shared));
        if spawned.is_err() {
            // Out of threads: the request is dropped, the client sees a reset.
            continue;
        }
    }
}

fn serve_one(mut rq: tiny_http::Request, shared: &Shared) {
    let url = rq.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let mut body = Vec::new();
    let read = rq.as_reader().take(MAX_BODY + 1).read_to_end(&mut body);
    let req = Req {
        method: rq.method().as_str().to_ascii_uppercase(),
        path: path.to_string(),
        query: parse_form(query),
        headers: rq
            .headers()
            .iter()
            .map(|h| {
                (
                    h.field.as_str().as_str().to_ascii_lowercase(),
                    h.value.as_str().to_string(),
                )
            })
            .collect(),
        body,
    };
    let resp = if read.is_err() {
        Resp::rekor_error(400, "cannot read request body")
    } else if req.body.len() as u64 > MAX_BODY {
        Resp::rekor_error(413, "request body too large")
    } else {
        dispatch(shared, &req)
    };
    let mut out = tiny_http::Response::from_data(resp.body).with_status_code(resp.status);
    for (k, v) in &resp.headers {
        if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            out.add_header(h);
        }
    }
    let _ = rq.respond(out);
}

/// Route, count, and apply faults.
pub fn dispatch(shared: &Shared, req: &Req) -> Resp {
    if req.path.starts_with("/admin/") {
        return admin(shared, req);
    }
    let Some((route, service)) = route_of(shared, req) else {
        return Resp::rekor_error(404, &format!("no route for {} {}", req.method, req.path));
    };
    shared.count(&route);
    let mut faults = shared.take_faults(service);
    faults.bad_set_signature |= faults.wrong_signature && service == Service::Rekor;
    if let Some(d) = faults.delay {
        std::thread::sleep(d);
    }
    if let Some(status) = faults.status {
        return Resp::json(
            status,
            &json!({ "code": status, "message": "injected fault" }),
        );
    }
    let mut resp = match service {
        Service::Oidc => shared.oidc.handle(req, &route),
        Service::Fulcio => crate::fulcio::handle(shared, req, &route),
        Service::Rekor => shared.rekor.handle(req, &route, &faults),
        Service::RekorV2 => shared
            .rekor_v2
            .handle(&shared.tuf.shards(), req, &route, &faults),
        Service::Tsa => shared.tsa.handle(req, &route),
        Service::Tuf => shared.tuf.handle(req),
    };
    if faults.wrong_signature {
        crate::fault::break_signature(service, &route, &mut resp);
    }
    if faults.malformed_body {
        let keep = resp.body.len() / 2;
        resp.body.truncate(keep);
        resp.body.extend_from_slice(b"\x00}{");
    }
    resp
}

/// The route key of a request (`"GET /api/v1/log/entries/{uuid}"`) and its service.
fn route_of(shared: &Shared, req: &Req) -> Option<(String, Service)> {
    let m = req.method.as_str();
    let p = req.path.as_str();
    let oidc_route = shared.oidc.route(m, p);
    if let Some(r) = oidc_route {
        return Some((format!("{m} {r}"), Service::Oidc));
    }
    if let Some(r) = crate::rekor_v2::route(m, p) {
        return Some((r, Service::RekorV2));
    }
    let r: &str = match (m, p) {
        ("POST", "/api/v2/signingCert")
        | ("POST", "/api/v1/signingCert")
        | ("GET", "/api/v2/trustBundle")
        | ("GET", "/api/v1/rootCert") => p,
        ("POST", "/api/v1/log/entries")
        | ("GET", "/api/v1/log/entries")
        | ("POST", "/api/v1/log/entries/retrieve")
        | ("POST", "/api/v1/index/retrieve")
        | ("GET", "/api/v1/log")
        | ("GET", "/api/v1/log/publicKey")
        | ("GET", "/api/v1/log/proof") => p,
        ("GET", p) if p.starts_with("/api/v1/log/entries/") => "/api/v1/log/entries/{uuid}",
        ("GET", p) if p.starts_with("/tuf/") => p,
        ("POST", "/api/v1/timestamp") | ("GET", "/api/v1/timestamp/certchain") => p,
        _ => return None,
    };
    let key = format!("{m} {r}");
    let service = route_service(&key)?;
    Some((key, service))
}

/// Apply a TUF action with the targets recomputed from the stack's current shards.
pub fn apply_tuf(shared: &Shared, action: &tuf::Action) -> Result<(), Error> {
    shared
        .tuf
        .apply(action, &|shards| crate::trust::tuf_targets(shared, shards))
}

/// `/admin/faults` (POST set, DELETE clear), `/admin/counters` (GET) and `/admin/tuf` (POST).
fn admin(shared: &Shared, req: &Req) -> Resp {
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/admin/tuf") => {
            let action = match req.json().as_ref().map(tuf::Action::from_json) {
                Some(Ok(a)) => a,
                Some(Err(e)) => return Resp::rekor_error(400, &e),
                None => return Resp::rekor_error(400, "body must be JSON"),
            };
            let done = apply_tuf(shared, &action)
                .and_then(|()| crate::trust::write_state_files(shared, &shared.state_dir));
            match done {
                Ok(()) => Resp::json(200, &json!({})),
                Err(e) => Resp::rekor_error(500, &e.to_string()),
            }
        }
        ("GET", "/admin/counters") => Resp::json(200, &json!(shared.counts())),
        ("DELETE", "/admin/faults") => {
            shared.clear_faults();
            Resp::json(200, &json!({}))
        }
        ("POST", "/admin/faults") => {
            let Some(v) = req.json() else {
                return Resp::rekor_error(400, "body must be JSON");
            };
            let Some(service) = v
                .get("service")
                .and_then(Value::as_str)
                .and_then(Service::parse)
            else {
                return Resp::rekor_error(
                    400,
                    "'service' must be one of oidc, fulcio, rekor, rekor_v2, tsa, tuf",
                );
            };
            match Faults::from_json(&v) {
                Ok(f) => {
                    shared.set_faults(service, f);
                    Resp::json(200, &json!({}))
                }
                Err(e) => Resp::rekor_error(400, &e),
            }
        }
        _ => Resp::rekor_error(404, "no such admin endpoint"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_coding_round_trips_and_tolerates_garbage() {
        let s = "a b&c=d/é%";
        assert_eq!(
            percent_decode(&percent_encode(s)),
            s,
            "encode then decode must round-trip"
        );
        assert_eq!(
            percent_decode("%zz%4"),
            "%zz%4",
            "invalid escapes must pass through, not panic"
        );
        assert_eq!(percent_decode("%"), "%", "a lone percent must not panic");
    }

    #[test]
    fn faults_json_rejects_unknown_keys() {
        assert!(
            Faults::from_json(&json!({"dely_ms": 5})).is_err(),
            "a misspelt fault must be an error"
        );
        let f = Faults::from_json(&json!({"status": 503, "times": 2})).unwrap();
        assert_eq!(f.status, Some(503), "status must parse");
        assert_eq!(f.times, Some(2), "times must parse");
    }
}
