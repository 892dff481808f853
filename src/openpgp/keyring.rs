//! The OpenPGP public keys a user configured (`--openpgp-keys FILE`, ASCII-armored or binary
//! transferable public keys, RFC 9580 §10.1), reduced once to what judging a signature needs:
//! each signing-capable (sub)key with its creation, expiry and revocations, proven by the
//! certificate's own self-signatures.
//!
//! Only cryptographically valid self-signatures count. The newest valid self-signature of the
//! primary key (direct-key or user-id certification) gives its expiry and flags, as GnuPG does;
//! the newest valid binding of a subkey gives its expiry and flags, and a signing subkey needs
//! its embedded primary-key binding (back-signature, RFC 9580 §5.2.1) to count at all. A
//! certificate without any valid self-signature is dropped, with a warning, as `gpg --import`
//! drops it ("no valid user IDs"). Revocations by designated revokers are not read (they need
//! the revoker's key); only self-revocations are.

use pgp::composed::{Deserializable, SignedPublicKey, SignedPublicSubKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::public_key::PublicKeyAlgorithm;
use pgp::packet::{
    KeyFlags, PublicKey, PublicSubkey, RevocationCode, Signature, SignatureType, SubpacketData,
};
use pgp::types::{
    Fingerprint, KeyDetails, KeyId, KeyVersion, PublicParams, SignatureBytes, Tag, Timestamp,
    VerifyingKey,
};

use super::rsa::{RsaChecked, RsaKey};

/// SHA-1 self-signatures (bindings, certifications, revocations) are accepted when made before
/// this time, 2023-02-01 (Sequoia's standard policy for second-preimage use); later ones are
/// ignored. Data signatures by SHA-1 are refused at any time (see `super::verify`).
const SHA1_SELF_SIGNATURE_CUTOFF: i64 = 1_675_209_600;

/// Why a key file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("not an OpenPGP public key file")]
    Parse(#[source] pgp::errors::Error),
    #[error("no OpenPGP public key in the file")]
    Empty,
}

/// A (sub)key that may have made a data signature.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub(crate) material: Material,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) key_id: KeyId,
    pub(crate) created: i64,
    /// The end of validity from the newest valid self-signature; `None`: never expires.
    pub(crate) expires: Option<i64>,
    pub(crate) revocations: Vec<Revocation>,
    /// The newest valid self-signature allows data signatures.
    pub(crate) can_sign: bool,
    /// The key as aws-lc checks it, if it is an RSA key of a size it takes.
    pub(crate) rsa: Option<RsaKey>,
}

#[derive(Debug, Clone)]
pub(crate) enum Material {
    Primary(PublicKey),
    Subkey(PublicSubkey),
}

impl Material {
    fn key(&self) -> &dyn VerifyingKey {
        match self {
            Material::Primary(k) => k,
            Material::Subkey(k) => k,
        }
    }

    /// The key packet's body as serialised (what the fingerprint is computed over); empty if
    /// it does not serialise.
    pub(crate) fn packet(&self) -> Vec<u8> {
        use pgp::ser::Serialize as _;
        match self {
            Material::Primary(k) => k.to_bytes(),
            Material::Subkey(k) => k.to_bytes(),
        }
        .unwrap_or_default()
    }
}

/// A (sub)key is what checks a data signature (`Signature::verify`): the crate's own key, but
/// for an RSA key the signature itself is checked by aws-lc where it can be ([`RsaKey`]). The
/// fingerprint and key id are the ones read once at load, from the same key.
impl KeyDetails for Key {
    fn version(&self) -> KeyVersion {
        self.material.key().version()
    }

    fn legacy_key_id(&self) -> KeyId {
        self.key_id
    }

    fn fingerprint(&self) -> Fingerprint {
        self.fingerprint.clone()
    }

    fn algorithm(&self) -> PublicKeyAlgorithm {
        self.material.key().algorithm()
    }

    fn created_at(&self) -> Timestamp {
        self.material.key().created_at()
    }

    fn legacy_v3_expiration_days(&self) -> Option<u16> {
        self.material.key().legacy_v3_expiration_days()
    }

    fn public_params(&self) -> &PublicParams {
        self.material.key().public_params()
    }
}

impl VerifyingKey for Key {
    fn verify(
        &self,
        hash: HashAlgorithm,
        digest: &[u8],
        signature: &SignatureBytes,
    ) -> pgp::errors::Result<()> {
        super::rsa::verify(
            self.rsa.as_ref(),
            self.material.key(),
            hash,
            digest,
            signature,
        )
    }
}

