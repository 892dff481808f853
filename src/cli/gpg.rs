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

use super::setup::VerifyFlags;
use super::{output, CliError, CliResult, Exit};
use crate::check::{Checker, Kept, Signed, Verified};
use crate::gpg_status;
use crate::verify::{policy::Policy, Outcome};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Sign the payload (stdin or a file): detached with `-b` (what git asks for), else an
    /// attached signature that encapsulates it, as gpg and Go gitsign do.
    Sign {
        file: Option<PathBuf>,
        detached: bool,
    },
    /// Verify `signature` over the payload (`-` or absent = stdin): `--verify SIG DATA`.
    Verify {
        signature: PathBuf,
        payload: Option<PathBuf>,
    },
    /// Verify an attached signature read from a file, or from stdin when `None`:
    /// `--verify [SIG]`.
    VerifyAttached { signature: Option<PathBuf> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpgArgs {
    pub mode: Mode,
    pub status_fd: Option<i32>,
    /// `-u KEY`: accepted and ignored (the identity comes from OIDC).
    pub local_user: Option<String>,
    pub include_certs: Option<i32>,
    /// `-a`/`--armor`: PEM output (git always asks for it); without it the signature is DER.
    pub armor: bool,
}

/// Recognise git's invocation. `Ok(None)` means "not gpg mode: parse as a subcommand".
///
/// The flags are Go gitsign's (`internal/commands/root`): `-s`/`--sign`, `-b`/`--detach-sign`
/// (and the deprecated `--detached-sign`), `-a`/`--armor`, `-u`/`--local-user`,
/// `-v`/`--verify`, `--status-fd`, `--include-certs`; `-t`/`--textmode` and `--keyid-format`
/// (gpg's, which git passes for openpgp) are accepted and ignored.
pub fn parse(args: &[OsString]) -> Result<Option<GpgArgs>, String> {
    let args: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // Subcommands never reach here: `cli::run` asks clap first.
    if args
        .first()
        .is_some_and(|a| a == "--help" || a == "-h" || a == "--version" || a == "-V")
    {
        return Ok(None);
    }
    let (mut sign, mut detach, mut verify, mut armor) = (false, false, false, false);
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
            "--armor" => armor = true,
            "--textmode" => {}
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
                        'a' => armor = true,
                        'v' => verify = true,
                        't' => {}
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
    let gpg = |mode| {
        Ok(Some(GpgArgs {
            mode,
            status_fd,
            local_user: local_user.clone(),
            include_certs,
            armor,
        }))
    };
    if verify {
        // Go gitsign refuses these with --verify too.
        if sign || detach {
            return Err("--verify cannot be combined with signing options".into());
        }
        if armor {
            return Err("--armor cannot be combined with --verify".into());
        }
        let mut pos = positional.into_iter();
        return match (pos.next(), pos.next()) {
            (None, _) => gpg(Mode::VerifyAttached { signature: None }),
            (Some(sig), None) => gpg(Mode::VerifyAttached {
                signature: Some(PathBuf::from(sig)),
            }),
            (Some(sig), Some(data)) => gpg(Mode::Verify {
                signature: PathBuf::from(sig),
                payload: Some(data).filter(|p| p != "-").map(PathBuf::from),
            }),
        };
    }
    if sign || detach {
        return gpg(Mode::Sign {
            file: positional
                .into_iter()
                .next()
                .filter(|p| p != "-")
                .map(PathBuf::from),
            detached: detach,
        });
    }
    if status_fd.is_some() {
        return Err("--status-fd given without --verify or --sign".into());
    }
    Ok(None)
}

/// Where status lines go: fd 1, fd 2, or another descriptor git opened for us. The
/// descriptor itself is written to (a duplicate of it, sharing its offset and mode), never
/// reopened by name: `/dev/fd/N` would open the file behind it afresh, at offset 0 and for
/// writing, overwriting what is there (with N=0, the payload being signed).
fn status_writer(fd: Option<i32>) -> Result<Box<dyn Write>, CliError> {
    Ok(match fd {
        None => Box::new(std::io::sink()),
        Some(1) => Box::new(std::io::stdout()),
        Some(2) => Box::new(std::io::stderr()),
        Some(n) => Box::new(inherited_fd(n).with_context(|| format!("writing to status fd {n}"))?),
    })
}

/// A duplicate of descriptor `n`, inherited from our parent. 0 comes from std's stdin handle;
/// others from `pidfd_getfd` on our own process (Linux 5.6+), the one safe way to name an
/// arbitrary inherited descriptor without `unsafe`.
fn inherited_fd(n: i32) -> std::io::Result<std::fs::File> {
    #[cfg(unix)]
    if n == 0 {
        use std::os::fd::AsFd as _;
        return Ok(std::fs::File::from(
            std::io::stdin().as_fd().try_clone_to_owned()?,
        ));
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if n > 2 {
        use rustix::process::{getpid, pidfd_getfd, pidfd_open, PidfdFlags, PidfdGetfdFlags};
        let me = pidfd_open(getpid(), PidfdFlags::empty())?;
        return Ok(std::fs::File::from(pidfd_getfd(
            &me,
            n,
            PidfdGetfdFlags::empty(),
        )?));
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        format!("descriptor {n} cannot be borrowed on this system"),
    ))
}

/// Refuse to sign when stdout cannot carry the signature: closed (the Rust runtime reopens a
/// closed stdout on /dev/null, where writes "succeed") or the null device. git would
/// otherwise be told `SIG_CREATED` and record an object with no signature.
fn check_signature_output() -> Result<(), CliError> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd as _;
        let refuse = |why: &str| {
            CliError::new(
                Exit::Io,
                anyhow::anyhow!("stdout {why}: the signature would be lost"),
            )
            .hint("run gitsign with stdout open to a file or pipe, as git does")
        };
        let out = match rustix::fs::fstat(std::io::stdout().as_fd()) {
            Ok(st) => st,
            Err(_) => return Err(refuse("is closed")),
        };
        let is_char = rustix::fs::FileType::from_raw_mode(out.st_mode)
            == rustix::fs::FileType::CharacterDevice;
        let null = rustix::fs::stat("/dev/null").ok();
        if is_char && null.is_some_and(|n| n.st_rdev == out.st_rdev) {
            return Err(refuse("is closed or the null device"));
        }
    }
    Ok(())
}

