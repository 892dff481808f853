//! The credential cache end to end (issue 6): the real `gitsign-credential-cache` daemon, real
//! `git commit -S` and gitsign's gpg mode against the local Sigstore stack, with logins and
//! certificates counted at the stack. Everything reaches gitsign through the variables a user
//! would set (`GITSIGN_CREDENTIAL_CACHE`, `GITSIGN_CACHE_SCOPE`, `GITSIGN_CREDENTIAL_STORE`).

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sigstore_local::Stack;

use crate::util::{
    gitsign_bin, hermetic, output, stack_env as sigstore_env, start_stack, TestRepo,
};

const IDENTITY: &str = "dev@example.com";
const CERTS: &str = "POST /api/v2/signingCert";
const LOGINS: &str = "POST /oidc/token";

fn daemon_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gitsign-credential-cache"))
}

/// A running daemon, killed when dropped.
struct Daemon {
    child: Child,
    socket: PathBuf,
    log: PathBuf,
    dir: tempfile::TempDir,
}

impl Daemon {
    fn start(args: &[&str]) -> Daemon {
        let dir = tempfile::tempdir().expect("daemon dir");
        let socket = dir.path().join("sigstore/gitsign/cache.sock");
        Daemon::start_at(dir, socket, args)
    }

    fn start_at(dir: tempfile::TempDir, socket: PathBuf, args: &[&str]) -> Daemon {
        let log = dir.path().join("daemon.log");
        let child = hermetic(daemon_bin(), dir.path())
            .arg("--socket")
            .arg(&socket)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("daemon log"))
            .spawn()
            .expect("spawn gitsign-credential-cache");
        let d = Daemon {
            child,
            socket,
            log,
            dir,
        };
        d.wait_ready();
        d
    }

    fn wait_ready(&self) {
        let started = Instant::now();
        while UnixStream::connect(&self.socket).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the daemon listens within 10 s: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `git commit -S` through gitsign with the browser login answered by curl, so every login is
/// one `POST /oidc/token` at the stack. Human text goes to `log`.
fn commit(
    repo: &TestRepo,
    stack: &Stack,
    env: &[(&str, &Path)],
    log: &Path,
    msg: &str,
) -> (i32, String) {
    let mut cmd = repo.cmd("git");
    cmd.args(["-c", "gpg.format=x509", "-c"])
        .arg(format!("gpg.x509.program={}", gitsign_bin().display()))
        .args(["commit", "--allow-empty", "-S", "-q", "-m", msg])
        .env("GITSIGN_URL_OPENER", "curl -sfL {{.URL}}")
        .env("GITSIGN_LOG", log);
    sigstore_env(&mut cmd, stack);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (code, _, err) = output(&mut cmd);
    (code, err)
}

/// gitsign in git's sign mode with `SIGSTORE_ID_TOKEN`; (code, stdout, stderr).
fn gpg_sign(cmd: Command, stack: &Stack, token: &str) -> (i32, Vec<u8>, String) {
    let mut cmd = cmd;
    cmd.args(["--status-fd=2", "-bsau", "Test Author <author@example.com>"])
        .env("SIGSTORE_ID_TOKEN", token);
    sigstore_env(&mut cmd, stack);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gitsign");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\ncached\n")
        .expect("payload");
    let out = child.wait_with_output().expect("gitsign runs");
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn signer(dir: &Path, socket: &Path) -> Command {
    let mut cmd = hermetic(gitsign_bin(), dir);
    cmd.current_dir(dir).env("GITSIGN_CREDENTIAL_CACHE", socket);
    cmd
}

/// The SHA-1 fingerprint of the certificate in HEAD's signature.
fn head_cert(repo: &TestRepo) -> String {
    let raw = repo.git(&["cat-file", "commit", "HEAD"]);
    let split =
        gitsign::git::object::split_commit(raw.as_bytes(), gitsign::git::object::HashKind::Sha1)
            .expect("HEAD is signed");
    let msg = gitsign::cms::parse(&split.signature).expect("signature parses");
    gitsign::x509::Cert::parse(&msg.certificates[0])
        .expect("leaf")
        .sha1_fingerprint()
}

fn verify_head(repo: &TestRepo, stack: &Stack) {
    let mut cmd = repo.gitsign();
    cmd.args([
        "verify",
        "--certificate-identity",
        IDENTITY,
        "--certificate-oidc-issuer",
    ])
    .arg(stack.oidc_issuer())
    .arg("HEAD");
    sigstore_env(&mut cmd, stack);
    let (code, out, err) = output(&mut cmd);
    assert_eq!(
        code, 0,
        "the commit signed with cached credentials verifies: {out}{err}"
    );
}

#[test]
fn two_commits_through_the_cache_cost_one_login_and_one_certificate() {
    let local = start_stack();
    let stack = &local.stack;
    let daemon = Daemon::start(&[]);
    let repo = TestRepo::new();
    let log = repo.path().join(".git/gitsign.log");
    let env = [("GITSIGN_CREDENTIAL_CACHE", daemon.socket.as_path())];

    let (code, err) = commit(&repo, stack, &env, &log, "first");
    assert_eq!(code, 0, "the first commit logs in and signs: {err}");
    let first = head_cert(&repo);
    let (code, err) = commit(&repo, stack, &env, &log, "second");
    assert_eq!(code, 0, "the second commit signs from the cache: {err}");
    assert_eq!(stack.request_count(LOGINS), 1, "one login for two commits");
    assert_eq!(
        stack.request_count(CERTS),
        1,
        "one Fulcio request for two commits"
    );
    assert_eq!(
        stack.log_size(),
        2,
        "every signature is still logged in Rekor"
    );
    assert_eq!(
        head_cert(&repo),
        first,
        "the second commit carries the cached certificate"
    );
    verify_head(&repo, stack);
    let text = std::fs::read_to_string(&log).expect("GITSIGN_LOG");
    assert!(
        !text.contains("signing in again"),
        "a healthy cache says nothing about itself: {text}"
    );

    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(
        mode(daemon.socket.parent().expect("dir")),
        0o700,
        "the socket directory is private"
    );
    assert_eq!(mode(&daemon.socket), 0o600, "the socket is private");
    assert!(
        !daemon.log_text().contains("BEGIN"),
        "no key or certificate reaches the daemon's log: {}",
        daemon.log_text()
    );
}

#[test]
fn the_directory_scope_separates_repositories_and_the_user_scope_shares_one_login() {
    let local = start_stack();
    let stack = &local.stack;
    let daemon = Daemon::start(&[]);
    let (a, b, c) = (TestRepo::new(), TestRepo::new(), TestRepo::new());
    let log = a.path().join(".git/gitsign.log");
    let env = [("GITSIGN_CREDENTIAL_CACHE", daemon.socket.as_path())];
    for repo in [&a, &b] {
        let (code, err) = commit(repo, stack, &env, &log, "dir scope");
        assert_eq!(code, 0, "signs: {err}");
    }
    assert_eq!(
        stack.request_count(LOGINS),
        2,
        "by default, like Go gitsign, each repository logs in once"
    );
    let user = [
        ("GITSIGN_CREDENTIAL_CACHE", daemon.socket.as_path()),
        ("GITSIGN_CACHE_SCOPE", Path::new("user")),
    ];
    for repo in [&a, &b, &c] {
        let (code, err) = commit(repo, stack, &user, &log, "user scope");
        assert_eq!(code, 0, "signs: {err}");
    }
    assert_eq!(
        stack.request_count(LOGINS),
        3,
        "gitsign.cacheScope=user: one login serves every repository"
    );
    assert_eq!(stack.request_count(CERTS), 3, "and one certificate");
}

#[test]
fn twenty_parallel_signers_share_one_daemon() {
    let local = start_stack();
    let stack = &local.stack;
    let daemon = Daemon::start(&[]);
    let dir = tempfile::tempdir().expect("dir");
    let token = stack.mint_token(IDENTITY);
    let (code, _, err) = gpg_sign(signer(dir.path(), &daemon.socket), stack, &token);
    assert_eq!(code, 0, "the first signer fills the cache: {err}");
    let results: Vec<(i32, Vec<u8>, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|_| s.spawn(|| gpg_sign(signer(dir.path(), &daemon.socket), stack, &token)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("signer thread"))
            .collect()
    });
    for (i, (code, out, err)) in results.iter().enumerate() {
        assert_eq!(*code, 0, "parallel signer {i} succeeds: {err}");
        assert!(
            out.starts_with(b"-----BEGIN SIGNED MESSAGE-----"),
            "signer {i} printed a signature"
        );
        assert!(
            !err.contains("signing in again"),
            "signer {i} used the cache: {err}"
        );
    }
    assert_eq!(
        stack.request_count(CERTS),
        1,
        "21 signatures, one certificate"
    );
    assert_eq!(stack.log_size(), 21, "21 Rekor entries");
    assert!(
        !daemon.log_text().contains("closed a connection"),
        "no connection failed: {}",
        daemon.log_text()
    );
}

