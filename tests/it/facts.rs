//! Kept facts end to end (`<git dir>/gitsign/facts.log`): `gitsign verify` keeps what it
//! proved about real Go gitsign commits (tests/data/real-history/wolfictl) and answers from it
//! the next time with the same verdicts; a changed policy, trust root or waiver is never
//! answered from facts it did not decide (each run is compared with a `--no-facts` run); a
//! rewritten object is verified afresh; a damaged store is ignored with one warning and
//! rebuilt; two verifications writing at once lose nothing; `gitsign facts` prunes and clears.
//! Good OpenPGP and SSH verdicts are kept under the key set's digest: a key removed is never
//! answered from a fact it no longer supports.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{data, hermetic, output};

/// 243 commits of which 22 are gitsign-signed (Go gitsign, public-good, online mode).
const RANGE: &str = "main~200..main";

struct Repo {
    home: tempfile::TempDir,
    dir: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let home = tempfile::tempdir().expect("home");
        let dir = home.path().join("wolfictl.git");
        let src = data("real-history/wolfictl.git");
        for sub in ["", "objects", "objects/pack", "refs/heads", "refs/tags"] {
            std::fs::create_dir_all(dir.join(sub)).expect("dir");
        }
        for f in ["HEAD", "config", "packed-refs"] {
            std::fs::copy(src.join(f), dir.join(f)).expect("copy");
        }
        for entry in std::fs::read_dir(src.join("objects/pack")).expect("pack dir") {
            let entry = entry.expect("entry");
            std::fs::copy(
                entry.path(),
                dir.join("objects/pack").join(entry.file_name()),
            )
            .expect("copy pack");
        }
        Repo { home, dir }
    }

    fn facts(&self) -> PathBuf {
        self.dir.join("gitsign/facts.log")
    }

    fn cmd(&self, program: &str) -> Command {
        let mut c = hermetic(program, self.home.path());
        c.current_dir(&self.dir);
        c
    }

    /// How many commits of `range` a run keeps facts for: every one (unsigned, Sigstore-signed,
    /// and OpenPGP and SSH verdicts, good or by an unknown key, under the key set).
    fn keepable(&self, range: &str) -> usize {
        self.git(&["rev-list", "--count", range])
            .parse()
            .expect("a count")
    }

    fn git(&self, args: &[&str]) -> String {
        let (code, out, err) = output(self.cmd("git").args(args));
        assert_eq!(code, 0, "git {args:?}: {err}");
        out.trim().to_owned()
    }

    /// `gitsign verify` with the test trust root unless `root` names another.
    fn verify(&self, root: &Path, args: &[&str]) -> (i32, String, String) {
        output(
            self.cmd(crate::util::gitsign_bin().to_str().expect("utf-8 path"))
                .env("GITSIGN_TRUSTED_ROOT", root)
                .arg("verify")
                .args(["--offline", "--format", "json"])
                .args(args),
        )
    }
}

fn any_identity() -> [&'static str; 4] {
    [
        "--certificate-identity-regexp",
        ".",
        "--certificate-oidc-issuer-regexp",
        ".",
    ]
}

fn good(out: &str) -> usize {
    out.lines()
        .filter(|l| l.contains("\"verdict\":\"good\""))
        .count()
}

#[test]
fn a_second_verification_answers_from_kept_facts_with_the_same_verdicts() {
    let repo = Repo::new();
    let root = data("trust/trusted_root.json");
    let waived: Vec<&str> = [RANGE, "--insecure-ignore-tlog"]
        .into_iter()
        .chain(any_identity())
        .collect();
    let first = repo.verify(&root, &waived);
    assert_eq!(
        good(&first.1),
        22,
        "the range's signed commits: {}",
        first.2
    );
    let kept = std::fs::read_to_string(repo.facts()).expect("facts kept");
    assert_eq!(
        kept.lines().count(),
        repo.keepable(RANGE),
        "one fact per commit of the range"
    );
    let second = repo.verify(&root, &waived);
    assert_eq!(second, first, "the same exit code, verdicts and messages");
    assert_eq!(
        std::fs::read_to_string(repo.facts()).expect("facts"),
        kept,
        "nothing new to keep"
    );

    // Another policy, trust root or waiver: exactly what a verification without facts says.
    let alice = [
        RANGE,
        "--insecure-ignore-tlog",
        "--certificate-identity",
        "alice@example.com",
        "--certificate-oidc-issuer-regexp",
        ".",
    ];
    let strict: Vec<&str> = [RANGE].into_iter().chain(any_identity()).collect();
    let staging = data("trust/staging-trusted_root.json");
    for (root, args, what) in [
        (&root, &alice[..], "another identity policy"),
        (&root, &strict[..], "the time check no longer waived"),
        (&staging, &waived[..], "another trust root"),
    ] {
        let with_facts = repo.verify(root, args);
        let without: Vec<&str> = args.iter().copied().chain(["--no-facts"]).collect();
        let afresh = repo.verify(root, &without);
        assert_eq!(with_facts, afresh, "{what}: facts change nothing");
        assert_eq!(good(&with_facts.1), 0, "{what}: no commit is good");
    }
}

