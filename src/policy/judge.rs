//! Which authority of a rule admits a verified signer, or why none does. Pure.
//!
//! - Sigstore: an entry of the authority whose identity matches one of the certificate's
//!   subject alternative names, whose issuer matches, whose extension values are all in the
//!   certificate, and whose validity holds the proven signing time.
//! - OpenPGP: a key file of the authority that holds the key that verified.
//! - SSH: an allowed-signers file of the authority that admits the key for the principal.
//!
//! Whether a key file holds a key is the key formats' business ([`KeyFormats`], implemented
//! over the formats' own parsers by `crate::check::KeyFiles`, over [`KeyFile::bytes`]); the
//! policy keeps the bytes and asks. The first of the rule's authorities (in the rule's order) that admits the signer is
//! the one reported.

use super::{Authority, KeyFile, PolicyFile, Rule, SigstoreEntry, Validity};
use super::{Signer, SigstoreSigner};
use crate::verify::policy::{Identity, Policy, PolicyError};

/// What only the key formats know about key files.
pub trait KeyFormats {
    /// Whether the armored OpenPGP key file holds the key (primary or subkey) with
    /// `fingerprint` (hex, any case).
    fn openpgp_holds(&self, file: &KeyFile, fingerprint: &str) -> bool;
    /// Whether the allowed-signers file admits the key with `fingerprint` (`SHA256:…`) for
    /// `principal` at time `at` (the file's own `namespaces=`, `valid-after` and
    /// `valid-before`; an unknown time is within no bound).
    fn ssh_admits(
        &self,
        file: &KeyFile,
        fingerprint: &str,
        principal: &str,
        at: Option<i64>,
    ) -> bool;
}

/// No key formats: OpenPGP and SSH signers are admitted by no key file.
pub struct NoKeyFormats;

impl KeyFormats for NoKeyFormats {
    fn openpgp_holds(&self, _: &KeyFile, _: &str) -> bool {
        false
    }

    fn ssh_admits(&self, _: &KeyFile, _: &str, _: &str, _: Option<i64>) -> bool {
        false
    }
}

/// Why a rule's authorities do not admit a signer: the identity policy's own refusal, so a
/// policy file's verdict reads (and is coded, `identity_mismatch`) as `gitsign verify`'s
/// identity flags' does. A rule with one Sigstore identity gives the precise mismatch.
pub type Refusal = PolicyError;

/// An entry's identity, issuer and v1 claims as the one-policy check `gitsign verify` uses,
/// so the mismatch texts are the same.
fn entry_policy(entry: &SigstoreEntry) -> Policy {
    Policy {
        identity: Some(entry.identity.clone()),
        issuer: Some(entry.issuer.clone()),
        ..Policy::default()
    }
}

/// Whether `entry` admits the signer, ignoring validity.
fn entry_matches(entry: &SigstoreEntry, signer: &SigstoreSigner) -> Result<(), PolicyError> {
    check_identity(entry, &signer.identity)?;
    for (ext, want) in &entry.extensions {
        let got = signer
            .identity
            .extensions
            .get(ext)
            .cloned()
            .unwrap_or_default();
        if &got != want {
            return Err(PolicyError::ExtensionMismatch {
                field: ext.key(),
                got,
                want: want.clone(),
            });
        }
    }
    Ok(())
}

fn check_identity(entry: &SigstoreEntry, identity: &Identity) -> Result<(), PolicyError> {
    // Exact and regexp matchers are cheap to clone (a regex shares its program).
    entry_policy(entry).check(identity)
}

/// Among `authority`'s entries for `signer`: `Ok(true)` admitted, `Ok(false)` not named,
/// `Err(validity)` named only outside its validity.
fn admits(authority: &Authority, signer: &Signer, keys: &dyn KeyFormats) -> Result<bool, Validity> {
    let time = signer.time();
    let mut outside = None;
    let mut consider = |v: Validity| {
        if v.admits(time) {
            true
        } else {
            outside.get_or_insert(v);
            false
        }
    };
    let found = match signer {
        Signer::Sigstore(s) => authority
            .sigstore
            .iter()
            .filter(|e| entry_matches(e, s).is_ok())
            .any(|e| consider(e.validity)),
        Signer::OpenPgp { fingerprint, .. } => authority
            .openpgp
            .iter()
            .filter(|f| keys.openpgp_holds(f, fingerprint))
            .any(|f| consider(f.validity)),
        Signer::Ssh {
            fingerprint,
            principal,
            time,
        } => authority
            .ssh
            .iter()
            .filter(|f| keys.ssh_admits(f, fingerprint, principal, *time))
            .any(|f| consider(f.validity)),
    };
    match (found, outside) {
        (true, _) => Ok(true),
        (false, Some(v)) => Err(v),
        (false, None) => Ok(false),
    }
}

