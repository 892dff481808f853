//! End-to-end tests of the local Sigstore stack over real HTTP on 127.0.0.1: the signing
//! flow gitsign performs (token → certificate → log entry), every OIDC flow, Fulcio and Rekor
//! refusals, the fault switches, restart durability, the binary's command-line contract, and
//! independent verification of what the stack issued by the Python `sigstore` package.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::Signature;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sigstore_local::keys::{self, b64, hex, KeyPair};
use sigstore_local::oidc::TokenRequest;
use sigstore_local::{merkle, Faults, Options, Service, Stack};

struct R {
    status: u16,
    body: Vec<u8>,
    location: Option<String>,
}

impl R {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response must be JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn finish(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> R {
    let mut r = r.expect("the request must reach the stack");
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .read_to_vec()
        .expect("the body must be readable");
    R {
        status,
        body,
        location,
    }
}

fn get(url: &str) -> R {
    finish(agent().get(url).call())
}

fn get_bearer(url: &str, token: &str) -> R {
    finish(
        agent()
            .get(url)
            .header("Authorization", &format!("Bearer {token}"))
            .call(),
    )
}

fn post_json(url: &str, v: &Value) -> R {
    finish(
        agent()
            .post(url)
            .header("Content-Type", "application/json")
            .send(v.to_string()),
    )
}

fn post_form(url: &str, form: &[(&str, &str)]) -> R {
    finish(agent().post(url).send_form(form.iter().copied()))
}

fn start() -> (tempfile::TempDir, Stack) {
    let dir = tempfile::tempdir().expect("temp dir");
    let stack = Stack::start(Options::new(dir.path().join("state"))).expect("the stack must start");
    (dir, stack)
}

/// What gitsign does to sign: ephemeral key, proof of possession, certificate, log entry.
struct Signed {
    key: KeyPair,
    leaf_der: Vec<u8>,
    leaf_pem: String,
    digest: [u8; 32],
    sig_der: Vec<u8>,
    uuid: String,
    entry: Value,
}

fn request_cert(stack: &Stack, key: &KeyPair, token: &str, subject: &str) -> R {
    post_json(
        &format!("{}/api/v2/signingCert", stack.fulcio_url()),
        &json!({
            "credentials": { "oidcIdentityToken": token },
            "publicKeyRequest": {
                "publicKey": { "algorithm": "ECDSA", "content": key.public_pem() },
                "proofOfPossession": b64(&key.sign_der(subject.as_bytes())),
            }
        }),
    )
}

fn hashedrekord(cert_pem: &str, digest: &[u8], sig: &[u8]) -> Value {
    json!({ "apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "signature": { "content": b64(sig), "publicKey": { "content": b64(cert_pem.as_bytes()) } },
        "data": { "hash": { "algorithm": "sha256", "value": hex(digest) } } } })
}

fn sign_and_log(stack: &Stack, identity: &str, payload: &[u8]) -> Signed {
    let key = KeyPair::generate();
    let token = stack.mint_token(identity);
    let r = request_cert(stack, &key, &token, identity);
    assert_eq!(
        r.status,
        201,
        "Fulcio must issue a certificate: {}",
        r.text()
    );
    let chain = r.json()["signedCertificateEmbeddedSct"]["chain"]["certificates"].clone();
    let leaf_pem = chain[0].as_str().expect("leaf PEM").to_string();
    assert_eq!(
        chain.as_array().map(Vec::len),
        Some(3),
        "chain must be leaf, intermediate, root"
    );
    let leaf_der = keys::pem_blocks(&leaf_pem, "CERTIFICATE").remove(0);
    let digest: [u8; 32] = Sha256::digest(payload).into();
    let sig: Signature = key.signing_key().sign_prehash(&digest).expect("sign");
    let sig_der = sig.to_der().as_bytes().to_vec();
    let r = post_json(
        &format!("{}/api/v1/log/entries", stack.rekor_url()),
        &hashedrekord(&leaf_pem, &digest, &sig_der),
    );
    assert_eq!(r.status, 201, "Rekor must log the entry: {}", r.text());
    let v = r.json();
    let (uuid, entry) = v
        .as_object()
        .and_then(|o| o.iter().next())
        .map(|(k, v)| (k.clone(), v.clone()))
        .expect("one entry");
    Signed {
        key,
        leaf_der,
        leaf_pem,
        digest,
        sig_der,
        uuid,
        entry,
    }
}

fn unhex32(s: &str) -> merkle::Hash {
    keys::unhex(s)
        .and_then(|v| v.try_into().ok())
        .expect("32-byte hex")
}

fn check_inclusion(entry: &Value) {
    let body = keys::unb64(entry["body"].as_str().unwrap()).unwrap();
    let p = &entry["verification"]["inclusionProof"];
    let hashes: Vec<merkle::Hash> = p["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| unhex32(h.as_str().unwrap()))
        .collect();
    assert!(
        merkle::verify_inclusion(
            &merkle::leaf_hash(&body),
            p["logIndex"].as_u64().unwrap(),
            p["treeSize"].as_u64().unwrap(),
            &hashes,
            &unhex32(p["rootHash"].as_str().unwrap())
        ),
        "the inclusion proof must verify for the entry's own body"
    );
}

#[test]
fn signing_flow_issues_a_fulcio_leaf_and_a_provable_log_entry() {
    let (_d, stack) = start();
    let a = sign_and_log(&stack, "dev@example.com", b"first");
    let b = sign_and_log(&stack, "other@example.com", b"second");
    let c = sign_and_log(&stack, "dev@example.com", b"third");
    assert_eq!(
        a.uuid.len(),
        80,
        "entry ids carry the tree id like sharded Rekor"
    );
    assert_eq!(c.entry["logIndex"], 2, "third entry has index 2");

    // Every read path returns the entry with a proof against the current tree.
    for url in [
        format!("{}/api/v1/log/entries/{}", stack.rekor_url(), a.uuid),
        format!("{}/api/v1/log/entries/{}", stack.rekor_url(), &a.uuid[16..]),
        format!("{}/api/v1/log/entries?logIndex=0", stack.rekor_url()),
    ] {
        let r = get(&url);
        assert_eq!(r.status, 200, "GET {url} must find the entry");
        let e = r.json()[&a.uuid].clone();
        assert_eq!(
            e["verification"]["inclusionProof"]["treeSize"], 3,
            "proofs are against the current tree"
        );
        check_inclusion(&e);
    }
    check_inclusion(&b.entry);
    let r = post_json(
        &format!("{}/api/v1/log/entries/retrieve", stack.rekor_url()),
        &json!({ "entryUUIDs": [b.uuid], "logIndexes": [2] }),
    );
    assert_eq!(
        r.json().as_array().map(Vec::len),
        Some(2),
        "retrieve by uuid and by index returns both"
    );

    let search = |q: Value| -> Vec<String> {
        let r = post_json(&format!("{}/api/v1/index/retrieve", stack.rekor_url()), &q);
        assert_eq!(r.status, 200, "index search must succeed: {}", r.text());
        serde_json::from_value(r.json()).unwrap()
    };
    assert_eq!(
        search(json!({ "hash": format!("sha256:{}", hex(&a.digest)) })),
        vec![a.uuid.clone()],
        "search by artifact hash"
    );
    assert_eq!(
        search(json!({ "email": "DEV@example.com" })),
        vec![a.uuid.clone(), c.uuid.clone()],
        "search by email is case-insensitive"
    );
    assert_eq!(
        search(
            json!({ "publicKey": { "format": "x509", "content": b64(b.key.public_pem().as_bytes()) } })
        ),
        vec![b.uuid.clone()],
        "search by public key"
    );

    // A duplicate is refused with the existing entry's location.
    let r = post_json(
        &format!("{}/api/v1/log/entries", stack.rekor_url()),
        &hashedrekord(&a.leaf_pem, &a.digest, &a.sig_der),
    );
    assert_eq!(r.status, 409, "a duplicate must be 409");
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/api/v1/log/entries/{}", a.uuid).as_str()),
        "409 must point at the entry"
    );

    // Consistency between the tree after the first entry and now.
    let log = get(&format!("{}/api/v1/log", stack.rekor_url())).json();
    assert_eq!(log["treeSize"], 3, "log info reports the size");
    let first_root = unhex32(
        a.entry["verification"]["inclusionProof"]["rootHash"]
            .as_str()
            .unwrap(),
    );
    let p = get(&format!(
        "{}/api/v1/log/proof?firstSize=1&lastSize=3",
        stack.rekor_url()
    ))
    .json();
    let hashes: Vec<merkle::Hash> = p["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| unhex32(h.as_str().unwrap()))
        .collect();
    assert!(
        merkle::verify_consistency(
            1,
            3,
            &hashes,
            &first_root,
            &unhex32(log["rootHash"].as_str().unwrap())
        ),
        "the log must prove it only appended"
    );
    let pem = get(&format!("{}/api/v1/log/publicKey", stack.rekor_url())).text();
    assert!(
        pem.starts_with("-----BEGIN PUBLIC KEY-----"),
        "the log key is served as PEM"
    );
    assert_eq!(
        stack.request_count("POST /api/v2/signingCert"),
        3,
        "Fulcio requests are counted"
    );
    assert_eq!(
        stack.service_request_count(Service::Fulcio),
        3,
        "per-service totals add up"
    );
}

#[test]
fn fulcio_refuses_bad_tokens_and_bad_proofs() {
    let (_d, stack) = start();
    let key = KeyPair::generate();
    let mut expired = TokenRequest::email("dev@example.com");
    expired.lifetime_secs = -10;
    let mut unverified = TokenRequest::email("dev@example.com");
    unverified.email_verified = false;
    let mut other_aud = TokenRequest::email("dev@example.com");
    other_aud.audience = "someone-else".into();
    for (what, token) in [
        ("an expired token", stack.mint_token_with(&expired)),
        ("email_verified=false", stack.mint_token_with(&unverified)),
        ("another audience", stack.mint_token_with(&other_aud)),
        ("garbage", "not.a.jwt".to_string()),
    ] {
        let r = request_cert(&stack, &key, &token, "dev@example.com");
        assert_eq!(
            r.status,
            401,
            "{what} must be refused with 401: {}",
            r.text()
        );
        assert_eq!(r.json()["code"], 16, "{what} must be gRPC UNAUTHENTICATED");
    }
    let token = stack.mint_token("dev@example.com");
    let r = request_cert(&stack, &key, &token, "mallory@example.com");
    assert_eq!(
        r.status, 400,
        "a proof of possession over another subject must be refused"
    );
    let r = post_json(
        &format!("{}/api/v2/signingCert", stack.fulcio_url()),
        &json!({ "credentials": { "oidcIdentityToken": token } }),
    );
    assert_eq!(r.status, 400, "a request without a key must be refused");
    let r = finish(
        agent()
            .post(&format!("{}/api/v2/signingCert", stack.fulcio_url()))
            .send("{\"credentials\": [".to_string()),
    );
    assert_eq!(r.status, 400, "a malformed body must be 400, not a crash");
}

#[test]
fn fulcio_legacy_v1_and_trust_bundle() {
    let (_d, stack) = start();
    let key = KeyPair::generate();
    let token = stack.mint_token("dev@example.com");
    let r = finish(
        agent()
            .post(&format!("{}/api/v1/signingCert", stack.fulcio_url()))
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(
                json!({ "publicKey": { "content": b64(key.spki_der()), "algorithm": "ecdsa" },
                        "signedEmailAddress": b64(&key.sign_der(b"dev@example.com")) })
                .to_string(),
            ),
    );
    assert_eq!(r.status, 201, "legacy v1 must issue: {}", r.text());
    assert_eq!(
        keys::pem_blocks(&r.text(), "CERTIFICATE").len(),
        3,
        "v1 answers a PEM chain of three"
    );
    let tb = get(&format!("{}/api/v2/trustBundle", stack.fulcio_url())).json();
    assert_eq!(
        tb["chains"][0]["certificates"].as_array().map(Vec::len),
        Some(2),
        "trust bundle is intermediate + root"
    );
}

#[test]
fn authorization_code_flow_with_pkce_state_and_nonce() {
    let (_d, stack) = start();
    let issuer = stack.oidc_issuer();
    let disc = get(&format!("{issuer}/.well-known/openid-configuration")).json();
    assert_eq!(
        disc["issuer"],
        issuer.as_str(),
        "discovery names the issuer"
    );
    let jwks = get(disc["jwks_uri"].as_str().unwrap()).json();
    assert_eq!(jwks["keys"][0]["crv"], "P-256", "JWKS serves the P-256 key");

    let verifier = keys::b64url(&keys::random_bytes::<32>());
    let challenge = keys::b64url(&Sha256::digest(verifier.as_bytes()));
    let redirect = "http://127.0.0.1:4242/auth/callback";
    let auth = format!(
        "{}?response_type=code&client_id=sigstore&scope=openid%20email&redirect_uri={}&state=st%2Fate&nonce=n0nce&code_challenge={challenge}&code_challenge_method=S256",
        disc["authorization_endpoint"].as_str().unwrap(),
        "http%3A%2F%2F127.0.0.1%3A4242%2Fauth%2Fcallback"
    );
    let r = get(&auth);
    assert_eq!(r.status, 302, "the headless browser is redirected");
    let loc = r.location.expect("redirect has a Location");
    assert!(
        loc.starts_with(redirect),
        "redirect goes to the client's redirect_uri: {loc}"
    );
    assert!(
        loc.contains("state=st%2Fate"),
        "state is returned unchanged: {loc}"
    );
    let code = loc
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let token_url = disc["token_endpoint"].as_str().unwrap().to_string();
    let exchange = |code: &str, verifier: &str, redirect: &str| {
        post_form(
            &token_url,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("code_verifier", verifier),
                ("redirect_uri", redirect),
                ("client_id", "sigstore"),
            ],
        )
    };

    // A wrong verifier burns the code; a fresh code with the right one works once.
    let r = exchange(&code, &"x".repeat(43), redirect);
    assert_eq!(
        r.json()["error"],
        "invalid_grant",
        "a wrong code_verifier must be refused"
    );
    let r = exchange(&code, &verifier, redirect);
    assert_eq!(
        r.json()["error"],
        "invalid_grant",
        "a code is good for one attempt only"
    );

    let loc = get(&auth).location.unwrap();
    let code = loc
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let r = exchange(&code, &verifier, "http://127.0.0.1:9999/other");
    assert_eq!(
        r.json()["error"],
        "invalid_grant",
        "a different redirect_uri must be refused"
    );

    let loc = get(&auth).location.unwrap();
    let code = loc
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let r = exchange(&code, &verifier, redirect);
    assert_eq!(
        r.status,
        200,
        "the right verifier gets tokens: {}",
        r.text()
    );
    let id_token = r.json()["id_token"].as_str().unwrap().to_string();
    let claims: Value =
        serde_json::from_slice(&keys::unb64url(id_token.split('.').nth(1).unwrap()).unwrap())
            .unwrap();
    assert_eq!(
        claims["email"], "dev@example.com",
        "the configured identity is approved"
    );
    assert_eq!(
        claims["nonce"], "n0nce",
        "the nonce is bound into the ID token"
    );
    assert_eq!(claims["iss"], issuer.as_str(), "iss is the issuer");
    assert_eq!(
        exchange(&code, &verifier, redirect).json()["error"],
        "invalid_grant",
        "a used code is refused"
    );

    // The token is good for Fulcio.
    let key = KeyPair::generate();
    assert_eq!(
        request_cert(&stack, &key, &id_token, "dev@example.com").status,
        201,
        "a flow token gets a certificate"
    );
}

#[test]
fn device_flow_pending_slow_down_approval_and_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Options::new(dir.path());
    o.device_interval = Duration::from_millis(300);
    o.identity = "device@example.com".into();
    let stack = Stack::start(o).unwrap();
    let issuer = stack.oidc_issuer();
    let d = post_form(
        &format!("{issuer}/device/code"),
        &[("client_id", "sigstore"), ("scope", "openid email")],
    )
    .json();
    let device_code = d["device_code"].as_str().unwrap().to_string();
    let poll = || {
        post_form(
            &format!("{issuer}/token"),
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", &device_code),
                ("client_id", "sigstore"),
            ],
        )
    };
    assert_eq!(
        poll().json()["error"],
        "authorization_pending",
        "before approval the client must wait"
    );
    assert_eq!(
        poll().json()["error"],
        "slow_down",
        "polling faster than the interval must slow the client down"
    );
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(
        poll().json()["error"],
        "authorization_pending",
        "after waiting the interval it is pending again"
    );
    let r = get(d["verification_uri_complete"].as_str().unwrap());
    assert_eq!(r.status, 200, "visiting the verification URI approves");
    std::thread::sleep(Duration::from_millis(700));
    let r = poll();
    assert_eq!(
        r.status,
        200,
        "after approval the client gets tokens: {}",
        r.text()
    );
    let id = r.json()["id_token"].as_str().unwrap().to_string();
    let claims: Value =
        serde_json::from_slice(&keys::unb64url(id.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(
        claims["email"], "device@example.com",
        "the configured identity is in the token"
    );

    let dir2 = tempfile::tempdir().unwrap();
    let mut o = Options::new(dir2.path());
    o.device_code_ttl = Duration::from_millis(200);
    let stack2 = Stack::start(o).unwrap();
    let d = post_form(
        &format!("{}/device/code", stack2.oidc_issuer()),
        &[("client_id", "sigstore")],
    )
    .json();
    std::thread::sleep(Duration::from_millis(400));
    let r = post_form(
        &format!("{}/token", stack2.oidc_issuer()),
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", d["device_code"].as_str().unwrap()),
        ],
    );
    assert_eq!(
        r.json()["error"],
        "expired_token",
        "an expired device code must be reported"
    );
}