#[test]
fn a_client_of_another_uid_is_refused_even_when_the_socket_mode_allows_it() {
    assert_eq!(
        current_uid(),
        0,
        "this test switches users with setpriv, which needs root"
    );
    let local = start_stack();
    let stack = &local.stack;
    let daemon = Daemon::start(&[]);
    // Fill the cache under the user scope, so a foreign signer would ask for the same entry.
    let public = tempfile::tempdir().expect("dir");
    let token = stack.mint_token(IDENTITY);
    let mut own = signer(public.path(), &daemon.socket);
    own.env("GITSIGN_CACHE_SCOPE", "user");
    let (code, _, err) = gpg_sign(own, stack, &token);
    assert_eq!(code, 0, "our own signer fills the cache: {err}");
    assert_eq!(stack.request_count(CERTS), 1);

    // Open every door the file system has: only the daemon's uid check stands.
    for d in [
        daemon.dir.path(),
        &daemon.dir.path().join("sigstore"),
        daemon.socket.parent().expect("dir"),
        public.path(),
    ] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    }
    std::fs::set_permissions(&daemon.socket, std::fs::Permissions::from_mode(0o666))
        .expect("chmod socket");
    let root = public.path().join("trusted_root.json");
    std::fs::copy(stack.trusted_root_path(), &root)
        .expect("copy the trust root where nobody can read it");
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o644)).expect("chmod");

    // A raw client: a valid Get frame; the daemon must close without a byte.
    let perl = r#"use IO::Socket::UNIX; $SIG{PIPE} = "IGNORE"; my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect: $!\n";
        print $s "gscc\x01\x01\x00\x00\x00\x05\x00\x00\x00\x01k"; my $n = sysread($s, my $buf, 100); print defined $n ? $n : "error";"#;
    let raw = |as_nobody: bool| {
        let mut cmd = if as_nobody {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "perl"]);
            c
        } else {
            Command::new("perl")
        };
        output(cmd.args(["-e", perl]).arg(&daemon.socket))
    };
    let (code, got, err) = raw(false);
    assert_eq!(
        (code, got.as_str()),
        (0, "10"),
        "our own uid gets an answer (Missing: a 10-byte header, no body): {err}"
    );
    let (code, got, err) = raw(true);
    assert_eq!(
        code, 0,
        "uid 65534 can connect, the file mode allows it: {err}"
    );
    assert!(
        got == "0" || got == "error",
        "uid 65534 gets no answer at all, got {got}"
    );
    assert!(
        daemon
            .log_text()
            .contains("refused a connection from uid 65534"),
        "the daemon says whom it refused: {}",
        daemon.log_text()
    );

    // gitsign itself as uid 65534: falls back to a login of its own and says so.
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(gitsign_bin())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", public.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GITSIGN_CREDENTIAL_CACHE", &daemon.socket)
        .env("GITSIGN_CACHE_SCOPE", "user")
        .current_dir(public.path());
    let (code, out, err) = {
        cmd.args(["--status-fd=2", "-bsau", "x"])
            .env("SIGSTORE_ID_TOKEN", &token);
        cmd.env("GITSIGN_FULCIO_URL", stack.fulcio_url())
            .env("GITSIGN_REKOR_URL", stack.rekor_url())
            .env("GITSIGN_OIDC_ISSUER", stack.oidc_issuer())
            .env("GITSIGN_TRUSTED_ROOT", &root);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"payload\n")
            .expect("payload");
        let o = child.wait_with_output().expect("runs");
        (
            o.status.code().unwrap_or(-1),
            o.stdout,
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    assert_eq!(
        code, 0,
        "the foreign user still signs, with its own login: {err}"
    );
    assert!(
        out.starts_with(b"-----BEGIN SIGNED MESSAGE-----"),
        "a signature on stdout"
    );
    assert_eq!(
        err.matches("signing in again").count(),
        1,
        "the fallback is said once: {err}"
    );
    assert_eq!(
        stack.request_count(CERTS),
        2,
        "the cached credential was not handed to another uid"
    );
}

