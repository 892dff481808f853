//! `gitsign hook`: real `git push` into a local bare repository whose pre-receive hook was
//! written by `gitsign hook install`, checking the `remote:` lines and that refused refs stay put.
//!
//! Signed history comes from the Go gitsign fixture commits, whose trees and oldest parents are
//! not in tests/data (their ids are fixed, so they cannot be made up). Two stock git mechanisms
//! let them travel anyway, without touching the hook's code path:
//! - the sender and the receiver are both shallow at the base commit, so no side walks past it;
//! - each missing tree is the tree of a "holder" commit (written with `hash-object --literally`)
//!   that both sides have under `refs/holders/*`: the sender then treats the tree as already on
//!   the receiver, and on the receiver the holders sit in a promisor pack, so git's
//!   connectivity check counts the trees they name as promised (partial clone) instead of
//!   missing. The hook sees an ordinary push: new commits in the quarantine, refs untouched.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use sigstore_local::{Faults, Service, Stack};

use crate::online::{online_commits, IDENTITY};
use crate::util::{self, gitsign_bin, hermetic, output, run_with_stdin, stack_env, TestRepo};

/// Embedded-Rekor chain signed by billy@chainguard.dev via Google: BASE <- MID <- TIP.
const BASE: &str = "58d9abba022e21de32b3425eed0a256d51e62fcd";
const MID: &str = "a336df86075474ca9a3e2c7183cf209cec375ba2";
const TIP: &str = "30e099f11647d8f47f25382a730f909e4a1911fd";
const TREES: [&str; 2] = [
    "db6a43b09273fbd1fef0812f43128383764d7e3a",
    "0d9ca56c7e7c28e8ace585d6726212def188b5ca",
];
/// Online-mode chain (no embedded entry) signed by me@iavael.name via GitHub.
const ONLINE_BASE: &str = "05ca6a291e4504639f44fd74cf04de90dd6ed9cf";
const ONLINE_TIP: &str = "ca0f8183d6ba6d6815377d4a53209aebc8cf6e60";
const ONLINE_MID: &str = "1d44296b661b8a5f8e0654e0573b54d80062517f";
const ONLINE_TREES: [&str; 2] = [
    "8d546c68d1e7af2bb4996b7e66a807539a1518ac",
    "57049768407c3a066ab901e2929ee9e5d7c524af",
];

const BILLY: &str = r#"
default = "reject"
[[rule]]
refs = ["refs/heads/*", "refs/tags/*"]
identities = ["billy@chainguard.dev"]
issuers = ["https://accounts.google.com"]
transparency = "embedded"
"#;

fn trust_root() -> PathBuf {
    util::data("trust/trusted_root.json")
}

/// A work repository and a bare repository receiving its pushes through the hook.
struct Server {
    work: TestRepo,
    bare: tempfile::TempDir,
}

impl Server {
    /// Empty bare repository with the hook and `policy` at the default path.
    fn new(policy: &str) -> Server {
        let bare = tempfile::tempdir().expect("temp dir");
        let server = Server {
            work: TestRepo::new(),
            bare,
        };
        server.bare_git(&["init", "-q", "--bare", "-b", "main", "."]);
        server.set_policy(policy);
        server.install(&[]);
        server
    }

    /// (Re)write the pre-receive hook with `gitsign hook install [extra]`.
    fn install(&self, extra: &[&str]) {
        let (code, _, err) = output(
            hermetic(gitsign_bin(), self.bare.path())
                .args(["hook", "install", "--force"])
                .args(extra)
                .arg(self.bare.path()),
        );
        assert_eq!(code, 0, "gitsign hook install {extra:?} succeeds: {err}");
    }

