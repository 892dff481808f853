//! Wrong-signature faults: answers that parse and look right but whose signature does not
//! verify, one per service, so a client's checks (not its parser) are what refuses them.
//!
//! - OIDC: the `id_token` of a token answer has one signature character changed.
//! - Fulcio: the leaf certificate of a `signingCert` answer has the last byte of its
//!   signature (inside the ECDSA `s`) flipped.
//! - Rekor: the SET is signed over another log index ([`crate::Faults::bad_set_signature`]).
//! - TSA: the last byte of the timestamp response — the SignerInfo's signature — flipped.

use base64::Engine as _;
use serde_json::Value;

use crate::http::{Resp, Service};

/// Break the signature in `resp`, an answer of `service` on `route`; answers without one
/// (discovery, keys, errors) are left alone.
pub fn break_signature(service: Service, route: &str, resp: &mut Resp) {
    if resp.status >= 300 {
        return;
    }
    match service {
        Service::Oidc => edit_json(resp, |v| {
            if let Some(Value::String(jwt)) = v.get_mut("id_token") {
                if let Some(dot) = jwt.rfind('.') {
                    // A character in the middle of the signature: always significant bits.
                    let i = dot + (jwt.len() - dot) / 2;
                    let c = if jwt.as_bytes()[i] == b'A' { "B" } else { "A" };
                    jwt.replace_range(i..i + 1, c);
                }
            }
        }),
        Service::Fulcio if route.ends_with("/signingCert") => edit_json(resp, |v| {
            for form in [
                "signedCertificateEmbeddedSct",
                "signedCertificateDetachedSct",
            ] {
                if let Some(Value::String(leaf)) =
                    v.pointer_mut(&format!("/{form}/chain/certificates/0"))
                {
                    *leaf = flip_last_der_byte(leaf);
                }
            }
        }),
        Service::Tsa if route.ends_with("/timestamp") => {
            if let Some(last) = resp.body.last_mut() {
                *last ^= 0x01;
            }
        }
        // Rekor's SETs are signed in its handler (`bad_set_signature`).
        _ => {}
    }
}

fn edit_json(resp: &mut Resp, edit: impl FnOnce(&mut Value)) {
    if let Ok(mut v) = serde_json::from_slice::<Value>(&resp.body) {
        edit(&mut v);
        resp.body = serde_json::to_vec(&v).unwrap_or_default();
    }
}

/// A PEM certificate with the last byte of its DER flipped, re-armored.
fn flip_last_der_byte(pem: &str) -> String {
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    let Ok(mut der) = base64::engine::general_purpose::STANDARD.decode(b64) else {
        return pem.to_owned();
    };
    if let Some(last) = der.last_mut() {
        *last ^= 0x01;
    }
    crate::keys::pem("CERTIFICATE", &der)
}