pub fn run(args: &GpgArgs) -> CliResult {
    match &args.mode {
        Mode::Verify { signature, payload } => run_verify(
            args,
            &VerifyInput::Detached {
                signature,
                payload: payload.as_ref(),
            },
        ),
        Mode::VerifyAttached { signature } => {
            run_verify(args, &VerifyInput::Attached(signature.as_ref()))
        }
        Mode::Sign { file, detached } => run_sign(args, file.as_ref(), *detached),
    }
}

/// A file's bytes, or stdin's when `None`.
fn read_input(file: Option<&PathBuf>, what: &str) -> Result<Vec<u8>, CliError> {
    let mut bytes = Vec::new();
    match file {
        Some(p) => {
            bytes = std::fs::read(p).with_context(|| format!("reading '{}'", p.display()))?
        }
        None => {
            std::io::stdin()
                .read_to_end(&mut bytes)
                .with_context(|| format!("reading {what} from stdin"))?;
        }
    }
    Ok(bytes)
}

/// What `--verify` was given.
enum VerifyInput<'a> {
    /// `--verify SIG DATA` (`DATA` `-` = stdin): git's form.
    Detached {
        signature: &'a PathBuf,
        payload: Option<&'a PathBuf>,
    },
    /// `--verify [SIG]`: an attached signature from a file or stdin.
    Attached(Option<&'a PathBuf>),
}

impl VerifyInput<'_> {
    /// (payload, detached signature as stored: PEM or DER).
    fn read(&self) -> Result<(Vec<u8>, Vec<u8>), CliError> {
        match self {
            VerifyInput::Detached { signature, payload } => {
                let sig = std::fs::read(signature).with_context(|| {
                    format!("reading the signature file '{}'", signature.display())
                })?;
                Ok((read_input(*payload, "the signed payload")?, sig))
            }
            VerifyInput::Attached(file) => {
                let sig = read_input(*file, "the signature")?;
                let trimmed = sig.trim_ascii_start();
                let der = if trimmed.starts_with(b"-----BEGIN") {
                    crate::pem::decode_one(trimmed, crate::cms::PEM_LABEL)
                        .context("reading the signature's armor")?
                } else {
                    sig
                };
                let (content, detached) =
                    crate::cms::attached::detach(&der).context("reading the attached signature")?;
                match content {
                    Some(content) => Ok((content, detached)),
                    None => Err(CliError::new(Exit::Usage,
                        anyhow::anyhow!("the signature is detached: it does not contain the signed data"),
                    )
                    .hint("give the signed data too: gitsign --verify SIGFILE DATAFILE (or - for stdin)")),
                }
            }
        }
    }
}

