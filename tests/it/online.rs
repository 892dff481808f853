//! Online Rekor mode end to end (issues 5 and 7): commits signed with
//! `gitsign.rekorMode=online` by real git against the local stack, then verified by looking
//! them up in Rekor, from the proof cache, and from git notes carried to another clone.

use sigstore_local::{Faults, Service, Stack};

use crate::util::{gitsign_bin, output, stack_env as sigstore_env, start_stack as start, TestRepo};

pub(crate) const IDENTITY: &str = "dev@example.com";

/// `n` commits signed in online mode on top of an unsigned root commit; returns their ids,
/// oldest first.
pub(crate) fn online_commits(repo: &TestRepo, stack: &Stack, n: usize, tag: &str) -> Vec<String> {
    repo.git(&["commit", "-q", "--allow-empty", "-m", "unsigned base"]);
    let token = stack.mint_token(IDENTITY);
    let mut ids = Vec::new();
    for i in 0..n {
        std::fs::write(repo.path().join("f.txt"), format!("{tag} {i}\n")).expect("write file");
        repo.git(&["add", "f.txt"]);
        let mut cmd = repo.cmd("git");
        cmd.args(["-c", "gpg.format=x509", "-c"])
            .arg(format!("gpg.x509.program={}", gitsign_bin().display()))
            .args(["commit", "-S", "-q", "-m", &format!("{tag} {i}")])
            .env("GITSIGN_REKOR_MODE", "online")
            .env("SIGSTORE_ID_TOKEN", &token);
        sigstore_env(&mut cmd, stack);
        let (code, _, err) = output(&mut cmd);
        assert_eq!(code, 0, "git commit -S in online mode succeeds: {err}");
        ids.push(repo.git(&["rev-parse", "HEAD"]).trim().to_owned());
    }
    ids
}

