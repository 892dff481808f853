//! The stack's signing keys: one ECDSA key per role (OIDC issuer, Fulcio root and intermediate,
//! CT log, Rekor, TSA root and signer), created on first start and kept as PKCS#8 PEM under
//! `<state-dir>/keys/` so a restarted stack keeps its trust root. Every key is P-256 except the
//! Fulcio root and intermediate, which are P-384 signing with SHA-384 in the public-good
//! [`KeyShape`] (the default), as public-good Fulcio's are. Also the small encoding helpers
//! every service shares (key ids, base64, hex, times).

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::Error;

/// A P-256 key pair with its SubjectPublicKeyInfo DER cached.
#[derive(Clone)]
pub struct KeyPair {
    signing: SigningKey,
    spki_der: Vec<u8>,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print private key material.
        f.debug_struct("KeyPair")
            .field("key_id", &hex(&self.key_id()))
            .finish()
    }
}

impl KeyPair {
    pub fn generate() -> Self {
        Self::from_signing(SigningKey::random(&mut OsRng))
    }

    fn from_signing(signing: SigningKey) -> Self {
        let spki_der = signing
            .verifying_key()
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default();
        Self { signing, spki_der }
    }

    /// Load `<dir>/<name>.pem`, or create and persist it (mode 0600) when absent.
    pub fn load_or_create(dir: &Path, name: &str) -> Result<Self, Error> {
        let path = dir.join(format!("{name}.pem"));
        if path.exists() {
            let pem = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let signing = SigningKey::from_pkcs8_pem(&pem)
                .map_err(|e| Error::State(format!("cannot parse key {}: {e}", path.display())))?;
            return Ok(Self::from_signing(signing));
        }
        let key = Self::generate();
        let pem = key
            .signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| Error::State(format!("cannot encode key {name}: {e}")))?;
        write_private(&path, pem.as_bytes())?;
        Ok(key)
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        self.signing.verifying_key()
    }

    /// DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// SHA-256 of the SPKI DER: Rekor's log id, the CT log id, trusted-root `keyId`.
    pub fn key_id(&self) -> [u8; 32] {
        Sha256::digest(&self.spki_der).into()
    }

    /// PEM public key (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_pem(&self) -> String {
        pem("PUBLIC KEY", &self.spki_der)
    }

    /// ECDSA-SHA256, ASN.1 DER encoded (Rekor SET, checkpoints, SCTs, PoP).
    pub fn sign_der(&self, msg: &[u8]) -> Vec<u8> {
        let sig: DerSignature = self.signing.sign(msg);
        sig.as_bytes().to_vec()
    }

    /// ECDSA-SHA256 as fixed-width r||s (JWS ES256).
    pub fn sign_raw(&self, msg: &[u8]) -> Vec<u8> {
        let sig: Signature = self.signing.sign(msg);
        sig.to_bytes().to_vec()
    }
}

/// The curves of the Fulcio CA keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyShape {
    /// As public-good Sigstore: Fulcio root and intermediate P-384, every certificate they
    /// sign ecdsa-with-SHA384; CT log, Rekor and the rest P-256.
    PublicGood,
    /// Every key P-256, every certificate ecdsa-with-SHA256.
    P256,
}

impl KeyShape {
    /// The variable that picks the shape when the options do not: `public-good` or `p256`.
    pub const ENV: &'static str = "SIGSTORE_LOCAL_KEY_SHAPE";

    pub fn parse(s: &str) -> Option<KeyShape> {
        match s {
            "public-good" => Some(KeyShape::PublicGood),
            "p256" => Some(KeyShape::P256),
            _ => None,
        }
    }

    /// The shape `SIGSTORE_LOCAL_KEY_SHAPE` names; public-good when unset, an error when it
    /// names none.
    pub fn from_env() -> Result<KeyShape, Error> {
        match std::env::var(Self::ENV) {
            Err(std::env::VarError::NotPresent) => Ok(KeyShape::PublicGood),
            Ok(v) => Self::parse(&v).ok_or_else(|| {
                Error::State(format!(
                    "{}='{v}' names no key shape (public-good or p256)",
                    Self::ENV
                ))
            }),
            Err(e) => Err(Error::State(format!("{}: {e}", Self::ENV))),
        }
    }
}

/// A certificate authority's key: P-256 signing with SHA-256, or P-384 with SHA-384.
#[derive(Clone)]
pub enum CaKey {
    P256(KeyPair),
    P384 {
        signing: p384::ecdsa::SigningKey,
        spki_der: Vec<u8>,
    },
}

impl std::fmt::Debug for CaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print private key material.
        f.debug_struct("CaKey")
            .field("curve", &self.curve())
            .field("key_id", &hex(&Sha256::digest(self.spki_der())))
            .finish()
    }
}

/// ecdsa-with-SHA256 (RFC 5758 §3.2).
pub const ECDSA_WITH_SHA256: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// ecdsa-with-SHA384 (RFC 5758 §3.2).
pub const ECDSA_WITH_SHA384: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");

impl CaKey {
    pub fn generate(shape: KeyShape) -> Self {
        match shape {
            KeyShape::P256 => CaKey::P256(KeyPair::generate()),
            KeyShape::PublicGood => Self::from_p384(p384::ecdsa::SigningKey::random(&mut OsRng)),
        }
    }

    fn from_p384(signing: p384::ecdsa::SigningKey) -> Self {
        let spki_der = signing
            .verifying_key()
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default();
        CaKey::P384 { signing, spki_der }
    }

