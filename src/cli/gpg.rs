//! git's gpg-style invocation (git `gpg-interface.c`): `gitsign --status-fd=2 -bsau KEY` signs
//! stdin, `gitsign --status-fd=1 --verify SIGFILE -` verifies stdin against SIGFILE.
//!
//! stdout carries only the signature when signing and nothing when verifying; `[GNUPG:]` lines go
//! only to the status fd; human text goes to stderr.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::{output, CliError, CliResult};
use crate::config::Key;
use crate::gpg_status;
use crate::proofs::Prover;
use crate::verify::{self, policy::Policy, Outcome};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Detached-sign the payload (stdin or a file).
    Sign { file: Option<PathBuf> },
    /// Verify `signature` over the payload (`-` or absent = stdin).
    Verify {
        signature: PathBuf,
        payload: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpgArgs {
    pub mode: Mode,
    pub status_fd: Option<i32>,
    /// `-u KEY`: accepted and ignored (the identity comes from OIDC).
    pub local_user: Option<String>,
    pub include_certs: Option<i32>,
}

const SUBCOMMANDS: [&str; 5] = ["verify", "verify-tag", "completion", "version", "help"];

/// Recognise git's invocation. `Ok(None)` means "not gpg mode: parse as a subcommand".
pub fn parse(args: &[OsString]) -> Result<Option<GpgArgs>, String> {
    let args: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if args.first().is_some_and(|a| {
        SUBCOMMANDS.contains(&a.as_str())
            || a == "--help"
            || a == "-h"
            || a == "--version"
            || a == "-V"
    }) {
        return Ok(None);
    }
    let (mut sign, mut detach, mut verify) = (false, false, false);
    let mut status_fd = None;
    let mut local_user = None;
    let mut include_certs = None;
    let mut positional = Vec::new();
    let mut it = args.iter().peekable();
    let int = |flag: &str, v: Option<&String>| -> Result<i32, String> {
        let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
        v.parse()
            .map_err(|_| format!("invalid value '{v}' for {flag}: expected a number"))
    };
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if arg.starts_with("--") => (n, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        match name {
            "--status-fd" => status_fd = Some(int(name, inline.as_ref().or_else(|| it.next()))?),
            "--include-certs" => {
                include_certs = Some(int(name, inline.as_ref().or_else(|| it.next()))?)
            }
            "--verify" => verify = true,
            "--sign" => sign = true,
            "--detach-sign" | "--detached-sign" => detach = true,
            "--armor" | "--textmode" => {}
            "--local-user" => local_user = inline.or_else(|| it.next().cloned()),
            "--keyid-format" => {
                if inline.is_none() {
                    it.next();
                }
            }
            "-" => positional.push(arg.clone()),
            s if s.starts_with("--") => return Err(format!("unknown option '{s}'")),
            s if s.starts_with('-') && s.len() > 1 => {
                // A cluster of short flags, gpg style: -bsau KEY or -bsauKEY.
                let chars: Vec<char> = s[1..].chars().collect();
                for (i, c) in chars.iter().enumerate() {
                    match c {
                        'b' => detach = true,
                        's' => sign = true,
                        'a' | 't' => {}
                        'u' => {
                            let rest: String = chars[i + 1..].iter().collect();
                            local_user = if rest.is_empty() {
                                it.next().cloned()
                            } else {
                                Some(rest)
                            };
                            break;
                        }
                        other => return Err(format!("unknown option '-{other}'")),
                    }
                }
            }
            _ => positional.push(arg.clone()),
        }
    }
    if verify {
        if sign || detach {
            return Err("--verify cannot be combined with signing options".into());
        }
        let mut pos = positional.into_iter();
        let signature = pos.next().ok_or("--verify needs a signature file")?;
        let payload = pos.next().filter(|p| p != "-").map(PathBuf::from);
        return Ok(Some(GpgArgs {
            mode: Mode::Verify {
                signature: PathBuf::from(signature),
                payload,
            },
            status_fd,
            local_user,
            include_certs,
        }));
    }
    if sign || detach {
        return Ok(Some(GpgArgs {
            mode: Mode::Sign {
                file: positional
                    .into_iter()
                    .next()
                    .filter(|p| p != "-")
                    .map(PathBuf::from),
            },
            status_fd,
            local_user,
            include_certs,
        }));
    }
    if status_fd.is_some() {
        return Err("--status-fd given without --verify or --sign".into());
    }
    Ok(None)
}

/// Where status lines go: fd 1, fd 2, or another descriptor git opened for us.
fn status_writer(fd: Option<i32>) -> Result<Box<dyn Write>, CliError> {
    Ok(match fd {
        None => Box::new(std::io::sink()),
        Some(1) => Box::new(std::io::stdout()),
        Some(2) => Box::new(std::io::stderr()),
        Some(n) => Box::new(
            std::fs::OpenOptions::new()
                .write(true)
                .open(format!("/dev/fd/{n}"))
                .with_context(|| format!("opening status fd {n}"))?,
        ),
    })
}

pub fn run(args: &GpgArgs) -> CliResult {
    match &args.mode {
        Mode::Verify { signature, payload } => run_verify(args, signature, payload.as_ref()),
        Mode::Sign { file } => run_sign(args, file.as_ref()),
    }
}

/// Sign: `[GNUPG:] BEGIN_SIGNING`, the signing pipeline, then the PEM on stdout and
/// `SIG_CREATED` on the status fd. Human text goes to stderr and to gitsign.logPath/GITSIGN_LOG.
/// Any failure exits non-zero with nothing on stdout, so git creates no unsigned object.
fn run_sign(args: &GpgArgs, file: Option<&PathBuf>) -> CliResult {
    let mut status = status_writer(args.status_fd)?;
    let config = super::load_config()?;
    let mut log = SignLog::open(config.get(Key::LogPath));
    let _ = status.write_all(gpg_status::begin_signing().as_bytes());
    let _ = status.flush();
    let result = sign_inner(&config, file, &mut log);
    let signed = match result {
        Ok(s) => s,
        Err(e) => {
            log.record(&crate::ui::render_error(&e.error, e.hint.as_deref()));
            return Err(e);
        }
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(signed.pem.as_bytes())
        .and_then(|_| stdout.flush())
        .context("writing the signature to stdout")?;
    let (pk, hash) = crate::sign::gpg_algorithms(&signed.leaf.signature_algorithm);
    let line = gpg_status::sig_created(pk, hash, now_unix(), &signed.leaf.sha1_fingerprint());
    let _ = status.write_all(line.as_bytes());
    let _ = status.flush();
    Ok(ExitCode::SUCCESS)
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Human text for signing: the controlling terminal, else stderr, and appended to the log
/// file when configured. git captures the signer's stderr (it carries the status lines with
/// `--status-fd=2`) and shows it only on failure, so a login URL printed on stderr alone would
/// be invisible while git waits for the login — hence the terminal first, as Go gitsign does.
struct SignLog {
    file: Option<std::fs::File>,
    tty: Option<std::fs::File>,
}

impl SignLog {
    fn open(path: Option<&str>) -> SignLog {
        let file = path.and_then(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .ok()
        });
        let tty = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/tty")
            .ok();
        SignLog { file, tty }
    }

    /// The terminal (else stderr) and the log file.
    fn say(&mut self, text: &str) {
        let shown = self
            .tty
            .as_mut()
            .is_some_and(|t| t.write_all(text.as_bytes()).and_then(|_| t.flush()).is_ok());
        if !shown {
            crate::ui::eprint(text);
        }
        self.record(text);
    }

    /// The log file only (errors reach stderr through the caller's rendering).
    fn record(&mut self, text: &str) {
        if let Some(f) = self.file.as_mut() {
            let _ = f.write_all(text.as_bytes());
        }
    }
}

fn sign_inner(
    config: &crate::config::Config,
    file: Option<&PathBuf>,
    log: &mut SignLog,
) -> Result<crate::sign::flow::Signed, CliError> {
    let mut payload = Vec::new();
    match file {
        Some(p) => {
            payload = std::fs::read(p).with_context(|| format!("reading '{}'", p.display()))?
        }
        None => {
            std::io::stdin()
                .read_to_end(&mut payload)
                .context("reading the payload to sign from stdin")?;
        }
    }
    let root = super::load_trust(config)?;
    let secret = match config.get(Key::ClientSecretFile) {
        Some(p) => Some(zeroize::Zeroizing::new(
            std::fs::read_to_string(p)
                .with_context(|| format!("reading the OIDC client secret file '{p}'"))?
                .trim()
                .to_owned(),
        )),
        None => None,
    };
    let autoclose_timeout = config.positive_int(Key::AutocloseTimeout)?.unwrap_or(6);
    let oidc = crate::oidc::Settings {
        issuer: config.get(Key::Issuer).unwrap_or_default().to_owned(),
        client_id: config.get(Key::ClientId).unwrap_or("sigstore").to_owned(),
        client_secret: secret,
        redirect_url: config.get(Key::RedirectUrl).map(str::to_owned),
        connector_id: config.get(Key::ConnectorId).map(str::to_owned),
        provider: config.get(Key::TokenProvider).map(str::to_owned),
        url_opener: config.get(Key::UrlOpener).map(str::to_owned),
        autoclose: config.get(Key::Autoclose).is_none() || config.bool(Key::Autoclose)?,
        autoclose_timeout,
        login_timeout: std::time::Duration::from_secs(300),
    };
    let committer_email = if config.bool(Key::MatchCommitter)? {
        Some(committer_email()?)
    } else {
        None
    };
    let request = crate::sign::flow::Request {
        payload: &payload,
        fulcio_url: config.get(Key::Fulcio).unwrap_or_default(),
        rekor_url: config.get(Key::Rekor).unwrap_or_default(),
        rekor_mode: config.rekor_mode()?,
        timestamp_url: config.get(Key::TimestampServerUrl),
        root: &root,
        oidc,
        committer_email,
    };
    // gitsign.timeout bounds each request (one retry on 5xx/timeouts), as for verification.
    let timeout = config.positive_int(Key::Timeout)?.unwrap_or(30);
    let http = crate::http::Http::new(std::time::Duration::from_secs(timeout));
    let env = |k: &str| std::env::var(k).ok();
    let started = std::time::Instant::now();
    let signed = credentials(config, &http, &request, &env, log)
        .and_then(|creds| crate::sign::flow::sign_with(&http, &request, &creds, now_unix))
        .map_err(|e| {
            let (code, hint) = (e.exit_code(), e.hint());
            CliError::new(code, anyhow::Error::new(e).context("signing failed")).hint(hint)
        })?;
    log.say(&format!(
        "gitsign: signed as {} (certificate {}, transparency log index {}) in {} ms\n",
        signed.identity,
        signed.leaf.sha1_fingerprint(),
        signed
            .log_index
            .map(|i| i.to_string())
            .unwrap_or_else(|| "none".into()),
        started.elapsed().as_millis()
    ));
    Ok(signed)
}

/// Key and certificate: from the credential cache when one is configured and holds usable
/// ones (`GITSIGN_CREDENTIAL_CACHE`, `gitsign.credentialStore`, `gitsign.cacheScope`), else
/// from a fresh login.
fn credentials(
    config: &crate::config::Config,
    http: &crate::http::Http,
    request: &crate::sign::flow::Request<'_>,
    env: &dyn Fn(&str) -> Option<String>,
    log: &mut SignLog,
) -> Result<crate::sign::flow::Credentials, crate::sign::flow::FlowError> {
    let mut say = |t: &str| log.say(t);
    let cache = crate::cache::Cache::from_config(config);
    let cwd = std::env::current_dir()
        .ok()
        .map(|d| d.to_string_lossy().into_owned());
    let key = crate::cache::CacheKey::from_config(config, cwd);
    // An invalid setting is an error naming its source, like every other setting: signing
    // without the cache the user asked for would hide the typo.
    let cache = cache.map_err(crate::sign::flow::FlowError::Config)?;
    let key = key.map_err(crate::sign::flow::FlowError::Config)?;
    crate::cache::credentials(&cache, &key, http, request, env, &mut say, &now_unix)
}

/// The committer's email as git will record it (`git var GIT_COMMITTER_IDENT`).
fn committer_email() -> Result<String, CliError> {
    let out = std::process::Command::new("git")
        .args(["var", "GIT_COMMITTER_IDENT"])
        .output()
        .context("running `git var GIT_COMMITTER_IDENT` for gitsign.matchCommitter")?;
    let ident = String::from_utf8_lossy(&out.stdout);
    match (ident.find('<'), ident.find('>')) {
        (Some(a), Some(b)) if a < b => Ok(ident[a + 1..b].to_owned()),
        _ => Err(
            CliError::new(2, anyhow::anyhow!("git reports no committer email"))
                .hint("set user.email"),
        ),
    }
}

fn run_verify(args: &GpgArgs, sig_path: &PathBuf, payload_path: Option<&PathBuf>) -> CliResult {
    let mut status = status_writer(args.status_fd)?;
    let _ = status.write_all(gpg_status::new_sig().as_bytes());
    let result = verify_inner(sig_path, payload_path);
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = status.write_all(gpg_status::err_sig("0000000000000000", 4).as_bytes());
            return Err(e);
        }
    };
    let (fpr, uid) = match (&report.cert, &report.identity) {
        (Some(c), Some(i)) => (c.sha1_fingerprint.clone(), i.subject().to_owned()),
        _ => ("0000000000000000".to_owned(), String::new()),
    };
    let summary = output::summary(&report, false);
    let code = match &report.outcome {
        Outcome::Good => {
            let _ = status.write_all(gpg_status::good_sig(&fpr, &uid).as_bytes());
            let _ = status.write_all(gpg_status::trust_fully().as_bytes());
            crate::ui::eprint(&summary);
            crate::ui::eprint("WARNING: git verify-commit does not verify cert claims. Prefer using `gitsign verify` instead.\n");
            0
        }
        Outcome::Bad(_) => {
            let line = if report.cert.is_some() {
                gpg_status::bad_sig(&fpr, &uid)
            } else {
                gpg_status::err_sig("0000000000000000", 4)
            };
            let _ = status.write_all(line.as_bytes());
            crate::ui::eprint(&summary);
            1
        }
        Outcome::Undecided(_) => {
            let _ = status.write_all(gpg_status::err_sig(&fpr, 9).as_bytes());
            crate::ui::eprint(&summary);
            2
        }
    };
    if let Some((msg, hint)) = output::problem(&report) {
        crate::ui::eprint(&format!("gitsign: error: {msg}\n"));
        if let Some(h) = hint {
            let h = if matches!(report.outcome, Outcome::Undecided(_)) {
                "signatures made in Go gitsign's online Rekor mode need a Rekor lookup; set GITSIGN_INSECURE_IGNORE_TLOG=true (or git config gitsign.insecureIgnoreTlog true) to check everything but the signing time".to_owned()
            } else {
                h
            };
            crate::ui::eprint(&format!("Hint: {h}\n"));
        }
    }
    let _ = status.flush();
    Ok(ExitCode::from(code))
}

