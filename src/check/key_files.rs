//! The key files a policy's authorities name (`openpgp = […]`, `ssh = "…"`), read by the
//! formats' own parsers ([`Keyring`], [`AllowedSigners`]), and the two things a policy needs
//! of them:
//!
//! - [`KeyFiles::keys`]: the [`Keys`] signatures are verified against under the policy, the
//!   union of the authorities' files. A key in no authority is then by an `unknown_key`, as a
//!   key nobody configured; a key of an authority the rule does not name verifies, and the
//!   rule refuses its signer (`identity_mismatch`, as a Sigstore signer outside the rule is
//!   refused).
//! - [`KeyFormats`]: whether one file holds the key that verified, for
//!   [`crate::policy::judge`]: an OpenPGP file holds the (sub)key; an allowed-signers file
//!   admits the key for the principal, in namespace `git`, at the time (its own
//!   `namespaces=`, `valid-after`, `valid-before`, as `ssh-keygen -Y verify` reads them).
//!
//! Each distinct file is parsed once, by content: the copies of an authority each rule of a
//! policy holds, and the same file in the many policies a committed history goes through,
//! share one parse. Pure over the bytes the policy read (and the local-time rule for
//! allowed-signers times without `Z`, given by the caller).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use chrono::NaiveDateTime;

use super::Keys;
use crate::openpgp::{Keyring, KeyringError};
use crate::policy::{Authority, KeyFile, KeyFormats, PolicyFile};
use crate::ssh::{AllowedSigners, AllowedSignersError, Revoked};

/// Why a policy's key file is unusable.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KeyFileError {
    #[error("the OpenPGP key file '{file}' (line {line} of the policy) cannot be read")]
    Openpgp {
        file: String,
        line: usize,
        #[source]
        source: Arc<KeyringError>,
    },
    #[error("the SSH allowed-signers file '{file}' (line {line} of the policy) cannot be read")]
    Ssh {
        file: String,
        line: usize,
        #[source]
        source: AllowedSignersError,
    },
}

impl KeyFileError {
    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            KeyFileError::Openpgp { .. } => {
                "export the keys with `gpg --armor --export KEYID > FILE`"
            }
            KeyFileError::Ssh { .. } => {
                "each line is `principals [options] keytype base64-key`, as ssh-keygen(1) describes under ALLOWED SIGNERS"
            }
        }
    }
}

/// One parse of one file: the keys and the warnings met (OpenPGP certificates dropped), or
/// why it cannot be read.
type Parsed<T> = Result<(Arc<T>, Vec<String>), Arc<Unreadable>>;

/// The parse failure of either format, kept to be reported (and not parsed again).
#[derive(Debug)]
enum Unreadable {
    Openpgp(Arc<KeyringError>),
    Ssh(AllowedSignersError),
}

/// Maps a local wall-clock time to Unix seconds (allowed-signers times without `Z`).
type LocalTime = dyn Fn(NaiveDateTime) -> Option<i64> + Send + Sync;

/// The parsed key files of the policies a command judges by, parsed when first asked for.
pub struct KeyFiles {
    local: Box<LocalTime>,
    openpgp: RwLock<HashMap<Vec<u8>, Parsed<Keyring>>>,
    ssh: RwLock<HashMap<Vec<u8>, Parsed<AllowedSigners>>>,
    /// [`KeyFiles::keys_of`]'s unions, by the digest of the files they are made of.
    unions: RwLock<HashMap<[u8; 32], Arc<Keys>>>,
}

impl std::fmt::Debug for KeyFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFiles").finish_non_exhaustive()
    }
}