fn current_uid() -> u32 {
    let (_, out, _) = output(Command::new("id").arg("-u"));
    out.trim().parse().unwrap_or(u32::MAX)
}

#[test]
fn entries_within_the_margin_are_not_served() {
    let local = start_stack();
    let stack = &local.stack;
    // The stack's certificates last 600 s; a 595 s margin lets an entry be served for ~5 s.
    let daemon = Daemon::start(&["--min-validity", "595"]);
    let dir = tempfile::tempdir().expect("dir");
    let token = stack.mint_token(IDENTITY);
    let (code, _, err) = gpg_sign(signer(dir.path(), &daemon.socket), stack, &token);
    assert_eq!(code, 0, "signs: {err}");
    let (code, _, err) = gpg_sign(signer(dir.path(), &daemon.socket), stack, &token);
    assert_eq!(code, 0, "signs: {err}");
    assert_eq!(
        stack.request_count(CERTS),
        1,
        "while more than the margin is left, the entry is served"
    );
    std::thread::sleep(Duration::from_secs(7));
    let (code, _, err) = gpg_sign(signer(dir.path(), &daemon.socket), stack, &token);
    assert_eq!(code, 0, "signs after a fresh login: {err}");
    assert_eq!(
        stack.request_count(CERTS),
        2,
        "an entry with less than the margin left is not handed out"
    );
    let (code, _, err) = gpg_sign(signer(dir.path(), &daemon.socket), stack, &token);
    assert_eq!(code, 0, "signs: {err}");
    assert_eq!(
        stack.request_count(CERTS),
        2,
        "the fresh credential replaced it"
    );

    let (code, _, err) = output(Command::new(daemon_bin()).args(["--min-validity", "29"]));
    assert_eq!(code, 2, "the margin cannot go below 30 s: {err}");
}

