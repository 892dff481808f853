//! Keyless signing end to end (issue 5): real `git commit -S` / `git tag -s` with gitsign as
//! git's x509 program, against the local Sigstore stack started in-process on a free port.
//! Every setting reaches gitsign through the env vars a user would set, per `Command`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use sigstore_local::{oidc::TokenRequest, Faults, Service, Stack};

use crate::util::{gitsign_bin, output, stack_env, start_stack as start, TestRepo};

const IDENTITY: &str = "dev@example.com";

/// Point a command at the stack, with `token` (if any) as SIGSTORE_ID_TOKEN.
fn sigstore_env(cmd: &mut Command, stack: &Stack, token: Option<&str>) {
    stack_env(cmd, stack);
    if let Some(t) = token {
        cmd.env("SIGSTORE_ID_TOKEN", t);
    }
}

fn git_signing(repo: &TestRepo, stack: &Stack, token: Option<&str>, args: &[&str]) -> Command {
    let mut cmd = repo.cmd("git");
    cmd.args(["-c", "gpg.format=x509", "-c"])
        .arg(format!("gpg.x509.program={}", gitsign_bin().display()))
        .args(args);
    sigstore_env(&mut cmd, stack, token);
    cmd
}

fn head(repo: &TestRepo) -> Option<String> {
    let (code, out, _) = output(
        repo.cmd("git")
            .args(["rev-parse", "-q", "--verify", "HEAD"]),
    );
    (code == 0).then(|| out.trim().to_owned())
}

fn gitsign_verify(
    repo: &TestRepo,
    stack: &Stack,
    identity: &str,
    issuer: &str,
    rev: &str,
) -> (i32, String, String) {
    let mut cmd = repo.gitsign();
    cmd.args([
        "verify",
        "--certificate-identity",
        identity,
        "--certificate-oidc-issuer",
        issuer,
        rev,
    ]);
    sigstore_env(&mut cmd, stack, None);
    output(&mut cmd)
}

/// Run gitsign in git's sign mode on `payload`; (code, stdout bytes, stderr).
fn gpg_sign(dir: &Path, stack: &Stack, token: &str, payload: &[u8]) -> (i32, Vec<u8>, String) {
    gpg_sign_with(dir, stack, token, payload, &[])
}

