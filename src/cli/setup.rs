//! The verification settings of a command, built once from its flags, git config and the
//! environment into one [`VerifySetup`]: the trust root (`--trusted-root`, `gitsign.trustedRoot`,
//! the TUF-updated root, or the embedded public-good root; `gitsign.fulcioRoot` and
//! `gitsign.timestampCertChain` on top), the waivers (`--insecure-ignore-tlog`,
//! `--insecure-ignore-sct` and their settings) and Rekor access ([`Rekor::from_config`]: one rule
//! for unusable lookup settings). The loaders read files and the environment; the value they
//! return is plain data the library checks against.

use anyhow::Context as _;

use super::{initialize, CliError, Exit};
use crate::check::{KeyFiles, Keys, VerifySetup};
use crate::config::{Config, Key};
use crate::proofs::Rekor;
use crate::ssh::{AllowedSigners, Revoked};
use crate::text::escape;
use crate::trust::TrustedRoot;
use crate::verify::{sct::DetachedSct, Waivers};

/// What a command's flags say about verification.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyFlags<'a> {
    /// `--trusted-root FILE`.
    pub trusted_root: Option<&'a str>,
    /// `--insecure-ignore-tlog`; `None` where the waiver is not offered at all (the hook, whose
    /// rules say what each ref accepts), so neither the flag nor the setting applies.
    pub ignore_tlog: Option<bool>,
    /// `--insecure-ignore-sct`.
    pub ignore_sct: bool,
    /// `--offline`: never ask Rekor.
    pub offline: bool,
    /// `--sct FILE`: a detached SCT for a certificate that embeds none.
    pub sct: Option<&'a str>,
    /// Whether OpenPGP and SSH signatures are checked against the keys the user configured
    /// (`verify`, `verify-tag`); else no key file is read here: git's `--verify` mode is
    /// called for x509 signatures only, and under a policy (`verify --policy`, the hook) the
    /// authorities' key files are the keys ([`policy_keys`]).
    pub keys: bool,
    /// `--openpgp-keys FILE`…: the OpenPGP keys whose signatures are accepted.
    pub openpgp_keys: &'a [String],
    /// `--ssh-allowed-signers FILE`, over `gpg.ssh.allowedSignersFile`.
    pub ssh_allowed_signers: Option<&'a str>,
}

/// The verification settings `flags` and `config` select.
pub fn verify_setup(mut config: Config, flags: &VerifyFlags<'_>) -> Result<VerifySetup, CliError> {
    if let Some(p) = flags.trusted_root {
        config.set_flag(Key::TrustedRoot, p.to_owned(), "--trusted-root");
    }
    let trust = read_trust(&config, crate::tuf::Purpose::Verify);
    verify_setup_from(trust, config, flags)
}

/// [`verify_setup`] over the trust inputs already read ([`read_trust`] of `config`, with
/// `--trusted-root` set in it).
pub fn verify_setup_from(
    trust: TrustInputs,
    mut config: Config,
    flags: &VerifyFlags<'_>,
) -> Result<VerifySetup, CliError> {
    let digest = trust.digest();
    let root = trust.parse()?;
    // Parsed, so every input was read and the digest exists.
    let root_digest = digest.unwrap_or_else(|| crate::facts::root_digest(&root));
    let waivers = waivers(&config, flags)?;
    let detached_sct = match flags.sct {
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("reading the detached SCT '{path}' (from --sct)"))?;
            let sct = DetachedSct::from_json(&bytes)
                .with_context(|| format!("parsing the detached SCT '{path}' (from --sct)"))
                .map_err(|e| {
                    CliError::new(Exit::Config, e).hint(
                        "the file must hold a CT log's add-chain response (RFC 6962 §4.1): sct_version, id, timestamp, extensions, signature",
                    )
                })?;
            Some(sct)
        }
        None => None,
    };
    let keys = if flags.keys {
        load_keys(&mut config, flags)?
    } else {
        Keys::default()
    };
    Ok(VerifySetup {
        root,
        root_digest,
        waivers,
        rekor: Rekor::from_config(flags.offline, &config),
        detached_sct,
        keys,
    })
}

