//! The credential cache's wire format: small, versioned, length-prefixed frames over a Unix
//! socket. Pure: bytes in, values out; readers and writers are passed in.
//!
//! ```text
//! frame  := magic "gscc" | version u8 (= 1) | kind u8 | length u32 BE | body (length bytes)
//! field  := length u32 BE | bytes
//! Get    (0x01) := field(key)
//! Put    (0x02) := field(key) | credential
//! Found  (0x81) := credential
//! Missing(0x82) := (empty)
//! Stored (0x83) := (empty)
//! Refused(0x84) := field(reason, UTF-8)
//! credential := field(PKCS#8 private key) | count u8 | count × field(certificate DER, leaf first)
//! ```
//!
//! Every length is checked against a limit before anything is allocated: a frame body is at
//! most [`MAX_BODY`] (64 KiB — a P-256 PKCS#8 key is 138 bytes and a Fulcio leaf about 1 KiB),
//! a key at most [`MAX_KEY`], a certificate at most [`MAX_CERT`], a chain at most
//! [`MAX_CHAIN`] certificates. Anything else is a [`ProtocolError`]; the daemon answers one
//! by closing the connection. Buffers that may hold a private key are [`Zeroizing`].
//!
//! Go gitsign's cache speaks Go net/rpc; that format is not kept (issue 6).

use std::io::{Read, Write};

use zeroize::Zeroizing;

/// First bytes of every frame.
pub const MAGIC: [u8; 4] = *b"gscc";
/// The one version this build speaks.
pub const VERSION: u8 = 1;
/// Header: magic, version, kind, body length.
pub const HEADER_LEN: usize = 10;
/// Largest frame body.
pub const MAX_BODY: usize = 64 * 1024;
/// Largest cache key.
pub const MAX_KEY: usize = 4096;
/// Largest private key (PKCS#8 DER).
pub const MAX_PRIVATE_KEY: usize = 4096;
/// Largest certificate.
pub const MAX_CERT: usize = 16 * 1024;
/// Most certificates in a chain (leaf included).
pub const MAX_CHAIN: usize = 8;
/// Longest refusal reason.
pub const MAX_REASON: usize = 1024;

const GET: u8 = 0x01;
const PUT: u8 = 0x02;
const FOUND: u8 = 0x81;
const MISSING: u8 = 0x82;
const STORED: u8 = 0x83;
const REFUSED: u8 = 0x84;

#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("the connection failed")]
    Io(#[source] std::io::Error),
    #[error("the connection closed before a whole frame arrived")]
    Truncated,
    #[error("not a credential cache frame (bad magic)")]
    Magic,
    #[error("protocol version {0} is not supported (this build speaks version {VERSION})")]
    Version(u8),
    #[error("unknown message kind {0:#04x}")]
    Kind(u8),
    #[error("{what} is {len} bytes, more than the limit of {max}")]
    TooLarge {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("the message body is malformed: {0}")]
    Malformed(&'static str),
}

/// What the cache keeps: the ephemeral key and the chain Fulcio issued for it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// PKCS#8 DER of the P-256 private key.
    pub private_key: Zeroizing<Vec<u8>>,
    /// Certificates, leaf first, as Fulcio returned them.
    pub chain: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Credential(private key, {} certificates)",
            self.chain.len()
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Get {
        key: Vec<u8>,
    },
    Put {
        key: Vec<u8>,
        credential: Credential,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Found(Credential),
    Missing,
    Stored,
    Refused(String),
}

/// A frame as read off the wire, body not yet decoded.
pub struct Frame {
    pub kind: u8,
    pub body: Zeroizing<Vec<u8>>,
}

/// Read one frame. The header is checked before the body is allocated.
pub fn read_frame(r: &mut dyn Read) -> Result<Frame, ProtocolError> {
    let mut header = [0u8; HEADER_LEN];
    read_exact(r, &mut header)?;
    let (kind, len) = parse_header(&header)?;
    let mut body = Zeroizing::new(vec![0u8; len]);
    read_exact(r, &mut body)?;
    Ok(Frame { kind, body })
}

fn read_exact(r: &mut dyn Read, buf: &mut [u8]) -> Result<(), ProtocolError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => ProtocolError::Truncated,
        _ => ProtocolError::Io(e),
    })
}

/// Check magic, version and length; return (kind, body length).
pub fn parse_header(h: &[u8; HEADER_LEN]) -> Result<(u8, usize), ProtocolError> {
    if h[..4] != MAGIC {
        return Err(ProtocolError::Magic);
    }
    if h[4] != VERSION {
        return Err(ProtocolError::Version(h[4]));
    }
    let len = u32::from_be_bytes([h[6], h[7], h[8], h[9]]) as usize;
    if len > MAX_BODY {
        return Err(ProtocolError::TooLarge {
            what: "the frame body",
            len,
            max: MAX_BODY,
        });
    }
    Ok((h[5], len))
}

/// Write one frame.
pub fn write_frame(w: &mut dyn Write, frame: &[u8]) -> Result<(), ProtocolError> {
    w.write_all(frame)
        .and_then(|_| w.flush())
        .map_err(ProtocolError::Io)
}

