//! `sigstore-local`: run the local Sigstore stack until SIGTERM/SIGINT.
//!
//! Contract (scripts and the README demo rely on it): `--state-dir DIR` (required, reused
//! across restarts), `--port N` (default 0), `--identity EMAIL` (default dev@example.com),
//! `--key-shape public-good|p256` (the Fulcio CA's curves; default `SIGSTORE_LOCAL_KEY_SHAPE`,
//! else public-good: a P-384 root and intermediate signing with SHA-384).
//! Once listening it writes DIR/trusted_root.json and DIR/env and prints `ready` on stdout.
//! Faults are switched at runtime through `POST /admin/faults`.

use std::io::Write;
use std::process::ExitCode;
use std::sync::mpsc;

use sigstore_local::{KeyShape, Options, Stack};

const USAGE: &str =
    "usage: sigstore-local --state-dir DIR [--port N] [--identity EMAIL] [--key-shape public-good|p256]";

fn parse(args: &[String]) -> Result<Options, String> {
    let mut state_dir = None;
    let mut port = 0u16;
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
                port = v
                    .parse()
                    .map_err(|_| format!("invalid value '{v}' for --port"))?;
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
    let mut o = Options::new(state_dir.ok_or("--state-dir is required")?);
    o.port = port;
    o.key_shape = key_shape;
    if let Some(i) = identity {
        o.identity = i;
    }
    Ok(o)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(o) => o,
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
    let stack = match Stack::start(options) {
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
        let o = parse(&s(&[
            "--state-dir",
            "/tmp/x",
            "--port=8080",
            "--identity",
            "a@b.c",
        ]))
        .unwrap();
        assert_eq!(
            o.state_dir.to_str(),
            Some("/tmp/x"),
            "state dir must be taken"
        );
        assert_eq!(o.port, 8080, "port must be taken");
        assert_eq!(o.identity, "a@b.c", "identity must be taken");
        assert_eq!(
            o.key_shape, None,
            "the key shape defaults to the environment's"
        );
        let p = parse(&s(&["--state-dir", "d", "--key-shape", "p256"])).unwrap();
        assert_eq!(
            p.key_shape,
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
