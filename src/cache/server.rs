//! The `gitsign-credential-cache` daemon's core: the socket it listens on, the uid check on
//! every connection, and the in-memory table ([`Memory`]) with the expiry rule.
//!
//! Security model (issue 6): the socket's directory is one nobody else can write (0700 when we
//! create it; a shared sticky one such as /tmp is left as it is) and the socket 0600; on top of
//! that the peer's uid is read with `SO_PEERCRED` on every connection and anything but our own
//! uid is closed unanswered — file modes can be loosened by mistake, the kernel's answer
//! cannot. Keys live only in [`Memory`], in zeroizing buffers, wiped when they expire (checked
//! on every request and by a sweep every [`SWEEP_INTERVAL`]), when replaced and on exit.
//!
//! A connection that sends anything malformed, oversized or slower than [`IO_TIMEOUT`] is
//! closed; nothing a client sends can panic the daemon. At most [`MAX_CONNECTIONS`] are served
//! at once (one thread each); more are closed at once.

use std::collections::HashMap;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::protocol::{self, Credential, Request, Response};

/// Longest a client may take to send a request or read an answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests served on one connection before it is closed.
pub const MAX_REQUESTS_PER_CONNECTION: usize = 16;
/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 64;
/// Entries kept at once; the soonest to expire is dropped to make room.
pub const MAX_ENTRIES: usize = 256;
/// How often expired entries are wiped even when nobody asks.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The daemon's table: credentials by cache key, each with its certificate's `notAfter`.
pub struct Memory {
    entries: HashMap<Vec<u8>, (Credential, i64)>,
    min_validity: i64,
}

impl Memory {
    /// `min_validity` is raised to [`super::MIN_VALIDITY_SECS`] if lower.
    pub fn new(min_validity: i64) -> Memory {
        Memory {
            entries: HashMap::new(),
            min_validity: min_validity.max(super::MIN_VALIDITY_SECS),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drop (and so wipe) every entry with less than the minimum left at `now`.
    pub fn purge(&mut self, now: i64) {
        let min = self.min_validity;
        self.entries
            .retain(|_, (_, not_after)| not_after.saturating_sub(now) >= min);
    }

    /// Wipe everything (exit).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Answer one request at `now`.
    pub fn handle(&mut self, req: Request, now: i64) -> Response {
        self.purge(now);
        match req {
            Request::Get { key } => match self.entries.get(&key) {
                Some((c, _)) => Response::Found(c.clone()),
                None => Response::Missing,
            },
            Request::Put { key, credential } => {
                let not_after = match super::check_validity(&credential, now, self.min_validity) {
                    Ok(t) => t,
                    Err(why) => return Response::Refused(why.to_string()),
                };
                if !self.entries.contains_key(&key) && self.entries.len() >= MAX_ENTRIES {
                    let soonest = self
                        .entries
                        .iter()
                        .min_by_key(|(_, (_, t))| *t)
                        .map(|(k, _)| k.clone());
                    if let Some(k) = soonest {
                        self.entries.remove(&k);
                    }
                }
                self.entries.insert(key, (credential, not_after));
                Response::Stored
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot create the socket directory '{path}'")]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the socket directory '{path}' belongs to uid {owner}, not to this user")]
    ForeignDirectory { path: PathBuf, owner: u32 },
    #[error("others may replace the socket in '{path}' (mode {mode:o}, writable by group or others, not sticky)")]
    UnsafeDirectory { path: PathBuf, mode: u32 },
    #[error("'{0}' exists and is not a socket")]
    NotASocket(PathBuf),
    #[error("another credential cache is already listening on '{0}'")]
    InUse(PathBuf),
    #[error("cannot listen on '{path}'")]
    Bind {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("checking the peer's uid is not implemented on this system")]
    NoPeerCredentials,
}

/// The uid this process runs as (the socket's owner).
pub fn own_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// The uid of the process at the other end, from the kernel (`SO_PEERCRED`).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn peer_uid(stream: &UnixStream) -> std::io::Result<u32> {
    Ok(rustix::net::sockopt::socket_peercred(stream)?.uid.as_raw())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn peer_uid(_stream: &UnixStream) -> std::io::Result<u32> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "SO_PEERCRED is Linux-only",
    ))
}

