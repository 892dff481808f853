//! Rekor v2 (`gitsign.rekorVersion=2`) end to end against the local stack's rekor-tiles shard:
//! ours signs and verifies offline (through `gitsign verify` and `git verify-commit`); what is
//! tampered — the commit, the inclusion proof, the checkpoint's signer — or missing (the RFC
//! 3161 timestamp) is refused; a failing v2 log fails signing; and Go gitsign and ours accept
//! each other's Rekor v2 commits.
//!
//! The tampering edits the CMS bytes directly: the expected bytes to change (the root hash, a
//! proof hash, the checkpoint signature) are taken from the stack's checkpoint and tiles API,
//! not from our decoder.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use sigstore_local::{Faults, Service, Stack};

use crate::util::{self, gitsign_bin, output, TestRepo};

const IDENTITY: &str = "dev@example.com";

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// The environment for signing with Rekor v2 on the stack's newest shard.
fn v2_env(cmd: &mut Command, stack: &Stack, tsa: bool) {
    util::stack_env(cmd, stack);
    cmd.env("GITSIGN_REKOR_URL", stack.rekor_v2_url())
        .env("GITSIGN_REKOR_VERSION", "2")
        .env("GITSIGN_ENABLE_SIGSTORE_GO", "true")
        .env("SIGSTORE_ID_TOKEN", stack.mint_token(IDENTITY));
    if tsa {
        cmd.env("GITSIGN_TIMESTAMP_SERVER_URL", stack.timestamp_url());
    }
}

fn git_with(repo: &TestRepo, program: &Path) -> Command {
    let mut cmd = repo.cmd("git");
    cmd.args(["-c", "gpg.format=x509", "-c"])
        .arg(format!("gpg.x509.program={}", program.display()));
    cmd
}

fn head(repo: &TestRepo) -> Option<String> {
    let (code, out, _) = output(
        repo.cmd("git")
            .args(["rev-parse", "-q", "--verify", "HEAD"]),
    );
    (code == 0).then(|| out.trim().to_owned())
}

/// `git commit -S` through ours with Rekor v2; (exit code, stderr).
fn sign_commit(repo: &TestRepo, stack: &Stack, tsa: bool, msg: &str) -> (i32, String) {
    let log = repo.path().join(".git/gitsign.log");
    std::fs::remove_file(&log).ok();
    let mut cmd = git_with(repo, &gitsign_bin());
    v2_env(&mut cmd, stack, tsa);
    cmd.env("GITSIGN_LOG", &log)
        .args(["commit", "-q", "--allow-empty", "-S", "-m", msg]);
    let (code, _, err) = output(&mut cmd);
    // git before 2.40 drops the signing program's stderr on failure; the log keeps it.
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    (code, format!("{err}{logged}"))
}

/// `gitsign verify` with the identity flags and only the trusted root: no Rekor URL at all.
fn verify(repo: &TestRepo, stack: &Stack, rev: &str) -> (i32, String, String) {
    let mut cmd = repo.gitsign();
    cmd.env("GITSIGN_TRUSTED_ROOT", stack.trusted_root_path())
        .args([
            "verify",
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
            &stack.oidc_issuer(),
            rev,
        ]);
    output(&mut cmd)
}

/// The DER of a commit's signature, and the commit split around it (header before `gpgsig`,
/// the rest after the armor).
struct Signed {
    before: String,
    der: Vec<u8>,
    after: String,
}

fn signature_of(repo: &TestRepo, id: &str) -> Signed {
    let raw = repo.git(&["cat-file", "commit", id]);
    let start = raw.find("gpgsig ").expect("a gpgsig header");
    let end_marker = "-----END SIGNED MESSAGE-----\n";
    let end = raw[start..].find(end_marker).expect("armor end") + start + end_marker.len();
    let b64_text: String = raw[start..end]
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("gpgsig") && !l.starts_with("-----"))
        .collect();
    Signed {
        before: raw[..start].to_owned(),
        der: b64().decode(b64_text).expect("base64 signature"),
        after: raw[end..].to_owned(),
    }
}

