//! gitsign's side of the credential cache: one request per connection to the daemon's Unix
//! socket ([`super::protocol`]), with short timeouts so a hung daemon costs seconds, not the
//! signature. The daemon must run as our own user: a socket served by another uid is refused
//! here too, since a key from it could be someone else's.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::protocol::{self, Credential, ProtocolError, Request, Response};

/// Connect, send and receive within this much each: the daemon answers from memory.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to '{path}'")]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the daemon on '{path}' runs as uid {uid}, not as this user")]
    ForeignDaemon { path: PathBuf, uid: u32 },
    #[error("cannot tell which user runs the daemon on '{path}'")]
    PeerUnknown {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the daemon closed the connection or sent a bad answer")]
    Protocol(#[source] ProtocolError),
    #[error("the daemon refused: {0}")]
    Refused(String),
    #[error("the daemon sent an answer that does not fit the request")]
    Unexpected,
}

fn exchange(path: &Path, req: &Request) -> Result<Response, ClientError> {
    let connect = |source| ClientError::Connect {
        path: path.to_owned(),
        source,
    };
    let mut stream = UnixStream::connect(path).map_err(connect)?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(connect)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(connect)?;
    // Never skipped: a daemon whose uid cannot be read is not trusted with a key.
    match super::server::peer_uid(&stream) {
        Ok(uid) if uid == super::server::own_uid() => {}
        Ok(uid) => {
            return Err(ClientError::ForeignDaemon {
                path: path.to_owned(),
                uid,
            })
        }
        Err(source) => {
            return Err(ClientError::PeerUnknown {
                path: path.to_owned(),
                source,
            })
        }
    }
    protocol::write_frame(&mut stream, &protocol::encode_request(req))
        .map_err(ClientError::Protocol)?;
    match protocol::read_response(&mut stream).map_err(ClientError::Protocol)? {
        Response::Refused(why) => Err(ClientError::Refused(why)),
        other => Ok(other),
    }
}

/// The credential filed under `key`, if the daemon holds a usable one.
pub fn get(path: &Path, key: &[u8]) -> Result<Option<Credential>, ClientError> {
    match exchange(path, &Request::Get { key: key.to_vec() })? {
        Response::Found(c) => Ok(Some(c)),
        Response::Missing => Ok(None),
        _ => Err(ClientError::Unexpected),
    }
}

/// File `credential` under `key`.
pub fn put(path: &Path, key: &[u8], credential: &Credential) -> Result<(), ClientError> {
    match exchange(
        path,
        &Request::Put {
            key: key.to_vec(),
            credential: credential.clone(),
        },
    )? {
        Response::Stored => Ok(()),
        _ => Err(ClientError::Unexpected),
    }
}
