//! Knowing whom to trust: after `git commit -S` the signer and a ready-to-paste policy entry
//! (while no policy is configured), and `gitsign verify` with nothing saying whom to trust
//! naming the tip's signer — real git running gitsign against the local Sigstore stack.

use std::process::{Command, Stdio};

use crate::policy_anchor::signing_repo;
use crate::util::{self, gitsign_bin, output, stack_env, TestRepo};
use sigstore_local::Stack;

const ALICE: &str = "alice@example.com";

/// `git commit -S` as `who`, stdin closed.
fn commit_cmd(repo: &TestRepo, stack: &Stack, who: &str, msg: &str) -> Command {
    let mut cmd = repo.cmd("git");
    cmd.args(["commit", "-q", "-S", "--allow-empty", "-m", msg])
        .env("SIGSTORE_ID_TOKEN", stack.mint_token(who))
        .stdin(Stdio::null());
    stack_env(&mut cmd, stack);
    cmd
}

/// `cmd` in a new session, without a controlling terminal (as in CI): gitsign's human text
/// goes to its stderr.
fn without_tty(cmd: &Command) -> Command {
    let mut wrapped = Command::new("setsid");
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
    wrapped.stdin(Stdio::null());
    wrapped
}

/// `cmd` on a terminal of its own (script(1)'s pseudo-terminal): what a person running it
/// sees, carriage returns removed. `None` when script(1) is missing.
fn on_a_terminal(cmd: &Command) -> Option<(i32, String)> {
    let line: Vec<String> = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy().replace('\'', "'\\''")))
        .collect();
    let mut script = Command::new("script");
    script.args(["-q", "-e", "-c", &line.join(" "), "/dev/null"]);
    script.env_clear();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            script.env(k, v);
        }
    }
    if let Some(dir) = cmd.get_current_dir() {
        script.current_dir(dir);
    }
    script.stdin(Stdio::null());
    let out = script.output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    Some((out.status.code().unwrap_or(-1), text))
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The words of the `gitsign verify …` line of a block (single-quoted values, as printed).
fn verify_words(text: &str) -> Vec<String> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("gitsign verify "))
        .unwrap_or_else(|| panic!("a verify command is printed: {text}"));
    let mut words = Vec::new();
    let mut rest = line.trim_start_matches("gitsign verify ").trim();
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('\'') {
            let end = quoted.find('\'').expect("closing quote");
            words.push(quoted[..end].to_owned());
            rest = quoted[end + 1..].trim_start();
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            words.push(rest[..end].to_owned());
            rest = rest[end..].trim_start();
        }
    }
    words
}

