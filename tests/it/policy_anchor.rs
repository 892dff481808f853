//! A committed policy protected by its own history (`gitsign.policyAnchor`), and git's own
//! verification honouring a policy: real `git commit -S` through gitsign against the local
//! Sigstore stack, each commit signed as the identity the test names; git's `%G?` and
//! `git merge --verify-signatures` read gitsign's status lines.

use crate::util::{self, gitsign_bin, output, stack_env, TestRepo};
use sigstore_local::Stack;

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
const CAROL: &str = "carol@example.com";
const MALLORY: &str = "mallory@example.com";

/// A policy for main admitting `signers`; alice alone may change it.
fn policy(stack: &Stack, signers: &[&str]) -> String {
    let mut t = String::from("policy-authorities = [\"alice\"]\n");
    let names: Vec<String> = signers
        .iter()
        .map(|s| s.split('@').next().unwrap_or(s).to_owned())
        .collect();
    for (name, s) in names.iter().zip(signers) {
        t.push_str(&format!(
            "[authority.{name}]\nsigstore = [{{ identity = \"{s}\", issuer = \"{}\" }}]\n",
            stack.oidc_issuer()
        ));
    }
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    t.push_str(&format!(
        "[[rule]]\nrefs = [\"refs/heads/main\"]\nauthorities = [{}]\n",
        quoted.join(", ")
    ));
    t
}

/// A repository whose commits are signed by gitsign against the stack.
pub(crate) fn signing_repo(stack: &Stack) -> TestRepo {
    let repo = TestRepo::new();
    repo.git(&["config", "gpg.format", "x509"]);
    let program = gitsign_bin().display().to_string();
    repo.git(&["config", "gpg.x509.program", &program]);
    repo.git(&[
        "config",
        "gitsign.trustedRoot",
        &stack.trusted_root_path().display().to_string(),
    ]);
    repo
}

/// Commit `file` with `content` (`.gitsign/policy.toml` changes the policy), signed by `who`
/// (`None`: unsigned); returns the commit id.
fn commit(repo: &TestRepo, stack: &Stack, who: Option<&str>, file: &str, content: &str) -> String {
    let path = repo.path().join(file);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::write(&path, content).expect("write");
    repo.git(&["add", "-A"]);
    let mut cmd = repo.cmd("git");
    cmd.args(["commit", "-q", "-m", &format!("{file} by {who:?}")]);
    if let Some(who) = who {
        cmd.arg("-S")
            .env("SIGSTORE_ID_TOKEN", stack.mint_token(who));
        stack_env(&mut cmd, stack);
    }
    let (code, _, err) = output(&mut cmd);
    assert_eq!(code, 0, "git commit as {who:?}: {err}");
    repo.git(&["rev-parse", "HEAD"]).trim().to_owned()
}

/// `git log --format='%H %G?'`, as a map from commit id to the letter.
fn g_letters(repo: &TestRepo, stack: &Stack, rev: &str) -> Vec<(String, String)> {
    let mut cmd = repo.cmd("git");
    cmd.args(["log", "--format=%H %G?", rev]);
    stack_env(&mut cmd, stack);
    let (code, out, err) = output(&mut cmd);
    assert_eq!(code, 0, "git log: {err}");
    out.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect()
}

fn letter(letters: &[(String, String)], id: &str) -> String {
    letters
        .iter()
        .find(|(c, _)| c == id)
        .map(|(_, l)| l.clone())
        .unwrap_or_else(|| panic!("{id} in git log's output: {letters:?}"))
}