/// A valid revocation signature over a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Revocation {
    pub(crate) at: i64,
    /// Soft revocations (superseded, retired: RFC 9580 §5.2.3.31) end validity at their time;
    /// hard ones (compromised, no or unknown reason) void every signature, earlier ones too.
    pub(crate) hard: bool,
    pub(crate) reason: Option<String>,
}

impl Revocation {
    /// Whether this revocation voids a signature made at `t`.
    pub(crate) fn voids(&self, t: i64) -> bool {
        self.hard || t >= self.at
    }
}

/// One certificate: its primary key, signing subkeys and a user id to show.
#[derive(Debug, Clone)]
pub(crate) struct Cert {
    pub(crate) primary: Key,
    pub(crate) subkeys: Vec<Key>,
    pub(crate) user_id: Option<String>,
}

/// The configured OpenPGP certificates.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    pub(crate) certs: Vec<Cert>,
}

impl Keyring {
    /// An empty ring: every signature is by an unknown key.
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// Adds the certificates of one key file (armored, possibly several blocks, or binary).
    /// Returns the warnings (certificates dropped for want of a valid self-signature).
    pub fn add_file(&mut self, bytes: &[u8]) -> Result<Vec<String>, KeyringError> {
        let keys = parse_keys(bytes)?;
        if keys.is_empty() {
            return Err(KeyringError::Empty);
        }
        let mut warnings = Vec::new();
        for key in keys {
            match Cert::from_signed(&key) {
                Some(cert) => self.certs.push(cert),
                None => warnings.push(format!(
                    "OpenPGP key {} has no valid self-signature; ignored",
                    hex_upper(key.primary_key.fingerprint().as_bytes())
                )),
            }
        }
        Ok(warnings)
    }

    /// Adds every certificate of `other` (a policy's authorities' files, one ring for the
    /// verifier).
    pub fn extend(&mut self, other: &Keyring) {
        self.certs.extend(other.certs.iter().cloned());
    }

    /// Whether a certificate of the ring has a primary key or subkey with `fingerprint` (hex,
    /// any case): whether a key file holds the key that verified a signature.
    pub fn holds(&self, fingerprint: &str) -> bool {
        self.certs
            .iter()
            .flat_map(Cert::keys)
            .any(|k| hex_upper(k.fingerprint.as_bytes()).eq_ignore_ascii_case(fingerprint))
    }

    /// How many certificates the ring holds.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }
}

fn parse_keys(bytes: &[u8]) -> Result<Vec<SignedPublicKey>, KeyringError> {
    const BEGIN: &[u8] = b"-----BEGIN PGP PUBLIC KEY BLOCK-----";
    const END: &[u8] = b"-----END PGP PUBLIC KEY BLOCK-----";
    let mut keys = Vec::new();
    if !contains(bytes, BEGIN) {
        for key in SignedPublicKey::from_bytes_many(bytes).map_err(KeyringError::Parse)? {
            keys.push(key.map_err(KeyringError::Parse)?);
        }
        return Ok(keys);
    }
    // Armored: every block, as `gpg --import` reads concatenated exports (rpgp reads one).
    let mut rest = bytes;
    while let Some(start) = find(rest, BEGIN) {
        let block = &rest[start..];
        let end = find(block, END).map_or(block.len(), |e| e + END.len());
        let (iter, _) =
            SignedPublicKey::from_armor_many(&block[..end]).map_err(KeyringError::Parse)?;
        for key in iter {
            keys.push(key.map_err(KeyringError::Parse)?);
        }
        rest = &block[end..];
    }
    Ok(keys)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

impl Cert {
    fn from_signed(key: &SignedPublicKey) -> Option<Cert> {
        let primary = &key.primary_key;
        let checker = RsaChecked::new(primary);
        // The primary key's self-signatures: direct-key and user-id certifications.
        let mut self_sigs: Vec<&Signature> = key
            .details
            .direct_signatures
            .iter()
            .filter(|s| s.typ() == Some(SignatureType::Key) && acceptable_self_hash(s))
            .filter(|s| s.verify_key(&checker).is_ok())
            .collect();
        let mut user_id = None;
        let mut newest_uid_sig: Option<(i64, bool)> = None;
        for user in &key.details.users {
            let valid = user
                .signatures
                .iter()
                .filter(|s| s.is_certification() && s.typ() != Some(SignatureType::CertRevocation))
                .filter(|s| acceptable_self_hash(s))
                .filter(|s| {
                    s.verify_certification(&checker, Tag::UserId, &user.id)
                        .is_ok()
                })
                .max_by_key(|s| created(s));
            if let Some(sig) = valid {
                self_sigs.push(sig);
                let name = String::from_utf8_lossy(user.id.id()).into_owned();
                let rank = (created(sig), sig.is_primary());
                // The primary user id wins; otherwise the first one listed.
                let better = match newest_uid_sig {
                    None => true,
                    Some((_, was_primary)) => sig.is_primary() && !was_primary,
                };
                if better {
                    user_id = Some(name);
                    newest_uid_sig = Some(rank);
                }
            }
        }
        let newest = self_sigs.iter().max_by_key(|s| created(s))?;
        let created_at = i64::from(primary.created_at().as_secs());
        let revocations = key
            .details
            .revocation_signatures
            .iter()
            .filter(|s| s.typ() == Some(SignatureType::KeyRevocation) && acceptable_self_hash(s))
            .filter(|s| s.verify_key(&checker).is_ok())
            .map(revocation)
            .collect();
        let subkeys = key
            .public_subkeys
            .iter()
            .filter_map(|sub| subkey(&checker, sub))
            .collect();
        let primary_key = Key {
            material: Material::Primary(primary.clone()),
            fingerprint: primary.fingerprint(),
            key_id: primary.legacy_key_id(),
            created: created_at,
            expires: expiry(created_at, newest),
            revocations,
            // Without a key flags subpacket the primary key may sign (RFC 4880 keys before flags).
            can_sign: key_flags(newest).is_none_or(|f| f.sign()),
            rsa: checker.into_rsa(),
        };
        Some(Cert {
            primary: primary_key,
            subkeys,
            user_id,
        })
    }

    /// The (sub)keys a signature may name, primary first.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.primary).chain(self.subkeys.iter())
    }
}

