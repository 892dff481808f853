//! `gitsign-credential-cache`: the daemon that keeps one login's key and certificate in memory
//! for gitsign (issue 6). Go gitsign's binary of the same name and default socket; the wire
//! format is ours ([`crate::cache::protocol`]).
//!
//! It runs in the foreground until SIGTERM, SIGINT or SIGHUP, then wipes every key and removes
//! the socket it created. Messages go to stderr and never carry key material.
//!
//! On Windows it parses its arguments (so `--help` and `--version` work) and refuses to start:
//! its only guard is the peer's uid (`SO_PEERCRED`, `getpeereid`), and Windows offers nothing
//! as strong over a socket without unsafe code of ours. `gitsign.credentialStore = keyring`
//! (Credential Manager) is the store there.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
#[cfg(unix)]
use std::sync::{Arc, Mutex};

use clap::Parser;

#[cfg(unix)]
use crate::cache::server::{self, Memory};

const LONG_ABOUT: &str = "\
Keep gitsign's signing credentials in memory so one login serves many signatures.

Start it, then point gitsign at its socket:

    gitsign-credential-cache &
    export GITSIGN_CREDENTIAL_CACHE=\"${XDG_CACHE_HOME:-$HOME/.cache}/sigstore/gitsign/cache.sock\"

Credentials are filed by Fulcio URL, OIDC issuer, client id, connector and, unless
gitsign.cacheScope is 'user', the working directory. They are never written to disk, never
handed out with less than 30 seconds left on the certificate, and wiped when they expire and
when the daemon exits. Only processes of the daemon's own user are answered.

Linux and macOS only: on Windows it refuses to start; use gitsign.credentialStore=keyring.";

#[derive(Parser, Debug)]
#[command(name = "gitsign-credential-cache", version, disable_version_flag = true, about = "Keep gitsign's signing credentials in memory", long_about = LONG_ABOUT)]
pub struct Args {
    /// Print the version (`-v` as Go's gitsign-credential-cache; `-V` too)
    #[arg(short = 'v', visible_short_alias = 'V', long, action = clap::ArgAction::Version)]
    pub version: Option<bool>,
    /// Listen on this socket [default: $XDG_CACHE_HOME/sigstore/gitsign/cache.sock]
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Serve the socket systemd passes (LISTEN_FDS/LISTEN_PID, fd 3) instead of creating one
    #[arg(long, conflicts_with = "socket")]
    pub systemd_socket_activation: bool,
    /// Never hand out a credential with fewer seconds left on its certificate (at least 30)
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(i64).range(30..))]
    pub min_validity: i64,
}

/// Go gitsign's default: `os.UserCacheDir()/sigstore/gitsign/cache.sock`.
pub fn default_socket(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let base = if cfg!(target_os = "macos") {
        env("HOME").map(|h| PathBuf::from(h).join("Library/Caches"))
    } else {
        env("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".cache")))
    };
    base.map(|b| b.join("sigstore/gitsign/cache.sock"))
}

/// Entry point of the `gitsign-credential-cache` binary.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args = match Args::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                super::Exit::Usage
            } else {
                super::Exit::Good
            }
            .into();
        }
    };
    match serve(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            crate::ui::eprint(
                &crate::ui::render_error(&e.error, e.hint.as_deref()).replacen(
                    "gitsign:",
                    "gitsign-credential-cache:",
                    1,
                ),
            );
            e.kind.into()
        }
    }
}

#[cfg(not(unix))]
fn serve(_args: &Args) -> Result<(), super::CliError> {
    Err(super::CliError::new(
        super::Exit::Config,
        anyhow::anyhow!(
            "the credential cache daemon runs on Linux and macOS only: Windows offers no check of the connecting user as strong as theirs"
        ),
    )
    .hint("set gitsign.credentialStore to 'keyring' to keep the credential in Windows Credential Manager"))
}