#[test]
fn a_committed_policy_changes_only_by_its_authorities_and_git_honours_it() {
    let local = util::start_stack();
    let stack = &local.stack;
    let repo = signing_repo(stack);
    let before = commit(&repo, stack, None, "README", "before the policy\n");
    let v1 = policy(stack, &[ALICE, BOB]);
    let anchor = commit(&repo, stack, Some(ALICE), ".gitsign/policy.toml", &v1);
    // bob may sign main, but is no policy authority: his change does not take effect.
    let with_mallory = policy(stack, &[ALICE, BOB, MALLORY]);
    let by_bob = commit(
        &repo,
        stack,
        Some(BOB),
        ".gitsign/policy.toml",
        &with_mallory,
    );
    let by_mallory = commit(&repo, stack, Some(MALLORY), "code", "mallory's\n");
    // alice's change (back to v1 plus carol) takes effect for the commits after it.
    let with_carol = policy(stack, &[ALICE, BOB, CAROL]);
    let by_alice = commit(
        &repo,
        stack,
        Some(ALICE),
        ".gitsign/policy.toml",
        &with_carol,
    );
    let by_carol = commit(&repo, stack, Some(CAROL), "code", "carol's\n");

    // Before an anchor is chosen, the committed policy judges nothing; verify names the tip's
    // signer and says how to trust the committed policy.
    let mut cmd = repo.gitsign();
    cmd.arg("verify");
    stack_env(&mut cmd, stack);
    let (code, out, err) = output(&mut cmd);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(&format!(
            "is signed by {CAROL}, issuer {}",
            stack.oidc_issuer()
        )),
        "{err}"
    );
    assert!(
        err.contains("HEAD commits .gitsign/policy.toml: to judge by it, trust it from a commit you checked: git config gitsign.policyAnchor COMMIT"),
        "{err}"
    );

    repo.git(&["config", "gitsign.policyAnchor", &anchor]);

    // No flags: the anchor is configured.
    let mut cmd = repo.gitsign();
    cmd.args(["verify", "--format", "json", &format!("{before}..main")]);
    stack_env(&mut cmd, stack);
    let (code, out, err) = output(&mut cmd);
    assert_eq!(code, 1, "two commits are bad: {out}{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    let verdict = |id: &str| {
        let o = lines
            .iter()
            .find(|o| o["sha"] == id)
            .unwrap_or_else(|| panic!("{id} is reported: {out}"));
        (
            o["verdict"].as_str().unwrap_or("").to_owned(),
            o["code"].as_str().unwrap_or("").to_owned(),
            o["authority"].as_str().unwrap_or("").to_owned(),
        )
    };
    assert_eq!(verdict(&anchor), ("good".into(), "".into(), "alice".into()));
    assert_eq!(
        verdict(&by_bob),
        ("bad".into(), "unauthorized_policy_change".into(), "".into()),
        "bob is not a policy authority"
    );
    assert_eq!(
        verdict(&by_mallory),
        ("bad".into(), "identity_mismatch".into(), "".into()),
        "bob's change did not take effect: mallory is judged by the old policy"
    );
    assert_eq!(
        verdict(&by_alice),
        ("good".into(), "".into(), "alice".into()),
        "alice's change is authorised"
    );
    assert_eq!(
        verdict(&by_carol),
        ("good".into(), "".into(), "carol".into()),
        "and takes effect for the commits after it"
    );

    // The run ends with what each authority accepted, over the rules met along the range:
    // bob's refused change counts for no one, mallory (judged by v1) for none.
    let last: serde_json::Value = lines.last().cloned().expect("a last line");
    assert_eq!(
        last,
        serde_json::json!({
            "policy": ".gitsign/policy.toml",
            "policy_anchor": anchor,
            "ref": "refs/heads/main",
            "tally": {
                "authorities": [
                    {"name": "alice", "accepted": 2},
                    {"name": "bob", "accepted": 0},
                    {"name": "carol", "accepted": 1},
                ],
                "admitted_by_none": 1,
            },
        }),
        "{out}"
    );

    // A verification summary under a committed policy records the one that judged the tip
    // (carol's commit: alice's, in force at its parent), by commit and path, and its digest.
    let mut cmd = repo.gitsign();
    cmd.args([
        "verify",
        "--vsa",
        "summary.json",
        "--vsa-resource-uri",
        "git+https://example.com/acme/app",
        &format!("{before}..main"),
    ])
    .env("SIGSTORE_ID_TOKEN", stack.mint_token(CAROL));
    stack_env(&mut cmd, stack);
    let (code, _, err) = output(&mut cmd);
    assert_eq!(code, 1, "two commits are bad: {err}");
    assert!(
        err.contains(&format!(
            "gitsign: committed policy .gitsign/policy.toml from anchor {}, for refs/heads/main: authorities: alice 2, bob 0, carol 1; admitted by none: 1\n",
            &anchor[..12]
        )),
        "the tally in text: {err}"
    );
    assert!(err.contains("wrote the verification summary"), "{err}");
    let mut check = repo.gitsign();
    check.args([
        "verify-attestation",
        "--vsa",
        "summary.json",
        "--certificate-identity",
        CAROL,
        "--certificate-oidc-issuer",
        &stack.oidc_issuer(),
        "main",
    ]);
    stack_env(&mut check, stack);
    let (code, _, err) = output(&mut check);
    assert_eq!(code, 1, "a valid summary of a failed verification: {err}");
    let digest: String = {
        use sha2::Digest as _;
        sha2::Sha256::digest(with_carol.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert!(
        err.contains(&format!(
            "policy: git+https://example.com/acme/app@{by_alice}#.gitsign/policy.toml (sha256:{digest})\n"
        )),
        "{err}"
    );
    assert!(err.contains("verification result: FAILED"), "{err}");

    // --policy-anchor chooses another anchor: alice's last change, judged by its own policy;
    // the commits before it are not judged.
    let mut cmd = repo.gitsign();
    cmd.args([
        "verify",
        "--policy-anchor",
        &by_alice,
        "--format",
        "json",
        &format!("{before}..main"),
    ]);
    stack_env(&mut cmd, stack);
    let (code, out, err) = output(&mut cmd);
    assert_eq!(
        code, 0,
        "from alice's change on, every commit is good: {out}{err}"
    );
    for id in [&anchor, &by_bob, &by_mallory] {
        assert!(
            out.contains(&format!("{{\"code\":null,\"kind\":\"commit\",\"sha\":\"{id}\",\"verdict\":\"before_anchor\"}}")),
            "{id} is before the anchor: {out}"
        );
    }

    // A passed summary of the same: the policy that judged the tip is the anchor's own.
    let mut cmd = repo.gitsign();
    cmd.args([
        "verify",
        "--policy-anchor",
        &by_alice,
        "--vsa",
        "passed.json",
        "--vsa-resource-uri",
        "git+https://example.com/acme/app",
        &format!("{before}..main"),
    ])
    .env("SIGSTORE_ID_TOKEN", stack.mint_token(CAROL));
    stack_env(&mut cmd, stack);
    let (code, _, err) = output(&mut cmd);
    assert_eq!(code, 0, "{err}");
    let mut check = repo.gitsign();
    check.args([
        "verify-attestation",
        "--vsa",
        "passed.json",
        "--certificate-identity",
        CAROL,
        "--certificate-oidc-issuer",
        &stack.oidc_issuer(),
        "main",
    ]);
    stack_env(&mut check, stack);
    let (code, _, err) = output(&mut check);
    assert_eq!(code, 0, "a good signature on a passed summary: {err}");
    assert!(err.contains("verification result: PASSED"), "{err}");
    assert!(
        err.contains(&format!(
            "policy: git+https://example.com/acme/app@{by_alice}#.gitsign/policy.toml (sha256:"
        )),
        "{err}"
    );

    // The commit before the anchor is reported as such, not judged.
    let mut cmd = repo.gitsign();
    cmd.args(["verify", "--all", "--ref", "refs/heads/main"]);
    stack_env(&mut cmd, stack);
    let (code, out, err) = output(&mut cmd);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(&format!(
            "{} before the policy anchor (not judged)\n",
            &before[..12]
        )),
        "{out}"
    );
    assert!(
        err.contains("5 commits: 3 good, 2 bad, 0 undecided"),
        "the commit before the anchor is not counted: {err}"
    );

    // git's %G?: G for a signer the policy in force accepts, U for a valid signature it does
    // not (mallory's: bob's change did not take effect), N for the unsigned commit.
    let letters = g_letters(&repo, stack, "main");
    assert_eq!(letter(&letters, &by_carol), "G");
    assert_eq!(letter(&letters, &by_alice), "G");
    assert_eq!(letter(&letters, &by_mallory), "U");
    assert_eq!(letter(&letters, &by_bob), "G", "bob may sign main");
    assert_eq!(letter(&letters, &anchor), "G");
    assert_eq!(letter(&letters, &before), "N");
}