/// Sign: `[GNUPG:] BEGIN_SIGNING`, the signing pipeline, then the PEM on stdout and
/// `SIG_CREATED` on the status fd. Human text goes to stderr and to gitsign.logPath/GITSIGN_LOG.
/// Any failure exits non-zero with nothing on stdout, so git creates no unsigned object.
fn run_sign(args: &GpgArgs, file: Option<&PathBuf>, detached: bool) -> CliResult {
    // Before the token or the key exist: a crash while signing leaves no core with them.
    if let Err(e) = crate::hardening::forbid_core_dumps() {
        crate::ui::eprint(&format!(
            "gitsign: warning: could not disable core dumps: {e}\n"
        ));
    }
    let mut status = status_writer(args.status_fd)?;
    check_signature_output()?;
    let config = super::load_config()?;
    let mut settings = super::sign_settings(&config)?;
    let mut log = SignLog::open(settings.log_path.as_deref());
    settings.oidc.terminal = log.tty.is_some();
    let _ = status.write_all(gpg_status::begin_signing().as_bytes());
    let _ = status.flush();
    let result = read_input(file, "the payload to sign").and_then(|payload| {
        let signed = sign_inner(&config, &settings, &payload, &mut log)?;
        let der = if detached {
            signed.der.clone()
        } else {
            crate::cms::attached::attach(&signed.der, &payload)
                .context("encapsulating the payload")?
        };
        Ok((signed, der))
    });
    let (signed, der) = match result {
        Ok(s) => s,
        Err(e) => {
            log.record(&crate::ui::render_error(&e.error, e.hint.as_deref()));
            return Err(e);
        }
    };
    // PEM with -a (git's -bsau), DER without, as Go gitsign.
    let out = if args.armor {
        crate::cms::armor(&der).into_bytes()
    } else {
        der
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&out)
        .and_then(|_| stdout.flush())
        .context("writing the signature to stdout")?;
    let (pk, hash) = crate::sign::gpg_algorithms(&signed.leaf.signature_algorithm);
    let fpr = signed.leaf.sha1_fingerprint();
    let line = if detached {
        gpg_status::sig_created(pk, hash, now_unix(), &fpr)
    } else {
        gpg_status::sig_created_attached(pk, hash, now_unix(), &fpr)
    };
    let _ = status.write_all(line.as_bytes());
    let _ = status.flush();
    // Whom to trust, said while no policy is configured for the repository: once one is,
    // the note has done its work and each commit stays one line ("signed as …").
    if config.get(crate::config::Key::Policy).is_none()
        && config.get(crate::config::Key::PolicyAnchor).is_none()
    {
        log.say(&super::signers::after_signing(
            &crate::verify::policy::Identity::from_cert(&signed.leaf),
        ));
    }
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
    /// Open the terminal and the log file. The log file is truncated, as Go gitsign's
    /// `os.Create` does: it holds the last signing only. One that cannot be opened is said
    /// once, where the user sees it, and signing goes on without it.
    fn open(path: Option<&str>) -> SignLog {
        let tty = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/tty")
            .ok();
        let mut log = SignLog { file: None, tty };
        if let Some(p) = path {
            match std::fs::File::create(p) {
                Ok(f) => log.file = Some(f),
                Err(e) => log.say(&format!(
                    "gitsign: warning: cannot write the log file '{p}' (gitsign.logPath / GITSIGN_LOG): {e}\n"
                )),
            }
        }
        log
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
    settings: &crate::sign::flow::Settings,
    payload: &[u8],
    log: &mut SignLog,
) -> Result<crate::sign::flow::Signed, CliError> {
    let root = super::setup::load_trust_for(config, crate::tuf::Purpose::Sign)?;
    let committer = if settings.match_committer {
        Some(committer()?)
    } else {
        None
    };
    let request = crate::sign::flow::Request::new(payload, settings, &root, committer);
    // gitsign.timeout bounds each request (one retry on 5xx/timeouts), as for verification.
    let http = crate::http::Http::new(settings.timeout);
    let env = |k: &str| std::env::var(k).ok();
    let started = std::time::Instant::now();
    let signed = credentials(config, &http, &request, &env, log)
        .and_then(|creds| crate::sign::flow::sign_with(&http, &request, &creds, now_unix))
        .map_err(|e| {
            let (kind, hint) = (Exit::from(&e), e.hint());
            CliError::new(kind, anyhow::Error::new(e).context("signing failed")).hint(hint)
        })?;
    log.say(&format!(
        "gitsign: signed as {} (certificate {}, transparency log index {}) in {} ms\n",
        crate::text::escape(&signed.identity),
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
    let mut key = key.map_err(crate::sign::flow::FlowError::Config)?;
    // Filed under the Fulcio actually used, which may come from the TUF signing config.
    key.fulcio_url = request.fulcio_url.to_owned();
    crate::cache::credentials(&cache, &key, http, request, env, &mut say, &now_unix)
}

/// The committer as git will record it (`git var GIT_COMMITTER_IDENT`: `user.name` and
/// `user.email`, or `GIT_COMMITTER_NAME` / `GIT_COMMITTER_EMAIL`).
fn committer() -> Result<crate::sign::flow::Committer, CliError> {
    let out = std::process::Command::new("git")
        .args(["var", "GIT_COMMITTER_IDENT"])
        .output()
        .context("running `git var GIT_COMMITTER_IDENT` for gitsign.matchCommitter")?;
    let ident = String::from_utf8_lossy(&out.stdout);
    match (ident.find('<'), ident.find('>')) {
        (Some(a), Some(b)) if a < b => Ok(crate::sign::flow::Committer {
            name: ident[..a].trim().to_owned(),
            email: ident[a + 1..b].to_owned(),
        }),
        _ => Err(CliError::new(
            Exit::Config,
            anyhow::anyhow!("git reports no committer email"),
        )
        .hint("set user.email")),
    }
}

fn run_verify(args: &GpgArgs, input: &VerifyInput<'_>) -> CliResult {
    let mut status = status_writer(args.status_fd)?;
    let _ = status.write_all(gpg_status::new_sig().as_bytes());
    let result = verify_inner(input);
    let (verified, payload, config) = match result {
        Ok(v) => v,
        Err(e) => {
            let _ = status.write_all(gpg_status::err_sig("0000000000000000", 4).as_bytes());
            return Err(e);
        }
    };
    let report = &verified.report;
    let (fpr, uid) = match (&report.cert, &report.identity) {
        (Some(c), Some(i)) => (c.sha1_fingerprint.clone(), i.subject().to_owned()),
        _ => ("0000000000000000".to_owned(), String::new()),
    };
    let summary = output::summary(&verified, false) + &output::notes(report);
    let exit = match &report.outcome {
        // With a policy, only a signer it admits is trusted (`%G?` G); another valid
        // signature is untrusted (`%G?` U, refused by `git merge --verify-signatures`).
        Outcome::Good => {
            let _ = status.write_all(gpg_status::good_sig(&fpr, &uid).as_bytes());
            match super::gpg_trust::trust(config, &payload, report) {
                super::gpg_trust::Trust::NoPolicy => {
                    let _ = status.write_all(gpg_status::trust_fully().as_bytes());
                    crate::ui::eprint(&summary);
                    crate::ui::eprint("WARNING: git verify-commit does not verify cert claims. Prefer using `gitsign verify` instead.\n");
                }
                super::gpg_trust::Trust::Accepted(how) => {
                    let _ = status.write_all(gpg_status::trust_fully().as_bytes());
                    crate::ui::eprint(&(output::summary(&verified, true) + &output::notes(report)));
                    crate::ui::eprint(&format!("gitsign: {how}\n"));
                }
                super::gpg_trust::Trust::Refused(why) => {
                    let _ = status.write_all(gpg_status::trust_undefined().as_bytes());
                    crate::ui::eprint(&summary);
                    crate::ui::eprint(&format!(
                        "gitsign: the signature is valid, but the policy does not accept its signer: {}\n",
                        crate::text::escape(&why)
                    ));
                }
            }
            Exit::Good
        }
        Outcome::Bad(_) => {
            let line = if report.cert.is_some() {
                gpg_status::bad_sig(&fpr, &uid)
            } else {
                gpg_status::err_sig("0000000000000000", 4)
            };
            let _ = status.write_all(line.as_bytes());
            crate::ui::eprint(&summary);
            Exit::Negative
        }
        Outcome::Undecided(_) => {
            let _ = status.write_all(gpg_status::err_sig(&fpr, 9).as_bytes());
            crate::ui::eprint(&summary);
            Exit::Undecided
        }
    };
    if let Some((msg, hint)) = output::problem(report) {
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
    Ok(exit.into())
}

/// The verdict, the payload and the configuration it was reached under (read once: the
/// policy git's path applies comes from it too).
fn verify_inner(
    input: &VerifyInput<'_>,
) -> Result<(Verified, Vec<u8>, crate::config::Config), CliError> {
    let (payload, signature) = input.read()?;
    // git's verification has no flags: the trust root, waivers and Rekor settings are the
    // configuration's.
    let flags = VerifyFlags {
        ignore_tlog: Some(false),
        ..VerifyFlags::default()
    };
    let config = super::load_config()?;
    let policy = Policy::default();
    let trust = super::setup::read_trust(&config, crate::tuf::Purpose::Verify);
    // The facts kept in the repository git runs us in: a signature verified before under the
    // same trust is answered from its fact ([`crate::facts`]), found by the digest of what the
    // trust root is built from before that root is parsed. A setting that does not read
    // (`None` here) is said by the setup below, as without facts.
    let common_dir = crate::config::repository()
        .ok()
        .flatten()
        .map(|l| l.common_dir.as_path());
    let looked_up = match (
        common_dir,
        trust.digest(),
        super::setup::waivers(&config, &flags),
    ) {
        (Some(dir), Some(root_digest), Ok(waivers)) => {
            let (kept, warning) = crate::check::kept_detached(
                dir,
                root_digest,
                waivers,
                &crate::check::Keys::default(),
                &policy,
                &payload,
                &signature,
            );
            if let Some(w) = warning {
                output::eprint_warnings(&[w]);
            }
            if let Some(verified) = kept {
                return Ok((verified, payload, config));
            }
            true
        }
        _ => false,
    };
    let setup = super::setup::verify_setup_from(trust, config.clone(), &flags)?;
    // An online-mode signature (no embedded entry): the proof kept in the repository's cache
    // or notes, else a Rekor lookup of the object id (kept for next time). The repository is
    // opened only then.
    let mut checker = Checker::new(&setup, &policy, Kept::Discovered);
    if let Some(dir) = common_dir {
        checker = checker.with_facts(&setup, dir);
    }
    let item = Signed::Detached {
        payload: &payload,
        signature: &signature,
    };
    let batch = if looked_up {
        checker.check_unknown(item)
    } else {
        checker.check(&[item])
    };
    output::eprint_warnings(&batch.warnings);
    let verified = batch.verified.into_iter().next().ok_or_else(|| {
        CliError::new(
            Exit::Internal,
            anyhow::anyhow!("the verifier returned no verdict for the signature"),
        )
    })?;
    Ok((verified, payload, config))
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
        assert_eq!(
            a.mode,
            Mode::Sign {
                file: None,
                detached: true
            }
        );
        assert!(a.armor, "-bsau asks for armor");
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
                file: Some("file.txt".into()),
                detached: true
            }
        );
        assert!(!long.armor, "no -a: DER");
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
        assert!(p(&["-bsz"]).is_err(), "unknown short flags are refused");
        assert!(
            p(&["--status-fd=2"]).is_err(),
            "a status fd alone is not an operation"
        );
    }

    #[test]
    fn armor_is_only_set_by_a() {
        for (args, armor) in [
            (&["-bsau", "K"][..], true),
            (&["-bsu", "K"][..], false),
            (&["--detach-sign", "--armor"][..], true),
            (&["-b", "-s", "-a"][..], true),
            (&["-bs"][..], false),
        ] {
            let a = p(args).expect("ok").expect("gpg mode");
            assert_eq!(a.armor, armor, "{args:?}");
        }
    }

    #[test]
    fn sign_without_b_is_attached() {
        for args in [
            &["-sa"][..],
            &["--sign", "--armor"][..],
            &["-s", "-u", "K"][..],
        ] {
            let a = p(args).expect("ok").expect("gpg mode");
            assert_eq!(
                a.mode,
                Mode::Sign {
                    file: None,
                    detached: false
                },
                "{args:?}"
            );
        }
        let a = p(&["-b"]).expect("ok").expect("gpg mode");
        assert_eq!(
            a.mode,
            Mode::Sign {
                file: None,
                detached: true
            },
            "-b alone signs detached, as Go gitsign"
        );
    }

    #[test]
    fn verify_takes_zero_one_or_two_arguments_and_v_is_verify() {
        let mode = |args: &[&str]| p(args).expect("ok").expect("gpg mode").mode;
        assert_eq!(
            mode(&["--verify"]),
            Mode::VerifyAttached { signature: None }
        );
        assert_eq!(
            mode(&["--status-fd=1", "-v"]),
            Mode::VerifyAttached { signature: None }
        );
        assert_eq!(
            mode(&["-v", "sig.pem"]),
            Mode::VerifyAttached {
                signature: Some("sig.pem".into())
            }
        );
        assert_eq!(
            mode(&["-v", "sig", "-"]),
            Mode::Verify {
                signature: "sig".into(),
                payload: None
            }
        );
        assert_eq!(
            mode(&["--verify", "sig", "data"]),
            Mode::Verify {
                signature: "sig".into(),
                payload: Some("data".into())
            }
        );
        assert!(p(&["-v", "-a", "sig"]).is_err(), "armor with verify");
        assert!(p(&["-vb", "sig", "-"]).is_err(), "detach with verify");
        assert!(p(&["--verify", "--sign", "s"]).is_err(), "sign with verify");
    }
}