fn gpg_sign_with(
    dir: &Path,
    stack: &Stack,
    token: &str,
    payload: &[u8],
    env: &[(&str, String)],
) -> (i32, Vec<u8>, String) {
    use std::io::Write;
    let mut cmd = crate::util::hermetic(gitsign_bin(), dir);
    cmd.current_dir(dir)
        .args(["--status-fd=2", "-bsau", "Test Author <author@example.com>"]);
    sigstore_env(&mut cmd, stack, Some(token));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gitsign");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(payload)
        .expect("write payload");
    let out = child.wait_with_output().expect("gitsign runs");
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn signed_commit_and_tag_verify_with_git_and_gitsign() {
    let local = start();
    let stack = &local.stack;
    let token = stack.mint_token(IDENTITY);
    let repo = TestRepo::new();
    std::fs::write(repo.path().join("a.txt"), "hello\n").expect("write file");
    repo.git(&["add", "a.txt"]);

    let started = Instant::now();
    let (code, out, err) = output(&mut git_signing(
        &repo,
        stack,
        Some(&token),
        &["commit", "-S", "-q", "-m", "signed"],
    ));
    let elapsed = started.elapsed();
    assert_eq!(code, 0, "git commit -S succeeds through gitsign: {err}");
    assert!(out.is_empty(), "quiet commit prints nothing: {out}");
    eprintln!(
        "one signed commit against the local stack took {} ms",
        elapsed.as_millis()
    );
    let raw = repo.git(&["cat-file", "commit", "HEAD"]);
    assert!(
        raw.contains("gpgsig -----BEGIN SIGNED MESSAGE-----"),
        "the commit carries our signature: {raw}"
    );

    let (code, _, err) = output(&mut git_signing(
        &repo,
        stack,
        None,
        &["verify-commit", "HEAD"],
    ));
    assert_eq!(code, 0, "git verify-commit accepts the signature: {err}");
    assert!(err.contains(IDENTITY), "git shows the signer: {err}");

    let (code, out, err) = gitsign_verify(&repo, stack, IDENTITY, &stack.oidc_issuer(), "HEAD");
    assert_eq!(
        code, 0,
        "gitsign verify with the right identity passes: {out}{err}"
    );
    let (code, out, err) = gitsign_verify(
        &repo,
        stack,
        "mallory@example.com",
        &stack.oidc_issuer(),
        "HEAD",
    );
    assert_eq!(
        code, 1,
        "gitsign verify with the wrong identity is a negative answer: {out}{err}"
    );
    let (code, out, err) = gitsign_verify(
        &repo,
        stack,
        IDENTITY,
        "https://accounts.example.org",
        "HEAD",
    );
    assert_eq!(
        code, 1,
        "gitsign verify with the wrong issuer is a negative answer: {out}{err}"
    );

    let (code, _, err) = output(&mut git_signing(
        &repo,
        stack,
        Some(&token),
        &["tag", "-s", "-m", "release", "v1"],
    ));
    assert_eq!(code, 0, "git tag -s succeeds: {err}");
    let (code, _, err) = output(&mut git_signing(&repo, stack, None, &["verify-tag", "v1"]));
    assert_eq!(code, 0, "git verify-tag accepts the tag signature: {err}");
    // Regression: the tag ref must not be peeled past the tag object to its commit.
    let mut cmd = repo.gitsign();
    sigstore_env(&mut cmd, stack, None);
    let (code, _, err) = output(
        cmd.args([
            "verify-tag",
            "v1",
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
        ])
        .arg(stack.oidc_issuer()),
    );
    assert_eq!(
        code, 0,
        "gitsign verify-tag checks the tag we signed: {err}"
    );
    assert!(
        err.contains(&format!("Good signature from [{IDENTITY}]")),
        "{err}"
    );
    assert_eq!(stack.log_size(), 2, "one Rekor entry per signature");
}

#[test]
fn gpg_mode_writes_only_the_signature_to_stdout_and_exact_status_lines() {
    let local = start();
    let stack = &local.stack;
    let dir = tempfile::tempdir().expect("dir");
    let payload = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@b.c> 1700000000 +0000\n\nmsg\n";
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let (code, stdout, stderr) = gpg_sign(dir.path(), stack, &stack.mint_token(IDENTITY), payload);
    assert_eq!(code, 0, "signing succeeds: {stderr}");
    let pem = String::from_utf8(stdout.clone()).expect("stdout is text");
    assert!(
        pem.starts_with("-----BEGIN SIGNED MESSAGE-----\n"),
        "stdout starts with the armor: {pem}"
    );
    assert!(
        pem.ends_with("-----END SIGNED MESSAGE-----\n"),
        "stdout is only the armored signature: {pem}"
    );
    assert_eq!(
        pem.matches("-----BEGIN").count(),
        1,
        "exactly one PEM block on stdout"
    );

    assert!(
        stderr.starts_with("[GNUPG:] BEGIN_SIGNING\n"),
        "BEGIN_SIGNING comes first on the status fd: {stderr}"
    );
    let line = stderr
        .lines()
        .find(|l| l.starts_with("[GNUPG:] SIG_CREATED "))
        .expect("a SIG_CREATED line");
    let f: Vec<&str> = line.split(' ').collect();
    assert_eq!(
        &f[..6],
        // The hash is the one the issuer signed the leaf with, as Go gitsign reports it: the
        // stack's default public-good shape signs leaves with ecdsa-with-SHA384 (9).
        &["[GNUPG:]", "SIG_CREATED", "D", "19", "9", "00"],
        "detached, ECDSA, SHA-384, class 00: {line}"
    );
    let t: i64 = f[6].parse().expect("unix time");
    assert!(t >= before && t <= before + 120, "the time is now: {t}");
    let msg = gitsign::cms::parse(&stdout).expect("our signature parses");
    let leaf = gitsign::x509::Cert::parse(&msg.certificates[0]).expect("leaf");
    assert_eq!(
        f[7],
        leaf.sha1_fingerprint(),
        "the fingerprint is the SHA-1 of the leaf DER"
    );
    assert_eq!(f.len(), 8, "no trailing fields: {line}");
    assert!(
        msg.unsigned_attribute(&gitsign::verify::tlog::OID_TLOG_ENTRY)
            .is_some(),
        "the Rekor entry is embedded"
    );

    let root = gitsign::trust::TrustedRoot::from_json(
        &std::fs::read(stack.trusted_root_path()).expect("root"),
    )
    .expect("root parses");
    let policy = gitsign::verify::policy::Policy::default();
    let verifier = gitsign::verify::Verifier::new(&root, gitsign::verify::Waivers::default());
    let report = verifier.verify_detached(payload, &stdout, &policy);
    assert!(
        report.is_good(),
        "our verifier accepts it with its time anchor: {:?}",
        report.outcome
    );
    assert!(
        matches!(report.anchor, Some(gitsign::verify::Anchor::Tlog { .. })),
        "the time comes from the embedded log entry: {:?}",
        report.anchor
    );
    let mut changed = payload.to_vec();
    changed[5] ^= 1;
    assert!(
        !verifier
            .verify_detached(&changed, &stdout, &policy)
            .is_good(),
        "a changed payload fails"
    );
}

#[test]
fn openssl_cms_accepts_our_signature_and_rejects_a_changed_byte() {
    let local = start();
    let stack = &local.stack;
    let dir = tempfile::tempdir().expect("dir");
    let payload = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nopenssl interop\n";
    let (code, stdout, stderr) = gpg_sign(dir.path(), stack, &stack.mint_token(IDENTITY), payload);
    assert_eq!(code, 0, "signing succeeds: {stderr}");
    let der = gitsign::pem::decode_one(&stdout, "SIGNED MESSAGE").expect("armor");
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("sig.der"), &der).expect("write");
    std::fs::write(p("payload"), payload).expect("write");
    let mut changed = payload.to_vec();
    changed[0] ^= 0x20;
    std::fs::write(p("changed"), &changed).expect("write");
    std::fs::write(p("ca.pem"), stack.fulcio_chain_pem().concat()).expect("write");
    let openssl = |content: &str, extra: &[&str]| {
        let mut c = Command::new("openssl");
        c.args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
            .arg(p("sig.der"))
            .arg("-content")
            .arg(p(content))
            .args(extra)
            .args(["-out", "/dev/null"]);
        output(&mut c)
    };
    let (code, _, err) = openssl("payload", &["-noverify"]);
    assert_eq!(
        code, 0,
        "openssl accepts the signature over the payload: {err}"
    );
    let (code, _, _) = openssl("changed", &["-noverify"]);
    assert_ne!(code, 0, "openssl rejects the signature over a changed byte");
    let ca = p("ca.pem");
    let ca = ca.to_str().expect("utf8 path");
    let (code, _, err) = openssl("payload", &["-CAfile", ca, "-purpose", "any"]);
    assert_eq!(
        code, 0,
        "openssl verifies the chain to the stack's Fulcio CA too: {err}"
    );
}