fn subkey(primary: &RsaChecked<'_, PublicKey>, sub: &SignedPublicSubKey) -> Option<Key> {
    let checker = RsaChecked::new(&sub.key);
    let binding = sub
        .signatures
        .iter()
        .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding) && acceptable_self_hash(s))
        .filter(|s| s.verify_subkey_binding(primary, &sub.key).is_ok())
        .max_by_key(|s| created(s))?;
    let flags = key_flags(binding);
    let signs = flags.as_ref().is_some_and(|f| f.sign());
    // A signing subkey counts only with a valid back-signature: otherwise anyone could bind
    // someone else's signing key to their certificate.
    let back_signed = binding.embedded_signature().is_some_and(|back| {
        back.typ() == Some(SignatureType::KeyBinding)
            && acceptable_self_hash(back)
            && back.verify_primary_key_binding(&checker, primary).is_ok()
    });
    let created_at = i64::from(sub.key.created_at().as_secs());
    let revocations = sub
        .signatures
        .iter()
        .filter(|s| s.typ() == Some(SignatureType::SubkeyRevocation) && acceptable_self_hash(s))
        .filter(|s| s.verify_subkey_binding(primary, &sub.key).is_ok())
        .map(revocation)
        .collect();
    Some(Key {
        material: Material::Subkey(sub.key.clone()),
        fingerprint: sub.key.fingerprint(),
        key_id: sub.key.legacy_key_id(),
        created: created_at,
        expires: expiry(created_at, binding),
        revocations,
        can_sign: signs && back_signed,
        rsa: checker.into_rsa(),
    })
}

pub(crate) fn created(sig: &Signature) -> i64 {
    sig.created().map_or(0, |t| i64::from(t.as_secs()))
}

fn expiry(key_created: i64, sig: &Signature) -> Option<i64> {
    match sig.key_expiration_time() {
        None => None,
        Some(d) if d.as_secs() == 0 => None,
        Some(d) => Some(key_created.saturating_add(i64::from(d.as_secs()))),
    }
}

fn key_flags(sig: &Signature) -> Option<KeyFlags> {
    sig.config()?
        .hashed_subpackets()
        .find_map(|p| match &p.data {
            SubpacketData::KeyFlags(f) => Some(f.clone()),
            _ => None,
        })
}

fn revocation(sig: &Signature) -> Revocation {
    let code = sig.revocation_reason_code();
    let hard = !matches!(
        code,
        Some(RevocationCode::KeySuperseded | RevocationCode::KeyRetired)
    );
    let reason = sig
        .revocation_reason_string()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| code.map(|c| format!("{c:?}")));
    Revocation {
        at: created(sig),
        hard,
        reason,
    }
}

fn acceptable_self_hash(sig: &Signature) -> bool {
    match sig.hash_alg() {
        Some(HashAlgorithm::Sha1) => created(sig) < SHA1_SELF_SIGNATURE_CUTOFF,
        Some(alg) => !super::weak(alg),
        None => false,
    }
}

pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    crate::encoding::hex(bytes).to_ascii_uppercase()
}