/// Write a copy of the commit with `der` as its signature; returns its id.
fn with_signature(repo: &TestRepo, s: &Signed, der: &[u8]) -> String {
    let text = b64().encode(der);
    let mut sig = String::from("gpgsig -----BEGIN SIGNED MESSAGE-----\n");
    for chunk in text.as_bytes().chunks(64) {
        sig.push(' ');
        sig.push_str(std::str::from_utf8(chunk).expect("ascii"));
        sig.push('\n');
    }
    sig.push_str(" -----END SIGNED MESSAGE-----\n");
    repo.write_object("commit", format!("{}{sig}{}", s.before, s.after).as_bytes())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The checkpoint note embedded in `der` (found by its origin line, the stack's host).
fn checkpoint_in(der: &[u8]) -> (usize, String) {
    let at = find(der, b"127.0.0.1\n").expect("a checkpoint with the stack's origin");
    let tail = &der[at..];
    let end = find(tail, b"\n\n").expect("checkpoint body end") + 2;
    let sig_end = end
        + tail[end..]
            .iter()
            .position(|&b| b == b'\n')
            .expect("sig line")
        + 1;
    (
        at,
        String::from_utf8(tail[..sig_end].to_vec()).expect("utf8 note"),
    )
}

fn stack_get(url: &str) -> Vec<u8> {
    let mut resp = ureq::get(url).call().expect("GET the stack");
    resp.body_mut().read_to_vec().expect("body")
}

fn openssl_print(der: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = dir.path().join("sig.der");
    std::fs::write(&f, der).expect("write");
    let (code, out, _) = output(Command::new("openssl").args([
        "cms",
        "-cmsout",
        "-print",
        "-inform",
        "DER",
        "-in",
        f.to_str().expect("utf8"),
    ]));
    (code == 0).then_some(out)
}

#[test]
fn ours_signs_to_rekor_v2_and_verifies_offline_and_refuses_tampering() {
    let local = util::start_stack();
    let stack = &local.stack;
    let repo = TestRepo::new();
    let (code, err) = sign_commit(&repo, stack, true, "first");
    assert_eq!(code, 0, "signing with Rekor v2: {err}");
    let (code, err) = sign_commit(&repo, stack, true, "second");
    assert_eq!(code, 0, "signing with Rekor v2: {err}");
    assert_eq!(stack.rekor_v2_size(), 2, "both went to the v2 shard");
    assert_eq!(stack.log_size(), 0, "nothing went to the v1 log");
    let id = head(&repo).expect("a commit");

    // Offline: no request reaches the stack while verifying.
    let asked = |s: &Stack| {
        s.service_request_count(Service::Rekor) + s.service_request_count(Service::RekorV2)
    };
    let before = asked(stack);
    let (code, out, err) = verify(&repo, stack, &id);
    assert_eq!(code, 0, "gitsign verify accepts it: {out}{err}");
    assert!(
        out.contains("Validated Rekor entry: true"),
        "the v2 entry counts as a verified Rekor entry: {out}"
    );
    let mut cmd = repo.gitsign();
    cmd.env("GITSIGN_TRUSTED_ROOT", stack.trusted_root_path())
        .args([
            "verify",
            "--format",
            "json",
            "--certificate-identity",
            IDENTITY,
        ])
        .args(["--certificate-oidc-issuer", &stack.oidc_issuer(), &id]);
    let (code, out, err) = output(&mut cmd);
    assert_eq!(code, 0, "{out}{err}");
    let line: serde_json::Value = serde_json::from_str(out.lines().next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("a JSON line ({e}): {out}"));
    assert_eq!(line["time_anchor"], "timestamp", "{line}");
    assert_eq!(
        line["tlog_index"],
        serde_json::json!(1),
        "the second entry of the shard (index 1) is named: {line}"
    );
    let mut cmd = git_with(&repo, &gitsign_bin());
    cmd.env("GITSIGN_TRUSTED_ROOT", stack.trusted_root_path())
        .args(["verify-commit", &id]);
    let (code, _, err) = output(&mut cmd);
    assert_eq!(code, 0, "git verify-commit through ours accepts it: {err}");
    assert_eq!(asked(stack), before, "verification asked no log");

    let signed = signature_of(&repo, &id);
    if let Some(printed) = openssl_print(&signed.der) {
        assert!(
            printed.contains("1.3.6.1.4.1.57264.3.1"),
            "openssl sees the log entry attribute: {printed}"
        );
        assert!(
            printed.contains("id-smime-aa-timeStampToken")
                || printed.contains("1.2.840.113549.1.9.16.2.14"),
            "openssl sees the timestamp attribute: {printed}"
        );
    } else {
        eprintln!("skipped: openssl cannot print the CMS here; attribute check by openssl not run");
    }

    // A tampered commit.
    let copy = crate::go_interop::tampered(&repo, "commit", &id);
    let (code, out, err) = verify(&repo, stack, &copy);
    assert_eq!(code, 1, "a tampered commit is bad: {out}{err}");

    // The entry of the second commit: index 1 in a tree of 2, its proof is leaf 0's hash.
    let (cp_at, note) = checkpoint_in(&signed.der);
    let mut lines = note.lines();
    assert_eq!(lines.next(), Some("127.0.0.1"));
    assert_eq!(
        lines.next(),
        Some("2"),
        "the checkpoint is of the tree of two"
    );
    let root = b64()
        .decode(lines.next().expect("root line"))
        .expect("b64 root");
    let leaves = stack_get(&format!("{}/api/v2/tile/0/000.p/2", stack.rekor_v2_url()));
    assert_eq!(
        leaves.len(),
        64,
        "the partial level-0 tile holds two leaf hashes"
    );
    let leaf0 = &leaves[..32];

    // A tampered inclusion proof: the sibling hash.
    let at = find(&signed.der, leaf0).expect("the proof hash is embedded");
    let mut der = signed.der.clone();
    der[at + 7] ^= 0x01;
    let (code, out, err) = verify(&repo, stack, &with_signature(&repo, &signed, &der));
    assert_eq!(code, 1, "a tampered inclusion proof is bad: {out}{err}");
    assert!(
        format!("{out}{err}").contains("inclusion proof"),
        "the error names the proof: {out}{err}"
    );

    // A tampered root hash (before the checkpoint, which signs the original).
    let at = find(&signed.der[..cp_at], &root).expect("the root hash is embedded");
    let mut der = signed.der.clone();
    der[at] ^= 0x80;
    let (code, _, _) = verify(&repo, stack, &with_signature(&repo, &signed, &der));
    assert_eq!(code, 1, "a tampered root hash is bad");

    // A checkpoint signed by an unknown key: the key hint of its only signature changed.
    let sig_line = note.lines().last().expect("signature line");
    let sig_b64 = sig_line.rsplit(' ').next().expect("sig");
    let mut sig = b64().decode(sig_b64).expect("b64 sig");
    sig[0] ^= 0x01;
    let forged = b64().encode(&sig);
    assert_eq!(forged.len(), sig_b64.len());
    let at = cp_at + find(note.as_bytes(), sig_b64.as_bytes()).expect("sig in note");
    let mut der = signed.der.clone();
    der[at..at + forged.len()].copy_from_slice(forged.as_bytes());
    let (code, out, err) = verify(&repo, stack, &with_signature(&repo, &signed, &der));
    assert_eq!(code, 1, "a checkpoint by an unknown key is bad: {out}{err}");
    assert!(
        format!("{out}{err}").contains("checkpoint"),
        "the error names the checkpoint: {out}{err}"
    );
}

#[test]
fn rekor_v2_without_a_timestamp_authority_is_refused_before_anything_is_logged() {
    let local = util::start_stack();
    let stack = &local.stack;
    let repo = TestRepo::new();
    let (code, err) = sign_commit(&repo, stack, false, "no tsa");
    assert_ne!(code, 0, "refused: {err}");
    assert!(
        err.contains("timestampServerURL"),
        "the hint names the setting: {err}"
    );
    assert_eq!(head(&repo), None, "git recorded no commit");
    assert_eq!(stack.rekor_v2_size(), 0, "nothing was logged");
    assert_eq!(
        stack.request_count("POST /api/v2/signingCert"),
        0,
        "refused before asking Fulcio"
    );
}

#[test]
fn a_failing_or_lying_v2_log_fails_signing_and_git_records_no_commit() {
    let local = util::start_stack();
    let stack = &local.stack;
    let repo = TestRepo::new();
    let cases = [
        (
            "5xx",
            Faults {
                status: Some(503),
                ..Faults::default()
            },
            "503",
        ),
        (
            "proof for another leaf",
            Faults {
                proof_for_other_leaf: true,
                ..Faults::default()
            },
            "does not verify",
        ),
        (
            "checkpoint signed wrongly",
            Faults {
                wrong_signature: true,
                ..Faults::default()
            },
            "does not verify",
        ),
    ];
    // One good entry first, so a proof for "another leaf" has one to point at.
    let (code, err) = sign_commit(&repo, stack, true, "good");
    assert_eq!(code, 0, "{err}");
    for (name, faults, want) in cases {
        let before = head(&repo);
        stack.set_faults(Service::RekorV2, faults);
        let (code, err) = sign_commit(&repo, stack, true, name);
        stack.clear_faults();
        assert_ne!(code, 0, "{name}: signing fails");
        assert_eq!(head(&repo), before, "{name}: git recorded no commit");
        assert!(err.contains("gitsign: error: "), "{name}: an error: {err}");
        assert!(err.contains(want), "{name}: the error says {want:?}: {err}");
    }
}

/// Go gitsign's environment for the stack with Rekor v2: trust as PEM files, the v2 shard's
/// key as its Rekor key and the shard URL as its Rekor URL (Go names its v2 log by that URL).
struct Go {
    bin: std::path::PathBuf,
    files: tempfile::TempDir,
}

impl Go {
    fn new(test: &str, stack: &Stack) -> Option<Go> {
        let bin = crate::go_interop::peer(test)?;
        let files = tempfile::tempdir().expect("temp dir");
        let root = stack.trusted_root_json();
        let raw = |v: &serde_json::Value| v["rawBytes"].as_str().expect("rawBytes").to_owned();
        let chain = |v: &serde_json::Value| -> String {
            v["certChain"]["certificates"]
                .as_array()
                .expect("chain")
                .iter()
                .map(|c| crate::go_interop::pem("CERTIFICATE", &raw(c)))
                .collect()
        };
        let v2 = root["tlogs"]
            .as_array()
            .expect("tlogs")
            .iter()
            .find(|t| t["baseUrl"].as_str() == Some(stack.rekor_v2_url().as_str()))
            .expect("the v2 shard is in the trusted root")
            .clone();
        let write = |name: &str, text: String| {
            std::fs::write(files.path().join(name), text).expect("write trust file")
        };
        write("fulcio.pem", chain(&root["certificateAuthorities"][0]));
        write("tsa.pem", chain(&root["timestampAuthorities"][0]));
        write(
            "rekor.pub",
            crate::go_interop::pem("PUBLIC KEY", &raw(&v2["publicKey"])),
        );
        write(
            "ctlog.pub",
            crate::go_interop::pem("PUBLIC KEY", &raw(&root["ctlogs"][0]["publicKey"])),
        );
        std::fs::create_dir(files.path().join("tuf")).expect("tuf dir");
        Some(Go { bin, files })
    }

    fn env(&self, cmd: &mut Command, stack: &Stack, tsa: bool) {
        let f = |name: &str| self.files.path().join(name);
        v2_env(cmd, stack, tsa);
        cmd.env("GITSIGN_REKOR_MODE", "offline")
            .env("SIGSTORE_ROOT_FILE", f("fulcio.pem"))
            .env("SIGSTORE_REKOR_PUBLIC_KEY", f("rekor.pub"))
            .env("SIGSTORE_CT_LOG_PUBLIC_KEY_FILE", f("ctlog.pub"))
            .env("GITSIGN_TIMESTAMP_CERT_CHAIN", f("tsa.pem"))
            .env("TUF_ROOT", f("tuf"));
    }
}

#[test]
fn go_gitsign_and_ours_accept_each_others_rekor_v2_commits() {
    let local = util::start_stack();
    let stack = &local.stack;
    let Some(go) = Go::new(
        "go_gitsign_and_ours_accept_each_others_rekor_v2_commits",
        stack,
    ) else {
        return;
    };
    let repo = TestRepo::new();

    // Go signs with Rekor v2 and a timestamp → ours verifies offline.
    let mut cmd = git_with(&repo, &go.bin);
    go.env(&mut cmd, stack, true);
    cmd.args(["commit", "-q", "--allow-empty", "-S", "-m", "by go"]);
    let (code, _, err) = output(&mut cmd);
    assert_eq!(code, 0, "Go gitsign signs with Rekor v2: {err}");
    assert_eq!(stack.rekor_v2_size(), 1, "Go logged in the v2 shard");
    let by_go = head(&repo).expect("Go's commit");
    let (code, out, err) = verify(&repo, stack, &by_go);
    assert_eq!(code, 0, "ours accepts Go's Rekor v2 commit: {out}{err}");
    let copy = crate::go_interop::tampered(&repo, "commit", &by_go);
    assert_eq!(
        verify(&repo, stack, &copy).0,
        1,
        "ours refuses a tampered copy"
    );

    // Ours → Go's `gitsign verify`. Go v0.17.1 hands the CMS timestamp token to sigstore-go
    // as if it were a whole TimeStampResp, so it refuses every timestamped signature on this
    // path, its own Rekor v2 commits included: when it refuses its own, that is the reason.
    let go_verify = |rev: &str| {
        let mut cmd = repo.cmd(&go.bin);
        go.env(&mut cmd, stack, false);
        cmd.args([
            "verify",
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
            &stack.oidc_issuer(),
            rev,
        ]);
        output(&mut cmd)
    };
    let (code, err) = sign_commit(&repo, stack, true, "by ours");
    assert_eq!(code, 0, "ours signs: {err}");
    let ours = head(&repo).expect("our commit");
    let (own_code, own_out, own_err) = go_verify(&by_go);
    let (code, out, err) = go_verify(&ours);
    if own_code != 0 {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: Go gitsign verifying our Rekor v2 commit: Go v0.17.1 refuses its own Rekor v2 commit too ({}); on ours it said: {}",
            format!("{own_out}{own_err}").trim(),
            format!("{out}{err}").trim()
        );
        assert!(
            format!("{own_out}{own_err}").contains("timestamp")
                == format!("{out}{err}").contains("timestamp"),
            "Go refuses ours for the reason it refuses its own: {own_out}{own_err} / {out}{err}"
        );
    } else {
        assert_eq!(
            code, 0,
            "Go gitsign accepts our Rekor v2 commit: {out}{err}"
        );
    }

    // Go without a timestamp: it signs (Go does not require one); nothing proves the time,
    // so ours refuses the commit.
    let mut cmd = git_with(&repo, &go.bin);
    go.env(&mut cmd, stack, false);
    cmd.args(["commit", "-q", "--allow-empty", "-S", "-m", "go, no tsa"]);
    let (code, _, err) = output(&mut cmd);
    if code == 0 {
        let id = head(&repo).expect("commit");
        let (code, out, err) = verify(&repo, stack, &id);
        assert_eq!(
            code, 1,
            "a Rekor v2 entry without a timestamp is bad: {out}{err}"
        );
        assert!(
            format!("{out}{err}").contains("nothing proves when"),
            "the reason: {out}{err}"
        );
    } else {
        eprintln!("note: Go gitsign refuses Rekor v2 without a timestamp: {err}");
    }
}

/// sigstore-python (scripts/python-venv) signs a blob with Rekor v2 against the stack, from
/// its client trust config, and verifies the bundle offline: an independent client accepts
/// the stack's v2 write API, entry, inclusion proof and checkpoint.
#[test]
fn sigstore_python_signs_with_rekor_v2_and_verifies_the_bundle() {
    let sigstore = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/sigstore");
    assert!(
        sigstore.exists(),
        "{} is missing: run scripts/python-venv first",
        sigstore.display()
    );
    let local = util::start_stack();
    let stack = &local.stack;
    let dir = tempfile::tempdir().expect("temp dir");
    let artifact = dir.path().join("artifact.txt");
    std::fs::write(&artifact, b"a blob for Rekor v2\n").expect("write");
    let bundle = dir.path().join("artifact.sigstore.json");
    let trust_config = stack.state_dir().join("client_trust_config.json");
    let python = |args: &[&str]| {
        let mut cmd = Command::new(&sigstore);
        cmd.arg("--trust-config")
            .arg(&trust_config)
            .args(args)
            .env("HOME", dir.path())
            .env_remove("SIGSTORE_ID_TOKEN");
        output(&mut cmd)
    };
    let token = stack.mint_token(IDENTITY);
    let (code, out, err) = python(&[
        "sign",
        "--rekor-version",
        "2",
        "--identity-token",
        &token,
        "--bundle",
        bundle.to_str().expect("utf8"),
        artifact.to_str().expect("utf8"),
    ]);
    assert_eq!(code, 0, "sigstore-python signs with Rekor v2: {out}{err}");
    assert_eq!(stack.rekor_v2_size(), 1, "its entry is in the v2 shard");
    assert_eq!(stack.log_size(), 0, "not in the v1 log");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&bundle).expect("bundle")).expect("bundle JSON");
    assert_eq!(
        v["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["version"], "0.0.2",
        "a Rekor v2 entry: {v}"
    );
    let verify = |path: &Path| {
        python(&[
            "verify",
            "identity",
            "--offline",
            "--bundle",
            path.to_str().expect("utf8"),
            "--cert-identity",
            IDENTITY,
            "--cert-oidc-issuer",
            &stack.oidc_issuer(),
            artifact.to_str().expect("utf8"),
        ])
    };
    let (code, out, err) = verify(&bundle);
    assert_eq!(code, 0, "sigstore-python verifies the bundle: {out}{err}");
    // And it notices a tampered checkpoint, or the check above proves nothing.
    let mut bad = v.clone();
    let cp = bad["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]
        ["envelope"]
        .as_str()
        .expect("checkpoint")
        .replacen("\n1\n", "\n2\n", 1);
    bad["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"] =
        serde_json::Value::String(cp);
    let bad_path = dir.path().join("bad.sigstore.json");
    std::fs::write(&bad_path, serde_json::to_vec(&bad).expect("json")).expect("write");
    let (code, _, _) = verify(&bad_path);
    assert_ne!(code, 0, "sigstore-python refuses a forged checkpoint");

    // Our `verify-bundle` agrees on both.
    let ours = |path: &Path| {
        let mut cmd = util::hermetic(gitsign_bin(), dir.path());
        cmd.arg("verify-bundle")
            .arg("--bundle")
            .arg(path)
            .arg("--trusted-root")
            .arg(stack.trusted_root_path())
            .args(["--certificate-identity", IDENTITY])
            .args(["--certificate-oidc-issuer", &stack.oidc_issuer()])
            .arg(&artifact);
        output(&mut cmd)
    };
    let (code, out, err) = ours(&bundle);
    assert_eq!(
        code, 0,
        "ours verifies sigstore-python's Rekor v2 bundle: {out}{err}"
    );
    let (code, out, err) = ours(&bad_path);
    assert_eq!(code, 1, "ours refuses the forged checkpoint: {out}{err}");
}