#[test]
fn actions_token_endpoint_and_uri_san_certificates() {
    let (_d, stack) = start();
    let url = format!("{}?audience=sigstore", stack.actions_token_request_url());
    assert_eq!(
        get_bearer(&url, "wrong").status,
        401,
        "the request token is checked"
    );
    let r = get_bearer(&url, &stack.actions_request_token());
    assert_eq!(r.status, 200, "the Actions endpoint answers: {}", r.text());
    let jwt = r.json()["value"].as_str().unwrap().to_string();
    let claims: Value =
        serde_json::from_slice(&keys::unb64url(jwt.split('.').nth(1).unwrap()).unwrap()).unwrap();
    for c in ["repository", "workflow", "ref", "sha", "job_workflow_ref"] {
        assert!(claims[c].is_string(), "the Actions token carries '{c}'");
    }
    let key = KeyPair::generate();
    let r = request_cert(&stack, &key, &jwt, claims["sub"].as_str().unwrap());
    assert_eq!(
        r.status,
        201,
        "a workflow token gets a certificate: {}",
        r.text()
    );
    let leaf = r.json()["signedCertificateEmbeddedSct"]["chain"]["certificates"][0]
        .as_str()
        .unwrap()
        .to_string();
    let der = keys::pem_blocks(&leaf, "CERTIFICATE").remove(0);
    let needle = b"https://github.com/octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main";
    assert!(
        der.windows(needle.len()).any(|w| w == needle),
        "the leaf has the workflow URI SAN"
    );
}