#[cfg(unix)]
fn serve(args: &Args) -> Result<(), super::CliError> {
    use anyhow::Context as _;
    harden();
    let (listener, created) = if args.systemd_socket_activation {
        let listener = listenfd::ListenFd::from_env()
            .take_unix_listener(0)
            .context("taking the socket systemd passed")?
            .ok_or_else(|| {
                super::CliError::new(
                    super::Exit::Io,
                    anyhow::anyhow!(
                        "no socket was passed (LISTEN_FDS/LISTEN_PID are not set for this process)"
                    ),
                )
                .hint("run it from a systemd .socket unit, or drop --systemd-socket-activation")
            })?;
        (listener, None)
    } else {
        let path = match &args.socket {
            Some(p) => p.clone(),
            None => default_socket(&|k| std::env::var_os(k)).ok_or_else(|| {
                super::CliError::new(
                    super::Exit::Io,
                    anyhow::anyhow!("neither XDG_CACHE_HOME nor HOME is set"),
                )
                .hint("pass --socket PATH")
            })?,
        };
        let listener = server::bind(&path).map_err(|e| {
            let hint = match e {
                server::ServerError::InUse(_) => "stop the other daemon, or pass another --socket",
                _ => "pass --socket with a path in a directory you own",
            };
            super::CliError::new(super::Exit::Io, anyhow::Error::new(e)).hint(hint)
        })?;
        crate::ui::eprint(&format!(
            "gitsign-credential-cache: listening on {}\n",
            path.display()
        ));
        (listener, Some(path))
    };
    let memory = Arc::new(Mutex::new(Memory::new(args.min_validity)));
    wipe_on_signal(memory.clone(), created).context("installing the signal handlers")?;
    server::spawn_sweeper(memory.clone()).context("starting the expiry sweep")?;
    let log: server::Log = Arc::new(crate::ui::eprint);
    server::serve(listener, memory, log).context("serving the socket")?;
    Ok(())
}

/// No core dumps and no same-user ptrace of a process holding private keys.
#[cfg(unix)]
fn harden() {
    if let Err(e) = crate::hardening::forbid_core_dumps() {
        crate::ui::eprint(&format!(
            "gitsign-credential-cache: warning: could not disable core dumps: {e}\n"
        ));
    }
}

/// On SIGTERM, SIGINT or SIGHUP: wipe every key, remove the socket we created, exit 0.
#[cfg(unix)]
fn wipe_on_signal(memory: Arc<Mutex<Memory>>, socket: Option<PathBuf>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    std::thread::Builder::new()
        .name("cache-signals".into())
        .spawn(move || {
            if signals.forever().next().is_some() {
                memory.lock().unwrap_or_else(|p| p.into_inner()).clear();
                if let Some(p) = &socket {
                    let _ = std::fs::remove_file(p);
                }
                crate::ui::eprint("gitsign-credential-cache: credentials wiped; exiting\n");
                std::process::exit(0);
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use crate::test_env::env_os;

    /// The daemon's socket is a Unix one: on Windows it does not start (`/c` is no absolute path there).
    #[cfg(unix)]
    #[test]
    fn the_default_socket_is_go_gitsigns() {
        if cfg!(target_os = "macos") {
            return;
        }
        assert_eq!(
            default_socket(&env_os(&[("HOME", "/home/u")])),
            Some(PathBuf::from("/home/u/.cache/sigstore/gitsign/cache.sock")),
            "~/.cache without XDG_CACHE_HOME"
        );
        assert_eq!(
            default_socket(&env_os(&[("HOME", "/home/u"), ("XDG_CACHE_HOME", "/c")])),
            Some(PathBuf::from("/c/sigstore/gitsign/cache.sock")),
            "XDG_CACHE_HOME wins"
        );
        assert_eq!(
            default_socket(&env_os(&[("HOME", "/home/u"), ("XDG_CACHE_HOME", "rel")])),
            Some(PathBuf::from("/home/u/.cache/sigstore/gitsign/cache.sock")),
            "a relative XDG_CACHE_HOME is ignored, as the XDG spec says"
        );
        assert_eq!(default_socket(&env_os(&[])), None, "no home, no default");
    }

    #[test]
    fn min_validity_cannot_go_below_30_seconds() {
        assert!(
            Args::try_parse_from(["gitsign-credential-cache", "--min-validity", "10"]).is_err(),
            "below the floor"
        );
        let a = Args::try_parse_from(["gitsign-credential-cache", "--min-validity", "120"])
            .expect("parses");
        assert_eq!(a.min_validity, 120, "a larger margin is accepted");
        assert!(
            Args::try_parse_from([
                "gitsign-credential-cache",
                "--socket",
                "/s",
                "--systemd-socket-activation"
            ])
            .is_err(),
            "a path and socket activation exclude each other"
        );
    }
}