/// The checks `flags` and `config` waive.
pub fn waivers(config: &Config, flags: &VerifyFlags<'_>) -> Result<Waivers, CliError> {
    let ignore_tlog = match flags.ignore_tlog {
        Some(flag) => flag || config.bool(Key::InsecureIgnoreTlog)?,
        None => false,
    };
    let ignore_sct = flags.ignore_sct || config.bool(Key::InsecureIgnoreSct)?;
    Ok(Waivers::from_flags(ignore_tlog, ignore_sct))
}

/// The OpenPGP key files named on the command line, and git's SSH allowed signers and
/// revocation files (`gpg.ssh.allowedSignersFile`, `gpg.ssh.revocationFile`, paths expanded
/// as git's `git_config_pathname` does for `~/`), each parsed once.
fn load_keys(config: &mut Config, flags: &VerifyFlags<'_>) -> Result<Keys, CliError> {
    let mut keys = Keys::default();
    for path in flags.openpgp_keys {
        let bytes = std::fs::read(path).with_context(|| {
            format!("reading the OpenPGP key file '{path}' (from --openpgp-keys)")
        })?;
        let warnings = keys
            .openpgp
            .add_file(&bytes)
            .with_context(|| format!("parsing the OpenPGP key file '{path}' (from --openpgp-keys)"))
            .map_err(|e| {
                CliError::new(Exit::Config, e)
                    .hint("export the keys with `gpg --armor --export KEYID > FILE`")
            })?;
        for w in warnings {
            crate::ui::eprint(&format!(
                "gitsign: warning: {}: {}\n",
                escape(path),
                escape(&w)
            ));
        }
    }
    if let Some(p) = flags.ssh_allowed_signers {
        config.set_flag(
            Key::SshAllowedSignersFile,
            p.to_owned(),
            "--ssh-allowed-signers",
        );
    }
    if let Some(path) = config.get(Key::SshAllowedSignersFile).map(expand_home) {
        let source = source_of(config, Key::SshAllowedSignersFile);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!("reading the SSH allowed signers file '{path}' (from {source})")
        })?;
        keys.ssh_allowed = AllowedSigners::parse(&text, &local_time)
            .with_context(|| format!("parsing the SSH allowed signers file '{path}' (from {source})"))
            .map_err(|e| {
                CliError::new(Exit::Config, e)
                    .hint("each line is `principals [options] keytype base64-key`, as ssh-keygen(1) describes under ALLOWED SIGNERS")
            })?;
    }
    keys.ssh_revoked = load_revoked(config)?;
    Ok(keys)
}

/// git's SSH revocation file (`gpg.ssh.revocationFile`), empty when none is configured; git
/// warns and goes on when the configured file does not exist.
pub fn load_revoked(config: &Config) -> Result<Revoked, CliError> {
    let mut revoked = Revoked::default();
    if let Some(path) = config.get(Key::SshRevocationFile).map(expand_home) {
        let source = source_of(config, Key::SshRevocationFile);
        // git warns and goes on without a revocation file that does not exist.
        match std::fs::read(&path) {
            Ok(bytes) => {
                revoked = Revoked::parse(&bytes)
                    .with_context(|| {
                        format!("parsing the SSH revocation file '{path}' (from {source})")
                    })
                    .map_err(|e| CliError::new(Exit::Config, e))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => crate::ui::eprint(&format!(
                "gitsign: warning: ssh signing revocation file configured but not found: {}\n",
                escape(&path)
            )),
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!(
                        "reading the SSH revocation file '{path}' (from {source})"
                    ))
                    .into())
            }
        }
    }
    Ok(revoked)
}

/// ssh-keygen's reading of allowed-signers times without `Z`: the process's time zone.
fn local_time(t: chrono::NaiveDateTime) -> Option<i64> {
    use chrono::TimeZone as _;
    chrono::Local
        .from_local_datetime(&t)
        .earliest()
        .map(|t| t.timestamp())
}

/// The key files of a policy's authorities, parsed when first asked for.
pub fn policy_key_files() -> KeyFiles {
    KeyFiles::new(local_time)
}