    /// Both sides hold `base` (shallow) and holders for `trees`; the bare main points at `base`.
    fn with_fixture_base(policy: &str, base: &str, trees: &[&str]) -> Server {
        let s = Server::new(policy);
        let raw = util::read(&format!("gitsign-commits/{base}.commit"));
        // Work side.
        assert_eq!(s.work.write_object("commit", &raw), base);
        s.work.git(&["update-ref", "refs/heads/main", base]);
        std::fs::write(s.work.path().join(".git/shallow"), format!("{base}\n")).expect("shallow");
        // Bare side: the same objects, then packed as a promisor pack.
        let file = s.bare.path().join("raw-object");
        std::fs::write(&file, &raw).expect("write raw");
        let id = s.bare_git(&[
            "hash-object",
            "-t",
            "commit",
            "-w",
            "--literally",
            "raw-object",
        ]);
        assert_eq!(id.trim(), base);
        std::fs::remove_file(&file).ok();
        s.bare_git(&["update-ref", "refs/heads/main", base]);
        std::fs::write(s.bare.path().join("shallow"), format!("{base}\n")).expect("shallow");
        for (i, tree) in trees.iter().enumerate() {
            let holder = format!(
                "tree {tree}\nauthor Holder <h@example.com> 1700000000 +0000\ncommitter Holder <h@example.com> 1700000000 +0000\n\nholds a fixture tree\n"
            );
            let id = s.work.write_object("commit", holder.as_bytes());
            s.work
                .git(&["update-ref", &format!("refs/holders/{i}"), &id]);
            std::fs::write(&file, holder.as_bytes()).expect("write raw");
            s.bare_git(&[
                "hash-object",
                "-t",
                "commit",
                "-w",
                "--literally",
                "raw-object",
            ]);
            std::fs::remove_file(&file).ok();
            s.bare_git(&["update-ref", &format!("refs/holders/{i}"), &id]);
        }
        for kv in [
            ["core.repositoryformatversion", "1"],
            ["extensions.partialClone", "origin"],
            ["remote.origin.url", "/nonexistent"],
            ["remote.origin.promisor", "true"],
        ] {
            s.bare_git(&["config", kv[0], kv[1]]);
        }
        let ids = s.bare_git(&["for-each-ref", "--format=%(objectname)"]);
        let mut pack = hermetic("git", s.bare.path());
        pack.current_dir(s.bare.path())
            .args(["pack-objects", "-q", "objects/pack/pack"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let (code, hash, err) = run_with_stdin(pack, ids.as_bytes());
        assert_eq!(code, 0, "packing the base objects: {err}");
        std::fs::write(
            s.bare
                .path()
                .join(format!("objects/pack/pack-{}.promisor", hash.trim())),
            "",
        )
        .expect("promisor marker");
        s.bare_git(&["prune-packed"]);
        s
    }

    fn bare_git(&self, args: &[&str]) -> String {
        let (code, out, err) = output(
            hermetic("git", self.bare.path())
                .current_dir(self.bare.path())
                .args(args),
        );
        assert_eq!(code, 0, "git {args:?} in the bare repository failed: {err}");
        out
    }

    fn set_policy(&self, text: &str) {
        std::fs::write(self.policy_path(), text).expect("write policy");
    }

    fn policy_path(&self) -> PathBuf {
        self.bare.path().join("gitsign-policy.toml")
    }

    /// Write fixture commits into the work repository.
    fn add_fixtures(&self, shas: &[&str]) {
        for sha in shas {
            let raw = util::read(&format!("gitsign-commits/{sha}.commit"));
            assert_eq!(self.work.write_object("commit", &raw), *sha);
        }
    }

    /// `git push <bare> <args>`: exit code and stderr (where `remote:` lines arrive).
    fn push(&self, args: &[&str]) -> (i32, String) {
        self.push_with_root(Some(&trust_root()), args)
    }

    /// [`Self::push`] with the hook's environment naming `root` as GITSIGN_TRUSTED_ROOT, or
    /// nothing (the server's own configuration decides).
    fn push_with_root(&self, root: Option<&Path>, args: &[&str]) -> (i32, String) {
        let mut cmd = self.work.cmd("git");
        if let Some(root) = root {
            cmd.env("GITSIGN_TRUSTED_ROOT", root);
        }
        let (code, _, err) = output(cmd.arg("push").arg(self.bare.path()).args(args));
        (code, err)
    }

    /// `git push` with the hook pointed at the local stack (Rekor and trust root), through
    /// the environment a server's hook would get from its own configuration.
    fn push_via(&self, stack: &Stack, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
        let mut cmd = self.work.cmd("git");
        cmd.arg("push").arg(self.bare.path()).args(args);
        stack_env(&mut cmd, stack);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let (code, _, err) = output(&mut cmd);
        (code, err)
    }

    /// Where the receiving repository keeps the proof of `id`.
    fn proof_path(&self, id: &str) -> PathBuf {
        self.bare
            .path()
            .join("gitsign/proofs")
            .join(&id[..2])
            .join(format!("{}.json", &id[2..]))
    }

    fn ref_of(&self, name: &str) -> Option<String> {
        let (code, out, _) = output(
            hermetic("git", self.bare.path())
                .current_dir(self.bare.path())
                .args(["rev-parse", "-q", "--verify", name]),
        );
        (code == 0).then(|| out.trim().to_owned())
    }
}

/// An unsigned commit on top of `parent` (or a root), with the empty tree.
fn unsigned_commit(repo: &TestRepo, parents: &[&str], msg: &str) -> String {
    let tree = repo.git(&["hash-object", "-t", "tree", "-w", "/dev/null"]);
    let mut args = vec!["commit-tree", tree.trim(), "-m", msg];
    for p in parents {
        args.extend(["-p", p]);
    }
    repo.git(&args).trim().to_owned()
}

#[test]
fn hook_accepts_a_push_of_commits_signed_as_the_policy_requires() {
    let s = Server::with_fixture_base(BILLY, BASE, &TREES);
    s.add_fixtures(&[MID, TIP]);
    let (code, err) = s.push(&[&format!("{TIP}:refs/heads/main")]);
    assert_eq!(code, 0, "the signed push is accepted: {err}");
    assert!(
        err.contains("remote: gitsign: push accepted: 2 new commits and 0 tags checked"),
        "the hook reports what it checked: {err}"
    );
    assert_eq!(
        s.ref_of("refs/heads/main").as_deref(),
        Some(TIP),
        "main moved"
    );
}

#[test]
fn hook_refuses_the_wrong_identity_and_leaves_the_ref_alone() {
    let s = Server::with_fixture_base(
        &BILLY.replace("billy@chainguard.dev", "alice@example.com"),
        BASE,
        &TREES,
    );
    s.add_fixtures(&[MID, TIP]);
    let (code, err) = s.push(&[&format!("{TIP}:refs/heads/main")]);
    assert_ne!(code, 0, "the push fails: {err}");
    let policy = s.policy_path().display().to_string();
    for (sha, subject) in [
        (TIP, "config: allow enableSigstoreGo with any Rekor mode"),
        (MID, "Break out rekor.Search from Verify for reuse"),
    ] {
        let line = format!(
            "remote: {sha} {subject}: identity mismatch: certificate names 'billy@chainguard.dev', policy wants 'alice@example.com' (refs/heads/main, {policy}:4)"
        );
        assert!(
            err.contains(&line),
            "one line per refused commit with sha, subject and reason:\n{line}\nin:\n{err}"
        );
    }
    assert!(
        err.contains("remote: gitsign: push rejected by the signature policy in")
            && err.contains("2 of 2 objects refused"),
        "a summary follows: {err}"
    );
    assert!(
        err.contains("(pre-receive hook declined)"),
        "git names the hook: {err}"
    );
    assert_eq!(
        s.ref_of("refs/heads/main").as_deref(),
        Some(BASE),
        "main did not move"
    );
}

/// The policy language's named authorities: an identity is admitted only with its own issuer.
#[test]
fn hook_judges_named_authorities_binding_identity_to_issuer() {
    // billy is listed, and Google's issuer is listed, but not as a pair.
    let policy = r#"
default = "reject"
[authority.maintainers]
sigstore = [
  { identity = "billy@chainguard.dev", issuer = "https://github.com/login/oauth" },
  { identity = "alice@example.com", issuer = "https://accounts.google.com" },
]
[[rule]]
refs = ["refs/heads/*"]
authorities = ["maintainers"]
transparency = "embedded"
"#;
    let s = Server::with_fixture_base(policy, BASE, &TREES);
    s.add_fixtures(&[MID, TIP]);
    let (code, err) = s.push(&[&format!("{TIP}:refs/heads/main")]);
    assert_ne!(code, 0, "the push fails: {err}");
    assert!(
        err.contains(&format!("remote: {TIP} config: allow enableSigstoreGo with any Rekor mode: the signer 'billy@chainguard.dev' (issuer 'https://accounts.google.com') is not admitted by any authority of the rule (maintainers)")),
        "{err}"
    );
    assert_eq!(s.ref_of("refs/heads/main").as_deref(), Some(BASE));

    s.set_policy(&policy.replace(
        r#"issuer = "https://github.com/login/oauth""#,
        r#"issuer = "https://accounts.google.com""#,
    ));
    let (code, err) = s.push(&[&format!("{TIP}:refs/heads/main")]);
    assert_eq!(code, 0, "billy with his own issuer: {err}");
    assert_eq!(s.ref_of("refs/heads/main").as_deref(), Some(TIP));
}

/// Key files are read beside the policy: a missing one refuses every push, naming where.
#[test]
fn hook_reads_key_files_beside_its_policy() {
    let policy = r#"
default = "reject"
[authority.maintainers]
sigstore = [{ identity = "billy@chainguard.dev", issuer = "https://accounts.google.com" }]
[authority.web-flow]
openpgp = ["keys/web-flow.asc"]
[[rule]]
refs = ["refs/heads/*"]
authorities = ["maintainers", "web-flow"]
transparency = "embedded"
"#;
    let s = Server::with_fixture_base(policy, BASE, &TREES);
    s.add_fixtures(&[MID, TIP]);
    let (code, err) = s.push(&[&format!("{TIP}:refs/heads/main")]);
    assert_ne!(code, 0, "no key file yet: {err}");
    assert!(
        err.contains("at line 6, column 12: cannot read the OpenPGP key file 'keys/web-flow.asc' of authority 'web-flow'"),
        "{err}"
    );
    let keys = s.policy_path().with_file_name("keys");
    std::fs::create_dir_all(&keys).expect("mkdir");
    // A file that is no OpenPGP key: the OpenPGP verifier cannot use it, every push is refused.
    std::fs::write(
        keys.join("web-flow.asc"),
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n",
    )
    .expect("key");
    let (code, err) = s.push(&[&format!("{TIP}:refs/heads/main")]);
    assert_ne!(code, 0, "an unusable key file: {err}");
    assert!(
        err.contains("keys/web-flow.asc' (line 6 of the policy) cannot be read"),
        "{err}"
    );
    assert_eq!(s.ref_of("refs/heads/main").as_deref(), Some(BASE));
    let install = || {
        output(
            hermetic(gitsign_bin(), s.bare.path())
                .args(["hook", "install", "--force", "--policy"])
                .arg(s.policy_path())
                .arg(s.bare.path()),
        )
    };
    let (code, _, err) = install();
    assert_eq!(code, 2, "install validates the key files too: {err}");
    assert!(
        err.contains("keys/web-flow.asc' (line 6 of the policy) cannot be read"),
        "{err}"
    );
    std::fs::write(
        keys.join("web-flow.asc"),
        util::read("keys/github-web-flow.asc"),
    )
    .expect("key");
    let (code, _, err) = install();
    assert_eq!(code, 0, "the real keys: {err}");
    let (code, err) = s.push(&[&format!("{TIP}:refs/heads/main")]);
    assert_eq!(
        code, 0,
        "the key file is beside the policy; billy is a maintainer: {err}"
    );
}

/// OpenPGP and SSH commits signed by `git` with keys made by `gpg` and `ssh-keygen`: the hook
/// verifies them against the key files of the policy's authorities (beside the policy) and
/// accepts those by keys an authority of the rule holds.
#[test]
fn hook_accepts_openpgp_and_ssh_commits_by_the_rules_keys_and_refuses_others() {
    let Some(signers) = crate::key_signers::Signers::new() else {
        return;
    };
    let policy = r#"
default = "reject"
[authority.people]
openpgp = ["keys/alice.asc"]
ssh = "keys/allowed_signers"
[authority.contractors]
openpgp = ["keys/mallory.asc"]
[[rule]]
refs = ["refs/heads/main"]
authorities = ["people"]
transparency = "embedded"
[[rule]]
refs = ["refs/heads/contract"]
authorities = ["contractors"]
"#;
    let s = Server::new(policy);
    let keys = s.policy_path().with_file_name("keys");
    std::fs::create_dir_all(&keys).expect("mkdir");
    let alice = signers.openpgp("alice");
    let mallory = signers.openpgp("mallory");
    let eve = signers.openpgp("eve");
    let (carol, carol_pub) = signers.ssh("carol");
    let (erin, _) = signers.ssh("erin");
    std::fs::write(keys.join("alice.asc"), signers.export(&alice)).expect("write");
    std::fs::write(keys.join("mallory.asc"), signers.export(&mallory)).expect("write");
    std::fs::write(
        keys.join("allowed_signers"),
        format!("carol@example.com {carol_pub}\n"),
    )
    .expect("write");

    let first = signers.commit_openpgp(&s.work, &alice, "by alice");
    let second = signers.commit_ssh(&s.work, &carol, "by carol");
    let (code, err) = s.push(&["HEAD:refs/heads/main"]);
    assert_eq!(
        code, 0,
        "alice's OpenPGP and carol's SSH commits, keys of people: {err}"
    );
    assert!(
        err.contains("remote: gitsign: push accepted: 2 new commits and 0 tags checked"),
        "{err}"
    );
    assert_eq!(
        s.ref_of("refs/heads/main").as_deref(),
        Some(second.as_str())
    );
    assert_ne!(first, second);

    // One unknown key among good commits refuses the push, and main stays.
    signers.commit_openpgp(&s.work, &alice, "alice again");
    let by_eve = signers.commit_openpgp(&s.work, &eve, "by eve");
    let (code, err) = s.push(&["HEAD:refs/heads/main"]);
    assert_ne!(code, 0, "eve's key is in no authority: {err}");
    assert!(
        err.contains(&format!("remote: {by_eve} by eve: signed by OpenPGP key")),
        "{err}"
    );
    assert!(
        err.contains("which is not among the configured keys"),
        "{err}"
    );
    assert_eq!(
        s.ref_of("refs/heads/main").as_deref(),
        Some(second.as_str())
    );

    // An unknown SSH key, and a key of an authority the rule does not name.
    s.work.git(&["reset", "-q", "--hard", &second]);
    let by_erin = signers.commit_ssh(&s.work, &erin, "by erin");
    let (code, err) = s.push(&["HEAD:refs/heads/main"]);
    assert_ne!(code, 0, "erin's key is in no authority: {err}");
    assert!(
        err.contains(&format!("remote: {by_erin} by erin: signed by SSH key")),
        "{err}"
    );
    s.work.git(&["reset", "-q", "--hard", &second]);
    let by_mallory = signers.commit_openpgp(&s.work, &mallory, "by mallory");
    let (code, err) = s.push(&["HEAD:refs/heads/main"]);
    assert_ne!(code, 0, "mallory is a contractor, not people: {err}");
    assert!(
        err.contains(&format!(
            "remote: {by_mallory} by mallory: the signer OpenPGP key"
        )),
        "{err}"
    );
    assert!(
        err.contains("is not admitted by any authority of the rule (people)"),
        "{err}"
    );
    assert_eq!(
        s.ref_of("refs/heads/main").as_deref(),
        Some(second.as_str())
    );
    // The contract branch's rule names contractors: a new ref of that rule gains all of its
    // history, and alice's commit is not a contractor's; mallory's alone is.
    let (code, err) = s.push(&["HEAD:refs/heads/contract"]);
    assert_ne!(code, 0, "alice and carol are not contractors: {err}");
    assert!(
        err.contains(&format!("remote: {first} by alice: the signer OpenPGP key"))
            && err.contains("is not admitted by any authority of the rule (contractors)"),
        "{err}"
    );
    assert!(
        !err.contains(&format!("remote: {by_mallory}")),
        "mallory's commit is a contractor's: {err}"
    );
}

#[test]
fn hook_refuses_a_tampered_commit() {
    let s = Server::with_fixture_base(BILLY, BASE, &TREES);
    // MID with one byte of its message changed: same parent and tree, broken signature.
    let mut raw = util::read(&format!("gitsign-commits/{MID}.commit"));
    let subject = b"\n\nBreak out rekor.Search";
    let at = raw
        .windows(subject.len())
        .position(|w| w == subject)
        .expect("subject");
    raw[at + subject.len() - 6] = b's';
    let tampered = s.work.write_object("commit", &raw);
    let (code, err) = s.push(&[&format!("{tampered}:refs/heads/main")]);
    assert_ne!(code, 0, "the tampered push fails: {err}");
    assert!(
        err.contains(&format!(
            "remote: {tampered} Break out rekor.search from Verify for reuse: "
        )),
        "the tampered commit is listed: {err}"
    );
    assert!(
        err.contains("messageDigest attribute does not match the signed payload"),
        "the reason is the digest mismatch: {err}"
    );
    assert_eq!(
        s.ref_of("refs/heads/main").as_deref(),
        Some(BASE),
        "main did not move"
    );
}

#[test]
fn hook_refuses_unsigned_commits_and_truncates_long_lists() {
    let s = Server::new(BILLY);
    let mut parent: Option<String> = None;
    for i in 0..25 {
        let parents: Vec<&str> = parent.iter().map(String::as_str).collect();
        parent = Some(unsigned_commit(&s.work, &parents, &format!("unsigned {i}")));
    }
    let tip = parent.expect("25 commits");
    let (code, err) = s.push(&[&format!("{tip}:refs/heads/main")]);
    assert_ne!(code, 0, "unsigned history is refused: {err}");
    assert!(
        err.contains(&format!("remote: {tip} unsigned 24: object is not signed")),
        "the newest commit is listed first with its reason: {err}"
    );
    let listed = err
        .lines()
        .filter(|l| l.contains(": object is not signed"))
        .count();
    assert_eq!(listed, 20, "twenty commits are listed: {err}");
    assert!(
        err.contains("remote: ... and 5 more"),
        "the rest is counted: {err}"
    );
    assert!(err.contains("25 of 25 objects refused"), "summary: {err}");
    assert!(
        err.contains("remote: Hint: sign commits"),
        "a hint says what to do: {err}"
    );
    assert_eq!(s.ref_of("refs/heads/main"), None, "main was not created");
}

#[test]
fn hook_applies_rules_per_ref_and_the_default_to_unmatched_refs() {
    let policy = BILLY.replace(
        r#"refs = ["refs/heads/*", "refs/tags/*"]"#,
        r#"refs = ["refs/heads/main"]"#,
    );
    let s = Server::with_fixture_base(&policy, BASE, &TREES);
    s.add_fixtures(&[MID, TIP]);
    let (code, err) = s.push(&[&format!("{TIP}:refs/heads/feature")]);
    assert_ne!(
        code, 0,
        "no rule covers the branch and the default rejects: {err}"
    );
    assert!(
        err.contains(&format!(
            "remote: refs/heads/feature: no rule in {} matches this ref, and default = \"reject\"",
            s.policy_path().display()
        )),
        "the ref is named with the reason: {err}"
    );
    assert_eq!(
        s.ref_of("refs/heads/feature"),
        None,
        "the branch was not created"
    );
    s.set_policy(&policy.replace(r#"default = "reject""#, r#"default = "allow""#));
    let (code, err) = s.push(&[&format!("{TIP}:refs/heads/feature")]);
    assert_eq!(
        code, 0,
        "default = allow lets unmatched refs through: {err}"
    );
}

#[test]
fn hook_handles_new_branches_force_pushes_deletions_and_tags() {
    let s = Server::with_fixture_base(BILLY, BASE, &TREES);
    s.add_fixtures(&[MID, TIP]);
    // New branch: the old id is zero, the signed commits are new.
    let (code, err) = s.push(&[&format!("{TIP}:refs/heads/feature")]);
    assert_eq!(code, 0, "a signed new branch is accepted: {err}");
    assert!(
        err.contains("2 new commits"),
        "both commits were checked: {err}"
    );
    // Same commits on main: main gains them and judges them by its own rule (issue 16.1),
    // from the facts kept when feature got them, with no cryptography.
    let (code, err) = s.push(&[&format!("{TIP}:refs/heads/main")]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("2 new commits and 0 tags checked, 2 by facts kept from earlier verification"),
        "commits already on feature are judged again for main, from kept facts: {err}"
    );
    // Force push that rewrites main with an unsigned commit on top of BASE: refused.
    let forced = unsigned_commit(&s.work, &[BASE], "rewritten");
    let (code, err) = s.push(&["--force", &format!("{forced}:refs/heads/main")]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains(&format!("remote: {forced} rewritten: object is not signed")),
        "{err}"
    );
    assert_eq!(
        s.ref_of("refs/heads/main").as_deref(),
        Some(TIP),
        "main kept its value"
    );
    // Force push that rewinds main to signed history: accepted.
    let (code, err) = s.push(&["--force", &format!("{MID}:refs/heads/main")]);
    assert_eq!(code, 0, "a rewind to signed history is accepted: {err}");
    assert_eq!(s.ref_of("refs/heads/main").as_deref(), Some(MID));
    // Tags: a lightweight tag on signed history passes, an unsigned annotated tag does not.
    let (code, err) = s.push(&[&format!("{TIP}:refs/tags/light")]);
    assert_eq!(code, 0, "{err}");
    s.work.git(&["tag", "-a", "-m", "release one", "v1", TIP]);
    let (code, err) = s.push(&["refs/tags/v1:refs/tags/v1"]);
    assert_ne!(code, 0, "an unsigned annotated tag is refused: {err}");
    assert!(
        err.contains(" release one: object is not signed (refs/tags/v1,"),
        "the tag object is listed: {err}"
    );
    assert_eq!(s.ref_of("refs/tags/v1"), None, "the tag was not created");
    // Deletion: allowed by default, refused when the rule says so.
    let (code, err) = s.push(&[":refs/heads/feature"]);
    assert_eq!(code, 0, "deleting is allowed by default: {err}");
    assert_eq!(s.ref_of("refs/heads/feature"), None, "the branch is gone");
    s.set_policy(&format!("{BILLY}deletions = \"reject\"\n"));
    let (code, err) = s.push(&[":refs/tags/light"]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains(
            "remote: refs/tags/light: deleting this ref is not allowed (deletions = \"reject\""
        ),
        "{err}"
    );
    assert_eq!(
        s.ref_of("refs/tags/light").as_deref(),
        Some(TIP),
        "the tag stays"
    );
}

#[test]
fn hook_refuses_online_mode_signatures_it_cannot_check_offline() {
    let any = BILLY
        .replace("billy@chainguard.dev", "me@iavael.name")
        .replace(
            "https://accounts.google.com",
            "https://github.com/login/oauth",
        )
        .replace(r#"transparency = "embedded""#, r#"transparency = "any""#);
    let s = Server::with_fixture_base(&any, ONLINE_BASE, &ONLINE_TREES);
    s.install(&["--offline"]);
    assert!(
        std::fs::read_to_string(s.bare.path().join("hooks/pre-receive"))
            .expect("hook")
            .contains("hook pre-receive --offline"),
        "install --offline bakes the flag into the hook"
    );
    s.add_fixtures(&[ONLINE_MID, ONLINE_TIP]);
    let (code, err) = s.push(&[&format!("{ONLINE_TIP}:refs/heads/main")]);
    assert_ne!(
        code, 0,
        "an offline hook cannot prove online-mode signatures, so the push fails closed: {err}"
    );
    assert!(
        err.contains(&format!("remote: {ONLINE_TIP} Fix newline in socket unit: online-mode signature: its transparency log entry must be looked up in Rekor, which --offline does not do (transparency = \"any\"")),
        "the reason says the online check is switched off: {err}"
    );
    assert!(
        err.contains("remote: Hint: sign in gitsign's offline Rekor mode"),
        "{err}"
    );
    s.set_policy(&any.replace(r#"transparency = "any""#, r#"transparency = "embedded""#));
    let (code, err) = s.push(&[&format!("{ONLINE_TIP}:refs/heads/main")]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("no transparency log entry is embedded in the signature"),
        "{err}"
    );
    assert_eq!(
        s.ref_of("refs/heads/main").as_deref(),
        Some(ONLINE_BASE),
        "main did not move"
    );
}

#[test]
fn hook_accepts_old_unsigned_history_up_to_a_cutoff_commit_and_checks_merges() {
    let s = Server::new(BILLY);
    let a = unsigned_commit(&s.work, &[], "legacy a");
    let b = unsigned_commit(&s.work, &[&a], "legacy b");
    s.set_policy(&format!("{BILLY}unsigned-before = \"{b}\"\n"));
    let (code, err) = s.push(&[&format!("{b}:refs/heads/main")]);
    assert_eq!(
        code, 0,
        "history up to the cutoff is accepted unchecked: {err}"
    );
    assert!(err.contains("2 older commits accepted unchecked"), "{err}");
    let side = unsigned_commit(&s.work, &[&a], "side");
    let merge = unsigned_commit(&s.work, &[&b, &side], "merge side");
    let (code, err) = s.push(&[&format!("{merge}:refs/heads/main")]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains(&format!("remote: {merge} merge side: object is not signed")),
        "the merge is checked: {err}"
    );
    assert!(
        err.contains(&format!("remote: {side} side: object is not signed")),
        "its second parent too: {err}"
    );
    assert!(
        !err.contains(&a) && !err.contains(&b),
        "old history is not listed: {err}"
    );
    assert_eq!(s.ref_of("refs/heads/main").as_deref(), Some(b.as_str()));
}

#[test]
fn hook_refuses_every_push_while_the_policy_is_invalid() {
    let s = Server::new(BILLY);
    s.set_policy("default = \"reject\"\n[[rule]]\nrefs = [\"refs/heads/main\"]\nidentites = [\"alice@example.com\"]\n");
    let tip = unsigned_commit(&s.work, &[], "anything");
    let (code, err) = s.push(&[&format!("{tip}:refs/heads/main")]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains(&format!(
            "remote: gitsign: error: invalid policy file '{}' at line 4, column 1: unknown field `identites`",
            s.policy_path().display()
        )),
        "file, line and problem are named: {err}"
    );
    assert_eq!(s.ref_of("refs/heads/main"), None);
    std::fs::remove_file(s.policy_path()).expect("remove policy");
    let (code, err) = s.push(&[&format!("{tip}:refs/heads/main")]);
    assert_ne!(code, 0, "a missing policy refuses too: {err}");
    assert!(err.contains("reading the policy file"), "{err}");
}

#[test]
fn hook_reads_pushed_objects_from_the_quarantine_directories() {
    let s = Server::with_fixture_base(BILLY, BASE, &TREES);
    // A quarantine-like object directory holding only the pushed commits.
    let q = tempfile::tempdir().expect("temp dir");
    let (code, _, err) = output(
        hermetic("git", q.path())
            .args(["init", "-q", "--bare"])
            .arg(q.path()),
    );
    assert_eq!(code, 0, "{err}");
    for sha in [MID, TIP] {
        let file = q.path().join("raw");
        std::fs::write(&file, util::read(&format!("gitsign-commits/{sha}.commit"))).expect("write");
        let (code, _, err) = output(hermetic("git", q.path()).current_dir(q.path()).args([
            "hash-object",
            "-t",
            "commit",
            "-w",
            "--literally",
            "raw",
        ]));
        assert_eq!(code, 0, "{err}");
    }
    let (code, _, _) = output(
        hermetic("git", s.bare.path())
            .current_dir(s.bare.path())
            .args(["cat-file", "-e", TIP]),
    );
    assert_ne!(code, 0, "the pushed commit is not in the main object store");
    let hook = |quarantine: bool| {
        let mut cmd = hermetic(gitsign_bin(), s.bare.path());
        cmd.current_dir(s.bare.path())
            .env("GIT_DIR", ".")
            .env("GITSIGN_TRUSTED_ROOT", trust_root())
            .args(["hook", "pre-receive"]);
        if quarantine {
            cmd.env("GIT_OBJECT_DIRECTORY", q.path().join("objects"))
                .env(
                    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                    s.bare.path().join("objects"),
                );
        }
        run_with_stdin(cmd, format!("{BASE} {TIP} refs/heads/main\n").as_bytes())
    };
    let (code, _, err) = hook(true);
    assert_eq!(code, 0, "objects are found in GIT_OBJECT_DIRECTORY: {err}");
    assert!(err.contains("2 new commits"), "{err}");
    let (code, _, err) = hook(false);
    assert_eq!(
        code, 2,
        "without the quarantine the objects are missing and nothing is decided: {err}"
    );
    assert!(err.contains(&format!("object {TIP} is missing")), "{err}");
    // The update hook takes the same decision for one ref.
    let mut cmd = hermetic(gitsign_bin(), s.bare.path());
    cmd.current_dir(s.bare.path())
        .env("GITSIGN_TRUSTED_ROOT", trust_root())
        .env("GIT_OBJECT_DIRECTORY", q.path().join("objects"))
        .env(
            "GIT_ALTERNATE_OBJECT_DIRECTORIES",
            s.bare.path().join("objects"),
        )
        .args(["hook", "update", "refs/heads/other", BASE, TIP]);
    let (code, _, err) = output(&mut cmd);
    assert_eq!(code, 0, "the update hook accepts the signed commits: {err}");
}

/// Issue 12: the configuration and the objects come from one discovery with git's rules.
/// `GIT_DIR` names the repository even when the current directory lies in another one; the
/// hook used to read its objects from the repository around the current directory.
#[test]
fn hook_reads_the_objects_of_the_repository_git_dir_names() {
    let s = Server::with_fixture_base(BILLY, BASE, &TREES);
    for sha in [MID, TIP] {
        let file = s.bare.path().join("raw");
        std::fs::write(&file, util::read(&format!("gitsign-commits/{sha}.commit"))).expect("write");
        s.bare_git(&["hash-object", "-t", "commit", "-w", "--literally", "raw"]);
        std::fs::remove_file(&file).expect("remove");
    }
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let (code, _, err) = output(
        hermetic("git", elsewhere.path())
            .args(["init", "-q"])
            .arg(elsewhere.path()),
    );
    assert_eq!(code, 0, "{err}");
    let hook = |git_dir: Option<&Path>| {
        let mut cmd = hermetic(gitsign_bin(), s.bare.path());
        cmd.current_dir(elsewhere.path())
            .env("GITSIGN_TRUSTED_ROOT", trust_root())
            .args(["hook", "pre-receive"]);
        if let Some(dir) = git_dir {
            cmd.env("GIT_DIR", dir);
        }
        run_with_stdin(cmd, format!("{BASE} {TIP} refs/heads/main\n").as_bytes())
    };
    let (code, _, err) = hook(Some(s.bare.path()));
    assert_eq!(
        code, 0,
        "the pushed commits are read from GIT_DIR's repository, not the one around the current directory: {err}"
    );
    assert!(err.contains("2 new commits"), "{err}");
    let (code, _, err) = hook(None);
    assert_eq!(
        code, 2,
        "without GIT_DIR the repository around the current directory is used, which lacks the commits: {err}"
    );
}

#[test]
fn hook_install_writes_an_executable_hook_and_keeps_foreign_hooks() {
    let bare = tempfile::tempdir().expect("temp dir");
    let git = |args: &[&str]| {
        output(
            hermetic("git", bare.path())
                .current_dir(bare.path())
                .args(args),
        )
    };
    assert_eq!(git(&["init", "-q", "--bare", "."]).0, 0);
    let policy = bare.path().join("p.toml");
    std::fs::write(
        &policy,
        "[[rule]]\nrefs = ['refs/heads/main']\nissuers = ['x']\n",
    )
    .expect("write");
    let install = |extra: &[&str]| {
        output(
            hermetic(gitsign_bin(), bare.path())
                .args(["hook", "install", "--policy"])
                .arg(&policy)
                .args(extra)
                .arg(bare.path()),
        )
    };
    let (code, _, err) = install(&[]);
    assert_eq!(
        code, 2,
        "an invalid policy is refused at install time: {err}"
    );
    assert!(
        err.contains(
            "at line 2, column 8: rule has no identity: set identities or identity-regexps"
        ),
        "{err}"
    );
    std::fs::write(&policy, BILLY).expect("write");
    let (code, _, err) = install(&[]);
    assert_eq!(code, 0, "{err}");
    let hook_path = bare.path().join("hooks/pre-receive");
    let script = std::fs::read_to_string(&hook_path).expect("hook written");
    assert!(script.starts_with("#!/bin/sh\n"), "{script}");
    assert!(
        script.contains(&format!("hook pre-receive --policy '{}'", policy.display())),
        "the policy path is baked in: {script}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&hook_path)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "the hook is executable");
    }
    std::fs::write(&hook_path, "#!/bin/sh\nexit 0\n").expect("foreign hook");
    let (code, _, err) = install(&[]);
    assert_eq!(code, 1, "a foreign hook is kept: {err}");
    assert!(err.contains("--force"), "{err}");
    let (code, _, err) = install(&["--force"]);
    assert_eq!(code, 0, "{err}");
    assert!(Path::new(&hook_path).exists());
}

/// A policy for the stack's identity on every branch and tag, with `transparency` and the
/// unsigned base commit `online_commits` makes accepted as old history.
fn stack_policy(stack: &Stack, transparency: &str, base: &str) -> String {
    format!(
        r#"
default = "reject"
[[rule]]
refs = ["refs/heads/*", "refs/tags/*"]
identities = ["{IDENTITY}"]
issuers = ["{}"]
transparency = "{transparency}"
unsigned-before = "{base}"
"#,
        stack.oidc_issuer()
    )
}

/// A server whose work repository holds `n` online-mode signed commits on an unsigned base;
/// returns the server, the commit ids (oldest first) and the base.
fn online_server(stack: &Stack, n: usize, transparency: &str) -> (Server, Vec<String>, String) {
    let s = Server::new("");
    let ids = online_commits(&s.work, stack, n, "hook");
    let base = s.work.git(&["rev-parse", &format!("{}^", ids[0])]);
    let base = base.trim().to_owned();
    s.set_policy(&stack_policy(stack, transparency, &base));
    (s, ids, base)
}

fn rekor_requests(stack: &Stack) -> u64 {
    stack.service_request_count(Service::Rekor)
}

#[test]
fn hook_proves_online_mode_commits_and_tags_by_rekor_lookups_and_keeps_the_proofs() {
    let local = util::start_stack();
    let stack = &local.stack;
    let (s, ids, _) = online_server(stack, 3, "online");
    // An annotated tag signed in online mode too.
    let mut tag = s.work.cmd("git");
    tag.args(["-c", "gpg.format=x509", "-c"])
        .arg(format!("gpg.x509.program={}", gitsign_bin().display()))
        .args(["tag", "-s", "-m", "release one", "v1"])
        .env("GITSIGN_REKOR_MODE", "online")
        .env("SIGSTORE_ID_TOKEN", stack.mint_token(IDENTITY));
    stack_env(&mut tag, stack);
    let (code, _, err) = output(&mut tag);
    assert_eq!(code, 0, "git tag -s in online mode: {err}");
    let tag_id = s.work.git(&["rev-parse", "v1"]).trim().to_owned();

    let before = rekor_requests(stack);
    let (code, err) = s.push_via(
        stack,
        &["HEAD:refs/heads/release", "refs/tags/v1:refs/tags/v1"],
        &[],
    );
    assert_eq!(
        code, 0,
        "online-mode commits and tags are proven by Rekor lookups and accepted: {err}"
    );
    assert!(
        err.contains("remote: gitsign: push accepted: 3 new commits and 1 tag checked, 1 older commits accepted unchecked (unsigned-before); online-mode signatures proven by 0 kept proofs and 4 Rekor lookups"),
        "the summary says how the online-mode signatures were proven: {err}"
    );
    assert!(
        rekor_requests(stack) > before,
        "the hook asked Rekor: {err}"
    );
    assert_eq!(
        s.ref_of("refs/heads/release").as_deref(),
        ids.last().map(String::as_str)
    );
    for id in ids.iter().chain([&tag_id]) {
        assert!(
            s.proof_path(id).is_file(),
            "the proof of {id} is kept in the receiving repository"
        );
    }

    // Reachable commits are not checked again: the same commits on another branch.
    let before = rekor_requests(stack);
    let (code, err) = s.push_via(stack, &["HEAD:refs/heads/copy"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 new commits"), "nothing is new: {err}");
    // Unreachable again (refs deleted), the commits are new and are proven from the kept
    // proofs alone.
    let (code, err) = s.push_via(
        stack,
        &[":refs/heads/release", ":refs/heads/copy", ":refs/tags/v1"],
        &[],
    );
    assert_eq!(code, 0, "deletions are allowed: {err}");
    let (code, err) = s.push_via(stack, &["HEAD:refs/heads/again"], &[]);
    assert_eq!(code, 0, "the re-push is accepted: {err}");
    assert!(
        err.contains("3 new commits and 0 tags checked")
            && err.contains("3 by facts kept from earlier verification"),
        "the commits were judged again, from their kept facts: {err}"
    );
    // Without the facts, the kept proofs decide.
    let (code, err) = s.push_via(stack, &[":refs/heads/again"], &[]);
    assert_eq!(code, 0, "{err}");
    std::fs::remove_file(s.bare.path().join("gitsign/facts.log")).expect("drop the facts");
    let (code, err) = s.push_via(stack, &["HEAD:refs/heads/other"], &[]);
    assert_eq!(code, 0, "the re-push is accepted: {err}");
    assert!(
        err.contains("3 new commits and 0 tags checked")
            && err.contains("proven by 3 kept proofs and 0 Rekor lookups"),
        "the commits were checked again, from the kept proofs: {err}"
    );
    assert_eq!(
        rekor_requests(stack),
        before,
        "neither push needed a Rekor request"
    );

    // A later `gitsign verify` on the server is offline too.
    let mut verify = hermetic(gitsign_bin(), s.bare.path());
    verify
        .current_dir(s.bare.path())
        .args(["verify", "--offline", "--certificate-identity", IDENTITY])
        .arg("--certificate-oidc-issuer")
        .arg(stack.oidc_issuer())
        .arg(format!("{}..refs/heads/other", ids[0]));
    stack_env(&mut verify, stack);
    let (code, out, err) = output(&mut verify);
    assert_eq!(
        code, 0,
        "gitsign verify --offline in the receiving repository uses the hook's proofs: {out}{err}"
    );
    assert_eq!(rekor_requests(stack), before, "still no Rekor request");
}

#[test]
fn hook_embedded_rule_refuses_online_mode_signatures_even_when_rekor_has_the_entry() {
    let local = util::start_stack();
    let stack = &local.stack;
    let (s, ids, base) = online_server(stack, 2, "embedded");
    let tip = ids.last().expect("two commits");

    let before = rekor_requests(stack);
    let (code, err) = s.push_via(stack, &["HEAD:refs/heads/main"], &[]);
    assert_ne!(code, 0, "embedded refuses online-mode signatures: {err}");
    assert!(
        err.contains(&format!(
            "remote: {tip} hook 1: no transparency log entry is embedded in the signature (online-mode signature), and the rule requires one (transparency = \"embedded\")"
        )),
        "the reason names the rule's requirement: {err}"
    );
    assert_eq!(
        rekor_requests(stack),
        before,
        "no lookup is made when no rule could use it"
    );

    // main needs embedded entries, other branches admit online ones: one push of the same
    // commits to both makes the hook look them up, and main still refuses them.
    let issuer = stack.oidc_issuer();
    s.set_policy(&format!(
        r#"
[[rule]]
refs = ["refs/heads/main"]
identities = ["{IDENTITY}"]
issuers = ["{issuer}"]
transparency = "embedded"
unsigned-before = "{base}"
[[rule]]
refs = ["refs/heads/*"]
identities = ["{IDENTITY}"]
issuers = ["{issuer}"]
transparency = "online"
unsigned-before = "{base}"
"#
    ));
    let (code, err) = s.push_via(
        stack,
        &["HEAD:refs/heads/main", "HEAD:refs/heads/feature"],
        &[],
    );
    assert_ne!(code, 0, "{err}");
    assert!(
        rekor_requests(stack) > before,
        "the feature rule made the hook ask Rekor: {err}"
    );
    assert!(
        err.contains(&format!(
            "remote: {tip} hook 1: online-mode signature: its transparency log entry was found in Rekor, not embedded in the signature, and the rule requires an embedded one (transparency = \"embedded\") (refs/heads/main,"
        )),
        "main's rule refuses the entry Rekor had: {err}"
    );
    assert!(
        !err.contains("(refs/heads/feature,"),
        "the feature rule accepts the same commits: {err}"
    );
    assert_eq!(s.ref_of("refs/heads/main"), None, "main was not created");
    assert_eq!(
        s.ref_of("refs/heads/feature"),
        None,
        "pre-receive refuses the whole push"
    );
}

#[test]
fn hook_refuses_online_mode_signatures_when_rekor_fails() {
    let local = util::start_stack();
    let stack = &local.stack;
    let (s, ids, _) = online_server(stack, 2, "online");
    stack.set_faults(
        Service::Rekor,
        Faults {
            status: Some(500),
            ..Faults::default()
        },
    );
    let before = rekor_requests(stack);
    let (code, err) = s.push_via(stack, &["HEAD:refs/heads/main"], &[]);
    assert_ne!(
        code, 0,
        "a failing Rekor refuses the push (fail closed): {err}"
    );
    assert!(rekor_requests(stack) > before, "Rekor was asked: {err}");
    let rekor = stack.rekor_url();
    for (i, id) in ids.iter().enumerate() {
        let line = err
            .lines()
            .find(|l| l.starts_with(&format!("remote: {id} hook {i}: ")))
            .unwrap_or_else(|| panic!("a line for {id}: {err}"));
        assert!(
            line.contains(&format!(
                "online-mode signature: Rekor lookup at {rekor} failed: "
            )) && line.contains("500"),
            "the reason names Rekor and its error: {line}"
        );
    }
    assert!(
        err.contains("2 of 2 objects refused"),
        "nothing is accepted: {err}"
    );
    assert!(
        err.contains("remote: Hint: check gitsign.rekor (GITSIGN_REKOR_URL) and the network from the git server to Rekor"),
        "the hint says what to check: {err}"
    );
    assert_eq!(s.ref_of("refs/heads/main"), None, "main was not created");
    assert!(
        !s.bare.path().join("gitsign/proofs").exists(),
        "no proof is kept"
    );
}

#[test]
fn hook_offline_never_contacts_rekor_but_uses_kept_proofs() {
    let local = util::start_stack();
    let stack = &local.stack;
    let (s, ids, _) = online_server(stack, 2, "online");
    let tip = ids.last().expect("two commits");
    s.install(&["--offline"]);

    let before = rekor_requests(stack);
    let (code, err) = s.push_via(stack, &["HEAD:refs/heads/main"], &[]);
    assert_ne!(
        code, 0,
        "an offline hook refuses online-mode signatures: {err}"
    );
    assert!(
        err.contains(&format!(
            "remote: {tip} hook 1: online-mode signature: its transparency log entry must be looked up in Rekor, which --offline does not do (transparency = \"online\")"
        )),
        "the reason says the hook is offline: {err}"
    );
    assert!(
        err.contains("remote: Hint: sign in gitsign's offline Rekor mode"),
        "{err}"
    );
    assert_eq!(rekor_requests(stack), before, "Rekor was never contacted");
    assert_eq!(s.ref_of("refs/heads/main"), None);

    // The update hook takes the same flag.
    std::fs::remove_file(s.bare.path().join("hooks/pre-receive")).expect("remove pre-receive");
    let update = s.bare.path().join("hooks/update");
    std::fs::write(
        &update,
        format!(
            "#!/bin/sh\nexec '{}' hook update --offline \"$1\" \"$2\" \"$3\"\n",
            gitsign_bin().display()
        ),
    )
    .expect("write update hook");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&update, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let (code, err) = s.push_via(stack, &["HEAD:refs/heads/main"], &[]);
    assert_ne!(code, 0, "the update hook refuses too: {err}");
    assert!(err.contains("which --offline does not do"), "{err}");
    assert_eq!(rekor_requests(stack), before, "Rekor was never contacted");
    std::fs::remove_file(&update).expect("remove update hook");

    // Proofs kept by an earlier online check let an offline hook decide.
    s.install(&[]);
    let (code, err) = s.push_via(stack, &["HEAD:refs/heads/topic"], &[]);
    assert_eq!(code, 0, "online, the hook proves and keeps: {err}");
    let (code, err) = s.push_via(stack, &[":refs/heads/topic"], &[]);
    assert_eq!(code, 0, "{err}");
    s.install(&["--offline"]);
    std::fs::remove_file(s.bare.path().join("gitsign/facts.log"))
        .expect("drop the facts, so the proofs decide");
    let before = rekor_requests(stack);
    let (code, err) = s.push_via(stack, &["HEAD:refs/heads/topic"], &[]);
    assert_eq!(code, 0, "offline, the kept proofs are enough: {err}");
    assert!(
        err.contains("proven by 2 kept proofs and 0 Rekor lookups"),
        "{err}"
    );
    assert_eq!(rekor_requests(stack), before, "Rekor was never contacted");
}

/// BILLY for main, and a rule for `extra_refs` that admits `extra_identity`.
fn two_rules(main_identity: &str, extra_refs: &str, extra_identity: &str) -> String {
    format!(
        r#"
default = "allow"
[[rule]]
refs = ["refs/heads/main"]
identities = ["{main_identity}"]
issuers = ["https://accounts.google.com"]
transparency = "embedded"
[[rule]]
refs = [{extra_refs}]
identity-regexps = ['{extra_identity}']
issuers = ["https://accounts.google.com"]
"#
    )
}

#[test]
fn hook_judges_commits_carried_by_a_lax_ref_again_when_main_gains_them() {
    // Issue 16.1: a commit main's rule refuses was accepted on main once any other ref held it
    // (only commits new to the repository were checked).
    let s = Server::with_fixture_base(
        &two_rules("alice@example.com", r#""refs/notes/*""#, ".*"),
        BASE,
        &TREES,
    );
    s.add_fixtures(&[MID, TIP]);
    // Through a refs/notes/* rule that admits any signer.
    let (code, err) = s.push(&[&format!("{TIP}:refs/notes/carrier")]);
    assert_eq!(code, 0, "the notes rule admits billy: {err}");
    let (code, err) = s.push(&[&format!("{TIP}:refs/heads/main")]);
    assert_ne!(code, 0, "main's rule still refuses billy's commits: {err}");
    assert!(
        err.contains(&format!("remote: {TIP} config: allow enableSigstoreGo with any Rekor mode: identity mismatch: certificate names 'billy@chainguard.dev', policy wants 'alice@example.com' (refs/heads/main,")),
        "main judges what it gains by its own rule: {err}"
    );
    assert!(err.contains("2 of 2 objects refused"), "{err}");
    assert_eq!(
        s.ref_of("refs/heads/main").as_deref(),
        Some(BASE),
        "main did not move"
    );

    // Through a ref no rule matches, under default = "allow".
    let unsigned = unsigned_commit(&s.work, &[BASE], "unsigned on a scratch ref");
    let (code, err) = s.push(&[&format!("{unsigned}:refs/scratch/x")]);
    assert_eq!(
        code, 0,
        "default = allow lets the scratch ref through: {err}"
    );
    let (code, err) = s.push(&[&format!("{unsigned}:refs/heads/main")]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains(&format!(
            "remote: {unsigned} unsigned on a scratch ref: object is not signed (refs/heads/main,"
        )),
        "{err}"
    );
    assert_eq!(
        s.ref_of("refs/heads/main").as_deref(),
        Some(BASE),
        "main did not move"
    );
}

#[test]
fn hook_judges_a_new_ref_by_its_rule_even_for_commits_already_on_main() {
    // Issue 16.1: billy's commits, accepted on main, cannot be pushed to a ref whose rule
    // wants only eve (before: 0 new commits, accepted).
    let s = Server::with_fixture_base(
        &two_rules(
            "billy@chainguard.dev",
            r#""refs/heads/release/*", "refs/tags/*""#,
            "^eve@example\\.com$",
        ),
        BASE,
        &TREES,
    );
    s.add_fixtures(&[MID, TIP]);
    let (code, err) = s.push(&[&format!("{TIP}:refs/heads/main")]);
    assert_eq!(code, 0, "main's rule admits billy: {err}");
    // Each refusal verifies BASE (main never had to) and keeps no fact of it: a refused push
    // keeps no facts; MID's and TIP's, from main's accepted push, serve both.
    for (target, known) in [("refs/heads/release/1", 2), ("refs/tags/v1", 2)] {
        let (code, err) = s.push(&[&format!("{TIP}:{target}")]);
        assert_ne!(code, 0, "{target} wants eve: {err}");
        assert!(
            err.contains(&format!("remote: {TIP} config: allow enableSigstoreGo with any Rekor mode: identity mismatch: certificate names 'billy@chainguard.dev'"))
                && err.contains(&format!("({target},")),
            "the new ref's rule judges commits main already holds: {err}"
        );
        assert!(
            err.contains("3 of 3 objects refused")
                && err.contains(&format!("{known} by facts kept from earlier verification")),
            "no ref of that rule exists: all history is judged, from the facts main's push kept: {err}"
        );
        assert_eq!(s.ref_of(target), None, "{target} was not created");
    }
}

#[test]
fn hook_refuses_a_protected_ref_that_points_at_a_tree_or_a_blob() {
    // Issue 16.2: `git push srv <tree>:refs/tags/v1.0` passed a "tags must be signed" rule.
    let s = Server::new(BILLY);
    let tree = s
        .work
        .git(&["hash-object", "-t", "tree", "-w", "/dev/null"]);
    let tree = tree.trim();
    let file = s.work.path().join("payload");
    std::fs::write(&file, "unsigned content\n").expect("write");
    let blob = s.work.git(&["hash-object", "-w", "payload"]);
    let blob = blob.trim();
    for (id, kind, name) in [
        (tree, "tree", "refs/tags/v1.0"),
        (blob, "blob", "refs/tags/v1.1"),
    ] {
        let (code, err) = s.push(&[&format!("{id}:{name}")]);
        assert_ne!(
            code, 0,
            "a bare {kind} under a signed-tags rule is refused: {err}"
        );
        assert!(
            err.contains(&format!(
                "remote: {name}: points at a {kind} ({id}), not a signed tag or a commit, and its rule requires signatures ({}:4)",
                s.policy_path().display()
            )),
            "{err}"
        );
        assert!(err.contains("1 ref update refused"), "{err}");
        assert_eq!(s.ref_of(name), None, "{name} was not created");
    }
    // An unsigned annotated tag of the tree is judged by its signature, and refused as unsigned.
    s.work.git(&["tag", "-a", "-m", "tree tag", "tt", tree]);
    let (code, err) = s.push(&["refs/tags/tt:refs/tags/v1.2"]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains(" tree tag: object is not signed (refs/tags/v1.2,"),
        "{err}"
    );
    // Under default = "allow", an unmatched ref may hold anything.
    s.set_policy(&format!(
        "default = \"allow\"\n{}",
        BILLY.replace("default = \"reject\"", "")
    ));
    let (code, err) = s.push(&[&format!("{tree}:refs/trees/x")]);
    assert_eq!(code, 0, "no rule, no signature asked for: {err}");
}

#[test]
fn hook_verifies_against_the_trusted_root_install_writes_or_the_server_config_names() {
    let s = Server::with_fixture_base(BILLY, BASE, &TREES);
    s.add_fixtures(&[MID, TIP]);
    // A trust root without the public-good Rekor: the staging root.
    let staging = util::data("trust/staging-trusted_root.json");
    s.install(&["--trusted-root", &staging.display().to_string()]);
    let script = std::fs::read_to_string(s.bare.path().join("hooks/pre-receive")).expect("hook");
    assert!(
        script.contains(&format!("--trusted-root '{}'", staging.display())),
        "install bakes the trusted root into the hook: {script}"
    );
    // The hook's flag wins over the environment the pusher's git passes on.
    let (code, err) = s.push(&[&format!("{TIP}:refs/heads/main")]);
    assert_ne!(
        code, 0,
        "the staging root does not know public-good's Rekor: {err}"
    );
    assert!(
        err.contains("is not in the trusted root"),
        "the reason names the unknown log: {err}"
    );
    assert!(
        err.contains("remote: Hint: the server verifies against its own trusted root: install the hook with `gitsign hook install --trusted-root FILE`, or set git config gitsign.trustedRoot in the receiving repository"),
        "the hint names both ways to set the server's trust: {err}"
    );
    assert!(
        !s.bare.path().join("gitsign/facts.log").exists(),
        "nothing is kept for refused objects"
    );
    s.install(&["--trusted-root", &trust_root().display().to_string()]);
    let (code, err) = s.push_with_root(None, &[&format!("{MID}:refs/heads/main")]);
    assert_eq!(code, 0, "the public-good root from install: {err}");

    // Without the flag, gitsign.trustedRoot in the server repository.
    s.install(&[]);
    s.bare_git(&[
        "config",
        "gitsign.trustedRoot",
        &staging.display().to_string(),
    ]);
    let (code, err) = s.push_with_root(None, &[&format!("{TIP}:refs/heads/main")]);
    assert_ne!(code, 0, "the server's gitsign.trustedRoot is used: {err}");
    assert!(err.contains("is not in the trusted root"), "{err}");
    s.bare_git(&[
        "config",
        "gitsign.trustedRoot",
        &trust_root().display().to_string(),
    ]);
    let (code, err) = s.push_with_root(None, &[&format!("{TIP}:refs/heads/main")]);
    assert_eq!(code, 0, "{err}");

    // An unreadable trusted root is refused at install time.
    let (code, _, err) = output(
        hermetic(gitsign_bin(), s.bare.path())
            .args([
                "hook",
                "install",
                "--force",
                "--trusted-root",
                "/nonexistent/root.json",
            ])
            .arg(s.bare.path()),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("reading the trusted root '/nonexistent/root.json'"),
        "{err}"
    );
}

#[test]
fn hook_keeps_verified_facts_and_ignores_hostile_fact_files() {
    let policy = two_rules("billy@chainguard.dev", r#""refs/heads/*""#, ".*");
    let s = Server::with_fixture_base(&policy, BASE, &TREES);
    s.add_fixtures(&[MID, TIP]);
    let (code, err) = s.push(&[&format!("{TIP}:refs/heads/main")]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("by facts kept"), "first verification: {err}");
    // One store for every command: the hook keeps its facts where `gitsign verify` does.
    let store = s.bare.path().join("gitsign/facts.log");
    let facts = kept_facts(&s);
    for id in [MID, TIP] {
        let fact = facts
            .iter()
            .find(|f| f["object"] == id)
            .unwrap_or_else(|| panic!("a fact for {id}: {facts:?}"));
        assert!(
            fact.to_string().contains("billy@chainguard.dev"),
            "the fact names the signer: {fact}"
        );
    }
    let (code, _, out) = output(
        hermetic("git", s.bare.path())
            .current_dir(s.bare.path())
            .args(["for-each-ref", "--format=%(refname)"]),
    );
    assert_eq!(code, 0);
    assert!(!out.contains("facts"), "facts are no ref: {out}");

    // A FIFO, then a symlink to /dev/zero, in place of the store: ignored with a warning, the
    // commits verified. copy's rule (refs/heads/*) governs no ref yet: it gains all history,
    // BASE included.
    std::fs::remove_file(&store).expect("remove");
    let (code, _, err) = output(std::process::Command::new("mkfifo").arg(&store));
    assert_eq!(code, 0, "mkfifo: {err}");
    for planted in ["FIFO", "/dev/zero"] {
        if planted == "/dev/zero" {
            let (code, err) = s.push(&[":refs/heads/copy"]);
            assert_eq!(code, 0, "copy deleted, to gain all history again: {err}");
            std::os::unix::fs::symlink("/dev/zero", &store).expect("symlink");
        }
        let (code, err) = s.push(&[&format!("{TIP}:refs/heads/copy")]);
        assert_eq!(
            code, 0,
            "{planted}: the hook neither blocks nor trusts planted files: {err}"
        );
        assert!(
            err.contains("3 new commits and 0 tags checked") && !err.contains("by facts kept"),
            "{planted}: the planted file is no store: the commits were verified: {err}"
        );
        assert_eq!(
            err.matches("ignoring the kept facts").count(),
            1,
            "{planted}: one warning: {err}"
        );
        assert!(
            kept_facts(&s).iter().any(|f| f["object"] == TIP),
            "{planted}: the store is written anew"
        );
        std::fs::remove_file(&store).expect("remove");
    }
}

/// Unusable Rekor lookup settings follow the rule of every verifying command: they decide only
/// the objects that need a lookup — refused here, each naming the setting — without asking
/// Rekor, and the rest of the push is judged as usual.
#[test]
fn hook_refuses_online_mode_signatures_naming_an_invalid_rekor_setting() {
    let local = util::start_stack();
    let stack = &local.stack;
    let (s, ids, _) = online_server(stack, 2, "online");
    let before = rekor_requests(stack);
    let (code, err) = s.push_via(
        stack,
        &["HEAD:refs/heads/main"],
        &[("GITSIGN_REKOR_CONCURRENCY", "many")],
    );
    assert_ne!(code, 0, "online-mode commits cannot be proven: {err}");
    assert_eq!(rekor_requests(stack), before, "Rekor is not asked: {err}");
    for id in &ids {
        let line = err
            .lines()
            .find(|l| l.starts_with(&format!("remote: {id} ")))
            .unwrap_or_else(|| panic!("a line for {id}: {err}"));
        assert!(
            line.contains("GITSIGN_REKOR_CONCURRENCY") && line.contains("many"),
            "the setting and its value are named: {line}"
        );
    }
    assert!(err.contains("2 of 2 objects refused"), "{err}");
    assert_eq!(s.ref_of("refs/heads/main"), None, "main was not created");
}

/// Every fact in the receiving repository's store (`gitsign/facts.log`: one
/// `<checksum> <key> <json>` record a line), as JSON.
fn kept_facts(s: &Server) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(s.bare.path().join("gitsign/facts.log")).unwrap_or_default();
    text.lines()
        .map(|line| {
            let json = line.splitn(3, ' ').nth(2).unwrap_or_default();
            serde_json::from_str(json).unwrap_or_else(|e| panic!("a whole fact: {e}: {line}"))
        })
        .collect()
}

/// Regression (hostile review): the hook kept verified facts for the objects of refused
/// pushes, which git discards, so a pusher could grow the store without bound by pushing
/// validly signed commits that the policy refuses. Facts are kept for accepted pushes only.
#[test]
fn hook_keeps_no_facts_for_a_refused_push() {
    let policy = BILLY.replace("billy@chainguard.dev", "someone-else@example.com");
    let s = Server::with_fixture_base(&policy, BASE, &TREES);
    s.add_fixtures(&[MID, TIP]);
    let (code, err) = s.push(&[&format!("{TIP}:refs/heads/main")]);
    assert_ne!(code, 0, "the policy refuses billy's commits: {err}");
    assert_eq!(
        s.ref_of("refs/heads/main").as_deref(),
        Some(BASE),
        "main stays at BASE"
    );
    assert_eq!(
        kept_facts(&s),
        Vec::<serde_json::Value>::new(),
        "no facts for the objects of a refused push"
    );
    s.set_policy(BILLY);
    let (code, err) = s.push(&[&format!("{TIP}:refs/heads/main")]);
    assert_eq!(code, 0, "accepted under billy's policy: {err}");
    let mut objects: Vec<String> = kept_facts(&s)
        .iter()
        .map(|f| f["object"].as_str().unwrap_or_default().to_owned())
        .collect();
    objects.sort_unstable();
    let mut want = [MID, TIP];
    want.sort_unstable();
    assert_eq!(objects, want, "facts for MID and TIP once accepted");
}

/// Regression (hostile review): `gitsign hook install ../repo` failed (the repository
/// discovery panicked on a relative path that climbs).
#[test]
fn hook_install_takes_a_relative_path() {
    let top = tempfile::tempdir().expect("temp dir");
    let bare = top.path().join("repo.git");
    let work = top.path().join("work");
    std::fs::create_dir(&work).expect("dir");
    let (code, _, err) = output(
        hermetic("git", top.path())
            .current_dir(top.path())
            .args(["init", "-q", "--bare", "repo.git"]),
    );
    assert_eq!(code, 0, "git init: {err}");
    for rel in ["../repo.git", "../repo.git/", "../work/../repo.git"] {
        let (code, _, err) = output(
            hermetic(gitsign_bin(), top.path())
                .current_dir(&work)
                .args(["hook", "install", "--force", rel]),
        );
        assert_eq!(code, 0, "gitsign hook install {rel}: {err}");
        let hook = std::fs::read_to_string(bare.join("hooks/pre-receive")).expect("hook written");
        assert!(
            hook.contains("hook pre-receive"),
            "{rel}: the hook runs gitsign: {hook}"
        );
    }
}

/// Twenty pushes at once into one repository with the hook installed — signed history to the
/// same ref and to new refs, unsigned commits to others — are each judged as alone, and the
/// facts they keep are whole, one per verified object, none for the refused objects.
#[test]
fn twenty_parallel_pushes_are_each_judged_and_keep_whole_facts() {
    let s = Server::with_fixture_base(BILLY, BASE, &TREES);
    s.add_fixtures(&[MID, TIP]);
    let unsigned: Vec<String> = (0..6)
        .map(|i| unsigned_commit(&s.work, &[BASE], &format!("unsigned {i}")))
        .collect();
    // (refspec, accepted?)
    let mut pushes: Vec<(String, bool)> = Vec::new();
    for i in 0..7 {
        pushes.push((format!("{TIP}:refs/heads/main"), true));
        pushes.push((format!("{TIP}:refs/heads/b{i}"), true));
    }
    for (i, c) in unsigned.iter().enumerate() {
        pushes.push((format!("{c}:refs/heads/u{i}"), false));
    }
    assert_eq!(pushes.len(), 20, "twenty pushes");
    let results: Vec<(i32, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = pushes
            .iter()
            .map(|(spec, _)| {
                let s = &s;
                scope.spawn(move || s.push(&[spec.as_str()]))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("push thread"))
            .collect()
    });
    for ((spec, accepted), (code, err)) in pushes.iter().zip(&results) {
        if *accepted {
            // Pushes of one value to one ref race: a push that finds the ref already moved
            // has nothing to send (git runs no hook), and one that loses git's ref lock after
            // the hook fails there. The hook's verdict is what is judged here.
            let up_to_date = *code == 0 && err.contains("Everything up-to-date");
            assert!(
                err.contains("gitsign: push accepted") || up_to_date,
                "{spec}: signed as the policy requires, accepted: {err}"
            );
        } else {
            assert_ne!(*code, 0, "{spec}: unsigned, refused: {err}");
            assert!(
                err.contains("gitsign: push rejected"),
                "{spec}: the hook's refusal: {err}"
            );
        }
    }
    assert_eq!(
        s.ref_of("refs/heads/main").as_deref(),
        Some(TIP),
        "main moved to TIP"
    );
    for i in 0..7 {
        assert_eq!(
            s.ref_of(&format!("refs/heads/b{i}")).as_deref(),
            Some(TIP),
            "b{i} created at TIP"
        );
    }
    for i in 0..6 {
        assert_eq!(s.ref_of(&format!("refs/heads/u{i}")), None, "u{i} refused");
    }
    let facts = kept_facts(&s);
    for f in &facts {
        assert!(
            f.to_string().contains("billy@chainguard.dev"),
            "a fact of a signed commit: {f}"
        );
    }
    let named = |id: &str| facts.iter().any(|f| f["object"] == id);
    assert!(named(MID) && named(TIP), "MID and TIP are kept: {facts:?}");
    assert!(
        !unsigned.iter().any(|c| named(c)),
        "nothing of the refused pushes: {facts:?}"
    );
    // Whole records (each line parsed above) that the store itself reads back.
    let (code, err) = s.push(&[&format!("{TIP}:refs/heads/after")]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !err.contains("ignoring the kept facts"),
        "no record was torn by the parallel writers: {err}"
    );
}
