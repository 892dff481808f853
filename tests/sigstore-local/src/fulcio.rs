//! The Fulcio-compatible API over [`crate::ca`]: `POST /api/v2/signingCert` (proto3 JSON:
//! `credentials.oidcIdentityToken` with either `publicKeyRequest {publicKey, proofOfPossession}`
//! or `certificateSigningRequest`), Go gitsign's legacy `POST /api/v1/signingCert`,
//! `GET /api/v2/trustBundle` and `GET /api/v1/rootCert`.
//!
//! Errors mirror Fulcio's grpc-gateway bodies `{"code": <grpc code>, "message": …}`:
//! 401/16 for identity-token problems, 400/3 for bad requests and failed proof of possession.

use der::asn1::{Ia5String, Utf8StringRef};
use der::{Decode, Encode};
use serde_json::{json, Value};
use spki::ObjectIdentifier;
use x509_cert::request::CertReq;

use crate::ca::{LeafSpec, San};
use crate::http::{Req, Resp, Shared};
use crate::keys;
use crate::oidc::{TokenIssuer, Verified};

const GRPC_INVALID_ARGUMENT: u16 = 3;
const GRPC_UNAUTHENTICATED: u16 = 16;

fn fulcio_error(status: u16, grpc: u16, message: &str) -> Resp {
    Resp::json(
        status,
        &json!({ "code": grpc, "message": message, "details": [] }),
    )
}

fn bad_request(message: &str) -> Resp {
    fulcio_error(400, GRPC_INVALID_ARGUMENT, message)
}

pub fn handle(shared: &Shared, req: &Req, route: &str) -> Resp {
    match route {
        "POST /api/v2/signingCert" => signing_cert_v2(shared, req),
        "POST /api/v1/signingCert" => signing_cert_v1(shared, req),
        "GET /api/v2/trustBundle" => Resp::json(
            200,
            &json!({ "chains": [{ "certificates": shared.ca.chain_pem() }] }),
        ),
        "GET /api/v1/rootCert" => Resp::text(
            200,
            "application/pem-certificate-chain",
            shared.ca.chain_pem().concat(),
        ),
        _ => bad_request("unknown Fulcio endpoint"),
    }
}

fn verify_token(shared: &Shared, token: Option<&str>) -> Result<Verified, Resp> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(fulcio_error(
            401,
            GRPC_UNAUTHENTICATED,
            "There was an error processing the identity token: no token",
        ));
    };
    shared.oidc.verify(token).map_err(|e| {
        fulcio_error(
            401,
            GRPC_UNAUTHENTICATED,
            &format!("There was an error processing the identity token: {e}"),
        )
    })
}

/// A DER SPKI from PEM (`PUBLIC KEY`) or raw/base64 DER, P-256 only.
fn parse_public_key(content: &str) -> Option<Vec<u8>> {
    let der = if content.contains("-----BEGIN") {
        keys::pem_blocks(content, "PUBLIC KEY").into_iter().next()?
    } else {
        keys::unb64(content)?
    };
    p256_spki(&der).then_some(der)
}

fn p256_spki(der: &[u8]) -> bool {
    use p256::pkcs8::DecodePublicKey;
    p256::PublicKey::from_public_key_der(der).is_ok()
}

/// Proof of possession: a DER ECDSA-SHA256 signature over the token's subject (email or sub).
fn check_pop(spki: &[u8], identity: &Verified, sig_b64: &str) -> Result<(), Resp> {
    let bad = || bad_request("The signature supplied in the request could not be verified");
    let sig = keys::unb64(sig_b64).ok_or_else(bad)?;
    let candidates = [identity.claim("email"), identity.claim("sub")];
    if candidates
        .iter()
        .flatten()
        .any(|m| keys::verify_der(spki, m.as_bytes(), &sig))
    {
        Ok(())
    } else {
        Err(bad())
    }
}