/// The keys OpenPGP and SSH signatures are verified against under a policy: the key files of
/// its `authorities` (each parsed now, a file that cannot be read an error naming it), and
/// git's SSH revocation file. `--openpgp-keys`, `--ssh-allowed-signers` and
/// `gpg.ssh.allowedSignersFile` do not apply: the policy names who may sign.
pub fn policy_keys<'a>(
    config: &Config,
    files: &KeyFiles,
    policy: &str,
    authorities: impl IntoIterator<Item = &'a crate::policy::Authority> + Clone,
) -> Result<Keys, CliError> {
    let warnings = files.check(authorities.clone()).map_err(|e| {
        let hint = e.hint();
        CliError::new(
            Exit::Config,
            anyhow::Error::new(e).context(format!(
                "the policy {} names a key file that cannot be used",
                escape(policy)
            )),
        )
        .hint(hint)
    })?;
    for w in warnings {
        crate::ui::eprint(&format!("gitsign: warning: {}\n", escape(&w)));
    }
    Ok(files.keys(authorities, load_revoked(config)?))
}

/// git's `interpolate_path` for `~/` (the home directory); other paths as they are.
fn expand_home(path: &str) -> String {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => std::path::Path::new(&home)
            .join(rest)
            .to_string_lossy()
            .into_owned(),
        _ => path.to_owned(),
    }
}

/// The trust root the configuration selects for verification: `trustedRoot` file, the
/// TUF-updated root after `gitsign initialize`, or the embedded public-good root, with the
/// Fulcio CAs replaced by `fulcioRoot` when set.
pub fn load_trust(config: &Config) -> Result<TrustedRoot, CliError> {
    load_trust_for(config, crate::tuf::Purpose::Verify)
}

/// The TUF-provided trust (`None` before `gitsign initialize`); a fallback note is said once
/// per process.
fn tuf_trust(config: &Config, purpose: crate::tuf::Purpose) -> Result<Option<Vec<u8>>, CliError> {
    static NOTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let Some(settings) = super::tuf_settings(config)? else {
        return Ok(None);
    };
    let loaded = crate::tuf::load(&settings, purpose, initialize::now()).map_err(|e| {
        let (what, hint) = match purpose {
            crate::tuf::Purpose::Sign => (
                "cannot sign: the TUF trusted root is out of date and cannot be refreshed",
                "sign again once the TUF mirror is reachable (gitsign initialize refreshes it), or set gitsign.trustedRoot to a trusted_root.json",
            ),
            // Only a configured private mirror with no verified cache gets here: its trust
            // is never silently replaced by the embedded public-good root.
            crate::tuf::Purpose::Verify => (
                "cannot verify: the TUF mirror's trusted root cannot be loaded, and the embedded public-good root does not stand in for a configured mirror",
                "run gitsign initialize again once the mirror is reachable, or set gitsign.trustedRoot to a trusted_root.json",
            ),
        };
        CliError::new(Exit::Config, anyhow::Error::new(e).context(what)).hint(hint)
    })?;
    let Some(loaded) = loaded else {
        return Ok(None);
    };
    if let Some(note) = &loaded.note {
        if !NOTED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            crate::ui::eprint(&format!("gitsign: warning: {note}\n"));
        }
    }
    Ok(loaded.trusted_root)
}

/// [`load_trust`] for `purpose`: signing refuses stale TUF trust it cannot refresh.
pub fn load_trust_for(
    config: &Config,
    purpose: crate::tuf::Purpose,
) -> Result<TrustedRoot, CliError> {
    read_trust(config, purpose).parse()
}

/// What a trust root is built from, read and not yet parsed: the trusted root's bytes (a
/// file, TUF, or the embedded public-good root) and the `fulcioRoot` and
/// `timestampCertChain` files laid over it. Each read's failure is kept and said by
/// [`TrustInputs::parse`] in the order loading says it (read, parse, then the next file).
pub struct TrustInputs {
    root: Result<RootBytes, CliError>,
    fulcio: Option<(String, Result<Vec<u8>, CliError>)>,
    timestamp: Option<(String, Result<Vec<u8>, CliError>)>,
    digest: std::cell::OnceCell<Option<[u8; 32]>>,
}

enum RootBytes {
    File { path: String, bytes: Vec<u8> },
    Tuf(Vec<u8>),
    Embedded,
}

impl RootBytes {
    fn bytes(&self) -> &[u8] {
        match self {
            RootBytes::File { bytes, .. } | RootBytes::Tuf(bytes) => bytes,
            RootBytes::Embedded => crate::trust::PUBLIC_GOOD_TRUSTED_ROOT.as_bytes(),
        }
    }
}