fn set_verifies(stack: &Stack, e: &Value) -> bool {
    let tr = stack.trusted_root_json();
    let spki = keys::unb64(tr["tlogs"][0]["publicKey"]["rawBytes"].as_str().unwrap()).unwrap();
    let payload = sigstore_local::rekor::Log::set_payload(
        e["body"].as_str().unwrap(),
        e["integratedTime"].as_i64().unwrap(),
        e["logID"].as_str().unwrap(),
        e["logIndex"].as_u64().unwrap(),
    );
    keys::verify_der(
        &spki,
        &payload,
        &keys::unb64(e["verification"]["signedEntryTimestamp"].as_str().unwrap()).unwrap(),
    )
}

fn proof_verifies(e: &Value) -> bool {
    let body = keys::unb64(e["body"].as_str().unwrap()).unwrap();
    let p = &e["verification"]["inclusionProof"];
    let hashes: Vec<merkle::Hash> = p["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| unhex32(h.as_str().unwrap()))
        .collect();
    merkle::verify_inclusion(
        &merkle::leaf_hash(&body),
        p["logIndex"].as_u64().unwrap(),
        p["treeSize"].as_u64().unwrap(),
        &hashes,
        &unhex32(p["rootHash"].as_str().unwrap()),
    )
}

#[test]
fn fault_delay_slows_the_chosen_service_only() {
    let (_d, stack) = start();
    stack.set_faults(
        Service::Rekor,
        Faults {
            delay: Some(Duration::from_millis(400)),
            ..Faults::default()
        },
    );
    let t = Instant::now();
    get(&format!("{}/api/v1/log", stack.rekor_url()));
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "Rekor must be delayed"
    );
    let t = Instant::now();
    get(&format!("{}/api/v2/trustBundle", stack.fulcio_url()));
    assert!(
        t.elapsed() < Duration::from_millis(400),
        "Fulcio must not be delayed"
    );
}

