//! SSH signatures of git objects (`gpg.format=ssh`): the SSHSIG format of OpenSSH's
//! `PROTOCOL.sshsig`, namespace `git`, judged as git judges them (`gpg-interface.c`
//! `verify_ssh_signed_buffer`): `ssh-keygen -Y find-principals` finds the allowed signers whose
//! key made the signature, valid at the committer's (tagger's) time, then `-Y verify -I` each
//! of them until one verifies. git never compares the principal with the committer: the signer
//! is whoever the allowed signers file names for the key. Pure: bytes in, the signer or a
//! typed failure out; no `ssh-keygen` is run.
//!
//! Keys: ed25519, ecdsa-sha2-nistp256/384/521, rsa-sha2-256/512, and the FIDO forms
//! `sk-ssh-ed25519@openssh.com` and `sk-ecdsa-sha2-nistp256@openssh.com`, whose signed data is
//! sha256(application) ‖ flags ‖ counter ‖ sha256(SSHSIG blob) (OpenSSH `PROTOCOL.u2f`), all
//! verified by the `ssh-key` crate. Signatures made with OpenSSH certificates (allowed signers'
//! `cert-authority`) cannot be read and are reported malformed.

mod allowed_signers;

pub use allowed_signers::{
    match_pattern_list, AllowedSigner, AllowedSigners, AllowedSignersError, RevocationError,
    Revoked,
};

use ssh_key::{HashAlg, PublicKey, SshSig};

/// The namespace git signs in (`ssh-keygen -Y sign -n git`).
pub const NAMESPACE: &str = "git";

/// Who made a good signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// The first principal of the allowed signers line that accepted the key: what git shows
    /// after `Good "git" signature for` (`find-principals` lists a line's principals one per
    /// line and git verifies with the first that succeeds).
    pub principal: String,
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub key_fingerprint: String,
    /// The key's algorithm name, e.g. `ssh-ed25519`, `sk-ssh-ed25519@openssh.com`.
    pub key_type: String,
}

/// Why an SSH signature is not good (kept as a fact, hence serde).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Failure {
    #[error("the SSH signature is malformed: {0}")]
    Malformed(String),
    #[error("the SSH signature is for namespace '{0}', not 'git'")]
    WrongNamespace(String),
    #[error("signed by SSH key {fingerprint}, which no allowed signer names")]
    UnknownKey { fingerprint: String },
    #[error("the SSH signature by key {fingerprint} does not verify")]
    BadSignature { fingerprint: String },
    #[error("SSH key {fingerprint} is revoked")]
    KeyRevoked { fingerprint: String },
    #[error("SSH key {fingerprint} of '{principal}' is allowed only until {valid_before}, the signature is from {at}")]
    KeyExpired {
        fingerprint: String,
        principal: String,
        valid_before: i64,
        at: i64,
    },
    #[error("SSH key {fingerprint} of '{principal}' is allowed only from {valid_after}, the signature is from {at}")]
    KeyNotYetValid {
        fingerprint: String,
        principal: String,
        valid_after: i64,
        at: i64,
    },
    #[error("SSH key {fingerprint} of '{principal}' is not allowed to sign for namespace 'git' (namespaces=\"{namespaces}\")")]
    NamespaceNotAllowed {
        fingerprint: String,
        principal: String,
        namespaces: String,
    },
}

impl Failure {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Malformed(_) => "signature_malformed",
            Failure::WrongNamespace(_) => "wrong_namespace",
            Failure::UnknownKey { .. } => "unknown_key",
            Failure::BadSignature { .. } => "bad_signature",
            Failure::KeyRevoked { .. } => "key_revoked",
            Failure::KeyExpired { .. } => "key_expired",
            Failure::KeyNotYetValid { .. } => "key_not_yet_valid",
            Failure::NamespaceNotAllowed { .. } => "wrong_namespace",
        }
    }
}