#[test]
fn with_a_configured_policy_git_shows_u_for_other_signers_and_merge_refuses_them() {
    let local = util::start_stack();
    let stack = &local.stack;
    let repo = signing_repo(stack);
    let base = commit(&repo, stack, Some(ALICE), "a", "1\n");
    repo.git(&["checkout", "-q", "-b", "side"]);
    let by_mallory = commit(&repo, stack, Some(MALLORY), "b", "2\n");
    repo.git(&["checkout", "-q", "main"]);

    // Without a policy, every valid signature is G, as before.
    let letters = g_letters(&repo, stack, "side");
    assert_eq!(letter(&letters, &by_mallory), "G");
    assert_eq!(letter(&letters, &base), "G");

    std::fs::write(
        repo.path().join(".git/policy.toml"),
        policy(stack, &[ALICE]),
    )
    .expect("write");
    repo.git(&["config", "gitsign.policy", "policy.toml"]);
    let letters = g_letters(&repo, stack, "side");
    assert_eq!(letter(&letters, &base), "G", "alice is admitted on main");
    assert_eq!(
        letter(&letters, &by_mallory),
        "U",
        "valid, but not admitted"
    );

    let mut cmd = repo.cmd("git");
    cmd.args(["merge", "--ff-only", "--verify-signatures", "side"]);
    stack_env(&mut cmd, stack);
    let (code, out, err) = output(&mut cmd);
    assert_ne!(code, 0, "git merge refuses an untrusted signer: {out}");
    assert!(err.contains("untrusted GPG signature"), "{err}");
    assert_eq!(
        repo.git(&["rev-parse", "main"]).trim(),
        base,
        "main did not move"
    );

    // Once mallory is in the policy, the same merge goes through.
    std::fs::write(
        repo.path().join(".git/policy.toml"),
        policy(stack, &[ALICE, MALLORY]),
    )
    .expect("write");
    let mut cmd = repo.cmd("git");
    cmd.args(["merge", "--ff-only", "--verify-signatures", "side"]);
    stack_env(&mut cmd, stack);
    let (code, out, err) = output(&mut cmd);
    assert_eq!(code, 0, "an admitted signer is merged: {out}{err}");
}