/// A lock's map, whether or not a thread panicked holding it (the maps are only ever
/// inserted into whole entries, so a poisoned one is still consistent).
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl KeyFiles {
    /// No files parsed yet; `local` maps allowed-signers times without `Z` to Unix seconds
    /// (ssh-keygen uses the process's time zone).
    pub fn new(local: impl Fn(NaiveDateTime) -> Option<i64> + Send + Sync + 'static) -> KeyFiles {
        KeyFiles {
            local: Box::new(local),
            openpgp: RwLock::default(),
            ssh: RwLock::default(),
            unions: RwLock::default(),
        }
    }

    fn openpgp(&self, file: &KeyFile) -> Parsed<Keyring> {
        if let Some(p) = read(&self.openpgp).get(&file.bytes) {
            return p.clone();
        }
        let mut ring = Keyring::new();
        let parsed = match ring.add_file(&file.bytes) {
            Ok(warnings) => Ok((Arc::new(ring), warnings)),
            Err(e) => Err(Arc::new(Unreadable::Openpgp(Arc::new(e)))),
        };
        write(&self.openpgp).insert(file.bytes.clone(), parsed.clone());
        parsed
    }

    fn ssh(&self, file: &KeyFile) -> Parsed<AllowedSigners> {
        if let Some(p) = read(&self.ssh).get(&file.bytes) {
            return p.clone();
        }
        let text = String::from_utf8_lossy(&file.bytes);
        let parsed = match AllowedSigners::parse(&text, &*self.local) {
            Ok(signers) => Ok((Arc::new(signers), Vec::new())),
            Err(e) => Err(Arc::new(Unreadable::Ssh(e))),
        };
        write(&self.ssh).insert(file.bytes.clone(), parsed.clone());
        parsed
    }

    /// Parse every key file of `authorities` now: the warnings met (certificates dropped,
    /// each naming its file), or the first file that cannot be read.
    pub fn check<'a>(
        &self,
        authorities: impl IntoIterator<Item = &'a Authority>,
    ) -> Result<Vec<String>, KeyFileError> {
        let mut warnings = Vec::new();
        for a in authorities {
            for f in &a.openpgp {
                match self.openpgp(f) {
                    Ok((_, w)) => warnings.extend(w.iter().map(|w| format!("{}: {w}", f.shown))),
                    Err(e) => return Err(error(f, &e)),
                }
            }
            for f in &a.ssh {
                if let Err(e) = self.ssh(f) {
                    return Err(error(f, &e));
                }
            }
        }
        Ok(warnings)
    }

    /// The keys signatures are verified against under a policy with `authorities`: every
    /// readable OpenPGP file in one ring, every allowed-signers file's lines in one file
    /// (each distinct file once, in the policy's order), and `revoked`.
    pub fn keys<'a>(
        &self,
        authorities: impl IntoIterator<Item = &'a Authority>,
        revoked: Revoked,
    ) -> Keys {
        let mut keys = Keys {
            ssh_revoked: revoked,
            ..Keys::default()
        };
        let (mut seen_openpgp, mut seen_ssh) = (HashSet::new(), HashSet::new());
        for a in authorities {
            for f in &a.openpgp {
                if seen_openpgp.insert(&f.bytes) {
                    if let Ok((ring, _)) = self.openpgp(f) {
                        keys.openpgp.extend(&ring);
                    }
                }
            }
            for f in &a.ssh {
                if seen_ssh.insert(&f.bytes) {
                    if let Ok((signers, _)) = self.ssh(f) {
                        keys.ssh_allowed
                            .signers
                            .extend(signers.signers.iter().cloned());
                    }
                }
            }
        }
        keys
    }
}

impl KeyFiles {
    /// [`KeyFiles::keys`] of every authority of `policy`, with `revoked`, made once per
    /// distinct set of key files (the policies of a committed history mostly share theirs).
    pub fn keys_of(&self, policy: &PolicyFile, revoked: &Revoked) -> Arc<Keys> {
        let mut all = Vec::new();
        for a in &policy.authorities {
            for (tag, f) in a
                .openpgp
                .iter()
                .map(|f| (b'p', f))
                .chain(a.ssh.iter().map(|f| (b's', f)))
            {
                all.push(tag);
                all.extend_from_slice(&(f.bytes.len() as u64).to_be_bytes());
                all.extend_from_slice(&f.bytes);
            }
        }
        let digest = crate::crypto::sha256(&all);
        if let Some(keys) = read(&self.unions).get(&digest) {
            return keys.clone();
        }
        let keys = Arc::new(self.keys(&policy.authorities, revoked.clone()));
        write(&self.unions).insert(digest, keys.clone());
        keys
    }
}

fn error(file: &KeyFile, e: &Unreadable) -> KeyFileError {
    match e {
        Unreadable::Openpgp(source) => KeyFileError::Openpgp {
            file: file.shown.clone(),
            line: file.line,
            source: source.clone(),
        },
        Unreadable::Ssh(source) => KeyFileError::Ssh {
            file: file.shown.clone(),
            line: file.line,
            source: source.clone(),
        },
    }
}

/// A file that cannot be read holds no key.
impl KeyFormats for KeyFiles {
    fn openpgp_holds(&self, file: &KeyFile, fingerprint: &str) -> bool {
        self.openpgp(file)
            .is_ok_and(|(ring, _)| ring.holds(fingerprint))
    }

