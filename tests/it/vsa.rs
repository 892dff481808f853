//! Verification summaries: `gitsign verify --vsa FILE` signs a SLSA VSA about the tip of what
//! it verified (against the local stack, as `gitsign attest` signs) and `gitsign
//! verify-attestation --vsa FILE` checks it. Real `git commit -S` with gitsign as git's x509
//! program; the DSSE signature is also checked by `openssl` over PAE bytes built here from
//! the DSSE spec, and the policy digest by `sha256sum`.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use serde_json::Value;

use crate::util::{gitsign_bin, output, stack_env, start_stack, TestRepo};

const IDENTITY: &str = "dev@example.com";
/// A remote whose URL carries a token: the summary must not publish it.
const REMOTE: &str = "https://x-access-token:s3cret@example.com/acme/app.git";

struct Setup {
    repo: TestRepo,
    local: crate::util::Local,
    token: String,
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

fn setup() -> Setup {
    let local = start_stack();
    let token = local.stack.mint_token(IDENTITY);
    let repo = TestRepo::new();
    repo.git(&["commit", "-q", "--allow-empty", "-m", "base"]);
    repo.git(&["tag", "base"]);
    repo.git(&["remote", "add", "origin", REMOTE]);
    let s = Setup { repo, local, token };
    for i in 0..2 {
        s.commit_signed(&format!("signed {i}"));
    }
    s
}

impl Setup {
    fn commit_signed(&self, msg: &str) {
        let mut cmd = self.repo.cmd("git");
        cmd.args(["-c", "gpg.format=x509", "-c"])
            .arg(format!("gpg.x509.program={}", gitsign_bin().display()))
            .args(["commit", "-q", "-S", "--allow-empty", "-m", msg]);
        stack_env(&mut cmd, &self.local.stack);
        cmd.env("SIGSTORE_ID_TOKEN", &self.token);
        let (code, _, err) = output(&mut cmd);
        assert_eq!(code, 0, "git commit -S with gitsign signs: {err}");
    }

    fn gitsign(&self, args: &[&str]) -> (i32, String, String) {
        let mut cmd = self.repo.gitsign();
        stack_env(&mut cmd, &self.local.stack);
        cmd.env("SIGSTORE_ID_TOKEN", &self.token).args(args);
        output(&mut cmd)
    }

    fn issuer(&self) -> String {
        self.local.stack.oidc_issuer()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.repo.path().join(name)
    }

    /// `gitsign verify RANGE --vsa FILE` under the signer's identity.
    fn verify_vsa(&self, range: &str, file: &Path) -> (i32, String, String) {
        let issuer = self.issuer();
        self.gitsign(&[
            "verify",
            range,
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
            &issuer,
            "--vsa",
            file.to_str().expect("utf8 path"),
        ])
    }

    /// `gitsign verify-attestation --vsa FILE REV` with `identity`.
    fn check(
        &self,
        file: &Path,
        rev: &str,
        identity: &str,
        extra: &[&str],
    ) -> (i32, String, String) {
        let issuer = self.issuer();
        let mut args = vec![
            "verify-attestation",
            "--vsa",
            file.to_str().expect("utf8 path"),
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            &issuer,
        ];
        args.extend_from_slice(extra);
        args.push(rev);
        self.gitsign(&args)
    }

    fn rev(&self, rev: &str) -> String {
        self.repo.git(&["rev-parse", rev]).trim().to_owned()
    }
}

fn bundle(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("the summary file")).expect("bundle JSON")
}

fn statement(bundle: &Value) -> Value {
    let payload = b64(bundle["dsseEnvelope"]["payload"]
        .as_str()
        .expect("a DSSE payload"));
    serde_json::from_slice(&payload).expect("statement JSON")
}

/// Run `program` with `input` on stdin; (code, stdout).
fn pipe(program: &str, args: &[&str], input: &[u8]) -> (i32, String) {
    let mut cmd = Command::new(program);
    cmd.args(args);
    let (code, out, err) = crate::util::run_with_stdin(cmd, input);
    (code, format!("{out}{err}"))
}

/// The DSSE v1 pre-authentication encoding, from the DSSE protocol document.
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    v.extend_from_slice(payload);
    v
}