/// A bare repository receiving pushes through `gitsign hook`, verifying against the stack's
/// trusted root from its own configuration.
fn hook_server(stack: &Stack, install: &[&str]) -> tempfile::TempDir {
    let bare = tempfile::tempdir().expect("temp dir");
    let git = |args: &[&str]| {
        let (code, out, err) = output(
            util::hermetic("git", bare.path())
                .current_dir(bare.path())
                .args(args),
        );
        assert_eq!(code, 0, "git {args:?} in the bare repository: {err}");
        out
    };
    git(&["init", "-q", "--bare", "-b", "main", "."]);
    git(&[
        "config",
        "gitsign.trustedRoot",
        &stack.trusted_root_path().display().to_string(),
    ]);
    let (code, _, err) = output(
        util::hermetic(gitsign_bin(), bare.path())
            .args(["hook", "install"])
            .args(install)
            .arg(bare.path()),
    );
    assert_eq!(code, 0, "gitsign hook install: {err}");
    bare
}

/// `git push BARE REFSPEC` from the work repository: exit code and stderr (`remote:` lines).
fn push(repo: &TestRepo, bare: &std::path::Path, refspec: &str) -> (i32, String) {
    let (code, _, err) = output(repo.cmd("git").arg("push").arg(bare).arg(refspec));
    (code, err)
}