/// Listen on `path`: its directory created 0700 when missing, an existing one checked and left
/// as it is, a leftover socket nobody answers on replaced, the new socket 0600.
pub fn bind(path: &Path) -> Result<UnixListener, ServerError> {
    if cfg!(not(any(target_os = "linux", target_os = "android"))) {
        return Err(ServerError::NoPeerCredentials);
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    socket_directory(dir)?;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(ServerError::NotASocket(path.to_owned()));
        }
        if UnixStream::connect(path).is_ok() {
            return Err(ServerError::InUse(path.to_owned()));
        }
        std::fs::remove_file(path).map_err(|source| ServerError::Bind {
            path: path.to_owned(),
            source,
        })?;
    }
    let bind_err = |source| ServerError::Bind {
        path: path.to_owned(),
        source,
    };
    let listener = UnixListener::bind(path).map_err(bind_err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(bind_err)?;
    Ok(listener)
}

/// Make sure the socket's directory exists and nobody else can replace the socket in it.
///
/// A directory we create (with its missing parents) is 0700. One that exists keeps its mode
/// and owner — it may be shared (`--socket /tmp/x.sock`: chmodding /tmp to 0700 would strip
/// its sticky bit from everyone; issue 16.6) — but is refused when it belongs to another user
/// (root excepted) or others may write it without the sticky bit, as then anyone could swap
/// the socket for their own ([`crate::fsutil::private_dir`]). The clients' `SO_PEERCRED` check of
/// the daemon stays the last word.
fn socket_directory(dir: &Path) -> Result<(), ServerError> {
    use crate::fsutil::DirError;
    crate::fsutil::private_dir(dir)
        .map(|_| ())
        .map_err(|e| match e {
            DirError::Io { path, source } => ServerError::Directory { path, source },
            DirError::NotADirectory { path } => ServerError::Directory {
                path,
                source: std::io::Error::other("not a directory"),
            },
            DirError::Foreign { path, owner } => ServerError::ForeignDirectory { path, owner },
            DirError::Open { path, mode } => ServerError::UnsafeDirectory { path, mode },
        })
}

/// Where the daemon reports (never key material): stderr in the binary, a buffer in tests.
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

fn lock(m: &Mutex<Memory>) -> std::sync::MutexGuard<'_, Memory> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Wipe expired entries every [`SWEEP_INTERVAL`], for as long as the process lives.
pub fn spawn_sweeper(memory: Arc<Mutex<Memory>>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("cache-sweep".into())
        .spawn(move || loop {
            std::thread::sleep(SWEEP_INTERVAL);
            lock(&memory).purge(now_unix());
        })?;
    Ok(())
}

/// Accept connections until the listener fails; each one is checked and served on its own
/// thread.
pub fn serve(listener: UnixListener, memory: Arc<Mutex<Memory>>, log: Log) -> std::io::Result<()> {
    let me = own_uid();
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log(&format!("gitsign-credential-cache: accept failed: {e}\n"));
                // Out of descriptors or similar: back off rather than spin.
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        match peer_uid(&stream) {
            Ok(uid) if uid == me => {}
            Ok(uid) => {
                log(&format!("gitsign-credential-cache: refused a connection from uid {uid} (serving uid {me} only)\n"));
                continue;
            }
            Err(e) => {
                log(&format!("gitsign-credential-cache: refused a connection whose uid cannot be read: {e}\n"));
                continue;
            }
        }
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            log("gitsign-credential-cache: too many connections; closed one\n");
            continue;
        }
        let (memory, conn_log, guard) = (memory.clone(), log.clone(), Active(active.clone()));
        let spawned = std::thread::Builder::new()
            .name("cache-conn".into())
            .spawn(move || {
                let _guard = guard;
                serve_connection(stream, &memory, &conn_log);
            });
        if let Err(e) = spawned {
            log(&format!(
                "gitsign-credential-cache: cannot start a thread: {e}\n"
            ));
        }
    }
    Ok(())
}

