//! OpenPGP and SSH authorities judged by `gitsign verify --policy`: commits signed by `git`
//! with keys made here by `gpg` and `ssh-keygen`, verified against the key files of the
//! policy's authorities, and admitted only by an authority of the rule that holds the key.

use std::collections::HashMap;

use crate::key_signers::Signers;
use crate::util::{output, TestRepo};

/// people (alice's OpenPGP key) and laptops (carol's SSH key) may sign main; contractors
/// (mallory's OpenPGP key, dave's SSH key) only the contract branch.
const POLICY: &str = r#"[authority.people]
openpgp = ["keys/alice.asc"]
[authority.laptops]
ssh = "keys/allowed_signers"
[authority.contractors]
openpgp = "keys/mallory.asc"
ssh = "keys/contractors_signers"

[[rule]]
refs = ["refs/heads/main"]
authorities = ["people", "laptops"]
[[rule]]
refs = ["refs/heads/contract"]
authorities = ["contractors"]
"#;

/// The commits of the history the test makes, by who signed them.
struct History {
    repo: TestRepo,
    base: String,
    ids: HashMap<&'static str, String>,
    /// Keeps the GnuPG home (and its agent) alive while the commits are made.
    _signers: Signers,
}

/// An unsigned base, then one empty commit each by alice, carol, mallory, dave (keys of the
/// policy) and eve, erin (keys of no authority), OpenPGP and SSH alternating.
fn history() -> Option<History> {
    let signers = Signers::new()?;
    let repo = TestRepo::new();
    let keys = repo.path().join("keys");
    std::fs::create_dir_all(&keys).expect("mkdir keys");
    std::fs::write(repo.path().join("policy.toml"), POLICY).expect("write policy");
    let alice = signers.openpgp("alice");
    let mallory = signers.openpgp("mallory");
    let eve = signers.openpgp("eve");
    let (carol, carol_pub) = signers.ssh("carol");
    let (dave, dave_pub) = signers.ssh("dave");
    let (erin, _) = signers.ssh("erin");
    std::fs::write(keys.join("alice.asc"), signers.export(&alice)).expect("write");
    std::fs::write(keys.join("mallory.asc"), signers.export(&mallory)).expect("write");
    std::fs::write(
        keys.join("allowed_signers"),
        format!("carol@example.com namespaces=\"git\" {carol_pub}\n"),
    )
    .expect("write");
    std::fs::write(
        keys.join("contractors_signers"),
        format!("dave@example.com {dave_pub}\n"),
    )
    .expect("write");
    repo.git(&["commit", "-q", "--allow-empty", "-m", "base"]);
    let base = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let mut ids = HashMap::new();
    ids.insert("alice", signers.commit_openpgp(&repo, &alice, "by alice"));
    ids.insert("carol", signers.commit_ssh(&repo, &carol, "by carol"));
    ids.insert(
        "mallory",
        signers.commit_openpgp(&repo, &mallory, "by mallory"),
    );
    ids.insert("dave", signers.commit_ssh(&repo, &dave, "by dave"));
    ids.insert("eve", signers.commit_openpgp(&repo, &eve, "by eve"));
    ids.insert("erin", signers.commit_ssh(&repo, &erin, "by erin"));
    Some(History {
        repo,
        base,
        ids,
        _signers: signers,
    })
}

/// `gitsign verify --format json ARGS`: exit code, one JSON value per line, stderr.
fn verify(repo: &TestRepo, args: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    let (code, out, err) = output(
        repo.gitsign()
            .args(["verify", "--offline", "--format", "json"])
            .args(args),
    );
    let lines = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{err}")))
        .collect();
    (code, lines, err)
}

/// (verdict, code, authority) of the commit `id` in `lines`.
fn verdict_of(lines: &[serde_json::Value], id: &str) -> (String, String, String) {
    let line = lines
        .iter()
        .find(|l| l["sha"] == id)
        .unwrap_or_else(|| panic!("a line for {id}: {lines:?}"));
    let s = |k: &str| line[k].as_str().unwrap_or("null").to_owned();
    (s("verdict"), s("code"), s("authority"))
}