#[test]
fn a_rewritten_object_is_verified_afresh() {
    let repo = Repo::new();
    let root = data("trust/trusted_root.json");
    let listed = repo.git(&["rev-list", RANGE]);
    let signed = listed
        .lines()
        .find(|c| {
            repo.git(&["cat-file", "commit", c])
                .contains("BEGIN SIGNED MESSAGE")
        })
        .expect("a gitsign-signed commit in the range")
        .to_owned();
    let args: Vec<&str> = [RANGE, "--insecure-ignore-tlog"]
        .into_iter()
        .chain(any_identity())
        .collect();
    let (_, out, _) = repo.verify(&root, &args);
    let line = out
        .lines()
        .find(|l| l.contains(&signed) && l.contains("\"verdict\":\"good\""))
        .map(str::to_owned);
    let Some(line) = line else {
        panic!("{signed} is a good signed commit: {out}");
    };
    assert!(line.contains("good"));
    // The same signature over a changed message: another object, and a bad one.
    let raw = repo.git(&["cat-file", "commit", &signed]) + "\n";
    let changed = raw.replacen("\n\n", "\n\nrewritten: ", 1);
    let mut hash = repo.cmd("git");
    hash.args([
        "hash-object",
        "-t",
        "commit",
        "-w",
        "--stdin",
        "--literally",
    ]);
    let (code, id, err) = crate::util::run_with_stdin(hash, changed.as_bytes());
    assert_eq!(code, 0, "{err}");
    let id = id.trim();
    repo.git(&["update-ref", "refs/heads/rewritten", id]);
    let (code, out, err) = repo.verify(
        &root,
        &[
            &["rewritten", "--insecure-ignore-tlog"][..],
            &any_identity()[..],
        ]
        .concat(),
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("\"code\":\"digest_mismatch\""),
        "the rewritten commit is checked, not taken from its original's fact: {out}"
    );
}

#[test]
fn a_damaged_store_is_ignored_with_one_warning_and_rebuilt() {
    let repo = Repo::new();
    let root = data("trust/trusted_root.json");
    let args: Vec<&str> = [RANGE, "--insecure-ignore-tlog"]
        .into_iter()
        .chain(any_identity())
        .collect();
    let first = repo.verify(&root, &args);
    let kept = std::fs::read_to_string(repo.facts()).expect("facts kept");
    // An edited record: an identity changed after the fact was written.
    let edited = kept.replacen("@chainguard.dev", "@evil.example", 1);
    assert_ne!(edited, kept, "the store names a signer to change");
    std::fs::write(repo.facts(), edited).expect("tamper");
    let (code, out, err) = repo.verify(&root, &args);
    assert_eq!(
        (code, &out),
        (first.0, &first.1),
        "the verdicts of a fresh run"
    );
    assert_eq!(
        err.matches("ignoring the kept facts").count(),
        1,
        "one warning: {err}"
    );
    let rebuilt = std::fs::read_to_string(repo.facts()).expect("facts rebuilt");
    assert_eq!(
        rebuilt.lines().count(),
        repo.keepable(RANGE),
        "rebuilt whole"
    );
    assert!(!rebuilt.contains("@evil.example"));
    let (_, _, err) = repo.verify(&root, &args);
    assert!(!err.contains("ignoring"), "quiet again: {err}");
}