/// openssl's verdict on the bundle's DSSE signature with its certificate's key.
fn openssl_verifies(bundle: &Value, dir: &Path) -> bool {
    let cert = b64(bundle["verificationMaterial"]["certificate"]["rawBytes"]
        .as_str()
        .expect("a certificate"));
    let env = &bundle["dsseEnvelope"];
    let signed = pae(
        env["payloadType"].as_str().expect("payload type"),
        &b64(env["payload"].as_str().expect("payload")),
    );
    let sig = b64(env["signatures"][0]["sig"].as_str().expect("sig"));
    let (cert_path, pae_path, sig_path, key_path) = (
        dir.join("leaf.der"),
        dir.join("pae.bin"),
        dir.join("sig.bin"),
        dir.join("leaf.pub"),
    );
    std::fs::write(&cert_path, cert).expect("write");
    std::fs::write(&pae_path, signed).expect("write");
    std::fs::write(&sig_path, sig).expect("write");
    let s = |p: &Path| p.to_str().expect("utf8").to_owned();
    let (code, out) = pipe(
        "openssl",
        &[
            "x509",
            "-inform",
            "DER",
            "-in",
            &s(&cert_path),
            "-noout",
            "-pubkey",
            "-out",
            &s(&key_path),
        ],
        b"",
    );
    assert_eq!(code, 0, "openssl reads the Fulcio certificate: {out}");
    let (code, _) = pipe(
        "openssl",
        &[
            "dgst",
            "-sha256",
            "-verify",
            &s(&key_path),
            "-signature",
            &s(&sig_path),
            &s(&pae_path),
        ],
        b"",
    );
    code == 0
}

#[test]
fn verify_writes_a_signed_summary_that_verify_attestation_and_openssl_accept() {
    let s = setup();
    let file = s.path("main.vsa.json");
    let (code, out, err) = s.verify_vsa("base..main", &file);
    assert_eq!(code, 0, "both commits verify: {out}{err}");
    let head = s.rev("main");
    assert!(
        err.contains(&format!(
            "wrote the verification summary of commit {head} (PASSED)"
        )),
        "the run says what it wrote: {err}"
    );

    let b = bundle(&file);
    assert_eq!(
        b["mediaType"], "application/vnd.dev.sigstore.bundle.v0.3+json",
        "the file is a Sigstore bundle"
    );
    assert_eq!(
        b["dsseEnvelope"]["payloadType"], "application/vnd.in-toto+json",
        "carrying an in-toto DSSE envelope"
    );
    let st = statement(&b);
    assert_eq!(st["_type"], "https://in-toto.io/Statement/v1", "in-toto v1");
    assert_eq!(
        st["predicateType"], "https://slsa.dev/verification_summary/v1",
        "a SLSA VSA"
    );
    assert_eq!(
        st["subject"].as_array().map(Vec::len),
        Some(1),
        "one subject: {st}"
    );
    let subject = &st["subject"][0];
    assert_eq!(
        subject["digest"]["gitCommit"],
        head.as_str(),
        "the tip commit"
    );
    assert_eq!(subject["name"], "refs/heads/main", "named by the tip's ref");
    assert_eq!(
        subject["annotations"]["source_refs"],
        serde_json::json!(["refs/heads/main"]),
        "the refs at the tip, fully qualified"
    );
    let p = &st["predicate"];
    assert_eq!(
        p["verifier"]["id"],
        "https://github.com/sigstore/gitsign-rs"
    );
    assert_eq!(
        p["resourceUri"], "git+https://example.com/acme/app.git",
        "the origin remote, without its token"
    );
    assert!(
        !String::from_utf8_lossy(&std::fs::read(&file).expect("read")).contains("s3cret"),
        "the token is nowhere in the file"
    );
    assert_eq!(p["verificationResult"], "PASSED");
    assert_eq!(
        p["verifiedLevels"],
        serde_json::json!(["SLSA_SOURCE_LEVEL_1"])
    );
    let time = p["timeVerified"].as_str().expect("timeVerified");
    assert!(
        time.len() == 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
        "RFC 3339 in UTC: {time}"
    );
    let policy = b64(p["policy"]["content"].as_str().expect("the policy text"));
    let policy_json: Value = serde_json::from_slice(&policy).expect("policy JSON");
    assert_eq!(
        policy_json,
        serde_json::json!({
            "certificate-identity": IDENTITY,
            "certificate-oidc-issuer": s.issuer(),
        }),
        "the identity options the commits were judged by"
    );
    let (code, sum) = pipe("sha256sum", &[], &policy);
    assert_eq!(code, 0, "sha256sum runs");
    assert_eq!(
        p["policy"]["digest"]["sha256"].as_str(),
        sum.split_whitespace().next(),
        "the policy digest is the text's sha256"
    );

    assert!(
        openssl_verifies(&b, s.repo.path()),
        "openssl verifies the DSSE signature over the PAE bytes"
    );

    let (code, out, err) = s.check(&file, "main", IDENTITY, &[]);
    assert_eq!(code, 0, "the summary verifies: {out}{err}");
    assert!(
        err.contains("gitsign: Good signature on the verification summary")
            && err.contains(&format!("[{IDENTITY}]")),
        "the verdict names the signer: {err}"
    );
    assert!(
        err.contains("verification result: PASSED (SLSA_SOURCE_LEVEL_1)")
            && err.contains("repository: git+https://example.com/acme/app.git")
            && err.contains("ref: refs/heads/main"),
        "and what the summary says: {err}"
    );
    let (code, _, err) = s.check(
        &file,
        "main",
        IDENTITY,
        &["--vsa-resource-uri", "git+https://example.com/acme/app.git"],
    );
    assert_eq!(code, 0, "the repository asked for is the one named: {err}");
    let (code, _, err) = s.check(
        &file,
        "main",
        IDENTITY,
        &[
            "--vsa-resource-uri",
            "git+https://example.com/acme/other.git",
        ],
    );
    assert_eq!(code, 1, "another repository's summary is refused: {err}");
    assert!(
        err.contains("not 'git+https://example.com/acme/other.git'"),
        "{err}"
    );
}