#[test]
fn verify_policy_admits_openpgp_and_ssh_signers_only_by_an_authority_of_the_rule() {
    let Some(h) = history() else { return };
    let range = format!("{}..main", h.base);
    let (code, lines, err) = verify(&h.repo, &["--policy", "policy.toml", &range]);
    assert_eq!(code, 1, "some commits are refused: {err}");
    let want = |v: &str, c: &str, a: &str| (v.to_owned(), c.to_owned(), a.to_owned());
    for (who, expected, why) in [
        (
            "alice",
            want("good", "null", "people"),
            "alice's OpenPGP key is people's",
        ),
        (
            "carol",
            want("good", "null", "laptops"),
            "carol's SSH key is the laptops'",
        ),
        (
            "mallory",
            want("bad", "identity_mismatch", "null"),
            "mallory's key verifies (contractors) but the rule does not name contractors",
        ),
        (
            "dave",
            want("bad", "identity_mismatch", "null"),
            "dave's key verifies (contractors) but the rule does not name contractors",
        ),
        (
            "eve",
            want("bad", "unknown_key", "null"),
            "eve's key is in no authority",
        ),
        (
            "erin",
            want("bad", "unknown_key", "null"),
            "erin's key is in no authority",
        ),
    ] {
        assert_eq!(
            verdict_of(&lines, &h.ids[who]),
            expected,
            "{why}: {lines:?}"
        );
    }
    let mallory = lines
        .iter()
        .find(|l| l["sha"] == h.ids["mallory"].as_str())
        .expect("mallory's line");
    assert!(
        mallory["reasons"][0].as_str().is_some_and(
            |r| r.contains("is not admitted by any authority of the rule (people, laptops)")
        ),
        "the refusal names the rule's authorities: {mallory}"
    );
    let tally = lines.last().expect("the tally line");
    assert_eq!(
        tally["tally"],
        serde_json::json!({
            "authorities": [{"name": "people", "accepted": 1}, {"name": "laptops", "accepted": 1}],
            "admitted_by_none": 2,
        }),
        "each signer counted under its authority; the refused verified ones under none"
    );

    // The contract branch's rule names contractors: mallory and dave are good there.
    let (code, lines, err) = verify(
        &h.repo,
        &[
            "--policy",
            "policy.toml",
            "--ref",
            "refs/heads/contract",
            &range,
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        verdict_of(&lines, &h.ids["mallory"]),
        want("good", "null", "contractors")
    );
    assert_eq!(
        verdict_of(&lines, &h.ids["dave"]),
        want("good", "null", "contractors")
    );
    assert_eq!(
        verdict_of(&lines, &h.ids["alice"]).1,
        "identity_mismatch",
        "alice is not a contractor"
    );

    // git agrees the keys verify: it is the policy, not the signature, that refuses.
    let keys = h.repo.path().join("keys/contractors_signers");
    let (code, _, err) = output(h.repo.cmd("git").args([
        "-c",
        &format!("gpg.ssh.allowedSignersFile={}", keys.display()),
        "verify-commit",
        &h.ids["dave"],
    ]));
    assert_eq!(
        code, 0,
        "git verifies dave's commit with the contractors' file: {err}"
    );
}

#[test]
fn verify_policy_refuses_configured_keys_and_unusable_key_files() {
    let Some(h) = history() else { return };
    let range = format!("{}..main", h.base);
    let (code, _, err) = verify(
        &h.repo,
        &[
            "--policy",
            "policy.toml",
            "--openpgp-keys",
            "keys/mallory.asc",
            &range,
        ],
    );
    assert_eq!(code, 2, "the policy names the keys, not a flag: {err}");
    assert!(err.contains("its authorities name them"), "{err}");

    // An allowed-signers file configured in git does not stand in for the policy's.
    let all = h.repo.path().join("keys/all_signers");
    let laptops =
        std::fs::read_to_string(h.repo.path().join("keys/allowed_signers")).expect("read");
    let contractors =
        std::fs::read_to_string(h.repo.path().join("keys/contractors_signers")).expect("read");
    std::fs::write(&all, format!("{laptops}{contractors}")).expect("write");
    h.repo.git(&[
        "config",
        "gpg.ssh.allowedSignersFile",
        all.to_str().expect("utf-8"),
    ]);
    let (_, lines, err) = verify(&h.repo, &["--policy", "policy.toml", &range]);
    assert_eq!(
        verdict_of(&lines, &h.ids["erin"]).1,
        "unknown_key",
        "erin stays unknown: {err}"
    );

    std::fs::write(
        h.repo.path().join("keys/allowed_signers"),
        "carol@example.com ssh-ed25519 AAAA\n",
    )
    .expect("write");
    let (code, _, err) = verify(&h.repo, &["--policy", "policy.toml", &range]);
    assert_eq!(code, 2, "an unusable key file decides nothing: {err}");
    assert!(
        err.contains("keys/allowed_signers' (line 4 of the policy) cannot be read"),
        "{err}"
    );
}

/// A committed policy (`.gitsign/policy.toml`, key files beside it) anchored at a commit: each
/// OpenPGP or SSH commit verifies against the key files of the policy in force, and a policy
/// change takes effect only when an OpenPGP or SSH policy authority signs it.
#[test]
fn a_committed_policy_judges_openpgp_and_ssh_commits_and_changes_by_its_own_key_files() {
    let Some(signers) = Signers::new() else {
        return;
    };
    let repo = TestRepo::new();
    let alice = signers.openpgp("alice");
    let eve = signers.openpgp("eve");
    let (carol, carol_pub) = signers.ssh("carol");
    let (dave, dave_pub) = signers.ssh("dave");
    let write = |rel: &str, content: &str| {
        let path = repo.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
        repo.git(&["add", "-A"]);
    };
    repo.git(&["commit", "-q", "--allow-empty", "-m", "before the policy"]);
    let base = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    write(
        ".gitsign/policy.toml",
        "policy-authorities = [\"people\"]\n\
         [authority.people]\nopenpgp = \"keys/alice.asc\"\n\
         [authority.laptops]\nssh = \"allowed_signers\"\n\
         [[rule]]\nrefs = [\"refs/heads/main\"]\nauthorities = [\"people\", \"laptops\"]\n",
    );
    write(".gitsign/keys/alice.asc", &signers.export(&alice));
    write(
        ".gitsign/allowed_signers",
        &format!("carol@example.com {carol_pub}\n"),
    );
    let anchor = signers.commit_openpgp(&repo, &alice, "the policy");
    let by_carol = signers.commit_ssh(&repo, &carol, "by carol");
    let by_eve = signers.commit_openpgp(&repo, &eve, "by eve");
    let with_dave = format!("carol@example.com {carol_pub}\ndave@example.com {dave_pub}\n");
    write(".gitsign/allowed_signers", &with_dave);
    let carol_adds_dave = signers.commit_ssh(&repo, &carol, "carol adds dave");
    let dave_early = signers.commit_ssh(&repo, &dave, "dave too early");
    write(
        ".gitsign/allowed_signers",
        &format!("# dave joins\n{with_dave}"),
    );
    let alice_adds_dave = signers.commit_openpgp(&repo, &alice, "alice adds dave");
    let dave_late = signers.commit_ssh(&repo, &dave, "dave after alice");

    let (code, lines, err) = verify(
        &repo,
        &["--policy-anchor", &anchor, &format!("{base}..main")],
    );
    assert_eq!(code, 1, "{err}");
    let want = |v: &str, c: &str, a: &str| (v.to_owned(), c.to_owned(), a.to_owned());
    for (id, expected, why) in [
        (
            &anchor,
            want("good", "null", "people"),
            "the anchor, by alice's OpenPGP key",
        ),
        (
            &by_carol,
            want("good", "null", "laptops"),
            "carol's SSH key",
        ),
        (
            &by_eve,
            want("bad", "unknown_key", "null"),
            "eve's key is in no authority",
        ),
        (
            &carol_adds_dave,
            want("bad", "unauthorized_policy_change", "null"),
            "carol may sign, not change the policy",
        ),
        (
            &dave_early,
            want("bad", "unknown_key", "null"),
            "carol's change did not take effect",
        ),
        (
            &alice_adds_dave,
            want("good", "null", "people"),
            "alice is a policy authority",
        ),
        (
            &dave_late,
            want("good", "null", "laptops"),
            "alice's change took effect",
        ),
    ] {
        assert_eq!(verdict_of(&lines, id), expected, "{why}: {lines:?}");
    }
}

/// A bare repository whose pre-receive hook judges pushes by the committed policy anchored
/// at `anchor` (installed with `--policy-anchor`, offline).
fn anchored_server(anchor: &str) -> tempfile::TempDir {
    let bare = tempfile::tempdir().expect("temp dir");
    let (code, _, err) = output(
        crate::util::hermetic("git", bare.path())
            .current_dir(bare.path())
            .args(["init", "-q", "--bare", "-b", "main", "."]),
    );
    assert_eq!(code, 0, "git init --bare: {err}");
    let (code, _, err) = output(
        crate::util::hermetic(crate::util::gitsign_bin(), bare.path())
            .args(["hook", "install", "--offline", "--policy-anchor", anchor])
            .arg(bare.path()),
    );
    assert_eq!(code, 0, "gitsign hook install: {err}");
    bare
}

/// `git push BARE main` from `repo`: exit code, stderr (`remote:` lines), the server's main.
fn push_main(repo: &TestRepo, bare: &std::path::Path) -> (i32, String, String) {
    let (code, _, err) = output(repo.cmd("git").arg("push").arg(bare).arg("main"));
    let (_, main, _) = output(crate::util::hermetic("git", bare).current_dir(bare).args([
        "rev-parse",
        "--verify",
        "-q",
        "main",
    ]));
    (code, err, main.trim().to_owned())
}

#[test]
fn hook_judges_openpgp_and_ssh_pushes_and_policy_changes_by_the_committed_key_files() {
    let Some(signers) = Signers::new() else {
        return;
    };
    let repo = TestRepo::new();
    let alice = signers.openpgp("alice");
    let (carol, carol_pub) = signers.ssh("carol");
    let (dave, dave_pub) = signers.ssh("dave");
    let (erin, _) = signers.ssh("erin");
    let write = |rel: &str, content: &str| {
        let path = repo.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
        repo.git(&["add", "-A"]);
    };
    // carol's SSH key administers the policy; alice's OpenPGP key may sign main.
    let policy = |devs_ssh: &str| {
        format!(
            "policy-authorities = [\"admins\"]\n\
             [authority.admins]\nssh = \"admins_signers\"\n\
             [authority.devs]\nopenpgp = \"keys/alice.asc\"\n{devs_ssh}\
             [[rule]]\nrefs = [\"refs/heads/main\", \"refs/tags/*\"]\n\
             authorities = [\"admins\", \"devs\"]\n"
        )
    };
    write(".gitsign/policy.toml", &policy(""));
    write(".gitsign/keys/alice.asc", &signers.export(&alice));
    write(
        ".gitsign/admins_signers",
        &format!("carol@example.com {carol_pub}\n"),
    );
    let anchor = signers.commit_ssh(&repo, &carol, "the policy");
    let by_alice = signers.commit_openpgp(&repo, &alice, "by alice");
    let bare = anchored_server(&anchor);
    let bare = bare.path();

    let (code, err, main) = push_main(&repo, bare);
    assert_eq!(
        code, 0,
        "carol's SSH anchor and alice's OpenPGP commit: {err}"
    );
    assert!(
        err.contains("remote: gitsign: push accepted: 2 new commits and 0 tags checked"),
        "{err}"
    );
    assert_eq!(main, by_alice);

    // erin's SSH key is in no authority of the policy in force.
    let by_erin = signers.commit_ssh(&repo, &erin, "by erin");
    let (code, err, main) = push_main(&repo, bare);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("remote: {by_erin} by erin: signed by SSH key "))
            && err.contains("which no allowed signer names")
            && err.contains(&format!("{anchor}:.gitsign/policy.toml")),
        "erin's commit is refused as by an unknown key, under the anchor's policy: {err}"
    );
    assert!(
        err.contains("remote: Hint: the server verifies OpenPGP and SSH signatures against the key files of the policy's authorities only"),
        "the hint names what the pusher can change: {err}"
    );
    assert_eq!(main, by_alice, "main did not move");
    repo.git(&["reset", "-q", "--hard", &by_alice]);

    // alice may sign main but is no policy authority: her change adding dave is refused, and
    // dave's commit relying on it is by a key the policy in force does not hold.
    let devs_ssh = "ssh = \"devs_signers\"\n";
    write(".gitsign/policy.toml", &policy(devs_ssh));
    write(
        ".gitsign/devs_signers",
        &format!("dave@example.com {dave_pub}\n"),
    );
    let alice_adds_dave = signers.commit_openpgp(&repo, &alice, "alice adds dave");
    let dave_early = signers.commit_ssh(&repo, &dave, "dave too early");
    let (code, err, main) = push_main(&repo, bare);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("remote: {alice_adds_dave} alice adds dave: "))
            && err.contains("(unauthorized_policy_change)")
            && err.contains(&format!(
                "remote: {dave_early} dave too early: signed by SSH key "
            ))
            && err.contains("2 of 2 objects refused"),
        "both commits are refused: {err}"
    );
    assert_eq!(main, by_alice, "main did not move");
    repo.git(&["reset", "-q", "--hard", &by_alice]);

    // carol, a policy authority by her SSH key, adds dave: in force for dave's commit.
    write(".gitsign/policy.toml", &policy(devs_ssh));
    write(
        ".gitsign/devs_signers",
        &format!("dave@example.com {dave_pub}\n"),
    );
    let carol_adds_dave = signers.commit_ssh(&repo, &carol, "carol adds dave");
    let by_dave = signers.commit_ssh(&repo, &dave, "by dave");
    let (code, err, main) = push_main(&repo, bare);
    assert_eq!(
        code, 0,
        "an SSH policy authority's change and a commit relying on it: {err}"
    );
    assert!(
        err.contains("remote: gitsign: push accepted: 2 new commits and 0 tags checked"),
        "{err}"
    );
    assert_eq!(main, by_dave);
    assert!(!err.contains(&carol_adds_dave), "{err}");

    // Annotated tags are verified against the key files of the policy after their commit.
    let tag = |name: &str, key: &std::path::Path| {
        let (code, _, err) = output(
            repo.cmd("git")
                .args(["-c", "gpg.format=ssh"])
                .args(["-c", &format!("user.signingkey={}", key.display())])
                .args(["tag", "-s", "-m", name, name]),
        );
        assert_eq!(code, 0, "git tag -s {name}: {err}");
        let (code, _, err) = output(
            repo.cmd("git")
                .arg("push")
                .arg(bare)
                .arg(format!("refs/tags/{name}")),
        );
        (code, err)
    };
    let (code, err) = tag("v1", &dave);
    assert_eq!(code, 0, "dave's SSH tag, under carol's change: {err}");
    let (code, err) = tag("v2", &erin);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("which no allowed signer names") && err.contains("1 of 1 object refused"),
        "erin's tag is refused: {err}"
    );
}