fn frame(kind: u8, body: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(HEADER_LEN + body.len()));
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(kind);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn put_field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_credential(out: &mut Vec<u8>, c: &Credential) {
    put_field(out, &c.private_key);
    out.push(c.chain.len().min(u8::MAX as usize) as u8);
    for cert in c.chain.iter().take(u8::MAX as usize) {
        put_field(out, cert);
    }
}

/// Encode a request as a whole frame. Limits are the decoder's: an oversized request is
/// refused by the daemon, not truncated here.
pub fn encode_request(req: &Request) -> Zeroizing<Vec<u8>> {
    let mut body = Zeroizing::new(Vec::new());
    let kind = match req {
        Request::Get { key } => {
            put_field(&mut body, key);
            GET
        }
        Request::Put { key, credential } => {
            put_field(&mut body, key);
            put_credential(&mut body, credential);
            PUT
        }
    };
    frame(kind, &body)
}

pub fn encode_response(resp: &Response) -> Zeroizing<Vec<u8>> {
    let mut body = Zeroizing::new(Vec::new());
    let kind = match resp {
        Response::Found(c) => {
            put_credential(&mut body, c);
            FOUND
        }
        Response::Missing => MISSING,
        Response::Stored => STORED,
        Response::Refused(reason) => {
            let r = reason.as_bytes();
            put_field(&mut body, &r[..r.len().min(MAX_REASON)]);
            REFUSED
        }
    };
    frame(kind, &body)
}

/// A cursor over a body that never reads past its end.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn u8(&mut self) -> Result<u8, ProtocolError> {
        let (&b, rest) = self
            .rest
            .split_first()
            .ok_or(ProtocolError::Malformed("a count is missing"))?;
        self.rest = rest;
        Ok(b)
    }

    fn field(&mut self, what: &'static str, max: usize) -> Result<&'a [u8], ProtocolError> {
        if self.rest.len() < 4 {
            return Err(ProtocolError::Malformed("a field length is missing"));
        }
        let (len, rest) = self.rest.split_at(4);
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if len > max {
            return Err(ProtocolError::TooLarge { what, len, max });
        }
        if rest.len() < len {
            return Err(ProtocolError::Malformed("a field is longer than the body"));
        }
        let (value, rest) = rest.split_at(len);
        self.rest = rest;
        Ok(value)
    }

    fn credential(&mut self) -> Result<Credential, ProtocolError> {
        let private_key = Zeroizing::new(self.field("the private key", MAX_PRIVATE_KEY)?.to_vec());
        if private_key.is_empty() {
            return Err(ProtocolError::Malformed("the private key is empty"));
        }
        let count = self.u8()? as usize;
        if count == 0 {
            return Err(ProtocolError::Malformed("the chain is empty"));
        }
        if count > MAX_CHAIN {
            return Err(ProtocolError::TooLarge {
                what: "the chain",
                len: count,
                max: MAX_CHAIN,
            });
        }
        let mut chain = Vec::with_capacity(count);
        for _ in 0..count {
            chain.push(self.field("a certificate", MAX_CERT)?.to_vec());
        }
        Ok(Credential { private_key, chain })
    }

    fn end(&self) -> Result<(), ProtocolError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(ProtocolError::Malformed("bytes after the last field"))
        }
    }
}

fn key_field(f: &mut Fields<'_>) -> Result<Vec<u8>, ProtocolError> {
    let key = f.field("the cache key", MAX_KEY)?;
    if key.is_empty() {
        return Err(ProtocolError::Malformed("the cache key is empty"));
    }
    Ok(key.to_vec())
}

pub fn decode_request(frame: &Frame) -> Result<Request, ProtocolError> {
    let mut f = Fields { rest: &frame.body };
    let req = match frame.kind {
        GET => Request::Get {
            key: key_field(&mut f)?,
        },
        PUT => {
            let key = key_field(&mut f)?;
            Request::Put {
                key,
                credential: f.credential()?,
            }
        }
        other => return Err(ProtocolError::Kind(other)),
    };
    f.end()?;
    Ok(req)
}

pub fn decode_response(frame: &Frame) -> Result<Response, ProtocolError> {
    let mut f = Fields { rest: &frame.body };
    let resp = match frame.kind {
        FOUND => Response::Found(f.credential()?),
        MISSING => Response::Missing,
        STORED => Response::Stored,
        REFUSED => Response::Refused(
            String::from_utf8_lossy(f.field("the reason", MAX_REASON)?).into_owned(),
        ),
        other => return Err(ProtocolError::Kind(other)),
    };
    f.end()?;
    Ok(resp)
}

/// A credential alone, as the keyring store keeps it: the body encoding of `Found`.
pub fn encode_credential(c: &Credential) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::new());
    put_credential(&mut out, c);
    out
}

pub fn decode_credential(bytes: &[u8]) -> Result<Credential, ProtocolError> {
    if bytes.len() > MAX_BODY {
        return Err(ProtocolError::TooLarge {
            what: "the credential",
            len: bytes.len(),
            max: MAX_BODY,
        });
    }
    let mut f = Fields { rest: bytes };
    let c = f.credential()?;
    f.end()?;
    Ok(c)
}