fn server_ref(bare: &std::path::Path, name: &str) -> String {
    let (code, out, err) = output(
        util::hermetic("git", bare)
            .current_dir(bare)
            .args(["rev-parse", name]),
    );
    assert_eq!(code, 0, "{err}");
    out.trim().to_owned()
}

#[test]
fn hook_refuses_policy_changes_not_signed_by_a_policy_authority_of_the_anchored_policy() {
    let local = util::start_stack();
    let stack = &local.stack;
    let repo = signing_repo(stack);
    let anchor = commit(
        &repo,
        stack,
        Some(ALICE),
        ".gitsign/policy.toml",
        &policy(stack, &[ALICE, BOB]),
    );
    let bare = hook_server(stack, &[]);
    let bare = bare.path();
    let (code, _, err) = output(util::hermetic("git", bare).current_dir(bare).args([
        "config",
        "gitsign.policyAnchor",
        &anchor,
    ]));
    assert_eq!(code, 0, "{err}");

    // The anchor is judged by its own policy; bob signs without changing the policy.
    let by_bob = commit(&repo, stack, Some(BOB), "code", "bob's\n");
    let (code, err) = push(&repo, bare, "main");
    assert_eq!(code, 0, "alice's anchor and bob's code are accepted: {err}");
    assert!(
        err.contains("remote: gitsign: push accepted: 2 new commits and 0 tags checked"),
        "{err}"
    );
    assert_eq!(server_ref(bare, "main"), by_bob);

    // alice, a policy authority, adds carol: accepted, and carol may sign from then on.
    let by_alice = commit(
        &repo,
        stack,
        Some(ALICE),
        ".gitsign/policy.toml",
        &policy(stack, &[ALICE, BOB, CAROL]),
    );
    let by_carol = commit(&repo, stack, Some(CAROL), "code", "carol's\n");
    let (code, err) = push(&repo, bare, "main");
    assert_eq!(
        code, 0,
        "an authorised change and a commit relying on it: {err}"
    );
    assert_eq!(server_ref(bare, "main"), by_carol);

    // A policy file besides the anchor: two roots of trust, every push refused.
    std::fs::write(bare.join("gitsign-policy.toml"), policy(stack, &[ALICE])).expect("write");
    let again = commit(&repo, stack, Some(ALICE), "code", "alice's\n");
    let (code, err) = push(&repo, bare, "main");
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("both a policy file") && err.contains("one root of trust"),
        "the ambiguous configuration is named: {err}"
    );
    assert!(
        err.contains("Hint: judge pushes by the committed policy"),
        "{err}"
    );
    assert_eq!(server_ref(bare, "main"), by_carol, "main did not move");
    std::fs::remove_file(bare.join("gitsign-policy.toml")).expect("remove");
    let (code, err) = push(&repo, bare, "main");
    assert_eq!(code, 0, "{err}");
    assert_eq!(server_ref(bare, "main"), again);

    // bob may sign main, but is no policy authority: his change adding mallory is refused...
    let by_bob_change = commit(
        &repo,
        stack,
        Some(BOB),
        ".gitsign/policy.toml",
        &policy(stack, &[ALICE, BOB, CAROL, MALLORY]),
    );
    let (code, err) = push(&repo, bare, "main");
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains(&format!(
            "remote: {by_bob_change} .gitsign/policy.toml by Some(\"{BOB}\"): the commit changes the committed policy without authority: the signer is not a policy authority (alice)"
        )) && err.contains("(unauthorized_policy_change) (refs/heads/main, "),
        "the commit and the reason are named: {err}"
    );
    assert!(
        err.contains(&format!("{by_alice}:.gitsign/policy.toml:")),
        "the rule is named in the policy in force at the commit's parent, alice's: {err}"
    );
    assert!(
        err.contains("Hint: a change to .gitsign/ takes effect only when signed by one of the policy-authorities"),
        "{err}"
    );
    assert_eq!(server_ref(bare, "main"), again, "main did not move");

    // ... and so is mallory's commit relying on it, judged by the policy still in force.
    let by_mallory = commit(&repo, stack, Some(MALLORY), "code", "mallory's\n");
    let (code, err) = push(&repo, bare, "main");
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains(&format!("remote: {by_bob_change} "))
            && err.contains(&format!(
                "remote: {by_mallory} code by Some(\"{MALLORY}\"): the signer '{MALLORY}'"
            ))
            && err.contains("2 of 2 objects refused"),
        "both commits are refused: {err}"
    );
    assert_eq!(server_ref(bare, "main"), again, "main did not move");
}