#[test]
fn browser_flow_signs_through_the_loopback_redirect() {
    let local = start();
    let stack = &local.stack;
    let repo = TestRepo::new();
    let mut cmd = git_signing(
        &repo,
        stack,
        None,
        &["commit", "--allow-empty", "-S", "-q", "-m", "browser"],
    );
    let log = repo.path().join(".git/gitsign.log");
    cmd.env("GITSIGN_URL_OPENER", "curl -sfL {{.URL}}")
        .env("GITSIGN_LOG", &log);
    let (code, out, err) = output(&mut cmd);
    assert_eq!(code, 0, "the opener's GET completes the login: {err}");
    assert!(out.is_empty(), "nothing on stdout: {out}");
    // git swallows the signer's stderr on success; the log file keeps the human text.
    let err = std::fs::read_to_string(&log).expect("GITSIGN_LOG is written");
    assert!(
        err.contains("Your browser will now be opened to:"),
        "the URL is always printed: {err}"
    );
    assert!(
        err.contains("code_challenge_method=S256")
            && err.contains("state=")
            && err.contains("nonce="),
        "PKCE, state and nonce are sent: {err}"
    );
    assert_eq!(
        stack.request_count("POST /oidc/token"),
        1,
        "one code exchange"
    );
    let (code, out, err) = gitsign_verify(&repo, stack, IDENTITY, &stack.oidc_issuer(), "HEAD");
    assert_eq!(
        code, 0,
        "the commit verifies as the approved identity: {out}{err}"
    );
}

