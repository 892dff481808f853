//! The stack's signing keys: one ECDSA P-256 key per role (OIDC issuer, Fulcio root and
//! intermediate, CT log, Rekor, TSA root and signer), created on first start and kept as PKCS#8
//! PEM under `<state-dir>/keys/` so a restarted stack keeps its trust root. Also the small
//! encoding helpers every service shares (key ids, base64, hex, times).

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

/// Write a file readable only by the owner, atomically enough for a key (create_new).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
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
