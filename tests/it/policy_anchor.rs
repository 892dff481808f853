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
fn signing_repo(stack: &Stack) -> TestRepo {
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

    // A verification summary records one policy: refused under a committed one.
    let mut cmd = repo.gitsign();
    cmd.args([
        "verify",
        "--vsa",
        "summary.json",
        &format!("{before}..main"),
    ]);
    stack_env(&mut cmd, stack);
    let (code, _, err) = output(&mut cmd);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--vsa records one policy"), "{err}");
    assert!(
        !repo.path().join("summary.json").exists(),
        "no summary written"
    );

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
}