#[test]
fn concurrent_verifications_lose_no_fact_and_facts_are_pruned_and_cleared() {
    let repo = Repo::new();
    let root = data("trust/trusted_root.json");
    let ranges = ["main~200..main", "main~400..main~200"];
    let children: Vec<_> = ranges
        .iter()
        .map(|range| {
            repo.cmd(crate::util::gitsign_bin().to_str().expect("utf-8 path"))
                .env("GITSIGN_TRUSTED_ROOT", &root)
                .args(["verify", "--offline", "--insecure-ignore-tlog", range])
                .args(any_identity())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn gitsign")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("gitsign");
        assert_eq!(out.status.code(), Some(1), "unsigned commits in each range");
    }
    let both = repo.keepable("main~400..main").to_string();
    let kept = std::fs::read_to_string(repo.facts()).expect("facts kept");
    let mut keys: Vec<&str> = kept
        .lines()
        .map(|l| l.split(' ').nth(1).expect("key"))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(
        keys.len().to_string(),
        both,
        "every commit of both ranges has its fact"
    );

    let facts = |args: &[&str]| {
        let (code, _, err) = output(
            repo.cmd(crate::util::gitsign_bin().to_str().expect("utf-8 path"))
                .args(args),
        );
        assert_eq!(code, 0, "{args:?}: {err}");
        err
    };
    // Every object of the facts is in the repository: prune keeps them all.
    let err = facts(&["facts", "prune"]);
    assert!(
        err.contains("dropped 0 fact(s)"),
        "all objects present: {err}"
    );
    let err = facts(&["facts", "clear"]);
    assert!(err.contains("removed"), "{err}");
    assert!(!repo.facts().exists(), "cleared");
    let (_, _, _) = repo.verify(
        &root,
        &[
            &[RANGE, "--insecure-ignore-tlog", "--no-facts"][..],
            &any_identity()[..],
        ]
        .concat(),
    );
    assert!(!repo.facts().exists(), "--no-facts keeps nothing");
}

/// The range's SSH signers as an allowed signers file (principal `dev@example.com`), their
/// keys read from the signatures themselves.
fn ssh_signers_of(repo: &Repo, range: &str) -> String {
    let mut lines = Vec::new();
    for c in repo.git(&["rev-list", range]).lines() {
        let raw = repo.git(&["cat-file", "commit", c]) + "\n";
        let Some(split) = gitsign::git::object::split_commit(
            raw.as_bytes(),
            gitsign::git::object::HashKind::Sha1,
        ) else {
            continue;
        };
        let Ok(sig) = ssh_key::SshSig::from_pem(&split.signature) else {
            continue;
        };
        let key = ssh_key::PublicKey::new(sig.public_key().clone(), "");
        lines.push(format!(
            "dev@example.com {}\n",
            key.to_openssh().expect("an OpenSSH public key")
        ));
    }
    lines.concat()
}

#[test]
fn openpgp_and_ssh_facts_are_kept_under_the_key_set_and_a_removed_key_is_verified_again() {
    let repo = Repo::new();
    let root = data("trust/trusted_root.json");
    let ring = data("keys/github-web-flow.asc");
    let allowed = repo.home.path().join("allowed_signers");
    let signers = ssh_signers_of(&repo, RANGE);
    assert!(!signers.is_empty(), "the range holds an SSH-signed commit");
    std::fs::write(&allowed, &signers).expect("write allowed signers");
    // The same ring less its newer key (GitHub's web-flow key since 2024; the file's first
    // block), and no SSH signer: a key set with keys removed.
    let text = std::fs::read_to_string(&ring).expect("ring");
    let second = text
        .match_indices("-----BEGIN PGP PUBLIC KEY BLOCK-----")
        .nth(1)
        .map(|(i, _)| i)
        .expect("two key blocks");
    let older = repo.home.path().join("older.asc");
    std::fs::write(&older, &text[second..]).expect("write the older key");
    let none = repo.home.path().join("no_signers");
    std::fs::write(&none, "").expect("write no signers");

    let keyed = |ring: &Path, allowed: &Path, extra: &[&str]| -> Vec<String> {
        [RANGE, "--insecure-ignore-tlog", "--openpgp-keys"]
            .iter()
            .map(|s| s.to_string())
            .chain([ring.display().to_string()])
            .chain([
                "--ssh-allowed-signers".into(),
                allowed.display().to_string(),
            ])
            .chain(any_identity().iter().map(|s| s.to_string()))
            .chain(extra.iter().map(|s| s.to_string()))
            .collect()
    };
    let run = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        repo.verify(&root, &args)
    };
    let all = keyed(&ring, &allowed, &[]);
    let first = run(&all);
    let commits = repo.git(&["rev-list", "--count", RANGE]);
    let good_first = good(&first.1);
    assert!(
        good_first > 22 + 1,
        "the Sigstore, web-flow and SSH commits are good: {}",
        first.1
    );
    assert!(
        first.1.contains("\"format\":\"ssh\"") && first.1.contains("\"format\":\"openpgp\""),
        "both keyed formats are in the range: {}",
        first.1
    );
    let kept = std::fs::read_to_string(repo.facts()).expect("facts kept");
    assert_eq!(
        kept.lines().count(),
        repo.keepable(RANGE),
        "a fact for every commit, keyed ones included ({commits} commits)"
    );
    assert!(
        kept.contains("\"keyed\":{\"signer\"")
            && kept.contains("\"principal\":\"dev@example.com\""),
        "OpenPGP and SSH signers are kept: {kept}"
    );
    let second = run(&all);
    assert_eq!(
        second, first,
        "answered from the kept facts, the same verdicts"
    );
    assert_eq!(
        std::fs::read_to_string(repo.facts()).expect("facts"),
        kept,
        "nothing new to keep"
    );

    // Keys removed: exactly what a verification without facts says.
    for (ring, allowed, what) in [
        (&older, &allowed, "the newer OpenPGP key removed"),
        (&ring, &none, "the SSH signer removed"),
    ] {
        let with_facts = run(&keyed(ring, allowed, &[]));
        let afresh = run(&keyed(ring, allowed, &["--no-facts"]));
        assert_eq!(with_facts, afresh, "{what}: kept facts change nothing");
        assert!(
            good(&with_facts.1) < good_first,
            "{what}: its commits are no longer good: {}",
            with_facts.1
        );
    }

    // A tampered keyed fact: the store is ignored with one warning, the verdicts are fresh.
    let now = std::fs::read_to_string(repo.facts()).expect("facts");
    let edited = now.replacen(
        "\"principal\":\"dev@example.com\"",
        "\"principal\":\"mallory\"",
        1,
    );
    assert_ne!(edited, now, "the store names the SSH signer");
    std::fs::write(repo.facts(), edited).expect("tamper");
    let (code, out, err) = run(&all);
    assert_eq!(
        (code, &out),
        (first.0, &first.1),
        "the verdicts of a fresh run"
    );
    assert_eq!(
        err.matches("ignoring the kept facts").count(),
        1,
        "one warning: {err}"
    );
    assert!(!out.contains("mallory"));
}