#[test]
fn device_flow_signs_after_approval() {
    let local = start();
    let stack = &local.stack;
    let repo = TestRepo::new();
    let mut cmd = git_signing(
        &repo,
        stack,
        None,
        &["commit", "--allow-empty", "-S", "-q", "-m", "device"],
    );
    let log = repo.path().join(".git/gitsign.log");
    cmd.env("GITSIGN_TOKEN_PROVIDER", "device")
        .env("GITSIGN_URL_OPENER", "curl -sf {{.URL}}")
        .env("GITSIGN_LOG", &log);
    let (code, _, err) = output(&mut cmd);
    assert_eq!(
        code, 0,
        "the device flow completes once the verification URI is visited: {err}"
    );
    let err = std::fs::read_to_string(&log).expect("GITSIGN_LOG is written");
    assert!(
        err.contains("enter the code"),
        "the user code is printed: {err}"
    );
    let (code, out, err) = gitsign_verify(&repo, stack, IDENTITY, &stack.oidc_issuer(), "HEAD");
    assert_eq!(code, 0, "the commit verifies: {out}{err}");
}

#[test]
fn github_actions_token_signs_with_the_workflow_identity() {
    let local = start();
    let stack = &local.stack;
    let repo = TestRepo::new();
    let mut cmd = git_signing(
        &repo,
        stack,
        None,
        &["commit", "--allow-empty", "-S", "-q", "-m", "ci"],
    );
    cmd.env(
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        stack.actions_token_request_url(),
    )
    .env(
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        stack.actions_request_token(),
    );
    let (code, _, err) = output(&mut cmd);
    assert_eq!(code, 0, "the ambient GitHub Actions token is used: {err}");
    let want = "https://github.com/octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main";
    let (code, out, err) = gitsign_verify(&repo, stack, want, &stack.actions_issuer(), "HEAD");
    assert_eq!(code, 0, "the certificate names the workflow: {out}{err}");
}

/// Whether this git keeps a failed signing program's stderr to itself: before git 2.40 it
/// prints only "gpg failed to sign the data" (no colon, no output). Then the assertions on our
/// message cannot be made through git; say so visibly (libtest captures `eprintln!`).
fn git_hides_signer_output(git_stderr: &str) -> bool {
    let hidden = git_stderr.contains("gpg failed to sign the data\n")
        && !git_stderr.contains("gitsign: error:");
    if hidden {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: our error text through git: this git does not show the signing program's output"
        );
    }
    hidden
}

/// A failed signature must leave no commit behind, print our error, and nothing on stdout.
fn assert_commit_refused(repo: &TestRepo, stack: &Stack, token: &str, expect_in_stderr: &str) {
    let before = head(repo);
    let (code, out, err) = output(&mut git_signing(
        repo,
        stack,
        Some(token),
        &["commit", "--allow-empty", "-S", "-m", "must not exist"],
    ));
    assert_ne!(code, 0, "git commit fails when signing fails: {err}");
    assert_eq!(head(repo), before, "no commit was created");
    assert!(
        !out.contains("BEGIN SIGNED MESSAGE"),
        "no signature anywhere on stdout: {out}"
    );
    if git_hides_signer_output(&err) {
        return;
    }
    assert!(
        err.contains("gitsign: error: signing failed"),
        "our error reaches the user: {err}"
    );
    assert!(err.contains("Hint: "), "with a hint: {err}");
    assert!(
        err.contains(expect_in_stderr),
        "the cause is named ({expect_in_stderr}): {err}"
    );
}

#[test]
fn invalid_cache_settings_refuse_to_sign_and_name_their_source() {
    let local = start();
    let stack = &local.stack;
    let token = stack.mint_token(IDENTITY);
    let repo = TestRepo::new();
    repo.git(&["config", "gitsign.cacheScope", "repository"]);
    assert_commit_refused(
        &repo,
        stack,
        &token,
        "invalid value 'repository' for git config gitsign.cachescope",
    );
    assert_eq!(
        stack.service_request_count(sigstore_local::Service::Fulcio),
        0,
        "no certificate was requested"
    );
}