/// Read what the trust root the configuration selects for `purpose` is built from.
pub fn read_trust(config: &Config, purpose: crate::tuf::Purpose) -> TrustInputs {
    let root = match config.get(Key::TrustedRoot) {
        Some(path) => std::fs::read(path)
            .with_context(|| {
                format!(
                    "reading the trusted root '{path}' (from {})",
                    source_of(config, Key::TrustedRoot)
                )
            })
            .map(|bytes| RootBytes::File {
                path: path.to_owned(),
                bytes,
            })
            .map_err(CliError::from),
        None => tuf_trust(config, purpose).map(|t| t.map_or(RootBytes::Embedded, RootBytes::Tuf)),
    };
    let file = |key: Key, what: &str| {
        config.get(key).map(|path| {
            let bytes = std::fs::read(path)
                .with_context(|| {
                    format!(
                        "reading the {what} '{path}' (from {})",
                        source_of(config, key)
                    )
                })
                .map_err(CliError::from);
            (path.to_owned(), bytes)
        })
    };
    TrustInputs {
        root,
        fulcio: file(Key::FulcioRoot, "Fulcio root"),
        timestamp: file(Key::TimestampCertChain, "timestamp authority chain"),
        digest: std::cell::OnceCell::new(),
    }
}

impl TrustInputs {
    /// A digest of every byte the trust root is built from, with the version of the parser
    /// that builds it: equal digests, equal roots. `None` when something could not be read.
    pub fn digest(&self) -> Option<[u8; 32]> {
        *self.digest.get_or_init(|| {
            // Present or not, then the bytes: an absent file and an empty one differ.
            fn file(f: &Option<(String, Result<Vec<u8>, CliError>)>) -> Option<(u8, &[u8])> {
                match f {
                    None => Some((0, &[])),
                    Some((_, Ok(bytes))) => Some((1, bytes)),
                    Some((_, Err(_))) => None,
                }
            }
            let root = self.root.as_ref().ok()?.bytes();
            let (fulcio, timestamp) = (file(&self.fulcio)?, file(&self.timestamp)?);
            Some(crate::memo::key(
                b"gitsign trust inputs v1",
                &[
                    env!("CARGO_PKG_VERSION").as_bytes(),
                    root,
                    &[fulcio.0],
                    fulcio.1,
                    &[timestamp.0],
                    timestamp.1,
                ],
            ))
        })
    }

    /// The trust root, or the first failure to read or parse what it is built from.
    pub fn parse(self) -> Result<TrustedRoot, CliError> {
        let mut root = match self.root? {
            RootBytes::File { path, bytes } => TrustedRoot::from_json(&bytes)
                .with_context(|| format!("parsing the trusted root '{path}'"))
                .map_err(|e| CliError::new(Exit::Config, e).hint("the file must be a Sigstore trusted_root.json (mediaType application/vnd.dev.sigstore.trustedroot+json)"))?,
            RootBytes::Tuf(bytes) => TrustedRoot::from_json(&bytes)
                .context("parsing the trusted root from TUF")
                .map_err(|e| {
                    CliError::new(Exit::Config, e)
                        .hint("run gitsign initialize again, or set gitsign.trustedRoot")
                })?,
            RootBytes::Embedded => TrustedRoot::public_good(),
        };
        if let Some((path, pem)) = self.fulcio {
            root = root
                .with_fulcio_pem_bundle(&pem?)
                .with_context(|| format!("parsing the Fulcio root '{path}'"))
                .map_err(|e| {
                    CliError::new(Exit::Config, e).hint("the file must hold PEM CERTIFICATE blocks")
                })?;
        }
        if let Some((path, pem)) = self.timestamp {
            root = root
                .with_timestamp_pem_chain(&pem?)
                .with_context(|| format!("parsing the timestamp authority chain '{path}'"))
                .map_err(|e| {
                    CliError::new(Exit::Config, e).hint(
                        "the file must hold the TSA's PEM CERTIFICATE chain, root CA included (the TSA serves it at /api/v1/timestamp/certchain)",
                    )
                })?;
        }
        Ok(root)
    }
}

pub(super) fn source_of(config: &Config, key: Key) -> String {
    config
        .source(key)
        .map(|s| s.to_string())
        .unwrap_or_else(|| "the default".into())
}