#[test]
fn a_killed_daemon_costs_one_fresh_login_and_the_signature_still_happens() {
    let local = start_stack();
    let stack = &local.stack;
    let mut daemon = Daemon::start(&[]);
    let socket = daemon.socket.clone();
    let repo = TestRepo::new();
    let log = repo.path().join(".git/gitsign.log");
    let env = [("GITSIGN_CREDENTIAL_CACHE", socket.as_path())];
    let (code, err) = commit(&repo, stack, &env, &log, "one");
    assert_eq!(code, 0, "signs: {err}");
    daemon.kill();
    assert!(socket.exists(), "SIGKILL leaves the socket file behind");

    let (code, err) = commit(&repo, stack, &env, &log, "two");
    assert_eq!(code, 0, "gitsign still signs with the daemon gone: {err}");
    assert_eq!(stack.request_count(LOGINS), 2, "after a fresh login");
    let text = std::fs::read_to_string(&log).expect("GITSIGN_LOG");
    assert_eq!(
        text.matches("is unavailable").count(),
        1,
        "and says so once: {text}"
    );
    verify_head(&repo, stack);

    // A new daemon on the same path replaces the dead socket and caches again.
    let dir = tempfile::tempdir().expect("dir");
    let restarted = Daemon::start_at(dir, socket.clone(), &[]);
    for msg in ["three", "four"] {
        let (code, err) = commit(&repo, stack, &env, &log, msg);
        assert_eq!(code, 0, "signs: {err}");
    }
    assert_eq!(
        stack.request_count(LOGINS),
        3,
        "one login fills the new daemon"
    );
    assert!(
        restarted.log_text().contains("listening on"),
        "{}",
        restarted.log_text()
    );
}

