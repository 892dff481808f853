//! `gitsign policy check` end to end: files on disk with their key files, errors at
//! file:line:column with exit 1, unreadable files with exit 2, the hook's default location,
//! and committed policies whose key files come from the same commit's tree (not the disk).

use crate::util::{output, TestRepo};

const POLICY: &str = r#"policy-authorities = ["maintainers"]

[authority.maintainers]
sigstore = [
  { identity = "alice@example.com", issuer = "https://accounts.google.com" },
  { identity-regexp = '^https://github\.com/acme/app/\.github/workflows/release\.yml@refs/tags/', issuer = "https://token.actions.githubusercontent.com" },
]
[authority.github-web-flow]
openpgp = ["keys/web-flow.asc"]
[authority.laptops]
ssh = "allowed_signers"

[[rule]]
refs = ["refs/heads/main", "refs/tags/*"]
authorities = ["maintainers", "github-web-flow", "laptops"]
"#;

/// A repository whose `dir` holds the policy above and its two key files.
fn repo_with_policy(dir: &str) -> TestRepo {
    let repo = TestRepo::new();
    let base = repo.path().join(dir);
    std::fs::create_dir_all(base.join("keys")).expect("mkdir");
    std::fs::write(base.join("policy.toml"), POLICY).expect("write policy");
    std::fs::write(
        base.join("keys/web-flow.asc"),
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n",
    )
    .expect("write key");
    std::fs::write(
        base.join("allowed_signers"),
        "carol@example.com ssh-ed25519 AAAA\n",
    )
    .expect("write signers");
    repo
}

fn check(repo: &TestRepo, args: &[&str]) -> (i32, String, String) {
    output(repo.gitsign().arg("policy").arg("check").args(args))
}

#[test]
fn a_valid_policy_is_listed_with_its_authorities_and_rules() {
    let repo = repo_with_policy("conf");
    let (code, out, err) = check(&repo, &["conf/policy.toml"]);
    assert_eq!(code, 0, "a valid policy exits 0: {err}");
    assert_eq!(
        out,
        "conf/policy.toml: valid: 3 authorities, 1 rule\n\
         authority maintainers (line 3): 2 Sigstore identities\n\
         authority github-web-flow (line 8): 1 OpenPGP key file (keys/web-flow.asc)\n\
         authority laptops (line 10): 1 SSH allowed-signers file (allowed_signers)\n\
         rule (line 14) refs/heads/main, refs/tags/*: maintainers, github-web-flow, laptops\n\
         policy-authorities: maintainers\n",
        "one line per authority and rule"
    );
    assert_eq!(
        err, "",
        "no warnings for a policy that uses every authority"
    );
}

