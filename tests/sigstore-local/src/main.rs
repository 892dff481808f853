//! `sigstore-local`: run the local Sigstore stack until SIGTERM/SIGINT.
//!
//! Contract (scripts and the README demo rely on it): `--state-dir DIR` (required, reused
//! across restarts), `--port N`, `--identity EMAIL` (default dev@example.com),
//! `--key-shape public-good|p256` (the Fulcio CA's curves; default `SIGSTORE_LOCAL_KEY_SHAPE`,
//! else public-good: a P-384 root and intermediate signing with SHA-384).
//! Once listening it writes DIR/trusted_root.json and DIR/env and prints `ready` on stdout.
//! Faults are switched at runtime through `POST /admin/faults`.
//!
//! The issuer URL (`http://127.0.0.1:PORT/oidc`) is inside every certificate the stack
//! issues, so a restart on another port would make `--certificate-oidc-issuer
//! "$GITSIGN_OIDC_ISSUER"` refuse every older commit ("issuer mismatch"). The port is
//! therefore recorded in DIR/port: without `--port`, a state directory that has one is
//! served on it again (and a taken port is an error saying so), a new one on a free port.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc;

use sigstore_local::{KeyShape, Options, Stack};

const USAGE: &str = "usage: sigstore-local --state-dir DIR [--port N] [--identity EMAIL] [--key-shape public-good|p256]\n\n\
  --state-dir DIR   keys, certificates, the log and the port live here; reuse it to restart\n\
  --port N          port on 127.0.0.1 (default: the one DIR/port records, else a free one)\n\
  --identity EMAIL  the identity the issuer approves (default dev@example.com)\n\
  --key-shape SHAPE public-good (P-384 CA, the default) or p256 (all P-256)\n\n\
Writes DIR/env (source it), DIR/trusted_root.json and DIR/port, prints 'ready' on stdout\n\
and serves until SIGTERM/SIGINT.";

/// Where the port of a state directory is recorded.
const PORT_FILE: &str = "port";

/// The command line; `port` is `None` when `--port` was not given.
struct Args {
    options: Options,
    port: Option<u16>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut state_dir = None;
    let mut port = None;
    let mut identity = None;
    let mut key_shape = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or(format!("{flag} needs a value"))
        };
        match flag {
            "--state-dir" => state_dir = Some(value()?),
            "--port" => {
                let v = value()?;
                port = Some(
                    v.parse()
                        .map_err(|_| format!("invalid value '{v}' for --port"))?,
                );
            }
            "--identity" => identity = Some(value()?),
            "--key-shape" => {
                let v = value()?;
                key_shape = Some(KeyShape::parse(&v).ok_or(format!(
                    "invalid value '{v}' for --key-shape (public-good or p256)"
                ))?);
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unexpected argument '{other}'")),
        }
    }
    let mut options = Options::new(state_dir.ok_or("--state-dir is required")?);
    options.key_shape = key_shape;
    if let Some(i) = identity {
        options.identity = i;
    }
    Ok(Args { options, port })
}

/// The port a previous run of this state directory served on, if it recorded a valid one.
fn recorded_port(state_dir: &Path) -> Result<Option<u16>, String> {
    let path = state_dir.join(PORT_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => match text.trim().parse::<u16>() {
            Ok(p) if p > 0 => Ok(Some(p)),
            _ => Err(format!(
                "'{}' holds no port number; delete it or pass --port",
                path.display()
            )),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read '{}': {e}", path.display())),
    }
}

/// Start on the chosen port: `--port`, else the recorded one, else any; then record it.
fn start(args: Args) -> Result<Stack, String> {
    let Args { mut options, port } = args;
    let recorded = match port {
        Some(p) => {
            options.port = p;
            None
        }
        None => recorded_port(&options.state_dir)?,
    };
    if let Some(p) = recorded {
        options.port = p;
    }
    let stack = Stack::start(options).map_err(|e| match recorded {
        Some(p) => format!(
            "{e}\nHint: this state directory's issuer is http://127.0.0.1:{p}/oidc (recorded in \
             its '{PORT_FILE}' file) and older signatures name it; stop whatever holds port {p}, \
             or pass --port to serve on another one (older commits then fail the issuer check)"
        ),
        None => e.to_string(),
    })?;
    let path = stack.state_dir().join(PORT_FILE);
    std::fs::write(&path, format!("{}\n", stack.port()))
        .map_err(|e| format!("cannot write '{}': {e}", path.display()))?;
    Ok(stack)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&args) {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("sigstore-local: error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (tx, rx) = mpsc::channel();
    if let Err(e) = ctrlc::set_handler(move || {
        let _ = tx.send(());
    }) {
        eprintln!("sigstore-local: error: cannot install signal handler: {e}");
        return ExitCode::from(2);
    }
    let stack = match start(args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sigstore-local: error: {e}");
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "sigstore-local: listening on {} (state in {})",
        stack.base_url(),
        stack.state_dir().display()
    );
    let mut out = std::io::stdout().lock();
    if writeln!(out, "ready").and_then(|_| out.flush()).is_err() {
        // Whoever started us stopped listening; keep serving anyway.
    }
    drop(out);
    let _ = rx.recv();
    stack.stop();
    eprintln!("sigstore-local: stopped");
    ExitCode::SUCCESS
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_the_documented_flags() {
        let a = parse(&s(&[
            "--state-dir",
            "/tmp/x",
            "--port=8080",
            "--identity",
            "a@b.c",
        ]))
        .unwrap();
        let o = &a.options;
        assert_eq!(
            o.state_dir.to_str(),
            Some("/tmp/x"),
            "state dir must be taken"
        );
        assert_eq!(a.port, Some(8080), "port must be taken");
        assert_eq!(
            parse(&s(&["--state-dir", "d"])).unwrap().port,
            None,
            "no --port leaves the choice to the state directory"
        );
        assert_eq!(o.identity, "a@b.c", "identity must be taken");
        assert_eq!(
            o.key_shape, None,
            "the key shape defaults to the environment's"
        );
        let p = parse(&s(&["--state-dir", "d", "--key-shape", "p256"])).unwrap();
        assert_eq!(
            p.options.key_shape,
            Some(KeyShape::P256),
            "--key-shape must be taken"
        );
        assert!(
            parse(&s(&["--state-dir", "d", "--key-shape", "p384"])).is_err(),
            "an unknown key shape is an error"
        );
        assert!(
            parse(&s(&["--port", "1"])).is_err(),
            "--state-dir is required"
        );
        assert!(
            parse(&s(&["--state-dir", "d", "--port", "x"])).is_err(),
            "a bad port is an error"
        );
    }
}