    /// Load `<dir>/<name>.pem` (either curve), or create one of `shape` and persist it. A kept
    /// key of the other shape is an error: its certificates and trust root were made with it.
    pub fn load_or_create(dir: &Path, name: &str, shape: KeyShape) -> Result<Self, Error> {
        let path = dir.join(format!("{name}.pem"));
        if path.exists() {
            let pem = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let key = match p384::ecdsa::SigningKey::from_pkcs8_pem(&pem) {
                Ok(k) => Self::from_p384(k),
                Err(_) => CaKey::P256(KeyPair::from_signing(
                    SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
                        Error::State(format!("cannot parse key {}: {e}", path.display()))
                    })?,
                )),
            };
            if key.shape() != shape {
                return Err(Error::State(format!(
                    "{} is a {} key but the {shape:?} key shape was asked for; use a new state directory",
                    path.display(),
                    key.curve()
                )));
            }
            return Ok(key);
        }
        let key = Self::generate(shape);
        let pem = match &key {
            CaKey::P256(k) => k.signing.to_pkcs8_pem(LineEnding::LF),
            CaKey::P384 { signing, .. } => signing.to_pkcs8_pem(LineEnding::LF),
        }
        .map_err(|e| Error::State(format!("cannot encode key {name}: {e}")))?;
        write_private(&path, pem.as_bytes())?;
        Ok(key)
    }

    fn shape(&self) -> KeyShape {
        match self {
            CaKey::P256(_) => KeyShape::P256,
            CaKey::P384 { .. } => KeyShape::PublicGood,
        }
    }

    pub fn curve(&self) -> &'static str {
        match self {
            CaKey::P256(_) => "P-256",
            CaKey::P384 { .. } => "P-384",
        }
    }

    /// DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        match self {
            CaKey::P256(k) => k.spki_der(),
            CaKey::P384 { spki_der, .. } => spki_der,
        }
    }

    /// The signature algorithm of what this key signs: ecdsa-with-SHA256 or -SHA384.
    pub fn signature_oid(&self) -> spki::ObjectIdentifier {
        match self {
            CaKey::P256(_) => ECDSA_WITH_SHA256,
            CaKey::P384 { .. } => ECDSA_WITH_SHA384,
        }
    }

    /// ECDSA over `msg` with this key's digest, ASN.1 DER encoded.
    pub fn sign_der(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            CaKey::P256(k) => k.sign_der(msg),
            CaKey::P384 { signing, .. } => {
                let sig: p384::ecdsa::DerSignature = signing.sign(msg);
                sig.as_bytes().to_vec()
            }
        }
    }
}

/// Verify an ASN.1 DER ECDSA signature by a CA key of either curve (SHA-256 with P-256,
/// SHA-384 with P-384).
pub fn verify_ca_der(spki_der: &[u8], msg: &[u8], sig_der: &[u8]) -> bool {
    use p384::pkcs8::DecodePublicKey;
    match p384::ecdsa::VerifyingKey::from_public_key_der(spki_der) {
        Ok(key) => {
            p384::ecdsa::Signature::from_der(sig_der).is_ok_and(|sig| key.verify(msg, &sig).is_ok())
        }
        Err(_) => verify_der(spki_der, msg, sig_der),
    }
}

/// Write a file readable only by the owner, atomically enough for a key (create_new). On
/// Windows the file gets the directory's inherited ACL (the user's profile is private).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(|e| Error::io(path, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// Verify an ASN.1 DER ECDSA-SHA256 signature over `msg` with a P-256 SPKI.
pub fn verify_der(spki_der: &[u8], msg: &[u8], sig_der: &[u8]) -> bool {
    let Ok(key) = p256::PublicKey::from_public_key_der_compat(spki_der) else {
        return false;
    };
    let Ok(sig) = Signature::from_der(sig_der) else {
        return false;
    };
    VerifyingKey::from(key).verify(msg, &sig).is_ok()
}

/// Verify an ASN.1 DER ECDSA signature over an already computed digest.
pub fn verify_prehash_der(spki_der: &[u8], digest: &[u8], sig_der: &[u8]) -> bool {
    let Ok(key) = p256::PublicKey::from_public_key_der_compat(spki_der) else {
        return false;
    };
    let Ok(sig) = Signature::from_der(sig_der) else {
        return false;
    };
    VerifyingKey::from(key).verify_prehash(digest, &sig).is_ok()
}

/// `DecodePublicKey` without importing the trait at every call site.
trait FromSpki: Sized {
    fn from_public_key_der_compat(der: &[u8]) -> Result<Self, spki::Error>;
}

impl FromSpki for p256::PublicKey {
    fn from_public_key_der_compat(der: &[u8]) -> Result<Self, spki::Error> {
        use p256::pkcs8::DecodePublicKey;
        p256::PublicKey::from_public_key_der(der)
    }
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()
}

pub fn unb64url(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// PEM armour with 64-column lines, as OpenSSL and Python's `cryptography` write it.
pub fn pem(label: &str, der: &[u8]) -> String {
    let body = b64(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// All PEM blocks with `label` in `text`, decoded.
pub fn pem_blocks(text: &str, label: &str) -> Vec<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start + begin.len()..];
        let Some(stop) = after.find(&end) else { break };
        let body: String = after[..stop]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if let Some(der) = unb64(&body) {
            out.push(der);
        }
        rest = &after[stop + end.len()..];
    }
    out
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    OsRng.fill_bytes(&mut b);
    b
}

/// A random url-safe token with 128 bits of entropy (codes, device codes).
pub fn random_token() -> String {
    b64url(&random_bytes::<16>())
}

pub fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// RFC 3339 UTC with a `Z` suffix and whole seconds, as trusted_root.json uses.
pub fn rfc3339(unix: Duration) -> String {
    match der::DateTime::from_unix_duration(Duration::from_secs(unix.as_secs())) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minutes(),
            t.seconds()
        ),
        Err(_) => "1970-01-01T00:00:00Z".to_string(),
    }
}