#[test]
fn fault_server_error_answers_5xx_for_the_next_n_requests() {
    let (_d, stack) = start();
    stack.set_faults(
        Service::Fulcio,
        Faults {
            status: Some(503),
            times: Some(1),
            ..Faults::default()
        },
    );
    let key = KeyPair::generate();
    let token = stack.mint_token("dev@example.com");
    assert_eq!(
        request_cert(&stack, &key, &token, "dev@example.com").status,
        503,
        "the first request gets the injected 503"
    );
    assert_eq!(
        request_cert(&stack, &key, &token, "dev@example.com").status,
        201,
        "the fault is spent after one request"
    );
    assert_eq!(
        stack.request_count("POST /api/v2/signingCert"),
        2,
        "failed requests are counted too"
    );
}

#[test]
fn fault_malformed_body_breaks_the_json() {
    let (_d, stack) = start();
    stack.set_faults(
        Service::Rekor,
        Faults {
            malformed_body: true,
            ..Faults::default()
        },
    );
    let r = get(&format!("{}/api/v1/log", stack.rekor_url()));
    assert_eq!(r.status, 200, "the status stays real");
    assert!(
        serde_json::from_slice::<Value>(&r.body).is_err(),
        "the body must not parse"
    );
    stack.clear_faults();
    assert!(
        serde_json::from_slice::<Value>(&get(&format!("{}/api/v1/log", stack.rekor_url())).body)
            .is_ok(),
        "clearing restores the body"
    );
}

