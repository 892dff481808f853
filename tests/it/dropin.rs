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
    let (code, out, err) = output(
        gitsign_from_root(home.path())
            .env("GIT_DIR", &git_dir)
            .args(["verify", "--certificate-identity", SIGNER])
            .args(["--certificate-oidc-issuer", GOOGLE, TIP]),
    );
    assert_eq!(
        code, 0,
        "GIT_DIR=repo.git gitsign verify <sha> run from / verifies (issue 13): {err}"
    );
    // The summary is on stdout, as Go gitsign prints it.
    assert!(
        out.contains("Good signature from"),
        "the verdict is shown: {out}{err}"
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
            "entries carry no signing time, and no timestamp authority is configured",
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
    assert_ne!(
        code, 0,
        "signing fails (Rekor v2 without a timestamp authority)"
    );
    let text = std::fs::read_to_string(&log).expect("the log exists");
    assert!(
        !text.contains("an older signing's text"),
        "the log is truncated as Go's os.Create does: {text}"
    );
    assert!(
        text.contains("no timestamp authority is configured"),
        "and holds this signing's error: {text}"
    );
    let (code, _, err) = gpg_sign(
        &repo,
        &[
            ("GITSIGN_LOG", "/nonexistent-dir/gitsign.log"),
            ("GITSIGN_REKOR_VERSION", "2"),
        ],
    );
    assert_ne!(
        code, 0,
        "signing fails (Rekor v2 without a timestamp authority)"
    );
    assert_eq!(
        err.matches("cannot write the log file '/nonexistent-dir/gitsign.log'")
            .count(),
        1,
        "an unopenable GITSIGN_LOG is said once (issue 16 item 9): {err}"
    );
}

/// Run `cmd` without a controlling terminal (a new session), as git runs in CI or an IDE.
fn without_tty(cmd: &Command) -> Command {
    let setsid = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("setsid"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| "setsid".into());
    let mut wrapped = Command::new(setsid);
    wrapped.arg(cmd.get_program()).args(cmd.get_args());
    wrapped.env_clear();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            wrapped.env(k, v);
        }
    }
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    wrapped
}

fn have_setsid() -> bool {
    Command::new("setsid")
        .arg("true")
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn login_with_no_tty_and_a_broken_opener_fails_within_two_seconds() {
    if !have_setsid() {
        println!("skipped: setsid (util-linux) is not installed");
        return;
    }
    let local = util::start_stack();
    let stack = &local.stack;
    let repo = TestRepo::new();
    for (opener, program, why) in [
        ("false {{.URL}}", "false", "exited with status 1"),
        (
            "/nonexistent/opener {{ .URL }}",
            "/nonexistent/opener",
            "could not be started",
        ),
        ("sh -c 'exit 127' {{.URL}}", "sh", "exited with status 127"),
    ] {
        // git commit -S: no commit, quickly.
        let mut git = repo.cmd("git");
        git.args(["-c", "gpg.format=x509", "-c"])
            .arg(format!(
                "gpg.x509.program={}",
                util::gitsign_bin().display()
            ))
            .args(["commit", "-S", "--allow-empty", "-m", "must not exist"])
            .env("GITSIGN_URL_OPENER", opener)
            .stdin(std::process::Stdio::null());
        util::stack_env(&mut git, stack);
        let started = std::time::Instant::now();
        let (code, _, err) = output(&mut without_tty(&git));
        let took = started.elapsed();
        assert_ne!(code, 0, "git commit fails with opener {opener:?}: {err}");
        assert!(
            took <= std::time::Duration::from_secs(2),
            "the login fails within 2 s with opener {opener:?} (issue 17), took {took:?}"
        );
        assert!(!has_head(&repo), "no commit is recorded with {opener:?}");

        // The same signing as git runs it, to read what it says.
        let mut sign = repo.gitsign();
        sign.args(["--status-fd=2", "-bsau", "Test Author <author@example.com>"])
            .env("GITSIGN_URL_OPENER", opener);
        util::stack_env(&mut sign, stack);
        let started = std::time::Instant::now();
        let (code, out, err) = util::run_with_stdin(
            without_tty(&sign),
            b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nx\n",
        );
        assert!(
            started.elapsed() <= std::time::Duration::from_secs(2),
            "fast: {err}"
        );
        assert_eq!(code, 2, "no identity, nothing decided: {err}");
        assert!(out.is_empty(), "nothing on stdout: {out}");
        assert!(
            err.contains(&format!("the URL opener '{program}' {why}")),
            "the opener and its status are named: {err}"
        );
        assert!(
            err.contains("Your browser will now be opened to:")
                && err.contains(&stack.oidc_issuer()),
            "the login URL is shown: {err}"
        );
        assert!(
            err.contains("gitsign.tokenProvider device") && err.contains("SIGSTORE_ID_TOKEN"),
            "the hint names the ways out: {err}"
        );
    }
    // No opener configured and no platform opener on PATH: the same, naming xdg-open.
    let mut sign = repo.gitsign();
    sign.args(["--status-fd=2", "-bsau", "Test Author <author@example.com>"])
        .env("PATH", "/nonexistent");
    util::stack_env(&mut sign, stack);
    let (code, _, err) = util::run_with_stdin(
        without_tty(&sign),
        b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nx\n",
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the URL opener 'xdg-open' could not be started"),
        "an absent platform opener is named: {err}"
    );
}

#[test]
fn the_login_wait_is_configurable() {
    if !have_setsid() {
        println!("skipped: setsid (util-linux) is not installed");
        return;
    }
    let local = util::start_stack();
    let repo = TestRepo::new();
    let mut sign = repo.gitsign();
    sign.args(["--status-fd=2", "-bsau", "Test Author <author@example.com>"])
        .env("GITSIGN_URL_OPENER", "true {{.URL}}")
        .env("GITSIGN_LOGIN_TIMEOUT", "1");
    util::stack_env(&mut sign, &local.stack);
    let started = std::time::Instant::now();
    let (code, _, err) = util::run_with_stdin(
        without_tty(&sign),
        b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nx\n",
    );
    let took = started.elapsed();
    assert_eq!(code, 2, "an unfinished login fails: {err}");
    assert!(
        err.contains("no login completed within 1 seconds"),
        "after GITSIGN_LOGIN_TIMEOUT: {err}"
    );
    assert!(
        took >= std::time::Duration::from_secs(1) && took < std::time::Duration::from_secs(10),
        "the wait follows the setting: {took:?}"
    );
    assert!(
        err.contains("gitsign.loginTimeout"),
        "the hint names the key: {err}"
    );
}

#[test]
fn client_id_is_the_audience_of_ambient_tokens() {
    let local = util::start_stack();
    let stack = &local.stack;
    let repo = TestRepo::new();
    let mut sign = repo.gitsign();
    sign.args(["--status-fd=2", "-bsau", "Test Author <author@example.com>"])
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            stack.actions_token_request_url(),
        )
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            stack.actions_request_token(),
        )
        .env("GITSIGN_OIDC_CLIENT_ID", "another-audience");
    util::stack_env(&mut sign, stack);
    let (code, out, err) = util::run_with_stdin(
        sign,
        b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nx\n",
    );
    assert_eq!(
        code, 2,
        "Fulcio refuses a token for another audience: {err}"
    );
    assert!(out.is_empty(), "nothing signed: {out}");
    assert!(
        err.contains("audience"),
        "the token was requested for gitsign.clientID, as Go gitsign asks cosign's providers: {err}"
    );
}

