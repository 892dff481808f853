//! `gitsign verify` and `verify-tag` on OpenPGP- and SSH-signed objects, end to end with real
//! git: the real history's web-flow merges with GitHub's keys (`--openpgp-keys`), its SSH
//! commits with an allowed signers file (`--ssh-allowed-signers`, or git's own
//! `gpg.ssh.allowedSignersFile`), and commits and tags signed here by `git` with an SSH key,
//! where `git verify-commit` / `git verify-tag` are the oracle.

use std::collections::BTreeMap;

use crate::util::{self, data, hermetic, output};

/// The allowed signers line of every SSH signature in `repo` (each signature's own key).
fn allowed_signers_of(repo: &std::path::Path, principal: &str) -> String {
    let mut allowed = String::new();
    for (_, raw) in util::all_commits(repo) {
        let Some(split) =
            gitsign::git::object::split_commit(&raw, gitsign::git::object::HashKind::Sha1)
        else {
            continue;
        };
        let Ok(sig) = ssh_key::SshSig::from_pem(&split.signature) else {
            continue;
        };
        let line = ssh_key::PublicKey::new(sig.public_key().clone(), "")
            .to_openssh()
            .expect("encode key");
        if !allowed.contains(&line) {
            allowed.push_str(&format!("{principal} {line}\n"));
        }
    }
    allowed
}

