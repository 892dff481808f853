//! Both key shapes of the local stack, end to end: a commit signed through real git against a
//! public-good–shaped CA (P-384 root and intermediate, leaf signed with ecdsa-with-SHA384) and
//! against the all-P-256 one verifies with `gitsign verify` and with `git verify-commit`
//! (gitsign as git's `gpg.x509.program`), and the certificates the signature carries have the
//! shape asked for, as openssl prints them.

use sigstore_local::KeyShape;

use crate::util::{gitsign_bin, output, stack_env, start_stack_with, TestRepo};

const IDENTITY: &str = "dev@example.com";

/// openssl's text of the certificates in HEAD's signature, leaf first.
fn signature_certs(repo: &TestRepo) -> String {
    let raw = repo.git(&["cat-file", "commit", "HEAD"]);
    let mut pem = String::new();
    let mut inside = false;
    for line in raw.lines() {
        let line = line.strip_prefix("gpgsig ").unwrap_or(line);
        let line = line.strip_prefix(' ').unwrap_or(line);
        if line.starts_with("-----BEGIN") {
            inside = true;
        }
        if inside {
            pem.push_str(line);
            pem.push('\n');
        }
        if line.starts_with("-----END") {
            break;
        }
    }
    let pem = pem.replace("SIGNED MESSAGE", "PKCS7");
    let file = repo.path().join(".git/sig.pem");
    std::fs::write(&file, pem).expect("write signature");
    let (code, out, err) = output(repo.cmd("openssl").args([
        "pkcs7",
        "-print_certs",
        "-text",
        "-noout",
        "-in",
        file.to_str().expect("utf8 path"),
    ]));
    assert_eq!(code, 0, "openssl reads the signature: {err}");
    out
}

fn sign_and_verify(shape: KeyShape, leaf_sig: &str) {
    let local = start_stack_with(Some(shape));
    let stack = &local.stack;
    let repo = TestRepo::new();
    let mut commit = repo.cmd("git");
    commit
        .args(["-c", "gpg.format=x509", "-c"])
        .arg(format!("gpg.x509.program={}", gitsign_bin().display()))
        .args(["commit", "-q", "--allow-empty", "-S", "-m", "signed"]);
    stack_env(&mut commit, stack);
    commit.env("SIGSTORE_ID_TOKEN", stack.mint_token(IDENTITY));
    let (code, _, err) = output(&mut commit);
    assert_eq!(code, 0, "{shape:?}: git commit -S: {err}");

    let text = signature_certs(&repo);
    let algs: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Signature Algorithm: "))
        .collect();
    // openssl prints each certificate's algorithm twice (TBS and outer); the signature holds
    // the leaf alone, as Go gitsign's does, or the leaf and the chain.
    assert!(
        !algs.is_empty(),
        "{shape:?}: no certificate in the signature:\n{text}"
    );
    assert!(
        algs.iter().all(|a| *a == leaf_sig),
        "{shape:?}: every certificate must be signed with {leaf_sig}: {algs:?}"
    );
    assert!(
        text.contains("NIST CURVE: P-256"),
        "{shape:?}: the leaf holds the client's P-256 key:\n{text}"
    );

    let mut verify = repo.gitsign();
    verify.args([
        "verify",
        "--certificate-identity",
        IDENTITY,
        "--certificate-oidc-issuer",
        &stack.oidc_issuer(),
        "HEAD",
    ]);
    stack_env(&mut verify, stack);
    let (code, out, err) = output(&mut verify);
    assert_eq!(code, 0, "{shape:?}: gitsign verify: {out}{err}");

    let mut git_verify = repo.cmd("git");
    git_verify
        .args(["-c", "gpg.format=x509", "-c"])
        .arg(format!("gpg.x509.program={}", gitsign_bin().display()))
        .args(["verify-commit", "HEAD"]);
    stack_env(&mut git_verify, stack);
    let (code, _, err) = output(&mut git_verify);
    assert_eq!(code, 0, "{shape:?}: git verify-commit: {err}");
    assert!(err.contains("Good signature"), "{shape:?}: {err}");
}

#[test]
fn public_good_shape_signs_leaves_with_p384_sha384_and_they_verify() {
    sign_and_verify(KeyShape::PublicGood, "ecdsa-with-SHA384");
}

#[test]
fn p256_shape_signs_leaves_with_p256_sha256_and_they_verify() {
    sign_and_verify(KeyShape::P256, "ecdsa-with-SHA256");
}