#[test]
fn version_shows_build_env_and_settings_and_never_a_token() {
    let repo = TestRepo::new();
    repo.git(&["config", "gitsign.fulcio", "https://fulcio.example"]);
    let token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzZWNyZXQifQ.c2lnbmF0dXJlLXNlY3JldA";
    let (code, out, err) = output(
        repo.gitsign()
            .env("SIGSTORE_ID_TOKEN", token)
            .env("GITSIGN_REKOR_MODE", "online")
            .arg("version"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("gitsign version "),
        "the version first: {out}"
    );
    assert!(out.contains("build commit: "), "the build commit: {out}");
    assert!(
        out.contains("SIGSTORE_ID_TOKEN=<redacted>") && !out.contains(token),
        "the token is named, never shown (Go prints it): {out}"
    );
    assert!(
        out.contains("gitsign.fulcio = https://fulcio.example (from git config gitsign.fulcio)"),
        "each setting with its source: {out}"
    );
    assert!(
        out.contains("gitsign.rekorMode = online (from GITSIGN_REKOR_MODE)"),
        "environment sources too: {out}"
    );
    let (code, out, err) = output(
        repo.gitsign()
            .env("SIGSTORE_ID_TOKEN", token)
            .args(["version", "--json"]),
    );
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains(token), "no token in JSON either");
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    assert!(v["gitVersion"].is_string(), "{v}");
    assert!(v["buildCommit"].is_string(), "{v}");
    assert_eq!(
        v["env"],
        serde_json::json!(["SIGSTORE_ID_TOKEN=<redacted>"]),
        "Go's env list, redacted"
    );
    let fulcio = v["settings"]
        .as_array()
        .expect("settings")
        .iter()
        .find(|s| s["key"] == "gitsign.fulcio")
        .expect("gitsign.fulcio listed");
    assert_eq!(fulcio["value"], "https://fulcio.example");
    assert_eq!(fulcio["source"], "git config gitsign.fulcio");

    for flag in ["-v", "--version", "-V"] {
        let (code, out, err) = output(
            Command::new(util::gitsign_bin().with_file_name("gitsign-credential-cache")).arg(flag),
        );
        assert_eq!(code, 0, "gitsign-credential-cache {flag}: {err}");
        assert!(
            out.starts_with("gitsign-credential-cache "),
            "{flag}: {out}"
        );
    }
}

#[test]
fn debug_token_prints_verified_claims_and_never_the_token() {
    let local = util::start_stack();
    let stack = &local.stack;
    let repo = TestRepo::new();
    let token = stack.mint_token("dev@example.com");
    let mut cmd = repo.gitsign();
    cmd.args(["debug", "token"])
        .env("SIGSTORE_ID_TOKEN", &token);
    util::stack_env(&mut cmd, stack);
    let (code, out, err) = output(&mut cmd);
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains(&token) && !err.contains(&token),
        "the token is a credential and is never printed"
    );
    let signature = token.rsplit('.').next().expect("three parts");
    assert!(!out.contains(signature), "not even its signature");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON claims");
    assert_eq!(v["provider"], "envvar", "{v}");
    assert_eq!(v["claims"]["email"], "dev@example.com", "{v}");
    assert_eq!(v["claims"]["iss"], stack.oidc_issuer(), "{v}");
    let (_, help, _) = output(repo.gitsign().arg("--help"));
    assert!(!help.contains("debug"), "hidden as in Go: {help}");
    // A bad token is refused, not printed.
    let mut cmd = repo.gitsign();
    cmd.args(["debug", "token"])
        .env("SIGSTORE_ID_TOKEN", format!("{token}x"));
    util::stack_env(&mut cmd, stack);
    let (code, out, err) = output(&mut cmd);
    assert_eq!(code, 2, "a token that does not verify: {err}");
    assert!(
        out.is_empty() && !err.contains(&token),
        "and is not printed"
    );
}