#[test]
fn fault_bad_set_signature_gives_a_set_that_does_not_verify() {
    let (_d, stack) = start();
    let good = sign_and_log(&stack, "dev@example.com", b"good");
    assert!(
        set_verifies(&stack, &good.entry),
        "without the fault the SET verifies"
    );
    stack.set_faults(
        Service::Rekor,
        Faults {
            bad_set_signature: true,
            ..Faults::default()
        },
    );
    let bad = sign_and_log(&stack, "dev@example.com", b"bad");
    assert!(
        !set_verifies(&stack, &bad.entry),
        "with the fault the SET must not verify"
    );
    assert!(
        proof_verifies(&bad.entry),
        "only the SET is wrong, the proof is still right"
    );
}

#[test]
fn fault_proof_for_another_leaf_gives_a_proof_that_does_not_verify() {
    let (_d, stack) = start();
    let first = sign_and_log(&stack, "dev@example.com", b"one");
    stack.set_faults(
        Service::Rekor,
        Faults {
            proof_for_other_leaf: true,
            ..Faults::default()
        },
    );
    let r = get(&format!(
        "{}/api/v1/log/entries/{}",
        stack.rekor_url(),
        first.uuid
    ));
    assert!(
        !proof_verifies(&r.json()[&first.uuid]),
        "a one-leaf tree still gets a wrong proof"
    );
    let second = sign_and_log(&stack, "dev@example.com", b"two");
    assert!(
        !proof_verifies(&second.entry),
        "the proof must be for another leaf"
    );
    assert!(
        set_verifies(&stack, &second.entry),
        "only the proof is wrong, the SET is still right"
    );
}

