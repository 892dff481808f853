//! `gitsign.credentialStore = keyring`: the same credential in the OS keyring instead of the
//! daemon. What is kept where, and for how long, differs by OS:
//!
//! | OS | store | where the private key is | until |
//! |---|---|---|---|
//! | Linux | kernel keyutils, user-session keyring (no D-Bus or secret service) | kernel memory only | the kernel destroys it [`super::MIN_VALIDITY_SECS`] before the certificate expires (key timeout), or at logout |
//! | macOS | login Keychain, generic password | on disk, encrypted by the Keychain (not synced to iCloud) | read after expiry, or deleted |
//! | Windows | Credential Manager, generic credential, `CRED_PERSIST_ENTERPRISE` (what the `keyring` crate writes) | on disk, encrypted with DPAPI, and copied with a roaming profile | read after expiry, or deleted |
//!
//! On macOS and Windows the store has no expiry of its own: the certificate's `notAfter` is in
//! the entry, and every read checks it and deletes an expiring entry instead of returning it,
//! so an expired key is never used, but an entry nobody reads again stays (encrypted) until
//! it is deleted by hand (`gitsign-credential-cache` in Keychain Access or Credential
//! Manager). Use the daemon (Linux, macOS) to keep keys off disk.
//!
//! The entry's service is `gitsign-credential-cache`, its user the SHA-256 of the cache key,
//! its secret the credential in the wire format's encoding ([`super::protocol`]). A
//! credential larger than the store takes ([`MAX_SECRET`]) is refused with its size rather
//! than cut: a Fulcio chain for a GitHub Actions identity (a leaf with a dozen workflow
//! extensions) can exceed Credential Manager's 2,560 bytes, and is then not kept.

use zeroize::Zeroizing;

use super::protocol::{self, Credential};

/// The keyring service name of every entry.
pub const SERVICE: &str = "gitsign-credential-cache";

/// Windows Credential Manager's largest secret, `CRED_MAX_CREDENTIAL_BLOB_SIZE` (5 × 512 bytes).
pub const CREDENTIAL_MANAGER_MAX: usize = 2560;
/// The largest payload of a keyutils `user` key (`/proc/sys/kernel/keys/maxbytes` is larger).
pub const KEYUTILS_MAX: usize = 32_767;

/// The largest secret this OS's store takes. The Keychain has no limit near a credential's
/// size; keyutils' is used there as a bound.
pub const MAX_SECRET: usize = if cfg!(windows) {
    CREDENTIAL_MANAGER_MAX
} else {
    KEYUTILS_MAX
};

/// The name of this OS's store, for messages.
const STORE: &str = if cfg!(windows) {
    "Windows Credential Manager"
} else if cfg!(target_os = "macos") {
    "the macOS Keychain"
} else {
    "the kernel keyring"
};

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("the OS keyring is not available")]
    Unavailable(#[source] ::keyring::Error),
    #[error("the OS keyring refused the credential")]
    Store(#[source] ::keyring::Error),
    #[error("the credential is not worth keeping: {0}")]
    Expiring(String),
    #[error("the credential is {len} bytes and {store} keeps at most {max}")]
    TooLarge {
        len: usize,
        max: usize,
        store: &'static str,
    },
}

/// A refusal when `len` bytes exceed `max`, before the store is touched.
fn check_size(len: usize, max: usize, store: &'static str) -> Result<(), KeyringError> {
    if len > max {
        return Err(KeyringError::TooLarge { len, max, store });
    }
    Ok(())
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
    let secret = protocol::encode_credential(credential);
    check_size(secret.len(), MAX_SECRET, STORE)?;
    let entry = entry(key)?;
    entry.set_secret(&secret).map_err(KeyringError::Store)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_too_large_for_the_store_is_refused_with_its_size() {
        let e = check_size(3000, CREDENTIAL_MANAGER_MAX, "Windows Credential Manager")
            .expect_err("3,000 bytes exceed Credential Manager's blob limit");
        assert_eq!(
            e.to_string(),
            "the credential is 3000 bytes and Windows Credential Manager keeps at most 2560",
            "the refusal names the size and the limit"
        );
        assert!(
            check_size(2560, CREDENTIAL_MANAGER_MAX, "x").is_ok(),
            "the limit itself fits"
        );
    }
}