/// Issue #5: a Rekor that does not answer within gitsign.timeout, and a user who cancels the
/// browser login, both leave no commit behind and say why.
#[test]
fn rekor_timeout_and_cancelled_login_leave_no_commit_behind() {
    let local = start();
    let stack = &local.stack;
    let repo = TestRepo::new();
    repo.git(&["commit", "--allow-empty", "-q", "-m", "base"]);

    repo.git(&["config", "gitsign.timeout", "1"]);
    stack.set_faults(
        Service::Rekor,
        Faults {
            delay: Some(std::time::Duration::from_secs(4)),
            ..Faults::default()
        },
    );
    let started = Instant::now();
    assert_commit_refused(
        &repo,
        stack,
        &stack.mint_token(IDENTITY),
        "transparency log",
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the timeout bounds the wait: {:?}",
        started.elapsed()
    );
    stack.clear_faults();
    repo.git(&["config", "--unset", "gitsign.timeout"]);

    // The "browser" answers the redirect with error=access_denied, as a provider does when the
    // user clicks cancel.
    let cancel = repo.path().join(".git/cancel.py");
    std::fs::write(
        &cancel,
        "import sys, urllib.parse, urllib.request\n\
q = urllib.parse.parse_qs(urllib.parse.urlparse(sys.argv[1]).query)\n\
back = q['redirect_uri'][0] + '?error=access_denied&error_description=cancelled&state=' + urllib.parse.quote(q['state'][0])\n\
try:\n    urllib.request.urlopen(back)\nexcept Exception:\n    pass\n",
    )
    .expect("write opener");
    let before = head(&repo);
    let certs_before = stack.service_request_count(Service::Fulcio);
    let mut cmd = git_signing(
        &repo,
        stack,
        None,
        &[
            "commit",
            "--allow-empty",
            "-S",
            "-q",
            "-m",
            "must not exist",
        ],
    );
    cmd.env(
        "GITSIGN_URL_OPENER",
        format!("python3 {} {{{{.URL}}}}", cancel.display()),
    );
    let (code, out, err) = output(&mut cmd);
    assert_ne!(code, 0, "a cancelled login fails the commit: {err}");
    assert_eq!(head(&repo), before, "no commit was created");
    assert!(
        git_hides_signer_output(&err) || err.contains("access_denied"),
        "the provider's answer is shown: {err}"
    );
    assert!(
        !out.contains("BEGIN SIGNED MESSAGE"),
        "nothing signed on stdout: {out}"
    );
    assert_eq!(
        stack.service_request_count(Service::Fulcio),
        certs_before,
        "no certificate was requested"
    );
}

#[test]
fn faults_leave_no_commit_behind() {
    let local = start();
    let stack = &local.stack;
    let repo = TestRepo::new();
    repo.git(&["commit", "--allow-empty", "-q", "-m", "base"]);

    stack.set_faults(
        Service::Fulcio,
        Faults {
            status: Some(500),
            ..Faults::default()
        },
    );
    assert_commit_refused(
        &repo,
        stack,
        &stack.mint_token(IDENTITY),
        "Fulcio refused the certificate request: 500",
    );
    stack.clear_faults();

    let mut expired = TokenRequest::email(IDENTITY);
    expired.lifetime_secs = -30;
    assert_commit_refused(
        &repo,
        stack,
        &stack.mint_token_with(&expired),
        "the ID token expired at",
    );

    let mut unverified = TokenRequest::email(IDENTITY);
    unverified.email_verified = false;
    assert_commit_refused(
        &repo,
        stack,
        &stack.mint_token_with(&unverified),
        "is not verified",
    );

    // Signed by the stack's key but claiming an issuer that does not exist there.
    let mut wrong = TokenRequest::email(IDENTITY);
    wrong.extra.insert(
        "iss".into(),
        serde_json::json!(format!("{}/elsewhere", stack.base_url())),
    );
    assert_commit_refused(&repo, stack, &stack.mint_token_with(&wrong), "elsewhere");

    stack.set_faults(
        Service::Rekor,
        Faults {
            bad_set_signature: true,
            ..Faults::default()
        },
    );
    assert_commit_refused(
        &repo,
        stack,
        &stack.mint_token(IDENTITY),
        "transparency log",
    );
    stack.clear_faults();

    let mut cmd = git_signing(
        &repo,
        stack,
        Some(&stack.mint_token(IDENTITY)),
        &["commit", "--allow-empty", "-S", "-m", "x"],
    );
    cmd.env("GITSIGN_TOKEN_PROVIDER", "google-impersonation");
    let (code, _, err) = output(&mut cmd);
    assert_ne!(code, 0, "an unsupported provider fails");
    assert!(
        git_hides_signer_output(&err)
            || err.contains("supported: envvar, filesystem, github-actions"),
        "the error names the supported providers: {err}"
    );
}