/// Verifies the armored SSHSIG `signature` over `payload` with the `allowed` signers at time
/// `at` (Unix seconds: the committer's or tagger's time, as git passes `-Overify-time`),
/// refusing keys in `revoked`.
pub fn verify(
    payload: &[u8],
    signature: &[u8],
    allowed: &AllowedSigners,
    revoked: &Revoked,
    at: i64,
) -> Result<Signer, Failure> {
    let sig = SshSig::from_pem(signature).map_err(|e| Failure::Malformed(e.to_string()))?;
    if sig.namespace() != NAMESPACE {
        return Err(Failure::WrongNamespace(sig.namespace().to_owned()));
    }
    if !matches!(sig.hash_alg(), HashAlg::Sha256 | HashAlg::Sha512) {
        return Err(Failure::Malformed("unsupported message hash".into()));
    }
    let key_data = sig.public_key();
    let fingerprint = key_data.fingerprint(HashAlg::Sha256).to_string();
    // Certificate lines only match certificates, which SSHSIG parsing above never yields.
    let entries: Vec<&AllowedSigner> = allowed
        .signers
        .iter()
        .filter(|s| !s.cert_authority && &s.key == key_data)
        .collect();
    if entries.is_empty() {
        return Err(Failure::UnknownKey { fingerprint });
    }
    let key = PublicKey::new(key_data.clone(), "");
    if key.verify(NAMESPACE, payload, &sig).is_err() {
        return Err(Failure::BadSignature { fingerprint });
    }
    if revoked.contains(key_data) {
        return Err(Failure::KeyRevoked { fingerprint });
    }
    let mut first_refusal = None;
    for entry in entries {
        match judge_entry(entry, &fingerprint, at) {
            Ok(()) => {
                return Ok(Signer {
                    principal: first_principal(&entry.principals),
                    key_fingerprint: fingerprint,
                    key_type: key_data.algorithm().to_string(),
                })
            }
            Err(f) => {
                first_refusal.get_or_insert(f);
            }
        }
    }
    Err(first_refusal.unwrap_or(Failure::UnknownKey { fingerprint }))
}

/// The public key that made `signature` over `payload`, in OpenSSH's one-line form
/// (`ssh-ed25519 AAAA…`), when the signature verifies under it in namespace `git`: what an
/// allowed signers line would name to trust it. `None` for anything else.
pub fn signing_key(payload: &[u8], signature: &[u8]) -> Option<String> {
    let sig = SshSig::from_pem(signature).ok()?;
    if sig.namespace() != NAMESPACE {
        return None;
    }
    let key = PublicKey::new(sig.public_key().clone(), "");
    key.verify(NAMESPACE, payload, &sig).ok()?;
    key.to_openssh().ok()
}

/// Whether `allowed` admits the key with `fingerprint` (`SHA256:…`) for `principal` in
/// namespace `git` at time `at`, as a line of the file would for `ssh-keygen -Y verify -I
/// principal -n git -Overify-time=at`: a line (not `cert-authority`) with that key whose
/// principals match, whose `namespaces=` (if any) include `git` and whose `valid-after` /
/// `valid-before` hold `at`. An unknown time is within no bound. Whether a policy's
/// allowed-signers file admits a signer that verified against the union of the policy's files.
pub fn admits(
    allowed: &AllowedSigners,
    fingerprint: &str,
    principal: &str,
    at: Option<i64>,
) -> bool {
    allowed.signers.iter().any(|entry| {
        !entry.cert_authority
            && entry.key.fingerprint(HashAlg::Sha256).to_string() == fingerprint
            && (match_pattern_list(principal, &entry.principals)
                || first_principal(&entry.principals) == principal)
            && match at {
                Some(at) => judge_entry(entry, fingerprint, at).is_ok(),
                None => {
                    entry.valid_after.is_none()
                        && entry.valid_before.is_none()
                        && judge_entry(entry, fingerprint, 0).is_ok()
                }
            }
    })
}

/// The first principal of a comma-separated list that is not a negation.
fn first_principal(principals: &str) -> String {
    principals
        .split(',')
        .find(|p| !p.is_empty() && !p.starts_with('!'))
        .unwrap_or(principals)
        .to_owned()
}

/// The allowed signers line's own conditions: namespace and validity window at `at`.
fn judge_entry(entry: &AllowedSigner, fingerprint: &str, at: i64) -> Result<(), Failure> {
    if let Some(ns) = &entry.namespaces {
        if !match_pattern_list(NAMESPACE, ns) {
            return Err(Failure::NamespaceNotAllowed {
                fingerprint: fingerprint.to_owned(),
                principal: entry.principals.clone(),
                namespaces: ns.clone(),
            });
        }
    }
    if let Some(valid_after) = entry.valid_after.filter(|t| at < *t) {
        return Err(Failure::KeyNotYetValid {
            fingerprint: fingerprint.to_owned(),
            principal: entry.principals.clone(),
            valid_after,
            at,
        });
    }
    if let Some(valid_before) = entry.valid_before.filter(|t| at > *t) {
        return Err(Failure::KeyExpired {
            fingerprint: fingerprint.to_owned(),
            principal: entry.principals.clone(),
            valid_before,
            at,
        });
    }
    Ok(())
}