/// The `[authority.signers]` entry of a block, unindented.
fn entry_lines(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .skip_while(|l| *l != "[authority.signers]")
        .take_while(|l| l.starts_with('[') || l.starts_with("sigstore"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn git_commit_names_the_signer_and_an_entry_that_trusts_them_until_a_policy_is_configured() {
    if !have("setsid") {
        println!("skipped: setsid (util-linux) is not installed");
        return;
    }
    let local = util::start_stack();
    let stack = &local.stack;
    let repo = signing_repo(stack);
    let issuer = stack.oidc_issuer();
    let block = format!(
        "gitsign: signer {ALICE}, issuer {issuer}; no policy is configured for this repository"
    );
    let entry = format!("sigstore = [{{ identity = \"{ALICE}\", issuer = \"{issuer}\" }}]");

    // gitsign as git runs it, with no terminal: the block on stderr, in the same stream as the
    // status lines git reads (--status-fd=2), each on its own line; the signature on stdout.
    let mut sign = repo.gitsign();
    sign.args(["--status-fd=2", "-bsau", "Test Author <author@example.com>"])
        .env("SIGSTORE_ID_TOKEN", stack.mint_token(ALICE));
    stack_env(&mut sign, stack);
    let (code, out, err) = util::run_with_stdin(
        without_tty(&sign),
        b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nmsg\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("-----BEGIN SIGNED MESSAGE-----"), "{out}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("[GNUPG:] SIG_CREATED D ")),
        "git finds SIG_CREATED at the start of a line: {err}"
    );
    assert!(err.contains(&block), "{err}");
    assert!(err.contains(&entry), "{err}");

    // git commit -S with no terminal: git reads the status lines among ours and signs.
    let (code, _, err) = output(&mut without_tty(&commit_cmd(&repo, stack, ALICE, "one")));
    assert_eq!(code, 0, "git commit -S signs: {err}");
    let raw = repo.git(&["cat-file", "commit", "HEAD"]);
    assert!(
        raw.contains("gpgsig -----BEGIN SIGNED MESSAGE-----"),
        "{raw}"
    );

    // On a terminal, the person committing sees the block (git shows the signer's stderr only
    // when signing fails; gitsign writes to the terminal, as Go gitsign does).
    let seen = if have("script") {
        let (code, text) =
            on_a_terminal(&commit_cmd(&repo, stack, ALICE, "two")).expect("script runs");
        assert_eq!(code, 0, "git commit -S on a terminal: {text}");
        assert!(text.contains(&block), "shown on the terminal: {text}");
        assert!(
            !text.contains("[GNUPG:]"),
            "status lines stay between gitsign and git: {text}"
        );
        text
    } else {
        println!("skipped: the terminal half (script(1) is not installed)");
        let (code, _, err) = output(&mut without_tty(&commit_cmd(&repo, stack, ALICE, "two")));
        assert_eq!(code, 0, "{err}");
        err.clone()
    };

    // The command printed verifies the commits.
    let mut verify = repo.gitsign();
    verify
        .arg("verify")
        .args(verify_words(&seen))
        .arg("HEAD~1..HEAD");
    stack_env(&mut verify, stack);
    let (code, out, err) = output(&mut verify);
    assert_eq!(code, 0, "the printed command verifies: {out}{err}");

    // The printed entry, pasted into a policy, admits the signer.
    let policy = format!(
        "{}[[rule]]\nrefs = [\"refs/heads/main\"]\nauthorities = [\"signers\"]\n",
        entry_lines(&seen)
    );
    std::fs::write(repo.path().join(".git/policy.toml"), &policy).expect("write policy");
    repo.git(&["config", "gitsign.policy", "policy.toml"]);
    let mut verify = repo.gitsign();
    verify.args(["verify", "main"]);
    stack_env(&mut verify, stack);
    let (code, out, err) = output(&mut verify);
    assert_eq!(
        code, 0,
        "the pasted entry admits the signer: {policy}\n{out}{err}"
    );
    assert!(
        err.contains("authorities: signers 1; admitted by none: 0"),
        "{err}"
    );

    // With a policy configured, signing no longer says it.
    let (code, _, err) = output(&mut without_tty(&commit_cmd(&repo, stack, ALICE, "three")));
    assert_eq!(code, 0, "{err}");
    let mut sign = repo.gitsign();
    sign.args(["--status-fd=2", "-bsau", "K"])
        .env("SIGSTORE_ID_TOKEN", stack.mint_token(ALICE));
    stack_env(&mut sign, stack);
    let (code, _, err) = util::run_with_stdin(without_tty(&sign), b"payload\n");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("gitsign: signed as"), "{err}");
    assert!(
        !err.contains("gitsign: signer "),
        "a configured policy ends the note: {err}"
    );
}

#[test]
fn verify_with_nothing_saying_whom_to_trust_exits_2_naming_the_tips_signer() {
    if !have("setsid") {
        println!("skipped: setsid (util-linux) is not installed");
        return;
    }
    let local = util::start_stack();
    let stack = &local.stack;
    let repo = signing_repo(stack);
    repo.git(&["commit", "-q", "--allow-empty", "-m", "unsigned"]);
    let (code, _, err) = output(&mut without_tty(&commit_cmd(&repo, stack, ALICE, "signed")));
    assert_eq!(code, 0, "{err}");
    let head = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let issuer = stack.oidc_issuer();

    for args in [&["verify"][..], &["verify", "HEAD~1..main"][..]] {
        let mut cmd = repo.gitsign();
        cmd.args(args);
        stack_env(&mut cmd, stack);
        let (code, out, err) = output(&mut cmd);
        assert_eq!(code, 2, "nothing was decided: {out}{err}");
        assert_eq!(out, "", "no verdicts: {out}");
        let tip = if args.len() == 1 { "HEAD" } else { "main" };
        assert!(
            err.contains(&format!(
                "the tip: {tip} ({}) is signed by {ALICE}, issuer {issuer}\n",
                &head[..12]
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "gitsign verify --certificate-identity '{ALICE}' --certificate-oidc-issuer '{issuer}'"
            )),
            "the options to write: {err}"
        );
        assert!(
            err.contains(&format!(
                "sigstore = [{{ identity = \"{ALICE}\", issuer = \"{issuer}\" }}]"
            )),
            "the policy entry to write: {err}"
        );
    }

    // An unsigned tip: said, with nothing to paste.
    let mut cmd = repo.gitsign();
    cmd.args(["verify", "HEAD~1"]);
    stack_env(&mut cmd, stack);
    let (code, _, err) = output(&mut cmd);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is unsigned\n"), "{err}");
    assert!(!err.contains("[authority.signers]"), "{err}");
    assert!(
        err.contains("Hint: pass --certificate-identity"),
        "what is missing is said: {err}"
    );
}

#[test]
fn verify_with_nothing_saying_whom_to_trust_names_an_ssh_tips_key() {
    if !have("ssh-keygen") && Command::new("ssh-keygen").arg("-?").output().is_err() {
        println!("skipped: ssh-keygen is not installed");
        return;
    }
    let repo = TestRepo::new();
    let key = repo.path().join("id_ed25519");
    let key_str = key.to_str().expect("utf8 path");
    let (code, _, err) = output(
        repo.cmd("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "dev", "-f", key_str]),
    );
    assert_eq!(code, 0, "ssh-keygen makes a key: {err}");
    let (code, listed, err) =
        output(
            repo.cmd("ssh-keygen")
                .args(["-l", "-f", &format!("{key_str}.pub")]),
        );
    assert_eq!(code, 0, "{err}");
    let fingerprint = listed
        .split_whitespace()
        .nth(1)
        .expect("ssh-keygen -l prints the fingerprint")
        .to_owned();
    repo.git(&["config", "gpg.format", "ssh"]);
    repo.git(&["config", "user.signingkey", key_str]);
    repo.git(&["commit", "-q", "-S", "--allow-empty", "-m", "ssh"]);

    let (code, out, err) = output(repo.gitsign().args(["verify", "--offline"]));
    assert_eq!(code, 2, "nothing was decided: {out}{err}");
    assert!(
        err.contains(&format!("is signed by SSH key {fingerprint}\n")),
        "the key is named by its fingerprint: {err}"
    );
    assert!(
        err.contains("ssh = \"allowed_signers\""),
        "with the authority that would trust it: {err}"
    );
    assert!(
        !err.contains("gitsign verify --certificate-identity"),
        "no Sigstore options for an SSH key: {err}"
    );
    // The allowed signers line it prints (the committer's email, the key that verifies the
    // signature) is what git's own verification needs to trust the key.
    let pubkey = std::fs::read_to_string(format!("{key_str}.pub")).expect("public key");
    let pubkey: Vec<&str> = pubkey.split_whitespace().take(2).collect();
    let line = format!("author@example.com namespaces=\"git\" {}", pubkey.join(" "));
    assert!(err.contains(&format!("    #   {line}\n")), "{err}");
    std::fs::write(repo.path().join("allowed_signers"), format!("{line}\n")).expect("write");
    repo.git(&["config", "gpg.ssh.allowedSignersFile", "allowed_signers"]);
    let (code, out, err) = output(repo.cmd("git").args(["verify-commit", "HEAD"]));
    assert_eq!(
        code, 0,
        "git accepts the key through the printed line: {out}{err}"
    );
}

/// A real OpenPGP-signed commit (GitHub's web-flow key, in malcontent's history): named by
/// the key the signature says made it, and by the primary key once its key file is given.
#[test]
fn verify_with_nothing_saying_whom_to_trust_names_an_openpgp_tips_key() {
    const COMMIT: &str = "0001702dc21aac83b892b897a055935e8087a135";
    let home = tempfile::tempdir().expect("home");
    let git_dir = crate::real_history::lay_out("malcontent", home.path());
    let run = |extra: &[&str]| {
        let mut cmd = util::hermetic(gitsign_bin(), home.path());
        cmd.env("GIT_DIR", &git_dir)
            .current_dir(home.path())
            .args(["verify", "--offline"])
            .args(extra)
            .arg(COMMIT);
        output(&mut cmd)
    };
    let (code, out, err) = run(&[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(&format!(
            "the tip: {} is signed by OpenPGP key B5690EEEBB952194\n",
            &COMMIT[..12]
        )),
        "the key id the signature names: {err}"
    );
    assert!(
        err.contains("openpgp = [\"keys/B5690EEEBB952194.asc\"]   # gpg --export --armor B5690EEEBB952194 > keys/B5690EEEBB952194.asc"),
        "{err}"
    );
    let keys = util::data("keys/github-web-flow.asc");
    let (code, out, err) = run(&["--openpgp-keys", keys.to_str().expect("utf8 path")]);
    assert_eq!(
        code, 2,
        "keys alone say nothing of Sigstore signers: {out}{err}"
    );
    assert!(
        err.contains("is signed by OpenPGP key 968479A1AFF927E37D1A566BB5690EEEBB952194\n"),
        "verified: the primary key's fingerprint: {err}"
    );
}