#[test]
fn faults_switch_through_the_admin_endpoint() {
    let (_d, stack) = start();
    let r = post_json(
        &format!("{}/admin/faults", stack.base_url()),
        &json!({ "service": "tsa", "status": 500 }),
    );
    assert_eq!(
        r.status,
        200,
        "the admin endpoint accepts faults: {}",
        r.text()
    );
    assert_eq!(
        finish(agent().post(&stack.timestamp_url()).send(&b"x"[..])).status,
        500,
        "the TSA answers the injected 500"
    );
    assert_eq!(
        post_json(
            &format!("{}/admin/faults", stack.base_url()),
            &json!({ "service": "tsa", "bogus": 1 })
        )
        .status,
        400,
        "unknown faults are refused"
    );
    finish(
        agent()
            .delete(&format!("{}/admin/faults", stack.base_url()))
            .call(),
    );
    assert_eq!(
        finish(agent().post(&stack.timestamp_url()).send(&b"x"[..])).status,
        400,
        "after clearing, garbage is a plain 400"
    );
    let counters = get(&format!("{}/admin/counters", stack.base_url())).json();
    assert_eq!(
        counters["POST /api/v1/timestamp"], 2,
        "counters are served to the binary's users"
    );
}

#[test]
fn restart_from_the_same_state_dir_serves_the_same_log_and_trust_root() {
    let dir = tempfile::tempdir().unwrap();
    let (uuids, root, trust) = {
        let stack = Stack::start(Options::new(dir.path())).unwrap();
        let uuids: Vec<String> = (0..3u8)
            .map(|i| sign_and_log(&stack, "dev@example.com", &[i]).uuid)
            .collect();
        (uuids, stack.log_root_hash(), stack.trusted_root_json())
    };
    let stack = Stack::start(Options::new(dir.path())).unwrap();
    assert_eq!(
        stack.log_size(),
        3,
        "every acknowledged entry survives the restart"
    );
    assert_eq!(
        stack.log_root_hash(),
        root,
        "the root hash is the same after restart"
    );
    let mut t2 = stack.trusted_root_json();
    let mut t1 = trust;
    for t in [&mut t1, &mut t2] {
        // The port may differ; keys and certificates may not.
        for log in t["tlogs"].as_array_mut().unwrap() {
            log["baseUrl"] = Value::Null;
        }
        t["ctlogs"][0]["baseUrl"] = Value::Null;
        t["certificateAuthorities"][0]["uri"] = Value::Null;
        t["timestampAuthorities"][0]["uri"] = Value::Null;
    }
    assert_eq!(t1, t2, "keys and certificates persist across restarts");
    for (i, u) in uuids.iter().enumerate() {
        let r = get(&format!("{}/api/v1/log/entries/{u}", stack.rekor_url()));
        assert_eq!(r.status, 200, "entry {i} is served after restart");
        assert_eq!(r.json()[u]["logIndex"], i, "entry {i} keeps its index");
        check_inclusion(&r.json()[u]);
    }
    sign_and_log(&stack, "dev@example.com", b"after restart");
    assert_eq!(stack.log_size(), 4, "the restarted log appends");
}