/// The SAN and extensions for a verified identity.
fn leaf_spec(identity: &Verified) -> Result<LeafSpec, Resp> {
    match identity.issuer {
        TokenIssuer::Email => {
            let email = identity
                .claim("email")
                .ok_or_else(|| bad_request("token has no email"))?;
            Ok(LeafSpec {
                san: San::Email(email.to_string()),
                issuer: identity.issuer_url.clone(),
                extra: vec![],
            })
        }
        TokenIssuer::Actions => {
            let c = |k: &str| identity.claim(k).unwrap_or("").to_string();
            let server = "https://github.com";
            let job_ref = c("job_workflow_ref");
            if job_ref.is_empty() {
                return Err(bad_request("token has no job_workflow_ref"));
            }
            let repo_url = format!("{server}/{}", c("repository"));
            let raw = |oid: &str, v: String| (ObjectIdentifier::new_unwrap(oid), v.into_bytes());
            let utf8 = |oid: &str, v: String| -> Result<(ObjectIdentifier, Vec<u8>), Resp> {
                let d = Utf8StringRef::new(&v)
                    .and_then(|s| s.to_der())
                    .map_err(|_| bad_request("claim is not UTF-8"))?;
                Ok((ObjectIdentifier::new_unwrap(oid), d))
            };
            // Fulcio's OID doc: .2–.6 raw strings (deprecated), .8–.22 DER UTF8String.
            let extra = vec![
                raw("1.3.6.1.4.1.57264.1.2", c("event_name")),
                raw("1.3.6.1.4.1.57264.1.3", c("sha")),
                raw("1.3.6.1.4.1.57264.1.4", c("workflow")),
                raw("1.3.6.1.4.1.57264.1.5", c("repository")),
                raw("1.3.6.1.4.1.57264.1.6", c("ref")),
                utf8("1.3.6.1.4.1.57264.1.9", format!("{server}/{job_ref}"))?,
                utf8("1.3.6.1.4.1.57264.1.10", c("job_workflow_sha"))?,
                utf8("1.3.6.1.4.1.57264.1.11", c("runner_environment"))?,
                utf8("1.3.6.1.4.1.57264.1.12", repo_url.clone())?,
                utf8("1.3.6.1.4.1.57264.1.13", c("sha"))?,
                utf8("1.3.6.1.4.1.57264.1.14", c("ref"))?,
                utf8("1.3.6.1.4.1.57264.1.15", c("repository_id"))?,
                utf8(
                    "1.3.6.1.4.1.57264.1.16",
                    format!("{server}/{}", c("repository_owner")),
                )?,
                utf8("1.3.6.1.4.1.57264.1.17", c("repository_owner_id"))?,
                utf8(
                    "1.3.6.1.4.1.57264.1.18",
                    format!("{server}/{}", c("workflow_ref")),
                )?,
                utf8("1.3.6.1.4.1.57264.1.19", c("workflow_sha"))?,
                utf8("1.3.6.1.4.1.57264.1.20", c("event_name"))?,
                utf8(
                    "1.3.6.1.4.1.57264.1.21",
                    format!(
                        "{repo_url}/actions/runs/{}/attempts/{}",
                        c("run_id"),
                        c("run_attempt")
                    ),
                )?,
            ];
            // Ia5String check up front so a non-ASCII ref is a 400, not a CA error.
            let uri = format!("{server}/{job_ref}");
            Ia5String::new(&uri).map_err(|_| bad_request("workflow ref is not ASCII"))?;
            Ok(LeafSpec {
                san: San::Uri(uri),
                issuer: identity.issuer_url.clone(),
                extra,
            })
        }
    }
}

fn issue(shared: &Shared, spki: &[u8], identity: &Verified) -> Result<Vec<u8>, Resp> {
    let spec = leaf_spec(identity)?;
    shared
        .ca
        .issue(spki, &spec)
        .map(|l| l.der)
        .map_err(|e| fulcio_error(500, 13, &format!("error issuing certificate: {e}")))
}

