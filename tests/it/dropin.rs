//! A user switching from Go gitsign (issue 13): repository discovery through `GIT_DIR`, Go's
//! RE2 regexps, Go's config keys and their validation, `gitsign version`, and a login that
//! never hangs silently (issue 17).

use std::process::Command;

use crate::util::{self, output, TestRepo};

/// A real Go gitsign commit with its Rekor entry embedded (verifies offline).
const TIP: &str = "30e099f11647d8f47f25382a730f909e4a1911fd";
const SIGNER: &str = "billy@chainguard.dev";
const GOOGLE: &str = "https://accounts.google.com";

/// A bare repository holding [`TIP`] and an annotated release tag, named by path only.
fn bare_repo() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let git_dir = dir.path().join("repo.git");
    let (code, _, err) = output(
        util::hermetic("git", dir.path())
            .current_dir(dir.path())
            .args(["init", "-q", "--bare", "repo.git"]),
    );
    assert_eq!(code, 0, "git init --bare: {err}");
    for (kind, file) in [
        ("commit", format!("gitsign-commits/{TIP}.commit")),
        ("tag", "gitsign-tags/v0.1.0.tag".to_owned()),
    ] {
        let src = util::data(&file);
        let (code, out, err) = output(
            util::hermetic("git", dir.path())
                .env("GIT_DIR", &git_dir)
                .args(["hash-object", "-w", "--literally", "-t", kind])
                .arg(&src),
        );
        assert_eq!(code, 0, "hash-object {file}: {err}");
        if kind == "tag" {
            let (code, _, err) = output(
                util::hermetic("git", dir.path())
                    .env("GIT_DIR", &git_dir)
                    .args(["update-ref", "refs/tags/v0.1.0", out.trim()]),
            );
            assert_eq!(code, 0, "update-ref: {err}");
        }
    }
    (dir, git_dir)
}

/// gitsign run from `/`, far from any repository.
fn gitsign_from_root(home: &std::path::Path) -> Command {
    let mut cmd = util::hermetic(util::gitsign_bin(), home);
    cmd.current_dir("/");
    cmd
}

