//! SPIFFE: a JWT-SVID from the Workload API, as cosign's `spiffe` provider fetches it.
//!
//! One unary gRPC call, `/SpiffeWorkloadAPI/FetchJWTSVID` (`JWTSVIDRequest { audience }` →
//! `JWTSVIDResponse { svids: [{ spiffe_id, svid }] }`, go-spiffe's `workload.proto`) with the
//! metadata `workload.spiffe.io: true` the API requires, over the unix socket
//! `SPIFFE_ENDPOINT_SOCKET` (a path, as cosign reads it; a `unix://` prefix is accepted too),
//! else `/tmp/spire-agent/public/api.sock`.
//!
//! The HTTP/2 (RFC 9113) is written here rather than pulled in with a gRPC stack (tonic, h2,
//! hyper, tokio): one request on stream 1 over a blocking socket needs the preface, SETTINGS,
//! one HEADERS (HPACK literals without Huffman, RFC 7541 §6.2.2), one DATA, and reading frames
//! until stream 1 ends. Response header blocks are not decoded (no HPACK state is needed for
//! that), so a failed call reports "no JWT-SVID" rather than the gRPC status text.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use prost::Message as _;
use zeroize::Zeroizing;

use crate::oidc::{IdToken, OidcError};

/// The variable naming the Workload API socket.
pub const SOCKET_ENV: &str = "SPIFFE_ENDPOINT_SOCKET";
/// SPIRE agent's default socket (cosign's default).
pub const DEFAULT_SOCKET: &str = "/tmp/spire-agent/public/api.sock";
const PROVIDER: &str = "spiffe";
const PATH: &str = "/SpiffeWorkloadAPI/FetchJWTSVID";
/// Largest frame accepted: the default SETTINGS_MAX_FRAME_SIZE, which we never raise.
const MAX_FRAME: usize = 16_384;
/// Largest response body (all DATA of stream 1) accepted.
const MAX_BODY: usize = 1 << 20;
/// Most frames read before giving up on a server that never ends the stream.
const MAX_FRAMES: usize = 1_000;

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;