fn verify(
    repo_dir: &std::path::Path,
    stack: &Stack,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (i32, String, String) {
    let mut cmd = crate::util::hermetic(gitsign_bin(), repo_dir);
    // The proofs (cache, notes, Rekor) are what these tests exercise: kept facts would answer
    // a second verification before any proof is read (tests/it/facts.rs tests them).
    cmd.current_dir(repo_dir)
        .args([
            "verify",
            "--no-facts",
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
            &stack.oidc_issuer(),
        ])
        .args(extra);
    sigstore_env(&mut cmd, stack);
    for (k, v) in env {
        cmd.env(k, v);
    }
    output(&mut cmd)
}

fn rekor_requests(stack: &Stack) -> u64 {
    stack.service_request_count(Service::Rekor)
}

#[test]
fn online_mode_signature_logs_the_commit_id_like_go_gitsign() {
    let local = start();
    let stack = &local.stack;
    let repo = TestRepo::new();
    let ids = online_commits(&repo, stack, 1, "one");
    let raw = repo.git(&["cat-file", "commit", "HEAD"]);
    assert!(
        raw.contains("gpgsig -----BEGIN SIGNED MESSAGE-----"),
        "the commit is signed: {raw}"
    );
    let http = gitsign::http::Http::new(std::time::Duration::from_secs(10));
    let digest = gitsign::encoding::hex(&gitsign::crypto::sha256(ids[0].as_bytes()));
    let uuids =
        gitsign::rekor::search_hash(&http, &stack.rekor_url(), &digest).expect("the index answers");
    assert_eq!(
        uuids.len(),
        1,
        "exactly one entry logs SHA-256 of the hex commit id, as Go gitsign's LegacySHASign does"
    );
    assert_eq!(
        stack.log_size(),
        1,
        "online mode logs only the commit id, not the signed attributes"
    );
    let split =
        gitsign::git::object::split_commit(raw.as_bytes(), gitsign::git::object::HashKind::Sha1)
            .expect("signed");
    let msg = gitsign::cms::parse(&split.signature).expect("CMS parses");
    assert!(
        msg.signer.unsigned_attrs.is_empty(),
        "online mode embeds no log entry in the signature"
    );
}

#[test]
fn online_commits_verify_online_then_from_the_cache_then_from_notes_in_another_clone() {
    let local = start();
    let stack = &local.stack;
    let repo = TestRepo::new();
    let ids = online_commits(&repo, stack, 4, "range");

    let before = rekor_requests(stack);
    let (code, offline_out, err) = verify(repo.path(), stack, &["--offline", "HEAD~4..HEAD"], &[]);
    assert_eq!(
        code, 2,
        "offline, online-mode commits are undecided: {offline_out}{err}"
    );
    assert_eq!(
        offline_out.matches(" undecided ").count(),
        4,
        "every commit is reported undecided: {offline_out}{err}"
    );
    assert_eq!(
        rekor_requests(stack),
        before,
        "--offline never touches the network"
    );
    assert!(
        err.contains("run without --offline"),
        "the hint says how to decide them: {err}"
    );

    let (code, online_out, err) = verify(repo.path(), stack, &["HEAD~4..HEAD"], &[]);
    assert_eq!(
        code, 0,
        "online verification looks every commit up and accepts it: {online_out}{err}"
    );
    assert_eq!(
        online_out.matches(" good ").count(),
        4,
        "four good lines: {online_out}"
    );
    let used = rekor_requests(stack) - before;
    assert!(used <= 5, "one index search per commit plus one batched retrieve, not a GET per commit: {used} requests");
    for id in &ids {
        assert!(
            repo.path()
                .join(".git/gitsign/proofs")
                .join(&id[..2])
                .join(format!("{}.json", &id[2..]))
                .is_file(),
            "the proof of {id} is kept"
        );
    }

    let (code, seq_out, _) = verify(
        repo.path(),
        stack,
        &["HEAD~4..HEAD"],
        &[
            ("RAYON_NUM_THREADS", "1"),
            ("GITSIGN_REKOR_CONCURRENCY", "1"),
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        seq_out, online_out,
        "a sequential run gives the same verdicts in the same order"
    );

    let before = rekor_requests(stack);
    let (code, cached_out, err) = verify(repo.path(), stack, &["--offline", "HEAD~4..HEAD"], &[]);
    assert_eq!(
        code, 0,
        "after one online verification the cache makes --offline good: {cached_out}{err}"
    );
    assert_eq!(
        cached_out, online_out,
        "cached verification prints exactly what online verification printed"
    );
    let (code, json_cached, _) = verify(
        repo.path(),
        stack,
        &["--offline", "--format", "json", "HEAD~4..HEAD"],
        &[],
    );
    assert_eq!(code, 0);
    assert_eq!(
        rekor_requests(stack),
        before,
        "the cache is used without any Rekor request"
    );

    let (code, _, err) = verify(
        repo.path(),
        stack,
        &["--offline", "--attach-proofs", "HEAD~4..HEAD"],
        &[],
    );
    assert_eq!(code, 0, "attaching proofs succeeds: {err}");
    assert!(
        err.contains("attached 4 Rekor proof(s)"),
        "the user is told how many notes were written: {err}"
    );
    let listed = repo.git(&["notes", "--ref=gitsign", "list"]);
    assert_eq!(
        listed.lines().count(),
        4,
        "one note per commit under refs/notes/gitsign: {listed}"
    );
    let (_, _, err) = verify(
        repo.path(),
        stack,
        &["--offline", "--attach-proofs", "HEAD~4..HEAD"],
        &[],
    );
    assert!(
        err.contains("attached 0 Rekor proof(s)"),
        "attaching again adds nothing: {err}"
    );

    // Another clone: no cache, proofs only through the fetched notes.
    let clone = tempfile::tempdir().expect("clone dir");
    let (code, _, err) = output(
        repo.cmd("git")
            .args(["clone", "-q"])
            .arg(repo.path())
            .arg(clone.path()),
    );
    assert_eq!(code, 0, "clone: {err}");
    let mut fetch = crate::util::hermetic("git", clone.path());
    fetch.current_dir(clone.path()).args([
        "fetch",
        "-q",
        "origin",
        "refs/notes/gitsign:refs/notes/gitsign",
    ]);
    let (code, _, err) = output(&mut fetch);
    assert_eq!(code, 0, "the notes can be fetched: {err}");
    assert!(
        !clone.path().join(".git/gitsign").exists(),
        "the clone has no proof cache"
    );
    let before = rekor_requests(stack);
    let (code, notes_out, err) = verify(clone.path(), stack, &["--offline", "HEAD~4..HEAD"], &[]);
    assert_eq!(
        code, 0,
        "notes make the clone's offline verification good: {notes_out}{err}"
    );
    assert_eq!(
        notes_out, online_out,
        "notes-based verification prints what online verification printed"
    );
    let (_, json_notes, _) = verify(
        clone.path(),
        stack,
        &["--offline", "--format", "json", "HEAD~4..HEAD"],
        &[],
    );
    assert_eq!(
        json_notes, json_cached,
        "cached and notes-based JSON results are identical"
    );
    assert_eq!(
        rekor_requests(stack),
        before,
        "no Rekor request in the clone"
    );
}

#[test]
fn rekor_faults_give_a_per_commit_error_and_the_range_finishes() {
    let local = start();
    let stack = &local.stack;
    let repo = TestRepo::new();
    online_commits(&repo, stack, 3, "faults");
    let seq = [("GITSIGN_REKOR_CONCURRENCY", "1"), ("GITSIGN_TIMEOUT", "1")];

    stack.set_faults(
        Service::Rekor,
        Faults {
            status: Some(503),
            ..Faults::default()
        },
    );
    let (code, out, err) = verify(repo.path(), stack, &["HEAD~3..HEAD"], &[]);
    assert_eq!(
        code, 2,
        "a failing Rekor leaves every commit undecided, exit 2: {out}{err}"
    );
    assert_eq!(
        out.lines()
            .filter(|l| l.contains(" undecided ")
                && l.contains("Rekor lookup at")
                && l.contains("503"))
            .count(),
        3,
        "each commit names the Rekor failure: {out}"
    );
    assert!(
        err.contains("3 commits: 0 good, 0 bad, 3 undecided"),
        "the range finishes with a summary: {err}"
    );

    for (name, faults) in [
        (
            "a 5xx answer and its retry",
            Faults {
                status: Some(502),
                times: Some(2),
                ..Faults::default()
            },
        ),
        (
            "a timeout and its retry",
            Faults {
                delay: Some(std::time::Duration::from_millis(2500)),
                times: Some(2),
                ..Faults::default()
            },
        ),
        (
            "a garbage body",
            Faults {
                malformed_body: true,
                times: Some(1),
                ..Faults::default()
            },
        ),
    ] {
        stack.clear_faults();
        std::fs::remove_dir_all(repo.path().join(".git/gitsign")).ok();
        stack.set_faults(Service::Rekor, faults);
        let (code, out, err) = verify(repo.path(), stack, &["HEAD~3..HEAD"], &seq);
        assert_eq!(
            code, 2,
            "{name}: one undecided commit makes the exit code 2: {out}{err}"
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{name}: every commit is reported: {out}");
        assert!(
            lines[0].contains(" undecided ") && lines[0].contains("Rekor lookup at"),
            "{name}: the first commit carries the error: {out}"
        );
        assert!(
            lines[1..].iter().all(|l| l.contains(" good ")),
            "{name}: the other commits still verify: {out}"
        );
    }
    stack.clear_faults();

    stack.set_faults(
        Service::Rekor,
        Faults {
            bad_set_signature: true,
            ..Faults::default()
        },
    );
    std::fs::remove_dir_all(repo.path().join(".git/gitsign")).ok();
    let (code, out, err) = verify(repo.path(), stack, &["HEAD~3..HEAD"], &[]);
    assert_eq!(
        code, 2,
        "entries whose SET does not verify prove nothing: {out}{err}"
    );
    assert_eq!(
        out.matches("rejected entry").count(),
        3,
        "each commit says its entry was rejected: {out}"
    );
    assert!(
        !repo.path().join(".git/gitsign/proofs").exists(),
        "rejected entries are not kept"
    );
}

/// Rewrite the kept proof of `id` with `edit` applied to its JSON.
fn edit_cached(repo: &TestRepo, id: &str, edit: impl Fn(&mut serde_json::Value)) {
    let path = repo
        .path()
        .join(".git/gitsign/proofs")
        .join(&id[..2])
        .join(format!("{}.json", &id[2..]));
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("cached proof")).expect("JSON");
    edit(&mut v);
    std::fs::write(&path, v.to_string()).expect("write forged proof");
}

fn cached(repo: &TestRepo, id: &str) -> String {
    std::fs::read_to_string(
        repo.path()
            .join(".git/gitsign/proofs")
            .join(&id[..2])
            .join(format!("{}.json", &id[2..])),
    )
    .expect("cached proof")
}

#[test]
fn forged_cache_entries_and_notes_for_other_commits_are_rejected() {
    let local = start();
    let stack = &local.stack;
    let repo = TestRepo::new();
    let ids = online_commits(&repo, stack, 2, "forge");
    let (code, out, err) = verify(repo.path(), stack, &["HEAD~2..HEAD"], &[]);
    assert_eq!(code, 0, "both verify online: {out}{err}");

    // A later integratedTime in the cache: the SET no longer verifies.
    edit_cached(&repo, &ids[0], |v| {
        if let Some(e) = v.as_object_mut().and_then(|o| o.values_mut().next()) {
            e["integratedTime"] = serde_json::json!(e["integratedTime"].as_i64().unwrap_or(0) + 60);
        }
    });
    let (code, out, err) = verify(repo.path(), stack, &["--offline", "HEAD~2..HEAD"], &[]);
    assert_eq!(code, 2, "a forged cache entry is not trusted: {out}{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with(&ids[0][..12]))
        .expect("a line for the forged commit");
    assert!(
        line.contains(" undecided ") && line.contains("rejected entry"),
        "the forged proof is rejected: {line}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with(&ids[1][..12]) && l.contains(" good ")),
        "the other commit is unaffected: {out}"
    );
    let (code, out, err) = verify(repo.path(), stack, &["HEAD~2..HEAD"], &[]);
    assert_eq!(
        code, 0,
        "online, the forged entry is replaced by a fresh lookup: {out}{err}"
    );
    let (code, _, _) = verify(repo.path(), stack, &["--offline", "HEAD~2..HEAD"], &[]);
    assert_eq!(code, 0, "and the repaired cache verifies offline again");

    // The cache holding the other commit's (genuine) proof.
    let other = cached(&repo, &ids[1]);
    let path = repo
        .path()
        .join(".git/gitsign/proofs")
        .join(&ids[0][..2])
        .join(format!("{}.json", &ids[0][2..]));
    std::fs::write(&path, &other).expect("swap proof");
    let (code, out, _) = verify(repo.path(), stack, &["--offline", "HEAD~2..HEAD"], &[]);
    assert_eq!(
        code, 2,
        "a genuine proof of another commit proves nothing for this one: {out}"
    );
    assert!(
        out.contains("logs another object"),
        "the reason is named: {out}"
    );

    // A note on the first commit carrying the second commit's proof.
    std::fs::remove_dir_all(repo.path().join(".git/gitsign")).expect("drop the cache");
    repo.git(&["notes", "--ref=gitsign", "add", "-f", "-m", &other, &ids[0]]);
    repo.git(&["notes", "--ref=gitsign", "add", "-f", "-m", &other, &ids[1]]);
    let (code, out, err) = verify(repo.path(), stack, &["--offline", "HEAD~2..HEAD"], &[]);
    assert_eq!(
        code, 2,
        "a note with another commit's proof is rejected: {out}{err}"
    );
    let line = out
        .lines()
        .find(|l| l.starts_with(&ids[0][..12]))
        .expect("a line for the first commit");
    assert!(
        line.contains(" undecided ") && line.contains("logs another object"),
        "the note's proof is rejected: {line}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with(&ids[1][..12]) && l.contains(" good ")),
        "the note that belongs verifies: {out}"
    );
}

/// git's own verification (`git verify-commit`, `git verify-tag`, through gitsign's gpg mode)
/// looks online-mode commits and tags up too, and keeps the proof.
#[test]
fn git_verify_commit_and_verify_tag_look_online_mode_signatures_up() {
    let local = start();
    let stack = &local.stack;
    let repo = TestRepo::new();
    let ids = online_commits(&repo, stack, 1, "git");
    let git = |args: &[&str]| {
        let mut cmd = repo.cmd("git");
        cmd.args(["-c", "gpg.format=x509", "-c"])
            .arg(format!("gpg.x509.program={}", gitsign_bin().display()))
            .args(args)
            .env("GITSIGN_REKOR_MODE", "online")
            .env("SIGSTORE_ID_TOKEN", stack.mint_token(IDENTITY));
        sigstore_env(&mut cmd, stack);
        output(&mut cmd)
    };
    let (code, _, err) = git(&["verify-commit", "HEAD"]);
    assert_eq!(
        code, 0,
        "git verify-commit accepts an online-mode commit after a Rekor lookup: {err}"
    );
    assert!(
        repo.path()
            .join(".git/gitsign/proofs")
            .join(&ids[0][..2])
            .join(format!("{}.json", &ids[0][2..]))
            .is_file(),
        "the proof found by git verify-commit is kept"
    );

    let (code, _, err) = git(&["tag", "-s", "-m", "release", "v1"]);
    assert_eq!(code, 0, "git tag -s in online mode: {err}");
    let (code, _, err) = git(&["verify-tag", "v1"]);
    assert_eq!(
        code, 0,
        "git verify-tag finds the tag's entry under its real id: {err}"
    );

    // `gitsign verify-tag` too: offline it is undecided until it may look the tag up.
    let clone = TestRepo::new();
    clone.git(&[
        "fetch",
        "-q",
        repo.path().to_str().expect("utf8 path"),
        "refs/tags/v1:refs/tags/v1",
    ]);
    let verify_tag = |r: &TestRepo, extra: &[&str]| {
        let mut cmd = r.gitsign();
        cmd.args([
            "verify-tag",
            "v1",
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
        ])
        .arg(stack.oidc_issuer())
        .args(extra);
        sigstore_env(&mut cmd, stack);
        output(&mut cmd)
    };
    let (code, _, err) = verify_tag(&clone, &["--offline"]);
    assert_eq!(
        code, 2,
        "no proof in the clone and no network: undecided: {err}"
    );
    let mut garbage = clone.gitsign();
    garbage
        .args(["verify-tag", "v1", "--certificate-identity", IDENTITY])
        .arg("--certificate-oidc-issuer")
        .arg(stack.oidc_issuer());
    sigstore_env(&mut garbage, stack);
    let (code, _, err) = output(garbage.env("GITSIGN_TIMEOUT", "soon"));
    assert_eq!(
        code, 2,
        "garbage Rekor settings: no lookup, undecided: {err}"
    );
    assert!(
        err.contains("no Rekor lookup") && err.contains("GITSIGN_TIMEOUT"),
        "the setting and its source are named: {err}"
    );
    let (code, _, err) = verify_tag(&clone, &[]);
    assert_eq!(
        code, 0,
        "gitsign verify-tag looks the online-mode tag up in Rekor: {err}"
    );
    let (code, _, err) = verify_tag(&clone, &["--offline"]);
    assert_eq!(
        code, 0,
        "and keeps the proof, so it now verifies offline: {err}"
    );
}

/// Run `cmd`, killing it if it has not finished within `secs` (a hang is a failure, not a
/// stuck test run).
fn output_within(cmd: &mut std::process::Command, secs: u64) -> (i32, String, String) {
    use std::io::Read as _;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let (mut out, mut err) = (
        child.stdout.take().expect("stdout"),
        child.stderr.take().expect("stderr"),
    );
    let readers = std::thread::spawn(move || {
        let (mut o, mut e) = (String::new(), String::new());
        let _ = out.read_to_string(&mut o);
        let _ = err.read_to_string(&mut e);
        (o, e)
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still running after {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let (o, e) = readers.join().expect("readers");
    (status.code().unwrap_or(-1), o, e)
}

#[test]
fn hostile_cache_files_and_malformed_notes_neither_hang_nor_block_verification() {
    let local = start();
    let stack = &local.stack;
    let repo = TestRepo::new();
    let ids = online_commits(&repo, stack, 2, "hostile");
    let (code, out, err) = verify(
        repo.path(),
        stack,
        &["--attach-proofs", "HEAD~2..HEAD"],
        &[],
    );
    assert_eq!(code, 0, "looked up, cached and attached: {out}{err}");
    let notes_tip = repo.git(&["rev-parse", "refs/notes/gitsign"]);

    // Issue 16.7: `--all` is the history, not gitsign's own notes commit.
    let (code, out, err) = verify(repo.path(), stack, &["--offline", "--all"], &[]);
    assert_eq!(code, 1, "the unsigned base commit is bad: {out}{err}");
    assert!(
        err.contains("3 commits: 2 good, 1 bad, 0 undecided"),
        "the base and the two signed commits, not the notes commit: {err}"
    );
    assert!(
        !out.contains(&notes_tip.trim()[..12]),
        "no line for the notes commit: {out}"
    );

    // Issue 16.12: a FIFO and a symlink to /dev/zero in the proof cache are skipped (the notes
    // still prove both commits), without hanging or reading without bound.
    let cached = |id: &str| {
        repo.path()
            .join(".git/gitsign/proofs")
            .join(&id[..2])
            .join(format!("{}.json", &id[2..]))
    };
    std::fs::remove_file(cached(&ids[0])).expect("drop proof 0");
    let made = std::process::Command::new("mkfifo")
        .arg(cached(&ids[0]))
        .status()
        .expect("mkfifo");
    assert!(made.success(), "mkfifo");
    std::fs::remove_file(cached(&ids[1])).expect("drop proof 1");
    std::os::unix::fs::symlink("/dev/zero", cached(&ids[1])).expect("symlink");
    let mut cmd = crate::util::hermetic(gitsign_bin(), repo.path());
    cmd.current_dir(repo.path())
        .args(["verify", "--offline", "--certificate-identity", IDENTITY])
        .arg("--certificate-oidc-issuer")
        .arg(stack.oidc_issuer())
        .arg("HEAD~2..HEAD");
    sigstore_env(&mut cmd, stack);
    let (code, out, err) = output_within(&mut cmd, 60);
    assert_eq!(
        code, 0,
        "hostile cache files count as absent; the notes prove both: {out}{err}"
    );

    // Issue 16.8: a malformed refs/notes/gitsign is one warning, not a failure: commits whose
    // proof is elsewhere (here the cache, restored) still verify.
    std::fs::remove_dir_all(repo.path().join(".git/gitsign")).expect("drop the cache");
    let blob = repo.write_object("blob", b"not a notes commit\n");
    repo.git(&["update-ref", "refs/notes/gitsign", &blob]);
    let (code, _, err) = verify(repo.path(), stack, &["HEAD~2..HEAD"], &[]);
    assert_eq!(
        code, 0,
        "looked up again despite the notes, and cached: {err}"
    );
    let (code, out, err) = verify(repo.path(), stack, &["--offline", "HEAD~2..HEAD"], &[]);
    assert_eq!(
        code, 0,
        "unreadable notes do not stop commits proven elsewhere: {out}{err}"
    );
    assert_eq!(
        err.matches("warning: ignoring the proofs in refs/notes/gitsign")
            .count(),
        1,
        "one warning: {err}"
    );
}