#[test]
fn a_range_with_a_bad_commit_gets_a_failed_summary() {
    let s = setup();
    s.repo
        .git(&["commit", "-q", "--allow-empty", "-m", "unsigned on top"]);
    s.commit_signed("signed tip");
    let file = s.path("failed.vsa.json");
    let (code, out, err) = s.verify_vsa("base..main", &file);
    assert_eq!(
        code, 1,
        "the unsigned commit is a negative answer: {out}{err}"
    );
    let st = statement(&bundle(&file));
    assert_eq!(
        st["subject"][0]["digest"]["gitCommit"],
        s.rev("main").as_str(),
        "still about the tip"
    );
    assert_eq!(st["predicate"]["verificationResult"], "FAILED", "{st}");
    assert_eq!(
        st["predicate"]["verifiedLevels"],
        serde_json::json!(["FAILED"]),
        "a failed policy, as the VSA spec writes it"
    );
    let (code, _, err) = s.check(&file, "main", IDENTITY, &[]);
    assert_eq!(
        code, 1,
        "a genuine summary of a failed run is a negative answer: {err}"
    );
    assert!(
        err.contains("gitsign: Good signature on the verification summary")
            && err.contains("verification result: FAILED"),
        "the signature is good and the verdict it records is FAILED: {err}"
    );

    // Without a remote nor --vsa-resource-uri there is no repository to name.
    s.repo.git(&["remote", "remove", "origin"]);
    let (code, _, err) = s.verify_vsa("base..main", &s.path("none.json"));
    assert_eq!(code, 2, "no resource URI decides nothing: {err}");
    assert!(err.contains("Hint: pass --vsa-resource-uri"), "{err}");
    assert!(!s.path("none.json").exists(), "nothing is written");
}