#[derive(Clone, PartialEq, prost::Message)]
pub struct JwtSvidRequest {
    #[prost(string, repeated, tag = "1")]
    pub audience: Vec<String>,
    #[prost(string, tag = "2")]
    pub spiffe_id: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct JwtSvidResponse {
    #[prost(message, repeated, tag = "1")]
    pub svids: Vec<JwtSvid>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct JwtSvid {
    #[prost(string, tag = "1")]
    pub spiffe_id: String,
    #[prost(string, tag = "2")]
    pub svid: String,
    #[prost(string, tag = "3")]
    pub hint: String,
}

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn missing(reason: impl Into<String>) -> OidcError {
    OidcError::NotAvailable {
        provider: PROVIDER,
        reason: reason.into(),
    }
}

/// The socket path: `SPIFFE_ENDPOINT_SOCKET` (with or without `unix://`), else the default.
pub fn socket_path(env: Env<'_>) -> PathBuf {
    match env(SOCKET_ENV).filter(|s| !s.is_empty()) {
        Some(s) => PathBuf::from(s.strip_prefix("unix://").unwrap_or(&s)),
        None => PathBuf::from(DEFAULT_SOCKET),
    }
}

/// Enabled as cosign decides it: the socket path exists.
pub fn enabled(env: Env<'_>) -> bool {
    socket_path(env).exists()
}

/// `FetchJWTSVID` for `audience` over the Workload API socket: the first SVID.
pub fn fetch(env: Env<'_>, audience: &str, timeout: Duration) -> Result<IdToken, OidcError> {
    let path = socket_path(env);
    let shown = crate::text::escape(&path.display().to_string()).into_owned();
    let svid = call(&path, audience, timeout)
        .map_err(|why| missing(format!("the Workload API at {shown}: {why}")))?;
    Ok(IdToken::new(svid.to_string()))
}

#[cfg(unix)]
fn call(path: &Path, audience: &str, timeout: Duration) -> Result<Zeroizing<String>, String> {
    let mut sock = std::os::unix::net::UnixStream::connect(path)
        .map_err(|e| format!("cannot connect: {e}"))?;
    sock.set_read_timeout(Some(timeout))
        .and_then(|()| sock.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    exchange(&mut sock, audience)
}

#[cfg(not(unix))]
fn call(_: &Path, _: &str, _: Duration) -> Result<Zeroizing<String>, String> {
    Err("unix sockets are not available on this platform".into())
}

/// The request bytes a client writes: preface, SETTINGS, HEADERS, DATA (END_STREAM).
pub fn request(audience: &str) -> Vec<u8> {
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    // SETTINGS_ENABLE_PUSH = 0.
    frame(&mut out, SETTINGS, 0, 0, &[0, 2, 0, 0, 0, 0]);
    let mut block = vec![0x83, 0x86]; // :method POST, :scheme http (static table 3, 6)
    literal_indexed_name(&mut block, 4, PATH); // :path
    literal_indexed_name(&mut block, 1, "localhost"); // :authority
    literal_indexed_name(&mut block, 31, "application/grpc"); // content-type
    literal_new_name(&mut block, "te", "trailers");
    literal_new_name(&mut block, "workload.spiffe.io", "true");
    frame(&mut out, HEADERS, END_HEADERS, 1, &block);
    let msg = JwtSvidRequest {
        audience: vec![audience.to_owned()],
        spiffe_id: String::new(),
    }
    .encode_to_vec();
    let mut data = vec![0u8];
    data.extend_from_slice(&u32::try_from(msg.len()).unwrap_or(u32::MAX).to_be_bytes());
    data.extend_from_slice(&msg);
    frame(&mut out, DATA, END_STREAM, 1, &data);
    out
}

fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    let len = u32::try_from(payload.len()).unwrap_or(0).to_be_bytes();
    out.extend_from_slice(&len[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
}

/// RFC 7541 §5.1 integer with an `n`-bit prefix whose high bits are `first`.
fn hpack_int(out: &mut Vec<u8>, first: u8, n: u32, mut v: usize) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(first | v as u8);
        return;
    }
    out.push(first | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

fn hpack_str(out: &mut Vec<u8>, s: &str) {
    hpack_int(out, 0, 7, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// Literal header field without indexing, indexed name (RFC 7541 §6.2.2).
fn literal_indexed_name(out: &mut Vec<u8>, index: usize, value: &str) {
    hpack_int(out, 0, 4, index);
    hpack_str(out, value);
}

/// Literal header field without indexing, new name.
fn literal_new_name(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(0);
    hpack_str(out, name);
    hpack_str(out, value);
}

/// Write the request on `io` and read frames until stream 1 ends; the first SVID.
pub fn exchange(io: &mut (impl Read + Write), audience: &str) -> Result<Zeroizing<String>, String> {
    io.write_all(&request(audience))
        .and_then(|()| io.flush())
        .map_err(|e| format!("write: {e}"))?;
    let mut body = Zeroizing::new(Vec::new());
    for _ in 0..MAX_FRAMES {
        let mut head = [0u8; 9];
        io.read_exact(&mut head)
            .map_err(|e| format!("the connection ended before an answer: {e}"))?;
        let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
        let (kind, flags) = (head[3], head[4]);
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        if len > MAX_FRAME {
            return Err(format!("a frame of {len} bytes exceeds {MAX_FRAME}"));
        }
        let mut payload = Zeroizing::new(vec![0u8; len]);
        io.read_exact(&mut payload)
            .map_err(|e| format!("truncated frame: {e}"))?;
        match (kind, stream) {
            (SETTINGS, 0) if flags & ACK == 0 => {
                let mut ack = Vec::new();
                frame(&mut ack, SETTINGS, ACK, 0, &[]);
                // Best effort: a server that already sent its answer may have closed.
                let _ = io.write_all(&ack);
            }
            (PING, 0) if flags & ACK == 0 => {
                let mut pong = Vec::new();
                frame(&mut pong, PING, ACK, 0, &payload);
                let _ = io.write_all(&pong);
            }
            (GOAWAY, _) => return Err("the server closed the connection (GOAWAY)".into()),
            (RST_STREAM, 1) => return Err("the server reset the request".into()),
            (DATA, 1) => {
                let data = if flags & PADDED != 0 {
                    let pad = usize::from(*payload.first().ok_or("empty padded frame")?);
                    payload
                        .get(1..len.saturating_sub(pad))
                        .ok_or("bad padding")?
                } else {
                    &payload[..]
                };
                if body.len() + data.len() > MAX_BODY {
                    return Err(format!("the answer exceeds {MAX_BODY} bytes"));
                }
                body.extend_from_slice(data);
            }
            _ => {}
        }
        if stream == 1 && flags & END_STREAM != 0 && matches!(kind, DATA | HEADERS) {
            return first_svid(&body);
        }
    }
    Err("the server never ended the answer".into())
}

/// The first SVID of a gRPC-framed `JWTSVIDResponse`.
fn first_svid(body: &[u8]) -> Result<Zeroizing<String>, String> {
    let no = "no JWT-SVID in the answer (is this workload registered for a JWT-SVID?)";
    let (head, rest) = body.split_at_checked(5).ok_or(no)?;
    if head[0] != 0 {
        return Err("the answer is compressed, which was not asked for".into());
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let msg = rest.get(..len).ok_or("truncated gRPC message")?;
    let resp = JwtSvidResponse::decode(msg).map_err(|_| "malformed JWTSVIDResponse")?;
    let svid = resp
        .svids
        .into_iter()
        .map(|s| Zeroizing::new(s.svid))
        .find(|s| !s.is_empty())
        .ok_or(no)?;
    Ok(svid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpack_integers_follow_rfc7541_c1() {
        // C.1.1: 10 with a 5-bit prefix; C.1.2: 1337 with a 5-bit prefix.
        let mut out = Vec::new();
        hpack_int(&mut out, 0, 5, 10);
        assert_eq!(out, [0x0a]);
        out.clear();
        hpack_int(&mut out, 0, 5, 1337);
        assert_eq!(out, [0x1f, 0x9a, 0x0a]);
        out.clear();
        hpack_int(&mut out, 0, 4, 31);
        assert_eq!(
            out,
            [0x0f, 0x10],
            "content-type's static index with a 4-bit prefix"
        );
    }

    #[test]
    fn socket_path_takes_the_variable_with_or_without_a_scheme() {
        let set = |v: &'static str| move |k: &str| (k == SOCKET_ENV).then(|| v.to_owned());
        assert_eq!(
            socket_path(&set("/run/a.sock")),
            PathBuf::from("/run/a.sock")
        );
        assert_eq!(
            socket_path(&set("unix:///run/a.sock")),
            PathBuf::from("/run/a.sock")
        );
        assert_eq!(socket_path(&|_: &str| None), PathBuf::from(DEFAULT_SOCKET));
    }

    #[test]
    fn answers_without_an_svid_are_errors_not_panics() {
        for body in [
            &b""[..],
            &[0, 0, 0, 0, 9, 1][..],
            &[1, 0, 0, 0, 0][..],
            &[0, 0, 0, 0, 0][..],
        ] {
            assert!(first_svid(body).is_err(), "{body:?}");
        }
    }
}
