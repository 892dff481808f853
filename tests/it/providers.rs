//! The ambient token providers Go gitsign gets from cosign — `spiffe` (the SPIFFE Workload
//! API over a unix socket) and `google-workload-identity` (the GCE metadata server) — end to
//! end: real `git commit -S` through our binary against the local stack, the token served by a
//! loopback fake (a unix-socket HTTP/2 gRPC server, an HTTP server on 127.0.0.1:0), and their
//! order and fall-through as cosign registers them: envvar, filesystem, github-actions,
//! buildkite-agent, spiffe, google-workload-identity, google-impersonate. (`google-impersonate`
//! calls the IAM credentials API over HTTPS, which no loopback fake can stand in for; its
//! requests are checked by unit tests in `src/oidc/providers/google.rs`.)

use std::io::{BufRead as _, BufReader, Read, Write};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::util::{self, gitsign_bin, output, run_with_stdin, TestRepo};

const IDENTITY: &str = "dev@example.com";

/// A clock shared by the fakes, so a test can tell which was asked first.
static TICK: AtomicUsize = AtomicUsize::new(1);

/// What a fake saw; served until dropped.
pub(crate) struct Fake {
    stop: Arc<AtomicBool>,
    /// Per request: (tick, raw request bytes as text).
    seen: Arc<Mutex<Vec<(usize, String)>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Fake {
    pub(crate) fn seen(&self) -> Vec<(usize, String)> {
        self.seen.lock().expect("lock").clone()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Accept connections on a non-blocking listener until `stop`, handing each to `serve`.
fn run<S: Read + Write + Send + 'static>(
    mut accept: impl FnMut() -> std::io::Result<S> + Send + 'static,
    serve: impl Fn(&mut S) -> String + Send + 'static,
) -> Fake {
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (s2, seen2) = (stop.clone(), seen.clone());
    let thread = std::thread::spawn(move || {
        while !s2.load(Ordering::SeqCst) {
            match accept() {
                Ok(mut conn) => {
                    let tick = TICK.fetch_add(1, Ordering::SeqCst);
                    let req = serve(&mut conn);
                    seen2.lock().expect("lock").push((tick, req));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    Fake {
        stop,
        seen,
        thread: Some(thread),
    }
}

/// The GCE metadata server: answers `token` to every request; returns it and its host:port.
fn metadata_server(token: String) -> (Fake, String) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.set_nonblocking(true).expect("nonblocking");
    let addr = l.local_addr().expect("addr").to_string();
    let fake = run(
        move || {
            let (s, _) = l.accept()?;
            s.set_nonblocking(false)?;
            s.set_read_timeout(Some(Duration::from_secs(10)))?;
            Ok(s)
        },
        move |s: &mut std::net::TcpStream| {
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let mut req = String::new();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                req.push_str(&line.to_ascii_lowercase());
            }
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/text\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{token}",
                token.len()
            );
            req
        },
    );
    (fake, addr)
}

fn varint(out: &mut Vec<u8>, mut v: usize) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Protobuf field `tag` of wire type 2 (length-delimited).
fn field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag << 3 | 2);
    varint(out, bytes.len());
    out.extend_from_slice(bytes);
}

fn h2_frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
}

/// An HPACK literal header without indexing, new name, no Huffman (RFC 7541 §6.2.2).
fn hpack_literal(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(0);
    for s in [name, value] {
        assert!(s.len() < 127);
        out.push(s.len() as u8);
        out.extend_from_slice(s.as_bytes());
    }
}

/// A SPIFFE Workload API on a unix socket: answers FetchJWTSVID with `token` (or, with
/// `None`, a gRPC error: trailers only, `grpc-status: 7`). Records the request's header block
/// and message, as text with the bytes escaped.
pub(crate) fn workload_api(path: &std::path::Path, token: Option<String>) -> Fake {
    let l = std::os::unix::net::UnixListener::bind(path).expect("bind socket");
    l.set_nonblocking(true).expect("nonblocking");
    run(
        move || {
            let (s, _) = l.accept()?;
            s.set_nonblocking(false)?;
            s.set_read_timeout(Some(Duration::from_secs(10)))?;
            Ok(s)
        },
        move |s: &mut std::os::unix::net::UnixStream| {
            let mut preface = [0u8; 24];
            if s.read_exact(&mut preface).is_err() {
                return "no preface".into();
            }
            let mut seen = String::from_utf8_lossy(&preface).into_owned();
            let mut out = Vec::new();
            h2_frame(&mut out, 0x4, 0, 0, &[]); // our SETTINGS
            let _ = s.write_all(&out);
            // Read until the client's DATA with END_STREAM on stream 1.
            loop {
                let mut head = [0u8; 9];
                if s.read_exact(&mut head).is_err() {
                    return seen + " | connection ended";
                }
                let len = (head[0] as usize) << 16 | (head[1] as usize) << 8 | head[2] as usize;
                let mut payload = vec![0; len];
                if s.read_exact(&mut payload).is_err() {
                    return seen + " | truncated";
                }
                seen.push_str(&format!(
                    " | frame type {} flags {} stream {}: {}",
                    head[3],
                    head[4],
                    u32::from_be_bytes([head[5], head[6], head[7], head[8]]),
                    payload.escape_ascii()
                ));
                if head[3] == 0 && head[4] & 1 == 1 {
                    break;
                }
            }
            let mut out = Vec::new();
            h2_frame(&mut out, 0x4, 1, 0, &[]); // SETTINGS ACK
            let mut block = vec![0x88]; // :status 200 (static table 8)
            hpack_literal(&mut block, "content-type", "application/grpc");
            match &token {
                Some(t) => {
                    h2_frame(&mut out, 0x1, 0x4, 1, &block);
                    let mut svid = Vec::new();
                    field(&mut svid, 1, b"spiffe://example.org/workload");
                    field(&mut svid, 2, t.as_bytes());
                    let mut msg = Vec::new();
                    field(&mut msg, 1, &svid);
                    let mut data = vec![0];
                    data.extend_from_slice(&(msg.len() as u32).to_be_bytes());
                    data.extend_from_slice(&msg);
                    h2_frame(&mut out, 0x0, 0, 1, &data);
                    let mut trailers = Vec::new();
                    hpack_literal(&mut trailers, "grpc-status", "0");
                    h2_frame(&mut out, 0x1, 0x4 | 0x1, 1, &trailers);
                }
                None => {
                    hpack_literal(&mut block, "grpc-status", "7");
                    hpack_literal(&mut block, "grpc-message", "no identity issued");
                    h2_frame(&mut out, 0x1, 0x4 | 0x1, 1, &block);
                }
            }
            let _ = s.write_all(&out);
            // Like a real server, keep the connection until the client closes it.
            let _ = std::io::copy(s, &mut std::io::sink());
            seen
        },
    )
}

/// Our binary in git's sign mode on a payload, with `env` and no SIGSTORE_ID_TOKEN:
/// (exit code, stdout, stderr).
fn sign(
    repo: &TestRepo,
    stack: &sigstore_local::Stack,
    env: &[(&str, String)],
) -> (i32, String, String) {
    let mut cmd = repo.gitsign();
    cmd.args(["--status-fd=2", "-bsau", IDENTITY]);
    util::stack_env(&mut cmd, stack);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_with_stdin(
        cmd,
        b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nambient\n",
    )
}

/// `git commit -S` through our binary with `env`; then `gitsign verify HEAD` for IDENTITY.
fn commit_and_verify(repo: &TestRepo, stack: &sigstore_local::Stack, env: &[(&str, String)]) {
    let mut cmd = repo.cmd("git");
    cmd.args(["-c", "gpg.format=x509", "-c"])
        .arg(format!("gpg.x509.program={}", gitsign_bin().display()))
        .args(["commit", "-q", "--allow-empty", "-S", "-m", "ambient"]);
    util::stack_env(&mut cmd, stack);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (code, _, err) = output(&mut cmd);
    assert_eq!(code, 0, "git commit -S with the ambient token: {err}");
    let mut v: Command = repo.gitsign();
    v.args([
        "verify",
        "--certificate-identity",
        IDENTITY,
        "--certificate-oidc-issuer",
        &stack.oidc_issuer(),
        "HEAD",
    ]);
    util::stack_env(&mut v, stack);
    let (code, out, err) = output(&mut v);
    assert_eq!(
        code, 0,
        "the commit is signed for the provider's identity: {out}{err}"
    );
}

#[test]
fn spiffe_workload_api_token_signs_a_commit() {
    let local = util::start_stack();
    let stack = &local.stack;
    let dir = tempfile::tempdir().expect("dir");
    let sock = dir.path().join("api.sock");
    let token = stack.mint_token(IDENTITY);
    let api = workload_api(&sock, Some(token.clone()));
    let repo = TestRepo::new();
    let env = [("SPIFFE_ENDPOINT_SOCKET", sock.display().to_string())];
    commit_and_verify(&repo, stack, &env);
    let seen = api.seen();
    assert_eq!(seen.len(), 1, "one FetchJWTSVID call: {seen:?}");
    let req = &seen[0].1;
    assert!(req.starts_with("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), "{req}");
    for want in [
        "/SpiffeWorkloadAPI/FetchJWTSVID",
        "application/grpc",
        "workload.spiffe.io\\x04true",
        // JWTSVIDRequest { audience: ["sigstore"] }, gRPC-framed, END_STREAM.
        "frame type 0 flags 1 stream 1: \\x00\\x00\\x00\\x00\\n\\n\\x08sigstore",
    ] {
        assert!(req.contains(want), "the request carries {want}: {req}");
    }

    // A `unix://` URL in the variable (go-spiffe's spelling) reaches the same socket.
    let env = [(
        "SPIFFE_ENDPOINT_SOCKET",
        format!("unix://{}", sock.display()),
    )];
    let (code, out, err) = sign(&repo, stack, &env);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("BEGIN SIGNED MESSAGE"), "{out}");
    assert!(!err.contains(&token), "the token is never printed: {err}");
}

#[test]
fn google_workload_identity_token_from_the_metadata_server_signs_a_commit() {
    let local = util::start_stack();
    let stack = &local.stack;
    let token = stack.mint_token(IDENTITY);
    let (md, host) = metadata_server(token.clone());
    let repo = TestRepo::new();
    commit_and_verify(&repo, stack, &[("GCE_METADATA_HOST", host.clone())]);
    let seen = md.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].1.starts_with("get /computemetadata/v1/instance/service-accounts/default/identity?audience=sigstore&format=full http/1.1\r\n"),
        "{seen:?}"
    );
    assert!(
        seen[0].1.contains("metadata-flavor: google\r\n"),
        "{seen:?}"
    );