/// Read and decode a request (daemon side).
pub fn read_request(r: &mut dyn Read) -> Result<Request, ProtocolError> {
    decode_request(&read_frame(r)?)
}

/// Read and decode a response (client side).
pub fn read_response(r: &mut dyn Read) -> Result<Response, ProtocolError> {
    decode_response(&read_frame(r)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred() -> Credential {
        Credential {
            private_key: Zeroizing::new(vec![7; 138]),
            chain: vec![vec![1; 900], vec![2; 500]],
        }
    }

    fn roundtrip_request(req: &Request) -> Result<Request, ProtocolError> {
        read_request(&mut std::io::Cursor::new(encode_request(req).to_vec()))
    }

    #[test]
    fn requests_and_responses_round_trip() {
        for req in [
            Request::Get { key: b"k".to_vec() },
            Request::Put {
                key: b"key".to_vec(),
                credential: cred(),
            },
        ] {
            assert_eq!(
                roundtrip_request(&req).expect("decodes"),
                req,
                "a request survives encoding"
            );
        }
        for resp in [
            Response::Found(cred()),
            Response::Missing,
            Response::Stored,
            Response::Refused("expired".into()),
        ] {
            let bytes = encode_response(&resp).to_vec();
            assert_eq!(
                read_response(&mut std::io::Cursor::new(bytes)).expect("decodes"),
                resp,
                "a response survives encoding"
            );
        }
    }

    #[test]
    fn header_is_magic_version_kind_length() {
        let f = encode_request(&Request::Get {
            key: b"abc".to_vec(),
        });
        assert_eq!(
            &f[..HEADER_LEN],
            b"gscc\x01\x01\x00\x00\x00\x07",
            "magic, version 1, Get, 7-byte body"
        );
        assert_eq!(
            &f[HEADER_LEN..],
            b"\x00\x00\x00\x03abc",
            "one length-prefixed field"
        );
    }

    #[test]
    fn oversized_and_malformed_frames_are_errors_not_panics() {
        let big = [b'g', b's', b'c', b'c', 1, 1, 0xff, 0xff, 0xff, 0xff];
        assert!(
            matches!(
                read_frame(&mut &big[..]),
                Err(ProtocolError::TooLarge { .. })
            ),
            "a 4 GiB length is refused before anything is allocated"
        );
        assert!(
            matches!(
                read_frame(&mut &b"GET / HTTP/1.1\r\n"[..]),
                Err(ProtocolError::Magic)
            ),
            "foreign bytes are refused"
        );
        assert!(
            matches!(
                read_frame(&mut &b"gscc\x02\x01\0\0\0\0"[..]),
                Err(ProtocolError::Version(2))
            ),
            "another version is named"
        );
        assert!(
            matches!(
                read_frame(&mut &b"gscc\x01"[..]),
                Err(ProtocolError::Truncated)
            ),
            "a short header"
        );
        assert!(
            matches!(
                read_frame(&mut &b"gscc\x01\x01\0\0\0\x09abc"[..]),
                Err(ProtocolError::Truncated)
            ),
            "a short body"
        );
        let frame = |kind: u8, body: &[u8]| Frame {
            kind,
            body: Zeroizing::new(body.to_vec()),
        };
        assert!(
            matches!(
                decode_request(&frame(0x7f, b"")),
                Err(ProtocolError::Kind(0x7f))
            ),
            "an unknown kind"
        );
        assert!(
            decode_request(&frame(GET, b"\0\0\0\x05ab")).is_err(),
            "a field longer than the body"
        );
        assert!(
            decode_request(&frame(GET, b"\0\0\0\0")).is_err(),
            "an empty key"
        );
        assert!(
            decode_request(&frame(GET, b"\0\0\0\x01ax")).is_err(),
            "trailing bytes"
        );
        assert!(
            matches!(
                decode_request(&frame(GET, &[0, 0, 0x10, 0x01])),
                Err(ProtocolError::TooLarge { .. })
            ),
            "a key over 4 KiB"
        );
        let mut put = Vec::new();
        put_field(&mut put, b"k");
        put_field(&mut put, b"pk");
        put.push(9);
        assert!(
            matches!(
                decode_request(&frame(PUT, &put)),
                Err(ProtocolError::TooLarge { .. })
            ),
            "a chain of 9"
        );
        let mut put = Vec::new();
        put_field(&mut put, b"k");
        put_field(&mut put, b"pk");
        put.push(0);
        assert!(decode_request(&frame(PUT, &put)).is_err(), "an empty chain");
        // Every prefix of a valid frame fails cleanly.
        let whole = encode_request(&Request::Put {
            key: b"k".to_vec(),
            credential: cred(),
        });
        for cut in 0..whole.len() {
            assert!(
                read_request(&mut &whole[..cut]).is_err(),
                "a frame cut at {cut} is an error"
            );
        }
    }

    #[test]
    fn debug_does_not_print_the_private_key() {
        let text = format!("{:?}", Response::Found(cred()));
        assert!(!text.contains("7, 7"), "no key bytes in Debug: {text}");
    }
}
