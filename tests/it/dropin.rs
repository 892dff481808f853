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