/// git's `--verify` path (`gitsign --status-fd=1 --verify SIG -`, payload on stdin) keeps one
/// fact per signature and answers from it with the same status lines; the fact is found by
/// the digest of what the trust root is built from, before that root is parsed, so any other
/// byte of the root file, a `fulcioRoot` laid over it, another root or the waiver lifted is
/// never answered from it.
#[test]
fn git_s_path_answers_from_its_fact_only_under_the_same_trust_inputs() {
    let repo = Repo::new();
    let raw = crate::util::read("gitsign-commits/30e099f11647d8f47f25382a730f909e4a1911fd.commit");
    let split = gitsign::git::object::split_commit(&raw, gitsign::git::object::HashKind::Sha1)
        .expect("signed");
    let sig = repo.home.path().join("sig");
    std::fs::write(&sig, &split.signature).expect("write sig");
    let root = data("trust/trusted_root.json");
    let respaced = repo.home.path().join("respaced_root.json");
    let mut bytes = std::fs::read(&root).expect("root");
    bytes.extend_from_slice(b"\n\n");
    std::fs::write(&respaced, bytes).expect("write root");
    let verify = |root: &Path, env: &[(&str, &str)]| {
        let mut cmd = repo.cmd(crate::util::gitsign_bin().to_str().expect("utf-8 path"));
        cmd.env("GITSIGN_TRUSTED_ROOT", root)
            .args(["--status-fd=1", "--verify"])
            .arg(&sig)
            .arg("-");
        for (k, v) in env {
            cmd.env(k, v);
        }
        crate::util::run_with_stdin(cmd, &split.payload)
    };
    let kept = || {
        std::fs::read_to_string(repo.facts())
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };
    let first = verify(&root, &[]);
    assert_eq!(first.0, 0, "good: {}", first.2);
    assert!(first.1.contains("[GNUPG:] GOODSIG "), "{}", first.1);
    assert_eq!(kept(), 1, "the verdict is kept");
    assert_eq!(
        verify(&root, &[]),
        first,
        "answered from the fact, the same"
    );
    assert_eq!(kept(), 1, "nothing new to keep");

    // Other trust inputs: verified again, each verdict kept under its own key.
    let respaced_run = verify(&respaced, &[]);
    assert_eq!(
        respaced_run, first,
        "the same root, other bytes: the same verdict"
    );
    assert_eq!(kept(), 2, "other bytes of the root: verified and kept anew");
    let waived = verify(&root, &[("GITSIGN_INSECURE_IGNORE_TLOG", "true")]);
    assert_eq!(waived.0, 0, "{}", waived.2);
    assert_eq!(kept(), 3, "a waiver: verified and kept anew");
    let staging = verify(&data("trust/staging-trusted_root.json"), &[]);
    assert_ne!(
        staging.0, 0,
        "another root does not trust the signature: {}",
        staging.1
    );
    assert!(!staging.1.contains("GOODSIG"), "{}", staging.1);
    assert_eq!(kept(), 3, "a bad verdict is not kept");
}