#[test]
fn verify_all_reports_web_flow_and_ssh_commits_good_with_their_keys() {
    let home = tempfile::tempdir().expect("home");
    let repo = crate::real_history::lay_out("wolfictl", home.path());
    let allowed = home.path().join("allowed_signers");
    std::fs::write(&allowed, allowed_signers_of(&repo, "dev@wolfi.example")).expect("write");
    let git = |args: &[&str]| {
        let (code, _, err) = output(hermetic("git", home.path()).current_dir(&repo).args(args));
        assert_eq!(code, 0, "git {args:?}: {err}");
    };
    // The allowed signers from git's own setting, as `git verify-commit` reads it.
    git(&[
        "config",
        "gpg.ssh.allowedSignersFile",
        allowed.to_str().expect("utf-8"),
    ]);
    let keys = data("keys/github-web-flow.asc");
    let (code, out, err) = output(
        hermetic(util::gitsign_bin(), home.path())
            .current_dir(&repo)
            .args([
                "verify",
                "--all",
                "--offline",
                "--format",
                "json",
                "--openpgp-keys",
                keys.to_str().expect("utf-8"),
                "--certificate-identity-regexp",
                ".",
                "--certificate-oidc-issuer-regexp",
                ".",
            ]),
    );
    assert_eq!(code, 1, "unsigned and unknown-key commits remain: {err}");
    let mut tally: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    let mut lines = 0;
    for line in out.lines() {
        lines += 1;
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let format = v["format"].as_str().expect("format").to_owned();
        let verdict = v["verdict"].as_str().expect("verdict").to_owned();
        let who = match (format.as_str(), verdict.as_str()) {
            ("openpgp", "good") => {
                assert!(v["signer"]["key"].is_string(), "{v}");
                v["signer"]["identity"]
                    .as_str()
                    .expect("fingerprint")
                    .to_owned()
            }
            ("ssh", "good") => {
                let key = v["signer"]["key"].as_str().expect("key");
                assert!(key.starts_with("SHA256:"), "{v}");
                v["signer"]["identity"]
                    .as_str()
                    .expect("principal")
                    .to_owned()
            }
            (_, "good") => String::new(),
            _ => v["code"].as_str().unwrap_or("").to_owned(),
        };
        *tally.entry((format, verdict, who)).or_insert(0) += 1;
    }
    assert_eq!(lines, 4_118, "one verdict per commit");
    let count = |f: &str, v: &str, w: &str| {
        tally
            .get(&(f.to_owned(), v.to_owned(), w.to_owned()))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(
        count(
            "openpgp",
            "good",
            "968479A1AFF927E37D1A566BB5690EEEBB952194"
        ),
        2_098,
        "the current web-flow key's merges (gpg agrees, tests/it/openpgp.rs): {tally:?}"
    );
    assert_eq!(
        count(
            "openpgp",
            "good",
            "5DE3E0509C47EA3CF04A42D34AEE18F83AFDEB23"
        ),
        596,
        "the 2017 key's, made before it expired: {tally:?}"
    );
    assert_eq!(
        count("openpgp", "bad", "unknown_key"),
        2_715 - 2_098 - 596,
        "maintainers' own keys: {tally:?}"
    );
    assert_eq!(
        count("ssh", "good", "dev@wolfi.example"),
        31,
        "every SSH commit, FIDO keys included, by the allowed signers of git config: {tally:?}"
    );
    // Without the keys, the same commits are by unknown keys.
    let (_, out, _) = output(
        hermetic(util::gitsign_bin(), home.path())
            .current_dir(&repo)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .args([
                "verify",
                "--all",
                "--offline",
                "--format",
                "json",
                "--ssh-allowed-signers",
                "/dev/null",
                "--certificate-identity-regexp",
                ".",
                "--certificate-oidc-issuer-regexp",
                ".",
            ]),
    );
    let keyed_good = out
        .lines()
        .filter(|l| {
            (l.contains("\"format\":\"openpgp\"") || l.contains("\"format\":\"ssh\""))
                && l.contains("\"verdict\":\"good\"")
        })
        .count();
    assert_eq!(
        keyed_good, 0,
        "no configured key, no good OpenPGP or SSH verdict"
    );
}

/// A commit and a tag signed by real `git` with an SSH key: `gitsign verify` and `verify-tag`
/// agree with `git verify-commit` and `git verify-tag`, before and after the key is revoked.
#[test]
fn ssh_commits_and_tags_signed_by_git_verify_as_git_says() {
    let repo = util::TestRepo::new();
    let key = repo.path().join("id_ed25519");
    let (code, _, err) = output(
        std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "dev", "-f"])
            .arg(&key),
    );
    if code != 0 {
        eprintln!("skipped: ssh-keygen cannot make a key: {err}");
        return;
    }
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("public key");
    let allowed = repo.path().join(".git/allowed_signers");
    std::fs::write(&allowed, format!("author@example.com {public}")).expect("write");
    let key_s = key.to_str().expect("utf-8");
    let allowed_s = allowed.to_str().expect("utf-8");
    repo.git(&["config", "gpg.format", "ssh"]);
    repo.git(&["config", "user.signingkey", key_s]);
    repo.git(&["config", "gpg.ssh.allowedSignersFile", allowed_s]);
    repo.git(&["commit", "-q", "--allow-empty", "-S", "-m", "ssh-signed"]);
    repo.git(&["tag", "-s", "-m", "release", "v1"]);
    let git_says = |args: &[&str]| output(repo.cmd("git").args(args)).0 == 0;
    let gitsign = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend([
            "--format",
            "json",
            "--certificate-identity-regexp",
            ".",
            "--certificate-oidc-issuer-regexp",
            ".",
        ]);
        let (code, out, err) = output(repo.cmd(util::gitsign_bin()).args(&all));
        let v: serde_json::Value = serde_json::from_str(out.trim())
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {out} {err}"));
        (code, v)
    };
    assert!(git_says(&["verify-commit", "HEAD"]), "git: good commit");
    assert!(git_says(&["verify-tag", "v1"]), "git: good tag");
    let (code, v) = gitsign(&["verify", "HEAD"]);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("good")), "{v}");
    assert_eq!(v["format"], "ssh");
    assert_eq!(v["signer"]["identity"], "author@example.com");
    let (code, v) = gitsign(&["verify-tag", "v1"]);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("good")), "{v}");

    // Revoked through git's own setting: both refuse.
    let revoked = repo.path().join(".git/revoked_keys");
    std::fs::write(&revoked, &public).expect("write");
    repo.git(&[
        "config",
        "gpg.ssh.revocationFile",
        revoked.to_str().expect("utf-8"),
    ]);
    assert!(!git_says(&["verify-commit", "HEAD"]), "git: revoked");
    let (code, v) = gitsign(&["verify", "HEAD"]);
    assert_eq!((code, v["code"].as_str()), (1, Some("key_revoked")), "{v}");
    let (code, v) = gitsign(&["verify-tag", "v1"]);
    assert_eq!((code, v["code"].as_str()), (1, Some("key_revoked")), "{v}");
}