#[test]
fn binary_follows_the_command_line_contract() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sigstore-local"))
        .args([
            "--state-dir",
            state.to_str().unwrap(),
            "--identity",
            "cli@example.com",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary must start");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(
        line, "ready\n",
        "the binary prints exactly 'ready' once listening"
    );
    let env = std::fs::read_to_string(state.join("env")).expect("env file is written before ready");
    let var = |name: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("export {name}=")))
            .unwrap_or_else(|| panic!("env must export {name}: {env}"))
            .to_string()
    };
    for name in [
        "GITSIGN_FULCIO_URL",
        "GITSIGN_REKOR_URL",
        "GITSIGN_OIDC_ISSUER",
        "GITSIGN_TRUSTED_ROOT",
        "GITSIGN_TIMESTAMP_SERVER_URL",
    ] {
        assert!(!var(name).is_empty(), "{name} must be set");
    }
    assert_eq!(
        var("GITSIGN_OIDC_CLIENT_ID"),
        "sigstore",
        "client id is exported"
    );
    let tr: Value =
        serde_json::from_str(&std::fs::read_to_string(var("GITSIGN_TRUSTED_ROOT")).unwrap())
            .unwrap();
    assert_eq!(
        tr["mediaType"], "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "trusted root media type"
    );
    for section in ["tlogs", "ctlogs"] {
        let raw = keys::unb64(tr[section][0]["publicKey"]["rawBytes"].as_str().unwrap()).unwrap();
        assert_eq!(
            tr[section][0]["logId"]["keyId"].as_str().unwrap(),
            b64(&Sha256::digest(&raw)),
            "{section} keyId is sha256 of the SPKI"
        );
    }
    // The issuer approves the identity given on the command line.
    let issuer = var("GITSIGN_OIDC_ISSUER");
    let loc = get(&format!(
        "{issuer}/auth?response_type=code&client_id=sigstore&scope=openid&redirect_uri=http://127.0.0.1:1/cb&state=s&code_challenge={}&code_challenge_method=S256",
        "A".repeat(43)
    ))
    .location;
    assert!(loc.is_some(), "the binary's issuer redirects");
    let tok = get(&format!("{issuer}/mint")).text();
    let claims: Value =
        serde_json::from_slice(&keys::unb64url(tok.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(
        claims["email"], "cli@example.com",
        "--identity sets the approved identity"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "SIGTERM must be deliverable");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            assert!(s.success(), "the binary exits 0 on SIGTERM");
            break;
        }
        assert!(Instant::now() < deadline, "the binary must stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// DER `TimeStampReq` for sha256(`message`), certReq true (as sigstore clients send).
fn timestamp_request(message: &[u8]) -> Vec<u8> {
    use der::Encode;
    use sigstore_local::tsa::{MessageImprint, TimeStampReq, ID_SHA256};
    TimeStampReq {
        version: 1,
        message_imprint: MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifierOwned {
                oid: ID_SHA256,
                parameters: None,
            },
            hashed_message: der::asn1::OctetString::new(Sha256::digest(message).to_vec()).unwrap(),
        },
        req_policy: None,
        nonce: Some(der::asn1::Int::new(&[0x11, 0x22, 0x33]).unwrap()),
        cert_req: true,
        extensions: None,
    }
    .to_der()
    .unwrap()
}

fn bundle(s: &Signed, with_set: bool, timestamp: Option<&[u8]>) -> Value {
    let e = &s.entry;
    let p = &e["verification"]["inclusionProof"];
    let b64hex = |h: &Value| b64(&keys::unhex(h.as_str().unwrap()).unwrap());
    let mut tlog = json!({
        "logIndex": e["logIndex"].to_string(),
        "logId": { "keyId": b64hex(&e["logID"]) },
        "kindVersion": { "kind": "hashedrekord", "version": "0.0.1" },
        "integratedTime": e["integratedTime"].to_string(),
        "inclusionProof": {
            "logIndex": p["logIndex"].to_string(),
            "rootHash": b64hex(&p["rootHash"]),
            "treeSize": p["treeSize"].to_string(),
            "hashes": p["hashes"].as_array().unwrap().iter().map(b64hex).collect::<Vec<_>>(),
            "checkpoint": { "envelope": p["checkpoint"] },
        },
        "canonicalizedBody": e["body"],
    });
    if with_set {
        tlog["inclusionPromise"] =
            json!({ "signedEntryTimestamp": e["verification"]["signedEntryTimestamp"] });
    }
    let mut material =
        json!({ "certificate": { "rawBytes": b64(&s.leaf_der) }, "tlogEntries": [tlog] });
    if let Some(ts) = timestamp {
        material["timestampVerificationData"] =
            json!({ "rfc3161Timestamps": [{ "signedTimestamp": b64(ts) }] });
    }
    json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": material,
        "messageSignature": {
            "messageDigest": { "algorithm": "SHA2_256", "digest": b64(&s.digest) },
            "signature": b64(&s.sig_der),
        },
    })
}