fn signing_cert_v2(shared: &Shared, req: &Req) -> Resp {
    let Some(body) = req.json() else {
        return bad_request("request body is not JSON");
    };
    let token = body
        .pointer("/credentials/oidcIdentityToken")
        .and_then(Value::as_str)
        .or_else(|| req.bearer());
    let identity = match verify_token(shared, token) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let spki = if let Some(pkr) = body.get("publicKeyRequest") {
        let Some(content) = pkr.pointer("/publicKey/content").and_then(Value::as_str) else {
            return bad_request("publicKeyRequest.publicKey.content is required");
        };
        let Some(spki) = parse_public_key(content) else {
            return bad_request(
                "The public key supplied in the request could not be parsed (ECDSA P-256 expected)",
            );
        };
        let pop = pkr
            .get("proofOfPossession")
            .and_then(Value::as_str)
            .unwrap_or("");
        if let Err(r) = check_pop(&spki, &identity, pop) {
            return r;
        }
        spki
    } else if let Some(csr) = body
        .get("certificateSigningRequest")
        .and_then(Value::as_str)
    {
        match parse_csr(csr) {
            Ok(spki) => spki,
            Err(r) => return r,
        }
    } else {
        return bad_request("one of publicKeyRequest or certificateSigningRequest is required");
    };
    match issue(shared, &spki, &identity) {
        Ok(leaf) => {
            let mut chain = vec![keys::pem("CERTIFICATE", &leaf)];
            chain.extend(shared.ca.chain_pem());
            Resp::json(
                201,
                &json!({ "signedCertificateEmbeddedSct": { "chain": { "certificates": chain } } }),
            )
        }
        Err(r) => r,
    }
}

/// A CSR (base64 of PEM, PEM, or base64 DER); its self-signature is the proof of possession.
fn parse_csr(field: &str) -> Result<Vec<u8>, Resp> {
    let text = keys::unb64(field)
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| field.to_string());
    let der = keys::pem_blocks(&text, "CERTIFICATE REQUEST")
        .into_iter()
        .next()
        .or_else(|| keys::unb64(field))
        .ok_or_else(|| bad_request("certificateSigningRequest is not a PEM or DER CSR"))?;
    let csr = CertReq::from_der(&der)
        .map_err(|_| bad_request("certificateSigningRequest could not be parsed"))?;
    let spki = csr
        .info
        .public_key
        .to_der()
        .map_err(|_| bad_request("CSR public key could not be encoded"))?;
    if !p256_spki(&spki) {
        return Err(bad_request("CSR key must be ECDSA P-256"));
    }
    let info = csr
        .info
        .to_der()
        .map_err(|_| bad_request("CSR could not be re-encoded"))?;
    if csr.algorithm.oid != crate::ca::ECDSA_WITH_SHA256
        || !keys::verify_der(&spki, &info, csr.signature.raw_bytes())
    {
        return Err(bad_request(
            "The signature supplied in the request could not be verified",
        ));
    }
    Ok(spki)
}

/// Legacy v1 (`sigstore/fulcio` api.CertificateRequest): bearer token, base64 DER key,
/// `signedEmailAddress`; answers a PEM chain.
fn signing_cert_v1(shared: &Shared, req: &Req) -> Resp {
    let identity = match verify_token(shared, req.bearer()) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let Some(body) = req.json() else {
        return bad_request("request body is not JSON");
    };
    let Some(spki) = body
        .pointer("/publicKey/content")
        .and_then(Value::as_str)
        .and_then(parse_public_key)
    else {
        return bad_request("publicKey.content must be a base64 DER ECDSA P-256 key");
    };
    let pop = body
        .get("signedEmailAddress")
        .and_then(Value::as_str)
        .unwrap_or("");
    if let Err(r) = check_pop(&spki, &identity, pop) {
        return r;
    }
    match issue(shared, &spki, &identity) {
        Ok(leaf) => {
            let mut chain = keys::pem("CERTIFICATE", &leaf);
            chain.push_str(&shared.ca.chain_pem().concat());
            Resp::text(201, "application/pem-certificate-chain", chain)
        }
        Err(r) => r,
    }
}