#[test]
fn hook_install_writes_the_policy_anchor_into_the_hook() {
    let local = util::start_stack();
    let stack = &local.stack;
    let repo = signing_repo(stack);
    let anchor = commit(
        &repo,
        stack,
        Some(ALICE),
        ".gitsign/policy.toml",
        &policy(stack, &[ALICE]),
    );
    let bare = hook_server(stack, &["--policy-anchor", &anchor]);
    let hook = std::fs::read_to_string(bare.path().join("hooks/pre-receive")).expect("hook");
    assert!(
        hook.contains(&format!(" --policy-anchor {anchor}")),
        "{hook}"
    );
    // The anchor arrives with the first push, judged by its own policy; mallory is not in it.
    let by_mallory = commit(&repo, stack, Some(MALLORY), "code", "mallory's\n");
    let (code, err) = push(&repo, bare.path(), "main");
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains(&format!("remote: {by_mallory} ")) && err.contains("1 of 2 objects refused"),
        "{err}"
    );
    // A revision instead of a commit id is refused: it would move with the pushes.
    let (code, _, err) = output(
        util::hermetic(gitsign_bin(), bare.path())
            .args(["hook", "install", "--force", "--policy-anchor", "main"])
            .arg(bare.path()),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the hook needs a full commit id"), "{err}");
}

#[test]
fn hook_takes_a_proposed_policy_change_on_an_unruled_branch_and_from_a_policy_authority_on_main() {
    let local = util::start_stack();
    let stack = &local.stack;
    let repo = signing_repo(stack);
    let allow = |signers: &[&str]| format!("default = \"allow\"\n{}", policy(stack, signers));
    let anchor = commit(
        &repo,
        stack,
        Some(ALICE),
        ".gitsign/policy.toml",
        &allow(&[ALICE, BOB]),
    );
    let bare = hook_server(stack, &["--policy-anchor", &anchor]);
    let bare = bare.path();
    let (code, err) = push(&repo, bare, "main");
    assert_eq!(code, 0, "{err}");

    // bob proposes mallory on a review branch, which no rule governs: accepted there.
    repo.git(&["checkout", "-q", "-b", "review"]);
    let proposal = commit(
        &repo,
        stack,
        Some(BOB),
        ".gitsign/policy.toml",
        &allow(&[ALICE, BOB, MALLORY]),
    );
    let (code, err) = push(&repo, bare, "review");
    assert_eq!(code, 0, "an unruled ref follows default = \"allow\": {err}");
    // On main, his commit is refused.
    let (code, err) = push(&repo, bare, "review:main");
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains(&format!("remote: {proposal} ")) && err.contains("unauthorized_policy_change"),
        "{err}"
    );
    assert_eq!(server_ref(bare, "main"), anchor, "main did not move");

    // alice commits the same change herself: it takes effect, and mallory may sign main.
    repo.git(&["checkout", "-q", "main"]);
    commit(
        &repo,
        stack,
        Some(ALICE),
        ".gitsign/policy.toml",
        &allow(&[ALICE, BOB, MALLORY]),
    );
    let by_mallory = commit(&repo, stack, Some(MALLORY), "code", "mallory's\n");
    let (code, err) = push(&repo, bare, "main");
    assert_eq!(code, 0, "{err}");
    assert_eq!(server_ref(bare, "main"), by_mallory);
}