/// Counts a connection until its thread ends (or fails to start).
struct Active(Arc<AtomicUsize>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn serve_connection(mut stream: UnixStream, memory: &Mutex<Memory>, log: &Log) {
    if stream.set_read_timeout(Some(IO_TIMEOUT)).is_err()
        || stream.set_write_timeout(Some(IO_TIMEOUT)).is_err()
    {
        return;
    }
    for _ in 0..MAX_REQUESTS_PER_CONNECTION {
        let req = match protocol::read_request(&mut stream) {
            Ok(r) => r,
            // A client that is done closes between frames: not worth a line.
            Err(protocol::ProtocolError::Truncated) => return,
            Err(e) => {
                log(&format!(
                    "gitsign-credential-cache: closed a connection: {e}\n"
                ));
                return;
            }
        };
        let resp = lock(memory).handle(req, now_unix());
        if protocol::write_frame(&mut stream, &protocol::encode_response(&resp)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    /// A self-signed certificate valid until `not_after` (Unix time), via ring and our DER
    /// helpers: enough for the table, which reads only `notAfter`.
    fn cert_until(not_after: i64) -> Vec<u8> {
        use crate::der::tlv;
        use crate::der::{INTEGER, SEQUENCE};
        let time = |t: i64| {
            let s = chrono::DateTime::from_timestamp(t, 0)
                .expect("time")
                .format("%Y%m%d%H%M%SZ")
                .to_string();
            tlv(0x18, s.as_bytes())
        };
        let key = crate::key::EphemeralKey::generate().expect("key");
        let alg = tlv(
            SEQUENCE,
            &tlv(0x06, crate::oid::ECDSA_WITH_SHA256.as_bytes()),
        );
        let name = tlv(SEQUENCE, &[]);
        let tbs = tlv(
            SEQUENCE,
            &[
                tlv(0xa0, &tlv(INTEGER, &[2])),
                tlv(INTEGER, &[1]),
                alg.clone(),
                name.clone(),
                tlv(SEQUENCE, &[time(not_after - 600), time(not_after)].concat()),
                name,
                key.spki_der(),
            ]
            .concat(),
        );
        let sig = key.sign(&tbs).expect("sign");
        let mut bits = vec![0];
        bits.extend(sig);
        tlv(SEQUENCE, &[tbs, alg, tlv(0x03, &bits)].concat())
    }

    fn cred(not_after: i64) -> Credential {
        Credential {
            private_key: Zeroizing::new(vec![9; 138]),
            chain: vec![cert_until(not_after)],
        }
    }

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn entries_are_served_until_30_seconds_before_expiry_and_then_wiped() {
        let mut m = Memory::new(super::super::MIN_VALIDITY_SECS);
        let put = Request::Put {
            key: b"k".to_vec(),
            credential: cred(NOW + 600),
        };
        assert_eq!(
            m.handle(put, NOW),
            Response::Stored,
            "a fresh credential is kept"
        );
        let get = || Request::Get { key: b"k".to_vec() };
        assert!(
            matches!(m.handle(get(), NOW + 570), Response::Found(_)),
            "30 s left: still served"
        );
        assert_eq!(
            m.handle(get(), NOW + 571),
            Response::Missing,
            "29 s left: never handed out"
        );
        assert!(
            m.is_empty(),
            "the expiring entry was dropped, wiping its key"
        );
        assert_eq!(
            m.handle(
                Request::Get {
                    key: b"other".to_vec()
                },
                NOW
            ),
            Response::Missing,
            "unknown key"
        );
    }

    #[test]
    fn a_credential_that_is_already_expiring_is_refused() {
        let mut m = Memory::new(5);
        let put = Request::Put {
            key: b"k".to_vec(),
            credential: cred(NOW + 20),
        };
        assert!(
            matches!(m.handle(put, NOW), Response::Refused(r) if r.contains("20 s left")),
            "below 30 s even with a lower setting"
        );
        let garbage = Credential {
            private_key: Zeroizing::new(vec![1]),
            chain: vec![b"junk".to_vec()],
        };
        assert!(
            matches!(
                m.handle(
                    Request::Put {
                        key: b"k".to_vec(),
                        credential: garbage
                    },
                    NOW
                ),
                Response::Refused(_)
            ),
            "an unparsable leaf"
        );
        assert!(m.is_empty(), "nothing was kept");
    }

    #[test]
    fn a_larger_margin_is_honoured_and_the_table_is_bounded() {
        let mut m = Memory::new(300);
        assert_eq!(
            m.handle(
                Request::Put {
                    key: b"k".to_vec(),
                    credential: cred(NOW + 600)
                },
                NOW
            ),
            Response::Stored
        );
        assert_eq!(
            m.handle(Request::Get { key: b"k".to_vec() }, NOW + 301),
            Response::Missing,
            "299 s left < 300 s configured"
        );
        let mut m = Memory::new(30);
        let c = cred(NOW + 600);
        for i in 0..MAX_ENTRIES + 10 {
            let r = m.handle(
                Request::Put {
                    key: format!("k{i}").into_bytes(),
                    credential: c.clone(),
                },
                NOW,
            );
            assert_eq!(r, Response::Stored, "entry {i}");
        }
        assert_eq!(m.len(), MAX_ENTRIES, "the table never grows past its limit");
        m.clear();
        assert!(m.is_empty(), "clear wipes everything");
    }
}
