//! `gitsign.credentialStore = keyring`: the same credential in the OS keyring instead of the
//! daemon — on Linux the kernel's keyutils (in kernel memory, no D-Bus or secret service
//! needed), the Keychain on macOS, the Credential Manager on Windows.
//!
//! The entry's service is `gitsign-credential-cache`, its user the SHA-256 of the cache key,
//! its secret the credential in the wire format's encoding ([`super::protocol`]). The expiry
//! rule is the daemon's: an entry with less than [`super::MIN_VALIDITY_SECS`] left is
//! deleted instead of returned.

use zeroize::Zeroizing;

use super::protocol::{self, Credential};

/// The keyring service name of every entry.
pub const SERVICE: &str = "gitsign-credential-cache";

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("the OS keyring is not available")]
    Unavailable(#[source] ::keyring::Error),
    #[error("the OS keyring refused the credential")]
    Store(#[source] ::keyring::Error),
    #[error("the credential is not worth keeping: {0}")]
    Expiring(String),
}

fn entry(key: &[u8]) -> Result<::keyring::Entry, KeyringError> {
    // In a process without a session keyring, the first keyutils entry is resolved before the
    // kernel installs the user-session keyring for the process, and its first read or write
    // fails with NoEntry (seen on Linux 6.18 with keyring 3.6); an entry made after that one
    // works. So one throwaway entry is made first, once per process.
    static WARM: std::sync::Once = std::sync::Once::new();
    WARM.call_once(|| {
        let _ = ::keyring::Entry::new(SERVICE, "session");
    });
    let user = crate::encoding::hex(&crate::crypto::sha256(key));
    ::keyring::Entry::new(SERVICE, &user).map_err(KeyringError::Unavailable)
}

/// The credential filed under `key`, if it has enough time left at `now`.
pub fn get(key: &[u8], now: i64) -> Result<Option<Credential>, KeyringError> {
    let entry = entry(key)?;
    let secret = match entry.get_secret() {
        Ok(s) => Zeroizing::new(s),
        Err(::keyring::Error::NoEntry) => return Ok(None),
        Err(e) => return Err(KeyringError::Unavailable(e)),
    };
    match protocol::decode_credential(&secret) {
        Ok(c) if super::check_validity(&c, now, super::MIN_VALIDITY_SECS).is_ok() => Ok(Some(c)),
        _ => {
            // Expiring or unreadable: gone, so the next signer does not look at it again.
            let _ = entry.delete_credential();
            Ok(None)
        }
    }
}

/// File `credential` under `key`, replacing what was there. On Linux the kernel is told to
/// destroy the entry (the `user` key type wipes its payload when freed) once fewer than
/// [`super::MIN_VALIDITY_SECS`] are left, so an entry nobody asks for again does not outlive
/// its certificate.
pub fn put(key: &[u8], credential: &Credential, now: i64) -> Result<(), KeyringError> {
    let not_after = super::check_validity(credential, now, super::MIN_VALIDITY_SECS)
        .map_err(|e| KeyringError::Expiring(e.to_string()))?;
    let entry = entry(key)?;
    entry
        .set_secret(&protocol::encode_credential(credential))
        .map_err(KeyringError::Store)?;
    expire(&entry, not_after - super::MIN_VALIDITY_SECS - now);
    Ok(())
}

#[cfg(target_os = "linux")]
fn expire(entry: &::keyring::Entry, seconds: i64) {
    let Some(k) = entry
        .get_credential()
        .downcast_ref::<::keyring::keyutils::KeyutilsCredential>()
    else {
        return;
    };
    if let Ok(key) = k.session.search(&k.description) {
        let _ = key.set_timeout(seconds.max(1) as usize);
    }
}

#[cfg(not(target_os = "linux"))]
fn expire(_entry: &::keyring::Entry, _seconds: i64) {}

/// Remove the entry under `key`, if any.
pub fn delete(key: &[u8]) -> Result<(), KeyringError> {
    match entry(key)?.delete_credential() {
        Ok(()) | Err(::keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(KeyringError::Store(e)),
    }
}