#[test]
fn tampered_summaries_are_refused() {
    let s = setup();
    let file = s.path("main.vsa.json");
    let (code, _, err) = s.verify_vsa("base..main", &file);
    assert_eq!(code, 0, "{err}");
    let original = bundle(&file);
    let write = |name: &str, v: &Value| {
        let p = s.path(name);
        std::fs::write(&p, serde_json::to_vec(v).expect("json")).expect("write");
        p
    };
    let refused = |p: &Path, rev: &str, what: &str| {
        let (code, out, err) = s.check(p, rev, IDENTITY, &[]);
        assert_eq!(code, 1, "{what} is refused: {out}{err}");
        assert!(err.contains("gitsign: Bad "), "{what}: {err}");
        err
    };
    let encode = |v: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(v));

    // 1. One byte of the signed payload changed.
    let mut payload = b64(original["dsseEnvelope"]["payload"]
        .as_str()
        .expect("payload"));
    let at = payload
        .windows(7)
        .position(|w| w == b"LEVEL_1")
        .expect("the level is in the payload");
    payload[at + 6] = b'3';
    let mut v = original.clone();
    v["dsseEnvelope"]["payload"] = encode(&payload);
    let p = write("byte.json", &v);
    assert!(
        !openssl_verifies(&v, s.repo.path()),
        "openssl refuses the changed payload too"
    );
    refused(&p, "main", "a changed payload byte");

    // 2. The subject changed to another commit: refused for that commit (the signature no
    //    longer covers it) and the genuine summary refused for it (another subject).
    let parent = s.rev("main~1");
    let mut st = statement(&original);
    st["subject"][0]["digest"]["gitCommit"] = parent.clone().into();
    let mut v = original.clone();
    v["dsseEnvelope"]["payload"] = encode(&serde_json::to_vec(&st).expect("json"));
    let p = write("subject.json", &v);
    refused(&p, &parent, "a summary whose subject was changed");
    let err = refused(&file, &parent, "a genuine summary about another commit");
    assert!(err.contains("is about gitCommit:"), "says why: {err}");

    // 3. The signature swapped for the one of another genuine summary.
    let other_file = s.path("other.vsa.json");
    let (code, _, err) = s.verify_vsa("base..main", &other_file);
    assert_eq!(code, 0, "{err}");
    let other = bundle(&other_file);
    assert_ne!(
        other["dsseEnvelope"]["signatures"][0]["sig"],
        original["dsseEnvelope"]["signatures"][0]["sig"],
        "two signings, two signatures"
    );
    let mut v = original.clone();
    v["dsseEnvelope"]["signatures"][0]["sig"] =
        other["dsseEnvelope"]["signatures"][0]["sig"].clone();
    let p = write("sig.json", &v);
    refused(&p, "main", "a swapped signature");

    // 4. A genuine summary, but the policy asks for another identity.
    let (code, _, err) = s.check(&file, "main", "mallory@example.com", &[]);
    assert_eq!(code, 1, "another identity's policy refuses it: {err}");
    assert!(
        err.contains("gitsign: Bad signature on the verification summary"),
        "{err}"
    );

    // 5. Not a summary at all: an attestation of another type, signed as attest signs.
    let pred = s.path("provenance.json");
    std::fs::write(&pred, "{}").expect("write");
    let (code, _, err) = s.gitsign(&[
        "attest",
        "-f",
        pred.to_str().expect("utf8"),
        "--type",
        "https://slsa.dev/provenance/v1",
    ]);
    assert_eq!(code, 0, "{err}");
    let head = s.rev("main");
    let stored = s.repo.git(&[
        "show",
        &format!("refs/attestations/commits:{head}/provenance.json.sigstore.json"),
    ]);
    let p = s.path("provenance.sigstore.json");
    std::fs::write(&p, stored).expect("write");
    let err = refused(&p, "main", "a provenance attestation");
    assert!(
        err.contains("not a verification summary"),
        "says why: {err}"
    );
}

#[test]
fn a_summary_needs_one_tip() {
    let repo = TestRepo::new();
    repo.git(&["commit", "-q", "--allow-empty", "-m", "one"]);
    repo.git(&["branch", "other"]);
    repo.git(&["commit", "-q", "--allow-empty", "-m", "two"]);
    let out = repo.path().join("x.json");
    let run = |revs: &[&str]| {
        let mut cmd = repo.gitsign();
        cmd.args([
            "verify",
            "--offline",
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
            "https://issuer.example.com",
            "--vsa-resource-uri",
            "git+https://example.com/acme/app",
            "--vsa",
            out.to_str().expect("utf8"),
        ])
        .args(revs);
        output(&mut cmd)
    };
    let (code, _, err) = run(&["--all"]);
    assert_eq!(code, 2, "--all has many tips, refused by the parser: {err}");
    assert!(err.contains("cannot be used with"), "{err}");
    let (code, _, err) = run(&["main", "other"]);
    assert_eq!(code, 2, "two revisions are two tips: {err}");
    assert!(
        err.contains("--vsa summarizes the commits up to one tip, and the revisions name 2"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written");
}

/// Judged by a policy file, the summary records that file (its path and the sha256 of its
/// bytes, which openssl computes here), not identity flags.
#[test]
fn a_summary_of_a_policy_run_records_the_policy_file() {
    let s = setup();
    let policy = format!(
        "[authority.dev]\nsigstore = [{{ identity = \"{IDENTITY}\", issuer = \"{}\" }}]\n[[rule]]\nrefs = [\"refs/heads/main\"]\nauthorities = [\"dev\"]\n",
        s.issuer()
    );
    std::fs::write(s.path("policy.toml"), &policy).expect("write policy");
    let file = s.path("policy.vsa.json");
    let (code, out, err) = s.gitsign(&[
        "verify",
        "base..main",
        "--policy",
        "policy.toml",
        "--vsa",
        file.to_str().expect("utf8 path"),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("authorities: dev 2; admitted by none: 0"),
        "{err}"
    );
    let st = statement(&bundle(&file));
    assert_eq!(st["predicate"]["verificationResult"], "PASSED", "{st}");
    assert_eq!(st["predicate"]["policy"]["uri"], "policy.toml", "{st}");
    let (code, digest) = pipe("openssl", &["dgst", "-sha256", "-r"], policy.as_bytes());
    assert_eq!(code, 0, "openssl digests the policy");
    assert_eq!(
        st["predicate"]["policy"]["digest"]["sha256"],
        digest.split_whitespace().next().unwrap_or_default(),
        "the digest of the policy's bytes: {st}"
    );
}