#[test]
fn sigterm_wipes_the_keys_removes_the_socket_and_exits_cleanly() {
    let mut daemon = Daemon::start(&[]);
    let (code, _, err) =
        output(Command::new("kill").args(["-TERM", &daemon.child.id().to_string()]));
    assert_eq!(code, 0, "kill works: {err}");
    let status = daemon.child.wait().expect("the daemon exits");
    assert_eq!(
        status.code(),
        Some(0),
        "a clean exit: {}",
        daemon.log_text()
    );
    assert!(!daemon.socket.exists(), "the socket it created is gone");
    assert!(
        daemon.log_text().contains("credentials wiped"),
        "{}",
        daemon.log_text()
    );
    let (code, _, err) = output(Command::new(daemon_bin()).arg("--systemd-socket-activation"));
    assert_eq!(
        code, 2,
        "socket activation without a passed socket is an error: {err}"
    );
    assert!(
        err.contains("LISTEN_FDS"),
        "which names what is missing: {err}"
    );
}

#[test]
fn malformed_and_oversized_requests_close_the_connection_and_the_daemon_lives_on() {
    let mut daemon = Daemon::start(&[]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "an HTTP request",
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
        ("a 4 GiB length", b"gscc\x01\x01\xff\xff\xff\xff".to_vec()),
        (
            "a body over 64 KiB",
            [b"gscc\x01\x02\x00\x01\x00\x01".to_vec(), vec![0; 65537]].concat(),
        ),
        (
            "version 2",
            b"gscc\x02\x01\x00\x00\x00\x05\x00\x00\x00\x01k".to_vec(),
        ),
        ("an unknown kind", b"gscc\x01\x7f\x00\x00\x00\x00".to_vec()),
        (
            "a field longer than its body",
            b"gscc\x01\x01\x00\x00\x00\x05\x00\x00\x10\x00k".to_vec(),
        ),
        (
            "a Put with a chain of 200",
            b"gscc\x01\x02\x00\x00\x00\x0f\x00\x00\x00\x01k\x00\x00\x00\x01p\xc8\x00\x00\x00\x00"
                .to_vec(),
        ),
        (
            "a Put whose certificate is garbage",
            b"gscc\x01\x02\x00\x00\x00\x11\x00\x00\x00\x01k\x00\x00\x00\x01p\x01\x00\x00\x00\x02xx"
                .to_vec(),
        ),
        ("a truncated header", b"gscc\x01".to_vec()),
        (
            "a megabyte of noise",
            (0..1_048_576u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
                .collect(),
        ),
    ];
    for (what, bytes) in &cases {
        let mut s = UnixStream::connect(&daemon.socket).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let _ = s.write_all(bytes);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        if *what == "a Put whose certificate is garbage" {
            let resp = gitsign::cache::protocol::read_response(&mut answer.as_slice())
                .expect("a well-formed Put gets an answer");
            assert!(
                matches!(resp, gitsign::cache::protocol::Response::Refused(_)),
                "{what}: refused, not stored: {resp:?}"
            );
        } else {
            assert!(
                answer.is_empty(),
                "{what}: the connection is closed without an answer, got {} bytes",
                answer.len()
            );
        }
        assert!(
            daemon.is_running(),
            "{what}: the daemon is still running: {}",
            daemon.log_text()
        );
    }
    let got = gitsign::cache::client::get(&daemon.socket, b"some key")
        .expect("a valid request still gets an answer");
    assert!(got.is_none(), "nothing was stored by the garbage");
    assert!(
        daemon.log_text().contains("closed a connection"),
        "the daemon notes what it closed: {}",
        daemon.log_text()
    );
}

#[test]
fn systemd_socket_activation_serves_the_passed_socket() {
    let local = start_stack();
    let stack = &local.stack;
    let dir = tempfile::tempdir().expect("dir");
    let socket = dir.path().join("activated.sock");
    let log = dir.path().join("daemon.log");
    let mut child = hermetic("systemd-socket-activate", dir.path())
        .arg("-l")
        .arg(&socket)
        .arg(daemon_bin())
        .arg("--systemd-socket-activation")
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("systemd-socket-activate (from systemd) runs the daemon with a passed socket");
    let started = Instant::now();
    while UnixStream::connect(&socket).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the socket appears"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let token = stack.mint_token(IDENTITY);
    for _ in 0..2 {
        let (code, _, err) = gpg_sign(signer(dir.path(), &socket), stack, &token);
        assert_eq!(code, 0, "signs through the activated daemon: {err}");
    }
    assert_eq!(
        stack.request_count(CERTS),
        1,
        "the activated daemon caches: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn keyring_store_round_trip_on_linux_keyutils() {
    let local = start_stack();
    let stack = &local.stack;
    let dir = tempfile::tempdir().expect("dir");
    let token = stack.mint_token(IDENTITY);
    let keyring_signer = || {
        let mut cmd = hermetic(gitsign_bin(), dir.path());
        cmd.current_dir(dir.path())
            .env("GITSIGN_CREDENTIAL_STORE", "keyring");
        cmd
    };
    let (code, out, err) = gpg_sign(keyring_signer(), stack, &token);
    assert_eq!(code, 0, "signs with the keyring store: {err}");
    assert!(
        !err.contains("could not keep the credentials") && !err.contains("is unavailable"),
        "the Linux kernel keyring (keyutils) must be usable here; it is not: {err}"
    );
    let (code, _, err2) = gpg_sign(keyring_signer(), stack, &token);
    assert_eq!(code, 0, "signs again: {err2}");
    assert_eq!(
        stack.request_count(CERTS),
        1,
        "the second signature used the credential kept in the kernel keyring: {err}{err2}"
    );

    // The store's own round trip: put, get the same bytes back, delete.
    let msg = gitsign::cms::parse(&out).expect("signature");
    let credential = gitsign::cache::Credential {
        private_key: zeroize::Zeroizing::new(vec![42; 138]),
        chain: vec![msg.certificates[0].clone()],
    };
    let key = format!("round trip {}", stack.base_url()).into_bytes();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    gitsign::cache::keyring::put(&key, &credential, now).unwrap_or_else(|e| {
        panic!("the Linux kernel keyring (keyutils) is not available in this environment: {e}")
    });
    let description = format!(
        "keyring-rs:{}@{}",
        gitsign::encoding::hex(&gitsign::crypto::sha256(&key)),
        gitsign::cache::keyring::SERVICE
    );
    let keys = std::fs::read_to_string("/proc/keys").expect("/proc/keys");
    let line = keys
        .lines()
        .find(|l| l.contains(&description))
        .unwrap_or_else(|| panic!("the entry is a kernel key: {keys}"));
    let timeout = line.split_whitespace().nth(3).unwrap_or_default();
    assert!(
        timeout != "perm" && timeout.ends_with('m'),
        "the kernel destroys the key before the certificate expires (timeout {timeout}): {line}"
    );
    let back = gitsign::cache::keyring::get(&key, now)
        .expect("read back")
        .expect("the entry is there");
    assert!(back == credential, "the same key and chain come back");
    assert!(
        gitsign::cache::keyring::get(&key, now + 571)
            .expect("read")
            .is_none(),
        "with 29 s left it is not handed out"
    );
    assert!(
        gitsign::cache::keyring::get(&key, now)
            .expect("read")
            .is_none(),
        "and it was deleted, not kept"
    );
    gitsign::cache::keyring::delete(&key).expect("delete is idempotent");
    let signer_key = gitsign::cache::CacheKey {
        fulcio_url: stack.fulcio_url(),
        issuer: stack.oidc_issuer(),
        client_id: "sigstore".into(),
        connector_id: String::new(),
        directory: Some(dir.path().to_string_lossy().into_owned()),
    };
    assert!(
        gitsign::cache::keyring::get(&signer_key.to_bytes(), now)
            .expect("read")
            .is_some(),
        "the signers' entry is filed under the key gitsign computes"
    );
    gitsign::cache::keyring::delete(&signer_key.to_bytes()).expect("clean up");
}

/// Issue 16.6: `--socket` in a directory the daemon did not create leaves that directory's
/// mode alone. Before: a 1777 directory became 0700 (sticky bit gone for everyone). After: it
/// keeps 1777; a directory the daemon creates is 0700; one others may write without the
/// sticky bit is refused, and left as it was.
#[test]
fn the_socket_directory_keeps_its_mode_unless_the_daemon_created_it() {
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o7777;
    let dir = tempfile::tempdir().expect("dir");
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    let socket = shared.join("cache.sock");
    let mut daemon = Daemon::start_at(dir, socket.clone(), &[]);
    assert_eq!(
        mode(&shared),
        0o1777,
        "a shared sticky directory keeps its mode: {}",
        daemon.log_text()
    );
    assert_eq!(mode(&socket), 0o600, "the socket itself is private");
    daemon.kill();

    let fresh = Daemon::start(&[]);
    let created = fresh.socket.parent().expect("dir");
    assert_eq!(
        mode(created),
        0o700,
        "a directory the daemon creates is 0700"
    );
    assert_eq!(
        mode(&fresh.dir.path().join("sigstore")),
        0o700,
        "so are the parents it creates"
    );

    let open = tempfile::tempdir().expect("dir");
    std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let (code, _, err) = output(
        hermetic(daemon_bin(), open.path())
            .arg("--socket")
            .arg(open.path().join("cache.sock")),
    );
    assert_eq!(code, 2, "a directory anyone may write is refused: {err}");
    assert!(
        err.contains("others may replace the socket") && err.contains("mode 777"),
        "the refusal says why: {err}"
    );
    assert_eq!(
        mode(open.path()),
        0o777,
        "and the directory is left as it was"
    );
}

/// Regression (hostile review): an explicitly given token (`SIGSTORE_ID_TOKEN`) lost to the
/// cached credential of another identity, so the signature named someone other than the one
/// asked for. The token's identity must sign, and the other identity's entry stays cached.
#[test]
fn an_explicit_token_wins_over_a_cached_credential_of_another_identity() {
    let local = start_stack();
    let stack = &local.stack;
    let daemon = Daemon::start(&[]);
    let dir = tempfile::tempdir().expect("dir");
    let signer_of = |pem: &[u8]| -> Vec<String> {
        let der = gitsign::pem::decode_one(pem, gitsign::cms::PEM_LABEL).expect("PEM signature");
        let msg = gitsign::cms::parse(&der).expect("signature parses");
        gitsign::x509::Cert::parse(&msg.certificates[0])
            .expect("leaf")
            .subject_alt_names()
            .into_iter()
            .map(|(_, v)| v)
            .collect()
    };
    let alice = stack.mint_token(IDENTITY);
    let (code, out, err) = gpg_sign(signer(dir.path(), &daemon.socket), stack, &alice);
    assert_eq!(code, 0, "the first signer fills the cache: {err}");
    assert_eq!(
        signer_of(&out),
        vec![IDENTITY.to_owned()],
        "alice signs first"
    );

    let bob = stack.mint_token("bob@example.com");
    let (code, out, err) = gpg_sign(signer(dir.path(), &daemon.socket), stack, &bob);
    assert_eq!(code, 0, "the second signer signs: {err}");
    assert_eq!(
        signer_of(&out),
        vec!["bob@example.com".to_owned()],
        "the token given names the signer, not the cache: {err}"
    );
    assert!(
        err.contains("not the identity of the token given"),
        "the skipped cache entry is said: {err}"
    );
    assert_eq!(stack.request_count(CERTS), 2, "bob got his own certificate");

    let (code, out, err) = gpg_sign(signer(dir.path(), &daemon.socket), stack, &alice);
    assert_eq!(code, 0, "alice signs again: {err}");
    assert_eq!(
        signer_of(&out),
        vec![IDENTITY.to_owned()],
        "alice's token names alice"
    );
    assert_eq!(
        stack.request_count(CERTS),
        2,
        "alice's entry was kept and served: a one-off token does not replace it"
    );
}