    fn ssh_admits(
        &self,
        file: &KeyFile,
        fingerprint: &str,
        principal: &str,
        at: Option<i64>,
    ) -> bool {
        self.ssh(file)
            .is_ok_and(|(signers, _)| crate::ssh::admits(&signers, fingerprint, principal, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Validity;
    use std::process::Command;

    fn utc(t: NaiveDateTime) -> Option<i64> {
        Some(t.and_utc().timestamp())
    }

    fn file(bytes: &[u8]) -> KeyFile {
        KeyFile {
            line: 3,
            path: "keys/x".into(),
            shown: "keys/x".into(),
            bytes: bytes.to_vec(),
            validity: Validity::default(),
        }
    }

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJSwGuXpi8LJewfX774PbMwL26hL76JyNFkUq9quykUz";

    fn fingerprint() -> String {
        ssh_key::PublicKey::from_openssh(KEY)
            .expect("the test key parses")
            .fingerprint(ssh_key::HashAlg::Sha256)
            .to_string()
    }

    #[test]
    fn an_allowed_signers_file_admits_the_key_for_its_principal_in_git_within_its_window() {
        let files = KeyFiles::new(utc);
        let fp = fingerprint();
        let plain = file(format!("carol@example.com,ci@example.com {KEY}\n").as_bytes());
        assert!(files.ssh_admits(&plain, &fp, "carol@example.com", Some(1_700_000_000)));
        assert!(
            files.ssh_admits(&plain, &fp, "ci@example.com", None),
            "any principal of the line; no bounds, so an unknown time is fine"
        );
        assert!(
            !files.ssh_admits(&plain, &fp, "mallory@example.com", Some(1_700_000_000)),
            "principal mismatch"
        );
        assert!(
            !files.ssh_admits(&plain, "SHA256:AAAA", "carol@example.com", Some(0)),
            "another key"
        );

        let wild = file(format!("*@example.com {KEY}\n").as_bytes());
        assert!(
            files.ssh_admits(&wild, &fp, "*@example.com", Some(0)),
            "the principal verification reports for a pattern line is the pattern"
        );

        let file_only = file(format!("carol@example.com namespaces=\"file\" {KEY}\n").as_bytes());
        assert!(
            !files.ssh_admits(&file_only, &fp, "carol@example.com", Some(1_700_000_000)),
            "namespaces= without git"
        );
        let with_git =
            file(format!("carol@example.com namespaces=\"file,git\" {KEY}\n").as_bytes());
        assert!(files.ssh_admits(&with_git, &fp, "carol@example.com", Some(1_700_000_000)));

        // valid-before 2024-01-01T00:00:00Z
        let expiring =
            file(format!("carol@example.com valid-before=\"20240101Z\" {KEY}\n").as_bytes());
        assert!(files.ssh_admits(&expiring, &fp, "carol@example.com", Some(1_700_000_000)));
        assert!(
            !files.ssh_admits(&expiring, &fp, "carol@example.com", Some(1_710_000_000)),
            "expired: signed after valid-before"
        );
        assert!(
            !files.ssh_admits(&expiring, &fp, "carol@example.com", None),
            "a bounded line admits no signature whose time is unknown"
        );

        let ca = file(format!("carol@example.com cert-authority {KEY}\n").as_bytes());
        assert!(
            !files.ssh_admits(&ca, &fp, "carol@example.com", Some(0)),
            "a cert-authority line admits certificates, not the key itself"
        );
    }

    #[test]
    fn unreadable_files_hold_nothing_and_are_reported_with_their_line() {
        let files = KeyFiles::new(utc);
        let bad_ssh = file(b"carol@example.com frobnicate ssh-ed25519 AAAA\n");
        assert!(!files.ssh_admits(&bad_ssh, &fingerprint(), "carol@example.com", None));
        let bad_pgp = file(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n");
        assert!(!files.openpgp_holds(&bad_pgp, "5DE3E0509C47EA3CF04A42D34AEE18F83AFDEB23"));
        let authority = |openpgp: Vec<KeyFile>, ssh: Vec<KeyFile>| Authority {
            name: "a".into(),
            line: 1,
            sigstore: Vec::new(),
            openpgp,
            ssh,
        };
        let e = files
            .check([&authority(Vec::new(), vec![bad_ssh])])
            .expect_err("the SSH file is refused");
        assert_eq!(
            e.to_string(),
            "the SSH allowed-signers file 'keys/x' (line 3 of the policy) cannot be read"
        );
        assert!(matches!(e, KeyFileError::Ssh { .. }));
        let e = files
            .check([&authority(vec![bad_pgp], Vec::new())])
            .expect_err("the OpenPGP file is refused");
        assert!(matches!(e, KeyFileError::Openpgp { line: 3, .. }), "{e}");
    }

    #[test]
    fn a_key_file_holds_its_keys_and_the_union_verifies_with_each_file_once() {
        let web_flow = file(
            &std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/data/keys/github-web-flow.asc"
            ))
            .expect("the web-flow keys"),
        );
        let files = KeyFiles::new(utc);
        assert!(files.openpgp_holds(&web_flow, "5de3e0509c47ea3cf04a42d34aee18f83afdeb23"));
        assert!(!files.openpgp_holds(&web_flow, "0000000000000000000000000000000000000000"));
        let ssh = file(format!("carol@example.com {KEY}\n").as_bytes());
        let a = Authority {
            name: "a".into(),
            line: 1,
            sigstore: Vec::new(),
            openpgp: vec![web_flow.clone()],
            ssh: vec![ssh.clone()],
        };
        // The same files again (a rule's copy of the authority): counted once.
        let keys = files.keys([&a, &a.clone()], Revoked::default());
        assert_eq!(keys.openpgp.len(), 2, "the file's two certificates, once");
        assert_eq!(keys.ssh_allowed.signers.len(), 1);
        assert_eq!(read(&files.openpgp).len(), 1, "parsed once");
        let policy = |a: &Authority| PolicyFile {
            file: "p".into(),
            default: crate::policy::DefaultAction::Reject,
            authorities: vec![a.clone()],
            policy_authorities: Vec::new(),
            rules: Vec::new(),
        };
        let (one, two) = (policy(&a), policy(&a));
        assert!(
            Arc::ptr_eq(
                &files.keys_of(&one, &Revoked::default()),
                &files.keys_of(&two, &Revoked::default())
            ),
            "two policies with the same key files share one union"
        );

        // The old key's real signature verifies against the union.
        let data = |rel: &str| {
            std::fs::read(format!("{}/tests/data/{rel}", env!("CARGO_MANIFEST_DIR")))
                .expect("test vector")
        };
        let signer = crate::openpgp::verify(
            &data("openpgp/web-flow-2017.payload"),
            &data("openpgp/web-flow-2017.sig.asc"),
            &keys.openpgp,
        )
        .expect("verifies with the policy's keys");
        assert!(files.openpgp_holds(&web_flow, &signer.key_fingerprint));
    }

    /// A signing subkey made by `gpg`: the file holds it (and its primary).
    #[test]
    fn an_openpgp_file_holds_a_signing_subkey() {
        let home = tempfile::tempdir().expect("gnupg home");
        let gpg = |args: &[&str]| {
            Command::new("gpg")
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("GNUPGHOME", home.path())
                .args([
                    "--batch",
                    "--no-tty",
                    "--pinentry-mode",
                    "loopback",
                    "--passphrase",
                    "",
                ])
                .args(args)
                .output()
        };
        match gpg(&[
            "--quick-gen-key",
            "Sub <sub@example.com>",
            "ed25519",
            "cert",
            "never",
        ]) {
            Ok(o) if o.status.success() => {}
            other => {
                eprintln!("skipped: gpg cannot make a key here: {other:?}");
                return;
            }
        }
        let fingerprints = |gpg: &dyn Fn(&[&str]) -> std::io::Result<std::process::Output>| {
            let out = gpg(&["--with-colons", "--list-keys", "sub@example.com"]).expect("gpg");
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.starts_with("fpr:"))
                .filter_map(|l| l.split(':').nth(9).map(str::to_owned))
                .collect::<Vec<_>>()
        };
        let primary = fingerprints(&gpg)[0].clone();
        let added = gpg(&["--quick-add-key", &primary, "ed25519", "sign", "never"]).expect("gpg");
        assert!(added.status.success(), "{added:?}");
        let fprs = fingerprints(&gpg);
        assert_eq!(fprs.len(), 2, "primary and subkey: {fprs:?}");
        let export = gpg(&["--armor", "--export", &primary]).expect("gpg");
        let f = file(&export.stdout);
        let files = KeyFiles::new(utc);
        assert!(
            files.openpgp_holds(&f, &fprs[1]),
            "the signing subkey is held"
        );
        assert!(
            files.openpgp_holds(&f, &fprs[1].to_ascii_lowercase()),
            "in any case"
        );
        assert!(files.openpgp_holds(&f, &primary), "and its primary");
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", home.path())
            .args(["--kill", "gpg-agent"])
            .status();
    }
}