fn verify_inner(
    sig_path: &PathBuf,
    payload_path: Option<&PathBuf>,
) -> Result<verify::Report, CliError> {
    let signature = std::fs::read(sig_path)
        .with_context(|| format!("reading the signature file '{}'", sig_path.display()))?;
    let mut payload = Vec::new();
    match payload_path {
        Some(p) => {
            payload = std::fs::read(p).with_context(|| format!("reading '{}'", p.display()))?;
        }
        None => {
            std::io::stdin()
                .read_to_end(&mut payload)
                .context("reading the signed payload from stdin")?;
        }
    }
    let config = super::load_config()?;
    let root = super::load_trust(&config)?;
    let policy = Policy::default();
    let opts = verify::Options {
        root: &root,
        policy: &policy,
        insecure_ignore_tlog: config.bool(Key::InsecureIgnoreTlog)?,
        insecure_ignore_sct: config.bool(Key::InsecureIgnoreSct)?,
    };
    let checked = verify::check_detached(&payload, &signature, &opts, || {
        crate::git::object_id::signed_object_ids(&payload, &signature)
    });
    let Some(needs) = checked.needs_entry else {
        return Ok(checked.report);
    };
    // An online-mode signature (no embedded entry): the proof kept in the repository's cache
    // or notes, else a Rekor lookup of the object id (kept for next time).
    let repo = std::env::current_dir()
        .ok()
        .and_then(|d| gix::discover(d).ok());
    let prover = Prover::new(repo.as_ref(), super::verify::rekor_access(false, &config));
    Ok(prover
        .prove(&[&needs], &opts)
        .pop()
        .map_or(checked.report, |p| p.report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Option<GpgArgs>, String> {
        let v: Vec<OsString> = std::iter::once("gitsign")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        parse(&v)
    }

    #[test]
    fn parses_gits_exact_sign_invocation() {
        let a = p(&["--status-fd=2", "-bsau", "Test Author <author@example.com>"])
            .expect("ok")
            .expect("gpg mode");
        assert_eq!(a.mode, Mode::Sign { file: None });
        assert_eq!(a.status_fd, Some(2));
        assert_eq!(
            a.local_user.as_deref(),
            Some("Test Author <author@example.com>"),
            "-u takes the next argument"
        );
        let joined = p(&["-bsauKEYID"]).expect("ok").expect("gpg mode");
        assert_eq!(joined.local_user.as_deref(), Some("KEYID"), "-uKEY form");
        let long = p(&["--detached-sign", "--include-certs", "-1", "file.txt"])
            .expect("ok")
            .expect("gpg");
        assert_eq!(
            long.mode,
            Mode::Sign {
                file: Some("file.txt".into())
            }
        );
        assert_eq!(long.include_certs, Some(-1));
    }

    #[test]
    fn parses_gits_exact_verify_invocation() {
        let a = p(&["--status-fd=1", "--verify", "/tmp/.git_vtag_tmpXYZ", "-"])
            .expect("ok")
            .expect("gpg mode");
        assert_eq!(
            a.mode,
            Mode::Verify {
                signature: "/tmp/.git_vtag_tmpXYZ".into(),
                payload: None
            }
        );
        assert_eq!(a.status_fd, Some(1));
        let spaced = p(&[
            "--keyid-format=long",
            "--status-fd",
            "1",
            "--verify",
            "sig",
            "data",
        ])
        .expect("ok")
        .expect("gpg");
        assert_eq!(
            spaced.mode,
            Mode::Verify {
                signature: "sig".into(),
                payload: Some("data".into())
            }
        );
    }

    #[test]
    fn subcommands_and_garbage_are_not_gpg_mode() {
        assert_eq!(p(&["verify", "HEAD"]), Ok(None));
        assert_eq!(p(&["--help"]), Ok(None));
        assert_eq!(p(&[]), Ok(None));
        assert!(
            p(&["--status-fd=x", "--verify", "s"]).is_err(),
            "a non-numeric fd is an error"
        );
        assert!(p(&["--verify"]).is_err(), "--verify needs a file");
        assert!(p(&["-bsz"]).is_err(), "unknown short flags are refused");
        assert!(
            p(&["--status-fd=2"]).is_err(),
            "a status fd alone is not an operation"
        );
    }
}