#[test]
fn errors_name_file_line_and_column_and_exit_1() {
    let repo = repo_with_policy("conf");
    let path = repo.path().join("conf/policy.toml");
    std::fs::write(&path, POLICY.replace(r#""laptops"]"#, r#""laptop"]"#)).expect("write");
    let (code, out, err) = check(&repo, &["conf/policy.toml"]);
    assert_eq!(code, 1, "an invalid policy is a negative answer: {err}");
    assert_eq!(out, "", "nothing on stdout");
    assert!(
        err.starts_with("gitsign: error: invalid policy: conf/policy.toml:15:50: unknown authority 'laptop' in authorities (defined: 'maintainers', 'github-web-flow', 'laptops')\n"),
        "{err}"
    );
    assert!(err.contains("Hint: `gitsign policy --help`"), "{err}");

    std::fs::write(&path, POLICY).expect("write");
    std::fs::remove_file(repo.path().join("conf/allowed_signers")).expect("rm");
    let (code, _, err) = check(&repo, &["conf/policy.toml"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("conf/policy.toml:11:7: cannot read the SSH allowed-signers file 'allowed_signers' of authority 'laptops' (conf/allowed_signers): no such file"),
        "a missing key file is named where the policy names it: {err}"
    );

    let (code, _, err) = check(&repo, &["conf/absent.toml"]);
    assert_eq!(code, 2, "an unreadable policy decides nothing: {err}");
    assert!(
        err.contains("reading the policy file 'conf/absent.toml'"),
        "{err}"
    );
}

#[test]
fn the_default_file_is_the_hooks() {
    let repo = repo_with_policy("conf");
    let (code, _, err) = check(&repo, &[]);
    assert_eq!(
        code, 2,
        "no gitsign-policy.toml in the git directory: {err}"
    );
    assert!(err.contains(".git/gitsign-policy.toml"), "{err}");
    // A hook policy file from before authorities, where the hook looks for it.
    std::fs::write(
        repo.path().join(".git/hook-policy.toml"),
        "default = \"reject\"\n[[rule]]\nrefs = [\"refs/heads/main\"]\nidentities = [\"alice@example.com\"]\nissuers = [\"https://accounts.google.com\"]\ntransparency = \"embedded\"\n",
    )
    .expect("write");
    repo.git(&["config", "gitsign.policy", "hook-policy.toml"]);
    let (code, out, err) = check(&repo, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.ends_with(
            "valid: 0 authorities, 1 rule\nauthority (rule at line 3) (line 3): 1 Sigstore identity\nrule (line 3) refs/heads/main: (rule at line 3)\n"
        ),
        "an old hook file: its rule's identities are its own authority: {out}"
    );
}

#[test]
fn unused_authorities_are_warned_about_on_stderr() {
    let repo = repo_with_policy("conf");
    std::fs::write(
        repo.path().join("conf/policy.toml"),
        format!("{POLICY}[authority.spare]\nsigstore = [{{ identity = 'x', issuer = 'y' }}]\n"),
    )
    .expect("write");
    let (code, _, err) = check(&repo, &["conf/policy.toml"]);
    assert_eq!(code, 0, "a warning is not an error: {err}");
    assert_eq!(
        err,
        "gitsign: warning: conf/policy.toml:16: authority 'spare' is named by no rule and not in policy-authorities\n"
    );
}

#[test]
fn a_committed_policy_reads_its_key_files_from_the_same_tree() {
    let repo = repo_with_policy("conf");
    repo.git(&["add", "conf"]);
    repo.git(&["commit", "-q", "-m", "policy"]);
    // The working tree loses a key file; the commit still has it.
    std::fs::remove_file(repo.path().join("conf/keys/web-flow.asc")).expect("rm");
    let (code, out, err) = check(&repo, &["--revision", "HEAD", "conf/policy.toml"]);
    assert_eq!(code, 0, "the tree holds the key file: {err}");
    assert!(
        out.starts_with("HEAD:conf/policy.toml: valid: 3 authorities, 1 rule\n"),
        "{out}"
    );
    let (code, _, err) = check(&repo, &["conf/policy.toml"]);
    assert_eq!(code, 1, "on disk the key file is gone: {err}");

    // A second commit drops the key file; a key file only on disk does not stand in for it.
    repo.git(&["rm", "-q", "--cached", "conf/keys/web-flow.asc"]);
    std::fs::write(repo.path().join("conf/keys/web-flow.asc"), "on disk only").expect("write");
    repo.git(&["commit", "-q", "-m", "drop the key"]);
    let (code, _, err) = check(&repo, &["--revision", "HEAD", "conf/policy.toml"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("HEAD:conf/policy.toml:9:12: cannot read the OpenPGP key file 'keys/web-flow.asc' of authority 'github-web-flow' (HEAD:conf/keys/web-flow.asc): no such file"),
        "{err}"
    );
    let (code, _, err) = check(&repo, &["--revision", "HEAD~1", "conf/policy.toml"]);
    assert_eq!(code, 0, "the earlier commit still has it: {err}");

    let (code, _, err) = check(&repo, &["--revision", "no-such-rev", "conf/policy.toml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown revision 'no-such-rev'"), "{err}");
}
