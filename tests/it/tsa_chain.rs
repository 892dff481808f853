//! `gitsign.timestampCertChain` / `GITSIGN_TIMESTAMP_CERT_CHAIN`: the PEM chain of an RFC 3161
//! timestamp authority, trusted beside the trust root's own TSAs, for signing (the TSA's
//! answer is checked before it is embedded) and for verifying. Against the local stack, with a
//! trusted root that lists no TSA, so the chain is the only thing that can vouch for a token.

use std::io::{Read as _, Write as _};
use std::process::Command;

use crate::util::{self, gitsign_bin, output, TestRepo};

const IDENTITY: &str = "dev@example.com";

/// `GET url` over plain HTTP/1.0 on loopback: the body.
fn http_get(url: &str) -> String {
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_at(rest.find('/').expect("path"));
    let mut s = std::net::TcpStream::connect(host).expect("connect to the stack");
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").expect("request");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("response");
    assert!(
        text.starts_with("HTTP/1.") && text.contains(" 200 "),
        "{text}"
    );
    text.split_once("\r\n\r\n").expect("body").1.to_owned()
}

struct Setup {
    local: util::Local,
    files: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let local = util::start_stack();
        let files = tempfile::tempdir().expect("dir");
        let mut root = local.stack.trusted_root_json();
        assert!(
            root["timestampAuthorities"]
                .as_array()
                .is_some_and(|a| !a.is_empty()),
            "the stack's root lists its TSA (which this test removes)"
        );
        root["timestampAuthorities"] = serde_json::json!([]);
        std::fs::write(files.path().join("no-tsa.json"), root.to_string()).expect("write");
        let chain = http_get(&format!("{}/certchain", local.stack.timestamp_url()));
        assert!(chain.matches("BEGIN CERTIFICATE").count() >= 2, "{chain}");
        std::fs::write(files.path().join("tsa.pem"), chain).expect("write");
        // A chain of another authority: the stack's Fulcio CA.
        let fulcio: String = local.stack.fulcio_chain_pem().concat();
        std::fs::write(files.path().join("wrong.pem"), fulcio).expect("write");
        Setup { local, files }
    }

    fn file(&self, name: &str) -> std::path::PathBuf {
        self.files.path().join(name)
    }

    /// Our binary's environment: the stack, the root without TSAs, and `chain` (if any).
    fn env(&self, cmd: &mut Command, chain: Option<&str>) {
        util::stack_env(cmd, &self.local.stack);
        cmd.env("GITSIGN_TRUSTED_ROOT", self.file("no-tsa.json"));
        cmd.env_remove("GITSIGN_TIMESTAMP_CERT_CHAIN");
        if let Some(c) = chain {
            cmd.env("GITSIGN_TIMESTAMP_CERT_CHAIN", self.file(c));
        }
    }

    /// `git commit -S` through our binary in online mode (no Rekor entry in the signature)
    /// with the stack's TSA: (exit code, stderr).
    fn commit(&self, repo: &TestRepo, chain: Option<&str>, msg: &str) -> (i32, String) {
        let mut cmd = repo.cmd("git");
        cmd.args(["-c", "gpg.format=x509", "-c"])
            .arg(format!("gpg.x509.program={}", gitsign_bin().display()))
            .args(["commit", "-q", "--allow-empty", "-S", "-m", msg]);
        self.env(&mut cmd, chain);
        cmd.env("GITSIGN_REKOR_MODE", "online")
            .env(
                "GITSIGN_TIMESTAMP_SERVER_URL",
                self.local.stack.timestamp_url(),
            )
            .env("SIGSTORE_ID_TOKEN", self.local.stack.mint_token(IDENTITY));
        let (code, _, err) = output(&mut cmd);
        (code, err)
    }

    /// `gitsign verify --offline` of `rev`: only the RFC 3161 token can anchor its time.
    fn verify(&self, repo: &TestRepo, chain: Option<&str>, rev: &str) -> (i32, String, String) {
        let mut cmd = repo.gitsign();
        cmd.args([
            "verify",
            "--offline",
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
            &self.local.stack.oidc_issuer(),
            rev,
        ]);
        self.env(&mut cmd, chain);
        output(&mut cmd)
    }
}

