//! The binary keeps a state directory's issuer across restarts: the port is recorded in
//! DIR/port and reused when `--port` is not given, so older certificates keep naming the
//! issuer `$GITSIGN_OIDC_ISSUER` says (issue 17.2).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn spawn(state: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sigstore-local"))
        .arg("--state-dir")
        .arg(state)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary must start")
}

/// Wait for `ready` and return the exported issuer.
fn issuer_once_ready(child: &mut Child, state: &Path) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n", "the stack reports ready");
    let env = std::fs::read_to_string(state.join("env")).unwrap();
    env.lines()
        .find_map(|l| l.strip_prefix("export GITSIGN_OIDC_ISSUER="))
        .expect("env exports the issuer")
        .to_string()
}

fn stop(mut child: Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "SIGTERM must be deliverable");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the binary must stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn restart_without_port_keeps_the_issuer_and_a_taken_port_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");

    let mut first = spawn(&state, &[]);
    let issuer = issuer_once_ready(&mut first, &state);
    let port = std::fs::read_to_string(state.join("port")).unwrap();
    assert!(
        issuer.starts_with(&format!("http://127.0.0.1:{}/", port.trim())),
        "DIR/port records the port the issuer names: {issuer} vs {port}"
    );

    // While the first stack holds the port, a second one on the same state refuses to
    // move the issuer and says why.
    let second = spawn(&state, &[]).wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(
        second.status.code(),
        Some(2),
        "a taken port is an error: {err}"
    );
    assert!(
        err.contains(&format!("this state directory's issuer is {issuer}"))
            && err.contains("--port"),
        "the error names the recorded issuer and the way out: {err}"
    );
    stop(first);

    let mut again = spawn(&state, &[]);
    assert_eq!(
        issuer_once_ready(&mut again, &state),
        issuer,
        "a restart of the same state directory serves the same issuer"
    );
    stop(again);

    // An explicit --port wins and is recorded for the next restart.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let other = free.local_addr().unwrap().port();
    drop(free);
    let mut moved = spawn(&state, &["--port", &other.to_string()]);
    let moved_issuer = issuer_once_ready(&mut moved, &state);
    assert_eq!(
        moved_issuer,
        format!("http://127.0.0.1:{other}/oidc"),
        "--port chooses the port"
    );
    stop(moved);
    let mut recorded = String::new();
    std::fs::File::open(state.join("port"))
        .unwrap()
        .read_to_string(&mut recorded)
        .unwrap();
    assert_eq!(
        recorded.trim(),
        other.to_string(),
        "the new port is recorded"
    );
}