/// git's path runs gitsign once per commit: the policy in force is kept per commit and anchor
/// (`.git/gitsign/policy-in-force.log`), so it is not computed from the anchor every time, and
/// a changed anchor is never answered from what another anchor kept.
#[test]
fn git_s_path_keeps_the_policy_in_force_per_commit_and_anchor() {
    let local = util::start_stack();
    let stack = &local.stack;
    let repo = signing_repo(stack);
    let v1 = policy(stack, &[ALICE, BOB]);
    let anchor = commit(&repo, stack, Some(ALICE), ".gitsign/policy.toml", &v1);
    // bob is no policy authority under the anchor's policy: his change does not take effect.
    let with_mallory = policy(stack, &[ALICE, BOB, MALLORY]);
    let by_bob = commit(
        &repo,
        stack,
        Some(BOB),
        ".gitsign/policy.toml",
        &with_mallory,
    );
    let by_mallory = commit(&repo, stack, Some(MALLORY), "code", "mallory's\n");
    repo.git(&["config", "gitsign.policyAnchor", &anchor]);
    let kept = repo.path().join(".git/gitsign/policy-in-force.log");

    let letters = g_letters(&repo, stack, "main");
    assert_eq!(
        letter(&letters, &by_mallory),
        "U",
        "bob's change did not take effect"
    );
    assert_eq!(letter(&letters, &by_bob), "G");
    let text = std::fs::read_to_string(&kept).expect("the policy in force is kept");
    assert!(
        text.contains(&format!("\"commit\":\"{by_bob}\"")),
        "kept for the commits on the way to the anchor: {text}"
    );
    assert_eq!(
        g_letters(&repo, stack, "main"),
        letters,
        "answered from what was kept, the same letters"
    );

    // Another anchor: bob's commit, judged by its own policy, which admits mallory.
    repo.git(&["config", "gitsign.policyAnchor", &by_bob]);
    let moved = g_letters(&repo, stack, "main");
    assert_eq!(
        letter(&moved, &by_mallory),
        "G",
        "the policy in force under the new anchor, not the one kept under the old"
    );
    repo.git(&["config", "gitsign.policyAnchor", &anchor]);
    assert_eq!(
        g_letters(&repo, stack, "main"),
        letters,
        "the old anchor again: its own answer"
    );

    // A damaged store is not used: the policy in force is computed again.
    let text = std::fs::read_to_string(&kept).expect("kept");
    std::fs::write(&kept, text.replace(&anchor, &by_bob)).expect("tamper");
    assert_eq!(
        g_letters(&repo, stack, "main"),
        letters,
        "a tampered record changes nothing"
    );

    // `gitsign facts prune` drops what names commits the repository no longer has.
    repo.git(&["reset", "-q", "--hard", &anchor]);
    repo.git(&["update-ref", "-d", "ORIG_HEAD"]);
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);
    repo.git(&["gc", "-q", "--prune=now"]);
    let before = std::fs::read_to_string(&kept).expect("kept");
    assert!(before.contains(&by_mallory), "{before}");
    let (code, _, err) = util::output(
        repo.cmd(util::gitsign_bin().to_str().expect("utf-8 path"))
            .args(["facts", "prune"]),
    );
    assert_eq!(code, 0, "{err}");
    let after = std::fs::read_to_string(&kept).expect("kept");
    assert!(
        !after.contains(&by_mallory) && !after.contains(&by_bob),
        "records naming gone commits are dropped: {after}\n{err}"
    );
    assert!(
        after.contains(&format!("\"commit\":\"{anchor}\"")),
        "the anchor's own record stays: {after}"
    );
}