#[test]
fn timestamp_authority_token_is_embedded_and_verifies() {
    let local = start();
    let stack = &local.stack;
    let dir = tempfile::tempdir().expect("dir");
    let payload = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\ntimestamped\n";
    let env = [("GITSIGN_TIMESTAMP_SERVER_URL", stack.timestamp_url())];
    let (code, stdout, stderr) = gpg_sign_with(
        dir.path(),
        stack,
        &stack.mint_token(IDENTITY),
        payload,
        &env,
    );
    assert_eq!(code, 0, "signing with a TSA succeeds: {stderr}");
    let msg = gitsign::cms::parse(&stdout).expect("parses");
    let oids: Vec<String> = msg
        .signer
        .unsigned_attrs
        .iter()
        .map(|a| a.oid.to_string())
        .collect();
    assert_eq!(
        oids,
        vec!["1.3.6.1.4.1.57264.3.1", "1.2.840.113549.1.9.16.2.14"],
        "the Rekor entry and the RFC 3161 token, in DER SET OF order"
    );
    let token = &msg
        .unsigned_attribute(&gitsign::oid::TIMESTAMP_TOKEN)
        .expect("token")
        .values[0];
    let root = gitsign::trust::TrustedRoot::from_json(
        &std::fs::read(stack.trusted_root_path()).expect("root"),
    )
    .expect("root parses");
    gitsign::verify::timestamp::verify_timestamp_token(token, &msg.signer.signature, &root)
        .expect("the embedded timestamp verifies over the signature");
}

#[test]
fn match_committer_refuses_another_identity() {
    let local = start();
    let stack = &local.stack;
    let repo = TestRepo::new();
    let token = stack.mint_token(IDENTITY);
    let before = head(&repo);
    let mut cmd = git_signing(
        &repo,
        stack,
        Some(&token),
        &["commit", "--allow-empty", "-S", "-m", "x"],
    );
    cmd.env("GITSIGN_MATCH_COMMITTER", "true");
    let (code, _, err) = output(&mut cmd);
    assert_ne!(
        code, 0,
        "author@example.com may not sign as {IDENTITY}: {err}"
    );
    assert_eq!(head(&repo), before, "no commit was created");
    assert!(
        git_hides_signer_output(&err)
            || err.contains("does not match the committer 'author@example.com'"),
        "the mismatch is named: {err}"
    );
    assert_eq!(
        stack.request_count("POST /api/v2/signingCert"),
        0,
        "no certificate is requested for a mismatched identity"
    );
    let mut cmd = git_signing(
        &repo,
        stack,
        Some(&token),
        &["commit", "--allow-empty", "-S", "-q", "-m", "x"],
    );
    cmd.env("GITSIGN_MATCH_COMMITTER", "true")
        .env("GIT_COMMITTER_EMAIL", IDENTITY);
    let (code, _, err) = output(&mut cmd);
    assert_eq!(code, 0, "the matching committer signs: {err}");
}

