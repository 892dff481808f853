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
        crate::util::read("keys/github-web-flow.asc"),
    )
    .expect("write key");
    std::fs::write(
        base.join("allowed_signers"),
        format!("carol@example.com {SSH_KEY}\n"),
    )
    .expect("write signers");
    repo
}

/// A real ed25519 public key (what `ssh-keygen` prints), for allowed-signers files.
const SSH_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJSwGuXpi8LJewfX774PbMwL26hL76JyNFkUq9quykUz";

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

    // Files the OpenPGP and SSH verifiers cannot read make the policy invalid too.
    std::fs::write(
        repo.path().join("conf/allowed_signers"),
        "carol@example.com ssh-ed25519 AAAA\n",
    )
    .expect("write");
    let (code, _, err) = check(&repo, &["conf/policy.toml"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("conf/allowed_signers' (line 11 of the policy) cannot be read"),
        "an allowed-signers line with no real key: {err}"
    );
    assert!(
        err.contains("ALLOWED SIGNERS"),
        "the hint names the format: {err}"
    );
    std::fs::write(
        repo.path().join("conf/allowed_signers"),
        format!("carol@example.com {SSH_KEY}\n"),
    )
    .expect("write");
    std::fs::write(
        repo.path().join("conf/keys/web-flow.asc"),
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n",
    )
    .expect("write");
    let (code, _, err) = check(&repo, &["conf/policy.toml"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("keys/web-flow.asc' (line 9 of the policy) cannot be read"),
        "an OpenPGP file with no key: {err}"
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

/// Embedded-Rekor chain signed by billy@chainguard.dev via Google: BASE <- MID <- TIP (the
/// hook tests' fixture commits).
const BASE: &str = "58d9abba022e21de32b3425eed0a256d51e62fcd";
const MID: &str = "a336df86075474ca9a3e2c7183cf209cec375ba2";
const TIP: &str = "30e099f11647d8f47f25382a730f909e4a1911fd";

/// billy is a maintainer through Google; on `dev`, only through GitHub.
const BILLY_POLICY: &str = r#"[authority.maintainers]
sigstore = [{ identity = "billy@chainguard.dev", issuer = "https://accounts.google.com" }]
[authority.github]
sigstore = [{ identity = "billy@chainguard.dev", issuer = "https://github.com/login/oauth" }]

[[rule]]
refs = ["refs/heads/main", "refs/tags/*"]
authorities = ["maintainers"]
[[rule]]
refs = ["refs/heads/dev"]
authorities = ["github"]
"#;

/// A repository holding the fixture chain, shallow at BASE, with main, dev and a tag at TIP,
/// and the policy above at `policy.toml`.
fn fixture_repo() -> TestRepo {
    let repo = TestRepo::new();
    for sha in [BASE, MID, TIP] {
        let raw = crate::util::read(&format!("gitsign-commits/{sha}.commit"));
        assert_eq!(repo.write_object("commit", &raw), sha);
    }
    std::fs::write(repo.path().join(".git/shallow"), format!("{BASE}\n")).expect("shallow");
    for r in ["refs/heads/main", "refs/heads/dev", "refs/tags/v1"] {
        repo.git(&["update-ref", r, TIP]);
    }
    std::fs::write(repo.path().join("policy.toml"), BILLY_POLICY).expect("write policy");
    repo
}

fn verify(repo: &TestRepo, args: &[&str]) -> (i32, String, String) {
    output(
        repo.gitsign()
            .env(
                "GITSIGN_TRUSTED_ROOT",
                crate::util::data("trust/trusted_root.json"),
            )
            .args(["verify", "--offline"])
            .args(args),
    )
}

#[test]
fn verify_judges_a_range_by_the_rule_of_its_ref_and_tallies_authorities() {
    let repo = fixture_repo();
    let (code, out, err) = verify(
        &repo,
        &["--policy", "policy.toml", &format!("{BASE}..main")],
    );
    assert_eq!(
        code, 0,
        "billy via Google is a maintainer on main: {out}{err}"
    );
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.lines()
            .all(|l| l.contains(" good ") && l.ends_with(" authority maintainers")),
        "each line names the authority that admitted it: {out}"
    );
    assert!(
        err.contains("gitsign: policy policy.toml, rule at line 7 for refs/heads/main: authorities: maintainers 2; admitted by none: 0\n"),
        "the run ends with the per-authority tally: {err}"
    );

    // The tag's rule is main's; dev's rule binds billy to GitHub.
    let (code, _, err) = verify(&repo, &["--policy", "policy.toml", &format!("{BASE}..v1")]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("for refs/tags/v1: authorities: maintainers 2"),
        "{err}"
    );
    let (code, out, err) = verify(&repo, &["--policy", "policy.toml", &format!("{BASE}..dev")]);
    assert_eq!(code, 1, "the same commits are refused on dev: {out}{err}");
    assert!(
        out.contains(&format!(
            "{} bad       identity_mismatch: issuer mismatch: certificate was issued for 'https://accounts.google.com', policy wants 'https://github.com/login/oauth'",
            &TIP[..12]
        )),
        "the refusal says what did not match: {out}"
    );
    assert!(
        err.contains(
            "rule at line 10 for refs/heads/dev: authorities: github 0; admitted by none: 2"
        ),
        "{err}"
    );

    // --ref chooses the rule when the tip is an id.
    let (code, _, err) = verify(
        &repo,
        &["--policy", "policy.toml", &format!("{BASE}..{TIP}")],
    );
    assert_eq!(code, 2, "an id names no ref: {err}");
    assert!(
        err.contains(&format!("'{TIP}' (the range's tip) names no ref")),
        "{err}"
    );
    let (code, _, err) = verify(
        &repo,
        &[
            "--policy",
            "policy.toml",
            "--ref",
            "refs/heads/dev",
            &format!("{BASE}..{TIP}"),
        ],
    );
    assert_eq!(code, 1, "dev's rule: {err}");
    let (code, _, err) = verify(
        &repo,
        &[
            "--policy",
            "policy.toml",
            "--ref",
            "refs/notes/x",
            &format!("{BASE}..main"),
        ],
    );
    assert_eq!(code, 2, "no rule governs the ref: {err}");
    assert!(
        err.contains("no rule of the policy policy.toml governs refs/notes/x (from --ref)"),
        "{err}"
    );
}

#[test]
fn verify_policy_json_names_the_authority_and_ends_with_the_tally() {
    let repo = fixture_repo();
    let (code, out, err) = verify(
        &repo,
        &[
            "--policy",
            "policy.toml",
            "--format",
            "json",
            &format!("{BASE}..main"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 3, "two commits and the tally: {out}");
    for l in &lines[..2] {
        assert_eq!(l["verdict"], "good", "{l}");
        assert_eq!(l["authority"], "maintainers", "{l}");
    }
    assert_eq!(
        lines[2],
        serde_json::json!({
            "policy": "policy.toml",
            "ref": "refs/heads/main",
            "rule_line": 7,
            "tally": {"authorities": [{"name": "maintainers", "accepted": 2}], "admitted_by_none": 0},
        })
    );
}

#[test]
fn verify_reads_git_config_policy_and_identity_flags_still_work() {
    let repo = fixture_repo();
    // No flag and no configured policy: what is missing is said, with the tip's signer and
    // the policy entry that would trust them.
    let (code, _, err) = verify(&repo, &[&format!("{BASE}..main")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("say whom to trust"), "{err}");
    assert!(err.contains("git config gitsign.policy"), "{err}");
    assert!(
        err.contains(&format!(
            "the tip: main ({}) is signed by billy@chainguard.dev, issuer https://accounts.google.com\n",
            &TIP[..12]
        )),
        "{err}"
    );
    assert!(
        err.contains("sigstore = [{ identity = \"billy@chainguard.dev\", issuer = \"https://accounts.google.com\" }]"),
        "{err}"
    );
    // One of the two options alone: which is missing is said, as before.
    let (code, _, err) = verify(
        &repo,
        &[
            "--certificate-identity",
            "billy@chainguard.dev",
            &format!("{BASE}..main"),
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("an identity and an issuer are required"),
        "{err}"
    );

    // A hook policy from before authorities, where the hook finds it.
    std::fs::write(
        repo.path().join(".git/hook-policy.toml"),
        "[[rule]]\nrefs = [\"refs/heads/*\"]\nidentities = [\"billy@chainguard.dev\"]\nissuers = [\"https://accounts.google.com\"]\n",
    )
    .expect("write");
    repo.git(&["config", "gitsign.policy", "hook-policy.toml"]);
    let (code, out, err) = verify(&repo, &[&format!("{BASE}..main")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.lines()
            .all(|l| l.ends_with(" authority (rule at line 2)")),
        "{out}"
    );
    assert!(
        err.contains("rule at line 2 for refs/heads/main: authorities: (rule at line 2) 2; admitted by none: 0"),
        "{err}"
    );

    // Identity flags win over the configured policy, as before: no tally.
    let (code, out, err) = verify(
        &repo,
        &[
            "--certificate-identity",
            "billy@chainguard.dev",
            "--certificate-oidc-issuer",
            "https://accounts.google.com",
            &format!("{BASE}..main"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains("authority") && !err.contains("gitsign: policy"),
        "{out}{err}"
    );
    let (code, _, err) = verify(
        &repo,
        &[
            "--certificate-identity",
            "billy@chainguard.dev",
            &format!("{BASE}..main"),
        ],
    );
    assert_eq!(code, 2, "an identity without an issuer: {err}");
    let (code, _, err) = verify(
        &repo,
        &[
            "--policy",
            "policy.toml",
            "--certificate-identity",
            "x",
            "HEAD",
        ],
    );
    assert_eq!(code, 2, "a policy or identity flags, not both: {err}");
    let (code, _, err) = verify(
        &repo,
        &[
            "--policy",
            "policy.toml",
            "--certificate-github-workflow-ref",
            "refs/heads/main",
            "HEAD",
        ],
    );
    assert_eq!(
        code, 2,
        "workflow flags are not silently dropped under a policy: {err}"
    );
    assert!(err.contains("github-workflow-repository"), "{err}");
}

#[test]
fn policy_init_proposes_a_policy_that_verify_accepts_the_range_with() {
    let repo = fixture_repo();
    let (code, proposal, err) = output(
        repo.gitsign()
            .env(
                "GITSIGN_TRUSTED_ROOT",
                crate::util::data("trust/trusted_root.json"),
            )
            .args([
                "policy",
                "init",
                "--offline",
                "--from",
                &format!("{BASE}..main"),
            ]),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(
            "proposed 1 identity/issuer pair(s) from 2 verified commit(s); 0 commit(s) left out"
        ),
        "{err}"
    );
    assert!(
        proposal.contains(
            "  { identity = \"billy@chainguard.dev\", issuer = \"https://accounts.google.com\" },\n"
        ),
        "the fixture's one signer, bound to its issuer: {proposal}"
    );
    assert!(
        proposal.contains("refs = [\"refs/heads/main\"]"),
        "the rule governs the tip's ref: {proposal}"
    );
    std::fs::write(repo.path().join("proposal.toml"), &proposal).expect("write");
    let (code, _, err) = check(&repo, &["proposal.toml"]);
    assert_eq!(code, 0, "the proposal is a valid policy: {err}");
    let (code, out, err) = verify(
        &repo,
        &["--policy", "proposal.toml", &format!("{BASE}..main")],
    );
    assert_eq!(
        code, 0,
        "the range verifies under its own proposal: {out}{err}"
    );
    assert!(
        err.contains("authorities: signers 2; admitted by none: 0"),
        "{err}"
    );
    // The proposal is for main: dev has no rule in it.
    let (code, _, err) = verify(
        &repo,
        &["--policy", "proposal.toml", &format!("{BASE}..dev")],
    );
    assert_eq!(code, 2, "{err}");
}