/// Issue #4: someone else's code (sigstore-python) must accept the SCT, the chain, the SET,
/// the inclusion proof, the checkpoint and the RFC 3161 timestamp our stack produced.
#[test]
fn python_sigstore_verifies_a_bundle_the_stack_issued() {
    let sigstore = repo_root().join(".venv/bin/sigstore");
    assert!(
        sigstore.exists(),
        "{} is missing: run scripts/python-venv first (it installs the Python sigstore verifier this test cross-checks with)",
        sigstore.display()
    );
    let (dir, stack) = start();
    let artifact = dir.path().join("artifact.txt");
    let payload =
        b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@b.c> 0 +0000\n\nsigned\n";
    std::fs::write(&artifact, payload).unwrap();
    sign_and_log(
        &stack,
        "noise@example.com",
        b"an earlier entry, so the proof is not trivial",
    );
    let s = sign_and_log(&stack, "dev@example.com", payload);
    sign_and_log(&stack, "noise@example.com", b"a later entry");

    let tsr = finish(
        agent()
            .post(&stack.timestamp_url())
            .header("Content-Type", "application/timestamp-query")
            .send(&timestamp_request(&s.sig_der)[..]),
    );
    assert_eq!(tsr.status, 200, "the TSA must answer: {}", tsr.text());

    let trust_config = stack.state_dir().join("client_trust_config.json");
    let run = |name: &str, b: Value| {
        let path = dir.path().join(format!("{name}.sigstore.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&b).unwrap()).unwrap();
        let out = Command::new(&sigstore)
            .arg("--trust-config")
            .arg(&trust_config)
            .args(["verify", "identity", "--offline", "--bundle"])
            .arg(&path)
            .args([
                "--cert-identity",
                "dev@example.com",
                "--cert-oidc-issuer",
                &stack.oidc_issuer(),
            ])
            .arg(&artifact)
            .env("HOME", dir.path())
            .env_remove("SIGSTORE_ID_TOKEN")
            .output()
            .expect("the Python sigstore CLI must run");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    // Time from the SET (inclusion promise): checks SCT, chain, SET, proof and checkpoint.
    let (ok, out) = run("set", bundle(&s, true, None));
    assert!(
        ok,
        "sigstore-python must verify the bundle with the SET:\n{out}"
    );
    // Time from the TSA only: the timestamp is the one source of time, so it must verify.
    let (ok, out) = run("tsa", bundle(&s, false, Some(&tsr.body)));
    assert!(
        ok,
        "sigstore-python must verify the bundle with the RFC 3161 timestamp:\n{out}"
    );
    // And it must notice a tampered proof, or the checks above prove nothing.
    let mut bad = bundle(&s, true, None);
    bad["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][0] =
        json!(b64(&[7u8; 32]));
    let (ok, out) = run("tampered", bad);
    assert!(
        !ok,
        "sigstore-python must reject a tampered inclusion proof:\n{out}"
    );
}

/// Nothing a client sends may crash a handler or turn into a 5xx.
#[test]
fn garbage_requests_get_4xx_not_5xx() {
    let (_d, stack) = start();
    let base = stack.base_url().to_string();
    let bodies: [&[u8]; 5] = [b"", b"{", b"[]", b"\x30\x82\xff\xff", b"{\"kind\":\"hashedrekord\",\"apiVersion\":\"0.0.1\",\"spec\":{\"signature\":{\"content\":\"@@\"}}}"];
    let posts = [
        "/api/v2/signingCert",
        "/api/v1/signingCert",
        "/api/v1/log/entries",
        "/api/v1/log/entries/retrieve",
        "/api/v1/index/retrieve",
        "/api/v1/timestamp",
        "/oidc/token",
        "/oidc/device/code",
    ];
    for path in posts {
        for body in bodies {
            let r = finish(agent().post(&format!("{base}{path}")).send(body));
            assert!(
                (400..500).contains(&r.status),
                "POST {path} with {:?} must be a 4xx, got {}",
                String::from_utf8_lossy(body),
                r.status
            );
        }
    }
    for path in [
        "/api/v1/log/entries/zz",
        "/api/v1/log/entries/0000000000000000000000000000000000000000000000000000000000000000",
        "/api/v1/log/entries?logIndex=-1",
        "/api/v1/log/entries?logIndex=99",
        "/api/v1/log/proof?lastSize=9",
        "/api/v1/log/proof?firstSize=x&lastSize=0",
        "/oidc/auth?redirect_uri=%ZZ",
        "/oidc/device?user_code=%",
        "/oidc/mint?ttl=soon",
        "/nowhere",
    ] {
        let r = get(&format!("{base}{path}"));
        assert!(
            (400..500).contains(&r.status),
            "GET {path} must be a 4xx, got {}",
            r.status
        );
    }
}

/// A second opinion from OpenSSL on the X.509 chain and the RFC 3161 token.
#[test]
fn openssl_accepts_the_chain_and_the_timestamp() {
    assert!(
        Command::new("openssl").arg("version").output().is_ok(),
        "openssl is required (scripts/test and .ci/run install it)"
    );
    let (dir, stack) = start();
    let s = sign_and_log(&stack, "dev@example.com", b"openssl");
    let p = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let chain = stack.fulcio_chain_pem();
    let leaf = p("leaf.pem", &s.leaf_pem);
    let inter = p("inter.pem", &chain[0]);
    let root = p("root.pem", &chain[1]);
    let out = Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(&root)
        .arg("-untrusted")
        .arg(&inter)
        .arg(&leaf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl must verify leaf → intermediate → root: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let tsr = finish(
        agent()
            .post(&stack.timestamp_url())
            .send(&timestamp_request(&s.sig_der)[..]),
    );
    let tsr_path = dir.path().join("resp.tsr");
    std::fs::write(&tsr_path, &tsr.body).unwrap();
    let data = dir.path().join("sig.bin");
    std::fs::write(&data, &s.sig_der).unwrap();
    let tsa_chain = get(&format!("{}/certchain", stack.timestamp_url())).text();
    let blocks = keys::pem_blocks(&tsa_chain, "CERTIFICATE");
    let tsa_leaf = p("tsa.pem", &keys::pem("CERTIFICATE", &blocks[0]));
    let tsa_root = p("tsa-root.pem", &keys::pem("CERTIFICATE", &blocks[1]));
    let out = Command::new("openssl")
        .args(["ts", "-verify", "-in"])
        .arg(&tsr_path)
        .arg("-data")
        .arg(&data)
        .arg("-CAfile")
        .arg(&tsa_root)
        .arg("-untrusted")
        .arg(&tsa_leaf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl ts -verify must accept the timestamp: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