/// The first of `authorities` that admits `signer`, or why none does.
pub fn judge_among<'a>(
    authorities: &'a [Authority],
    signer: &Signer,
    keys: &dyn KeyFormats,
) -> Result<&'a Authority, Refusal> {
    let mut outside: Option<(&Authority, Validity)> = None;
    for authority in authorities {
        match admits(authority, signer, keys) {
            Ok(true) => return Ok(authority),
            Ok(false) => {}
            Err(v) => {
                outside.get_or_insert((authority, v));
            }
        }
    }
    if let Some((authority, validity)) = outside {
        return Err(PolicyError::OutsideValidity {
            signer: signer.to_string(),
            authority: authority.name.clone(),
            validity: validity.to_string(),
            at: match signer.time() {
                Some(t) => format!("at {}", crate::encoding::rfc3339(t)),
                None => "at a time nothing proves".into(),
            },
        });
    }
    // One Sigstore identity among them all (every hook rule before authorities): say
    // precisely what did not match.
    if let Signer::Sigstore(s) = signer {
        let mut entries = authorities.iter().flat_map(|a| a.sigstore.iter());
        if let (Some(only), None) = (entries.next(), entries.next()) {
            entry_matches(only, s)?;
        }
    }
    Err(PolicyError::NotAdmitted {
        signer: signer.to_string(),
        authorities: authorities
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Whether one of `authorities` names `signer`, whatever the time: a signer worth proving
/// the time of (the proof then decides the validity bounds).
pub fn names_signer(authorities: &[Authority], signer: &Signer, keys: &dyn KeyFormats) -> bool {
    authorities
        .iter()
        .any(|a| admits(a, signer, keys) != Ok(false))
}

impl Rule {
    /// The first of the rule's authorities that admits `signer`, or why none does.
    pub fn admit(&self, signer: &Signer, keys: &dyn KeyFormats) -> Result<&Authority, Refusal> {
        judge_among(&self.authorities, signer, keys)
    }

    /// Every OpenPGP key file of the rule's authorities: what a key ring for the rule is
    /// built from.
    pub fn openpgp_files(&self) -> impl Iterator<Item = &KeyFile> {
        self.authorities.iter().flat_map(|a| a.openpgp.iter())
    }

    /// Every SSH allowed-signers file of the rule's authorities.
    pub fn ssh_files(&self) -> impl Iterator<Item = &KeyFile> {
        self.authorities.iter().flat_map(|a| a.ssh.iter())
    }
}

impl PolicyFile {
    /// Every authority (named or inline) with an entry admitting `signer` at its time.
    pub fn authorities_for(&self, signer: &Signer, keys: &dyn KeyFormats) -> Vec<&Authority> {
        self.authorities
            .iter()
            .filter(|a| admits(a, signer, keys) == Ok(true))
            .collect()
    }

    /// The authorities whose OpenPGP key files hold the key with `fingerprint` (at any time).
    pub fn authorities_for_openpgp(
        &self,
        fingerprint: &str,
        keys: &dyn KeyFormats,
    ) -> Vec<&Authority> {
        self.authorities
            .iter()
            .filter(|a| a.openpgp.iter().any(|f| keys.openpgp_holds(f, fingerprint)))
            .collect()
    }

    /// The authorities whose allowed-signers files admit the key with `fingerprint` for
    /// `principal` (whatever the policy's bounds; lines of the files with bounds of their own
    /// do not count, the time being unknown).
    pub fn authorities_for_ssh(
        &self,
        fingerprint: &str,
        principal: &str,
        keys: &dyn KeyFormats,
    ) -> Vec<&Authority> {
        self.authorities
            .iter()
            .filter(|a| {
                a.ssh
                    .iter()
                    .any(|f| keys.ssh_admits(f, fingerprint, principal, None))
            })
            .collect()
    }
}