fn head(repo: &TestRepo) -> String {
    repo.git(&["rev-parse", "HEAD"]).trim().to_owned()
}

fn has_timestamp_token(repo: &TestRepo, id: &str) -> bool {
    let raw = repo.git(&["cat-file", "commit", id]);
    let split =
        gitsign::git::object::split_commit(raw.as_bytes(), gitsign::git::object::HashKind::Sha1)
            .expect("signed commit");
    let msg = gitsign::cms::parse(&split.signature).expect("CMS parses");
    msg.unsigned_attribute(&gitsign::oid::TIMESTAMP_TOKEN)
        .is_some()
}

#[test]
fn the_configured_chain_is_the_trusted_tsa_for_signing_and_verifying() {
    let s = Setup::new();
    let repo = TestRepo::new();

    // Signing: the TSA's answer must verify against the trust root plus the chain.
    let (code, err) = s.commit(&repo, None, "no chain");
    assert_ne!(
        code, 0,
        "a token no trusted TSA vouches for is not embedded: {err}"
    );
    let (code, err) = s.commit(&repo, Some("wrong.pem"), "wrong chain");
    assert_ne!(code, 0, "nor with another authority's chain: {err}");
    // The same refusal as git's signing program sees it (git before 2.40 hides its stderr).
    let mut cmd = repo.gitsign();
    cmd.args(["--status-fd=2", "-bsau", IDENTITY]);
    s.env(&mut cmd, Some("wrong.pem"));
    cmd.env(
        "GITSIGN_TIMESTAMP_SERVER_URL",
        s.local.stack.timestamp_url(),
    )
    .env("SIGSTORE_ID_TOKEN", s.local.stack.mint_token(IDENTITY));
    let (code, out, err) =
        util::run_with_stdin(cmd, b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nx\n");
    assert_ne!(code, 0, "signing refuses: {err}");
    assert!(out.is_empty(), "no signature is written: {out}");
    assert!(
        err.contains("timestamp") && err.contains("Hint:") && err.contains("timestampCertChain"),
        "the refusal names the timestamp and hints at the setting: {err}"
    );
    let (code, err) = s.commit(&repo, Some("tsa.pem"), "timestamped");
    assert_eq!(
        code, 0,
        "with the TSA's chain configured, signing succeeds: {err}"
    );
    let id = head(&repo);
    assert!(has_timestamp_token(&repo, &id), "the token is embedded");

    // Verifying a timestamp-only commit offline.
    let (code, out, err) = s.verify(&repo, Some("tsa.pem"), &id);
    assert_eq!(code, 0, "the chain vouches for the token: {out}{err}");
    assert!(out.contains("Validated Certificate claims: true"), "{out}");
    assert!(
        out.contains("Validated Rekor entry: false"),
        "anchored by the timestamp, not a log entry: {out}"
    );

    for (chain, what) in [
        (None, "no chain"),
        (Some("wrong.pem"), "another authority's chain"),
    ] {
        let (code, out, err) = s.verify(&repo, chain, &id);
        assert_ne!(code, 0, "{what}: the token is not trusted: {out}{err}");
        assert!(
            err.contains("timestamp")
                && err.contains("Hint:")
                && err.contains("timestampCertChain"),
            "{what}: the error names the timestamp and hints at the setting: {err}"
        );
    }

    // A file that is not a chain with a root is a configuration error, with a hint.
    std::fs::write(
        s.file("leaf.pem"),
        http_get(&format!("{}/certchain", s.local.stack.timestamp_url()))
            .split_inclusive("-----END CERTIFICATE-----\n")
            .next()
            .expect("leaf"),
    )
    .expect("write");
    let (code, _, err) = s.verify(&repo, Some("leaf.pem"), &id);
    assert_eq!(
        code, 2,
        "a chain without its root CA is a config error: {err}"
    );
    assert!(err.contains("root CA") && err.contains("Hint:"), "{err}");
    let (code, _, err) = s.verify(&repo, Some("missing.pem"), &id);
    assert_ne!(code, 0, "a missing file is an error: {err}");
    assert!(err.contains("missing.pem"), "names the file: {err}");
}