#[test]
fn verify_and_verify_tag_find_the_repository_through_git_dir_from_root() {
    let (home, git_dir) = bare_repo();
    let (code, _, err) = output(
        gitsign_from_root(home.path())
            .env("GIT_DIR", &git_dir)
            .args(["verify", "--certificate-identity", SIGNER])
            .args(["--certificate-oidc-issuer", GOOGLE, TIP]),
    );
    assert_eq!(
        code, 0,
        "GIT_DIR=repo.git gitsign verify <sha> run from / verifies (issue 13): {err}"
    );
    assert!(
        err.contains("Good signature from"),
        "the verdict is shown: {err}"
    );

    let manifest = util::json("gitsign-tags/manifest.json");
    let tag = manifest["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .find(|t| t["tag"] == "v0.1.0")
        .expect("v0.1.0 in the manifest");
    let (code, _, err) = output(
        gitsign_from_root(home.path())
            .env("GIT_DIR", &git_dir)
            .args(["verify-tag", "v0.1.0", "--insecure-ignore-tlog"])
            .args([
                "--certificate-identity",
                tag["signer_san"].as_str().expect("san"),
            ])
            .args([
                "--certificate-oidc-issuer",
                tag["oidc_issuer"].as_str().expect("issuer"),
            ]),
    );
    assert_eq!(code, 0, "gitsign verify-tag honours GIT_DIR too: {err}");

    // git's own `--git-dir` exports GIT_DIR to what it runs, so an alias reaches us the same way.
    let (code, _, err) = output(
        util::hermetic("git", home.path())
            .current_dir("/")
            .arg(format!("--git-dir={}", git_dir.display()))
            .arg("-c")
            .arg(format!(
                "alias.gsv=!{} verify --certificate-identity {SIGNER} --certificate-oidc-issuer {GOOGLE} {TIP}",
                util::gitsign_bin().display()
            ))
            .arg("gsv"),
    );
    assert_eq!(
        code, 0,
        "git --git-dir=… runs gitsign in that repository: {err}"
    );
}

#[test]
fn configuration_and_objects_come_from_the_same_repository() {
    let (home, git_dir) = bare_repo();
    // The staging trust root, set in GIT_DIR's repository only, refuses a production commit:
    // the configuration was read from the repository the objects came from.
    let staging = util::data("trust/staging-trusted_root.json");
    let (code, _, err) = output(
        util::hermetic("git", home.path())
            .env("GIT_DIR", &git_dir)
            .args(["config", "gitsign.trustedRoot"])
            .arg(&staging),
    );
    assert_eq!(code, 0, "git config: {err}");
    let (code, _, err) = output(
        gitsign_from_root(home.path())
            .env("GIT_DIR", &git_dir)
            .args(["verify", "--certificate-identity", SIGNER])
            .args(["--certificate-oidc-issuer", GOOGLE, TIP]),
    );
    assert_eq!(
        code, 1,
        "GIT_DIR's gitsign.trustedRoot (staging) applies to GIT_DIR's objects: {err}"
    );
    let (code, _, err) = output(
        gitsign_from_root(home.path())
            .env("GIT_DIR", home.path().join("missing.git"))
            .args(["verify", "--certificate-identity", SIGNER])
            .args(["--certificate-oidc-issuer", GOOGLE, TIP]),
    );
    assert_eq!(code, 2, "GIT_DIR naming no repository cannot decide: {err}");
    assert!(
        err.contains("not in a git repository"),
        "and says so: {err}"
    );
}

#[test]
fn go_re2_regexps_are_accepted_for_identity_and_issuer() {
    let repo = TestRepo::new();
    let id = repo.write_object(
        "commit",
        &util::read(&format!("gitsign-commits/{TIP}.commit")),
    );
    assert_eq!(id, TIP, "hash-object reproduces the fixture id");
    for (identity, issuer) in [
        (
            r"(?i)BILLY@chainguard\.dev",
            r"^https://accounts\.google\.com$",
        ),
        (r"^\pL+@\p{Ll}+\.dev$", r"(?i)^HTTPS://\pL+\.google\.com$"),
    ] {
        let (code, _, err) = output(repo.gitsign().args([
            "verify",
            "--certificate-identity-regexp",
            identity,
            "--certificate-oidc-issuer-regexp",
            issuer,
            TIP,
        ]));
        assert_eq!(code, 0, "Go accepts {identity} / {issuer}, so do we: {err}");
    }
    let (code, _, err) = output(repo.gitsign().args([
        "verify",
        "--certificate-identity-regexp",
        r"^\p{Lu}",
        "--certificate-oidc-issuer",
        GOOGLE,
        TIP,
    ]));
    assert_eq!(
        code, 1,
        "a lowercase signer does not start with \\p{{Lu}}: {err}"
    );
}

/// `git commit -S` through our binary, in `repo`, with `env` added.
fn git_commit_signed(repo: &TestRepo, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = repo.cmd("git");
    cmd.args(["-c", "gpg.format=x509", "-c"])
        .arg(format!(
            "gpg.x509.program={}",
            util::gitsign_bin().display()
        ))
        .args(["commit", "-S", "--allow-empty", "-m", "signed"])
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    output(&mut cmd)
}

/// gitsign in git's sign mode, as git runs it (`--status-fd=2 -bsau KEY`, payload on stdin).
/// git older than 2.40 drops the signer's stderr on failure, so messages are checked here.
fn gpg_sign(repo: &TestRepo, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = repo.gitsign();
    cmd.args(["--status-fd=2", "-bsau", "Test Author <author@example.com>"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    util::run_with_stdin(
        cmd,
        b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nmsg\n",
    )
}

fn has_head(repo: &TestRepo) -> bool {
    output(
        repo.cmd("git")
            .args(["rev-parse", "-q", "--verify", "HEAD"]),
    )
    .0 == 0
}

#[test]
fn rekor_version_and_enable_sigstore_go_are_validated_as_go_does() {
    let repo = TestRepo::new();
    for (env, want) in [
        (
            vec![("GITSIGN_REKOR_VERSION", "3")],
            "invalid value '3' for GITSIGN_REKOR_VERSION: expected 1 or 2",
        ),
        (
            vec![("SIGSTORE_REKOR_VERSION", "two")],
            "invalid value 'two' for SIGSTORE_REKOR_VERSION: expected 1 or 2",
        ),
        (
            vec![
                ("GITSIGN_ENABLE_SIGSTORE_GO", "false"),
                ("GITSIGN_REKOR_VERSION", "1"),
            ],
            "can only be set when gitsign.enableSigstoreGo=true",
        ),
        (
            vec![("GITSIGN_REKOR_VERSION", "2")],
            "signing with Rekor v2 (gitsign.rekorVersion=2) is not supported yet",
        ),
    ] {
        let (code, out, err) = gpg_sign(&repo, &env);
        assert_eq!(code, 2, "a configuration error exits 2 with {env:?}: {err}");
        assert!(err.contains(want), "{env:?} is named: {err}");
        assert!(err.contains("Hint: "), "with a hint: {err}");
        assert!(out.is_empty(), "nothing on stdout: {out}");
        let (code, _, err) = git_commit_signed(&repo, &env);
        assert_ne!(code, 0, "git refuses to commit with {env:?}: {err}");
        assert!(!has_head(&repo), "no commit is recorded with {env:?}");
    }
    // Go checks at start-up, for every command: `gitsign verify` refuses too, with exit 2.
    let (code, _, err) = output(
        repo.gitsign()
            .env("GITSIGN_REKOR_VERSION", "9")
            .args(["verify", "--certificate-identity", SIGNER])
            .args(["--certificate-oidc-issuer", GOOGLE, "HEAD"]),
    );
    assert_eq!(
        code, 2,
        "a bad rekorVersion is a configuration error: {err}"
    );
    assert!(err.contains("GITSIGN_REKOR_VERSION"), "{err}");
}

#[test]
fn unknown_gitsign_keys_get_one_warning_with_a_suggestion() {
    let repo = TestRepo::new();
    let id = repo.write_object(
        "commit",
        &util::read(&format!("gitsign-commits/{TIP}.commit")),
    );
    assert_eq!(id, TIP, "hash-object reproduces the fixture id");
    repo.git(&["config", "gitsign.rekormod", "online"]);
    let (code, _, err) = output(repo.gitsign().args([
        "verify",
        "--certificate-identity",
        SIGNER,
        "--certificate-oidc-issuer",
        GOOGLE,
        TIP,
    ]));
    assert_eq!(code, 0, "an unknown key does not stop verification: {err}");
    assert_eq!(
        err.matches("unknown git config key 'gitsign.rekormod'")
            .count(),
        1,
        "one warning (issue 17): {err}"
    );
    assert!(
        err.contains("did you mean 'gitsign.rekorMode'?"),
        "with the nearest key: {err}"
    );
}

#[test]
fn log_path_is_truncated_and_an_unopenable_one_is_reported_once() {
    let repo = TestRepo::new();
    let log = repo.path().join("gitsign.log");
    std::fs::write(&log, "an older signing's text\n").expect("write the old log");
    let log_str = log.to_str().expect("utf8 path");
    let (code, _, _) = git_commit_signed(
        &repo,
        &[("GITSIGN_LOG", log_str), ("GITSIGN_REKOR_VERSION", "2")],
    );
    assert_ne!(code, 0, "signing fails (Rekor v2)");
    let text = std::fs::read_to_string(&log).expect("the log exists");
    assert!(
        !text.contains("an older signing's text"),
        "the log is truncated as Go's os.Create does: {text}"
    );
    assert!(
        text.contains("not supported yet"),
        "and holds this signing's error: {text}"
    );
    let (code, _, err) = gpg_sign(
        &repo,
        &[
            ("GITSIGN_LOG", "/nonexistent-dir/gitsign.log"),
            ("GITSIGN_REKOR_VERSION", "2"),
        ],
    );
    assert_ne!(code, 0, "signing fails (Rekor v2)");
    assert_eq!(
        err.matches("cannot write the log file '/nonexistent-dir/gitsign.log'")
            .count(),
        1,
        "an unopenable GITSIGN_LOG is said once (issue 16 item 9): {err}"
    );
}