/// `commit.gpgsign=true` over a 20-commit `git rebase --force-rebase`: every rewritten commit
/// is signed, in both Rekor modes, and the whole range verifies (issue 5).
#[test]
fn rebase_of_twenty_commits_signs_every_commit_in_both_rekor_modes() {
    let local = start();
    let stack = &local.stack;
    let token = stack.mint_token(IDENTITY);
    for mode in ["offline", "online"] {
        let repo = TestRepo::new();
        repo.git(&["commit", "-q", "--allow-empty", "-m", "base"]);
        for i in 0..20 {
            std::fs::write(repo.path().join("n.txt"), format!("{i}\n")).expect("write file");
            repo.git(&["add", "n.txt"]);
            repo.git(&["commit", "-q", "-m", &format!("change {i}")]);
        }
        let mut rebase = git_signing(
            &repo,
            stack,
            Some(&token),
            &[
                "-c",
                "commit.gpgsign=true",
                "rebase",
                "-q",
                "--force-rebase",
                "HEAD~20",
            ],
        );
        rebase.env("GITSIGN_REKOR_MODE", mode);
        let (code, _, err) = output(&mut rebase);
        assert_eq!(code, 0, "{mode}: the rebase signs through gitsign: {err}");
        let signed = repo.git(&["log", "--format=%H", "HEAD~20..HEAD"]);
        for id in signed.lines() {
            let raw = repo.git(&["cat-file", "commit", id]);
            assert!(
                raw.contains("\ngpgsig -----BEGIN SIGNED MESSAGE-----"),
                "{mode}: rebased commit {id} is signed"
            );
        }
        let (code, out, err) = gitsign_verify(
            &repo,
            stack,
            IDENTITY,
            &stack.oidc_issuer(),
            "HEAD~20..HEAD",
        );
        assert_eq!(code, 0, "{mode}: all 20 rebased commits verify: {out}{err}");
        assert_eq!(
            out.matches(" good ").count(),
            20,
            "{mode}: twenty good lines: {out}"
        );
    }
}

/// A SHA-256 repository (`git init --object-format=sha256`): git asks for a `gpgsig-sha256`
/// signature; offline mode verifies with git, online mode logs the commit's SHA-256 id.
#[test]
fn sha256_repository_commits_are_signed_in_both_rekor_modes() {
    let local = start();
    let stack = &local.stack;
    let token = stack.mint_token(IDENTITY);
    let repo = TestRepo::new();
    std::fs::remove_dir_all(repo.path().join(".git")).expect("drop the SHA-1 repository");
    repo.git(&["init", "-q", "-b", "main", "--object-format=sha256"]);
    let (code, _, err) = output(&mut git_signing(
        &repo,
        stack,
        Some(&token),
        &["commit", "-q", "--allow-empty", "-S", "-m", "offline"],
    ));
    assert_eq!(code, 0, "offline signing in a SHA-256 repository: {err}");
    let raw = repo.git(&["cat-file", "commit", "HEAD"]);
    assert!(
        raw.contains("\ngpgsig-sha256 -----BEGIN SIGNED MESSAGE-----"),
        "git stores the signature as gpgsig-sha256: {raw}"
    );
    let (code, _, err) = output(&mut git_signing(
        &repo,
        stack,
        None,
        &["verify-commit", "HEAD"],
    ));
    assert_eq!(code, 0, "git verify-commit accepts it: {err}");
    let (code, out, err) = gitsign_verify(&repo, stack, IDENTITY, &stack.oidc_issuer(), "HEAD");
    assert_eq!(
        code, 0,
        "gitsign verify opens the SHA-256 repository and reads gpgsig-sha256: {out}{err}"
    );

    let mut online = git_signing(
        &repo,
        stack,
        Some(&token),
        &["commit", "-q", "--allow-empty", "-S", "-m", "online"],
    );
    online.env("GITSIGN_REKOR_MODE", "online");
    let (code, _, err) = output(&mut online);
    assert_eq!(code, 0, "online signing in a SHA-256 repository: {err}");
    let id = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    assert_eq!(id.len(), 64, "a SHA-256 commit id");
    let http = gitsign::http::Http::new(std::time::Duration::from_secs(10));
    let digest = gitsign::encoding::hex(&gitsign::crypto::sha256(id.as_bytes()));
    let found =
        gitsign::rekor::search_hash(&http, &stack.rekor_url(), &digest).expect("the index answers");
    assert_eq!(
        found.len(),
        1,
        "Rekor logs SHA-256 of the commit's real (SHA-256) id"
    );
    let (code, out, err) =
        gitsign_verify(&repo, stack, IDENTITY, &stack.oidc_issuer(), "HEAD~1..HEAD");
    assert_eq!(
        code, 0,
        "the online-mode commit verifies through a Rekor lookup by its SHA-256 id: {out}{err}"
    );
}