    // Named explicitly, with gitsign.clientID as the audience.
    let (code, _, err) = sign(
        &repo,
        stack,
        &[
            ("GCE_METADATA_HOST", host.clone()),
            ("GITSIGN_TOKEN_PROVIDER", "google-workload-identity".into()),
            ("GITSIGN_OIDC_CLIENT_ID", "other-audience".into()),
        ],
    );
    assert_ne!(
        code, 0,
        "the stack's token is for 'sigstore', not the asked audience: {err}"
    );
    assert!(
        md.seen()
            .last()
            .is_some_and(|(_, r)| r.contains("audience=other-audience&")),
        "the audience asked for is the client ID: {:?}",
        md.seen()
    );
    assert!(!err.contains(&token), "the token is never printed: {err}");
}

#[test]
fn ambient_providers_go_in_cosigns_order_and_fall_through_on_failure() {
    let local = util::start_stack();
    let stack = &local.stack;
    let dir = tempfile::tempdir().expect("dir");
    let sock = dir.path().join("api.sock");
    let token = stack.mint_token(IDENTITY);
    let failing = workload_api(&sock, None);
    let (md, host) = metadata_server(token.clone());
    let repo = TestRepo::new();
    let both = [
        ("SPIFFE_ENDPOINT_SOCKET", sock.display().to_string()),
        ("GCE_METADATA_HOST", host.clone()),
    ];
    // spiffe comes first and fails (gRPC status 7); google-workload-identity then serves.
    let (code, out, err) = sign(&repo, stack, &both);
    assert_eq!(code, 0, "falls through to the next provider: {err}");
    assert!(out.contains("BEGIN SIGNED MESSAGE"), "{out}");
    let (s, g) = (failing.seen(), md.seen());
    assert_eq!((s.len(), g.len()), (1, 1), "each asked once: {s:?} {g:?}");
    assert!(s[0].0 < g[0].0, "spiffe before google-workload-identity");

    // Configured, only that provider is used: its failure is the answer, with a hint.
    let mut env = both.to_vec();
    env.push(("GITSIGN_TOKEN_PROVIDER", "spiffe".into()));
    let (code, _, err) = sign(&repo, stack, &env);
    assert_ne!(code, 0, "the configured provider's failure stands: {err}");
    assert!(
        err.contains("spiffe") && err.contains("no JWT-SVID"),
        "{err}"
    );
    assert!(err.contains("Hint:"), "{err}");
    assert_eq!(md.seen().len(), 1, "google was not asked");
    assert!(!err.contains(&token), "no token printed: {err}");

    // SIGSTORE_ID_TOKEN (envvar) comes before both: neither fake is asked.
    let mut env = both.to_vec();
    env.push(("SIGSTORE_ID_TOKEN", token.clone()));
    let (code, _, err) = sign(&repo, stack, &env);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        (failing.seen().len(), md.seen().len()),
        (2, 1),
        "envvar wins"
    );
}