/// gitsign in git's sign mode through `sh -c SCRIPT` (which sets up descriptors as a caller
/// might), the payload on stdin unless the script redirects it; (code, stdout, stderr).
fn gpg_sign_sh(dir: &Path, stack: &Stack, token: &str, script: &str) -> (i32, Vec<u8>, String) {
    use std::io::Write;
    let mut cmd = crate::util::hermetic("sh", dir);
    cmd.current_dir(dir)
        .arg("-c")
        .arg(script)
        .arg(gitsign_bin());
    sigstore_env(&mut cmd, stack, Some(token));
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sh");
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nstatus fd\n");
    let out = child.wait_with_output().expect("sh runs");
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Regression (hostile review): `--status-fd N` reopened `/dev/fd/N` by name, which opens
/// the file behind the descriptor afresh at offset 0 and overwrites it. Status lines must go
/// to the inherited descriptor itself: appended to a file opened for appending, and never
/// into the payload when N is 0.
#[test]
fn status_lines_go_to_the_inherited_descriptor_not_a_reopened_file() {
    let local = start();
    let stack = &local.stack;
    let token = stack.mint_token(IDENTITY);
    let dir = tempfile::tempdir().expect("dir");
    let status = dir.path().join("status.txt");
    std::fs::write(&status, "KEEP THIS LINE\n").expect("status file");
    let (code, out, err) = gpg_sign_sh(
        dir.path(),
        stack,
        &token,
        r#"exec "$0" --status-fd=3 -bsau "Test Author <author@example.com>" 3>>status.txt"#,
    );
    assert_eq!(code, 0, "signs with status fd 3: {err}");
    assert!(
        out.starts_with(b"-----BEGIN SIGNED MESSAGE-----"),
        "the signature is on stdout"
    );
    let text = std::fs::read_to_string(&status).expect("status file");
    assert!(
        text.starts_with("KEEP THIS LINE\n[GNUPG:] BEGIN_SIGNING\n"),
        "status lines are appended through fd 3, not written over the file: {text:?}"
    );
    assert!(
        text.contains("[GNUPG:] SIG_CREATED D "),
        "SIG_CREATED reaches fd 3: {text:?}"
    );

    let payload = dir.path().join("payload");
    let bytes = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nthe payload itself\n";
    std::fs::write(&payload, bytes).expect("payload file");
    let (code, out, err) = gpg_sign_sh(
        dir.path(),
        stack,
        &token,
        r#"exec "$0" --status-fd=0 -bsau "Test Author <author@example.com>" <payload"#,
    );
    assert_eq!(code, 0, "signs with status fd 0: {err}");
    assert_eq!(
        std::fs::read(&payload).expect("payload"),
        bytes,
        "the payload file behind fd 0 is not written to"
    );
    let sig = dir.path().join("sig");
    std::fs::write(&sig, &out).expect("signature file");
    let mut verify = crate::util::hermetic(gitsign_bin(), dir.path());
    verify
        .current_dir(dir.path())
        .args(["--verify"])
        .arg(&sig)
        .arg(&payload);
    sigstore_env(&mut verify, stack, None);
    let (code, _, err) = output(&mut verify);
    assert_eq!(code, 0, "the signature is over the payload as given: {err}");
}

/// Regression (hostile review): with stdout closed, signing exited 0 and told git
/// `SIG_CREATED` though no signature was written (the runtime reopens a closed stdout on
/// /dev/null), so git would record an unsigned object. It must fail before signing.
#[test]
fn signing_with_stdout_closed_fails_and_creates_nothing() {
    let local = start();
    let stack = &local.stack;
    let token = stack.mint_token(IDENTITY);
    let dir = tempfile::tempdir().expect("dir");
    for (what, script) in [
        (
            "closed",
            r#"exec "$0" --status-fd=2 -bsau "Test Author <author@example.com>" >&-"#,
        ),
        (
            "/dev/null",
            r#"exec "$0" --status-fd=2 -bsau "Test Author <author@example.com>" >/dev/null"#,
        ),
    ] {
        let (code, _, err) = gpg_sign_sh(dir.path(), stack, &token, script);
        assert_ne!(code, 0, "stdout {what}: signing fails: {err}");
        assert!(
            !err.contains("SIG_CREATED"),
            "stdout {what}: git is not told a signature was made: {err}"
        );
        assert!(
            err.contains("the signature would be lost"),
            "stdout {what}: the reason is said: {err}"
        );
    }
    assert_eq!(stack.log_size(), 0, "nothing was signed or logged");
}
