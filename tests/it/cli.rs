//! The binary end to end: `gitsign verify` / `verify-tag`, git's `--verify` protocol, and real
//! `git verify-commit`, `git verify-tag`, `git log --show-signature` calling our binary, over a
//! repository built from the real Go gitsign objects in tests/data.

use crate::util::{self, run_with_stdin, TestRepo};

/// Three real commits in a chain (58d9abba ← a336df86 ← 30e099f1), each with an embedded
/// Rekor entry, plus an online-mode commit and a tampered one.
const BASE: &str = "58d9abba022e21de32b3425eed0a256d51e62fcd";
const MID: &str = "a336df86075474ca9a3e2c7183cf209cec375ba2";
const TIP: &str = "30e099f11647d8f47f25382a730f909e4a1911fd";
const ONLINE: &str = "05ca6a291e4504639f44fd74cf04de90dd6ed9cf";
const SIGNER: &str = "billy@chainguard.dev";
const GOOGLE: &str = "https://accounts.google.com";

fn repo() -> TestRepo {
    let repo = TestRepo::new();
    for sha in [BASE, MID, TIP, ONLINE] {
        let id = repo.write_object(
            "commit",
            &util::read(&format!("gitsign-commits/{sha}.commit")),
        );
        assert_eq!(id, sha, "git hash-object reproduces the fixture's id");
    }
    repo
}

fn x509_git(repo: &TestRepo) -> std::process::Command {
    let mut c = repo.cmd("git");
    c.args(["-c", "gpg.format=x509", "-c"]).arg(format!(
        "gpg.x509.program={}",
        util::gitsign_bin().display()
    ));
    c
}

#[test]
fn verify_single_commit_prints_go_gitsign_summary() {
    let repo = repo();
    let (code, out, err) = util::output(repo.gitsign().args([
        "verify",
        TIP,
        "--certificate-identity",
        SIGNER,
        "--certificate-oidc-issuer",
        GOOGLE,
    ]));
    assert_eq!(code, 0, "a good commit exits 0: {err}");
    assert!(
        err.is_empty(),
        "the single-commit summary goes to stdout like Go gitsign's (PrintSummary(os.Stdout)): {err}"
    );
    let err = out;
    let manifest = util::json("gitsign-commits/manifest.json");
    let entry = manifest["commits"]
        .as_array()
        .expect("commits")
        .iter()
        .find(|c| c["sha"] == TIP)
        .expect("tip in manifest");
    assert!(
        err.contains(&format!("tlog index: {}\n", entry["tlog_log_index"])),
        "log index from the manifest: {err}"
    );
    assert!(
        err.contains(&format!("Good signature from [{SIGNER}]({GOOGLE})")),
        "{err}"
    );
    assert!(err.contains("Validated Certificate claims: true"), "{err}");
}

#[test]
fn verify_rejects_the_wrong_identity_and_issuer() {
    let repo = repo();
    let (code, _, err) = util::output(repo.gitsign().args([
        "verify",
        TIP,
        "--certificate-identity",
        "mallory@example.com",
        "--certificate-oidc-issuer",
        GOOGLE,
    ]));
    assert_eq!(code, 1, "policy failure is a negative answer: {err}");
    assert!(err.contains("identity mismatch"), "says why: {err}");
    let (code, _, err) = util::output(repo.gitsign().args([
        "verify",
        TIP,
        "--certificate-identity",
        SIGNER,
        "--certificate-oidc-issuer",
        "https://github.com/login/oauth",
    ]));
    assert_eq!(code, 1, "wrong issuer: {err}");
    assert!(err.contains("issuer mismatch"), "{err}");
}

#[test]
fn verify_requires_an_identity_and_an_issuer_flag() {
    let repo = repo();
    let (code, _, err) =
        util::output(
            repo.gitsign()
                .args(["verify", TIP, "--certificate-identity", SIGNER]),
        );
    assert_eq!(code, 2, "usage error: {err}");
    assert!(
        err.contains("--certificate-oidc-issuer"),
        "names the missing flag: {err}"
    );
}

#[test]
fn online_mode_commit_is_undecided_offline_unless_tlog_is_waived() {
    let repo = repo();
    let base = [
        "verify",
        ONLINE,
        "--certificate-identity-regexp",
        ".",
        "--certificate-oidc-issuer-regexp",
        ".",
    ];
    let (code, _, err) = util::output(repo.gitsign().args(base));
    assert_eq!(code, 2, "undecided exits 2: {err}");
    assert!(
        err.contains("Hint:") && err.contains("--insecure-ignore-tlog"),
        "hint names the waiver: {err}"
    );
    let (code, _, err) = util::output(repo.gitsign().args(base).arg("--insecure-ignore-tlog"));
    assert_eq!(code, 0, "everything else verifies: {err}");
    assert!(
        err.contains("NOT anchored"),
        "says loudly that time was not anchored: {err}"
    );
}

#[test]
fn verify_range_lists_each_commit_and_json_matches() {
    let repo = repo();
    let range = format!("{BASE}..{TIP}");
    let policy = [
        "--certificate-identity",
        SIGNER,
        "--certificate-oidc-issuer",
        GOOGLE,
    ];
    let (code, out, err) = util::output(repo.gitsign().args(["verify", &range]).args(policy));
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "A..B excludes A: {out}");
    assert!(
        lines[0].starts_with(&TIP[..12]) && lines[1].starts_with(&MID[..12]),
        "newest first: {out}"
    );
    assert!(lines.iter().all(|l| l.contains(" good ")), "{out}");
    assert!(
        err.contains("2 commits: 2 good, 0 bad, 0 undecided"),
        "{err}"
    );

    let (code, out, _) = util::output(
        repo.gitsign()
            .args(["verify", &range, "--format", "json"])
            .args(policy),
    );
    assert_eq!(code, 0);
    let objs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(objs.len(), 2);
    let manifest = util::json("gitsign-commits/manifest.json");
    for o in &objs {
        let m = manifest["commits"]
            .as_array()
            .expect("commits")
            .iter()
            .find(|c| c["sha"] == o["sha"])
            .expect("listed");
        assert_eq!(o["verdict"], "good");
        assert_eq!(o["identity"], m["signer_san"]);
        assert_eq!(o["format"], "sigstore", "a gitsign commit: {o}");
        assert_eq!(
            o["signer"]["identity"], m["signer_san"],
            "the signer is the certificate's identity: {o}"
        );
        assert_eq!(o["signer"]["issuer"], o["issuer"], "and its issuer: {o}");
        assert_eq!(o["tlog_index"], m["tlog_log_index"]);
        assert_eq!(o["integrated_time"], m["tlog_integrated_time"]);
    }
}

/// `count` unsigned commits on `refs/heads/main`, one after the other (the first on `parent`),
/// written by one `git fast-import`, a second apart from 2030-03-17 on.
fn import_unsigned(repo: &TestRepo, count: usize, parent: Option<&str>) {
    let mut script = String::new();
    for i in 0..count {
        let msg = format!("unsigned {i}\n");
        script.push_str(&format!(
            "commit refs/heads/main\ncommitter Dev <dev@example.com> {} +0000\ndata {}\n{msg}",
            1_900_000_000 + i,
            msg.len()
        ));
        if let Some(parent) = parent.filter(|_| i == 0) {
            // `merge`, not `from`: fast-import would load the parent's tree, absent here.
            script.push_str(&format!("merge {parent}\n"));
        }
        script.push('\n');
    }
    let (code, _, err) = run_with_stdin(
        {
            let mut c = repo.cmd("git");
            c.args(["fast-import", "--quiet"]);
            c
        },
        script.as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
}

/// A range several verification chunks long (the walk hands out 512 commits at a time):
/// every commit is reported once, in `git rev-list` order, the same with one thread as with
/// all, and the signed commits at its bottom are found good.
#[test]
fn long_ranges_stream_in_walk_order_on_any_number_of_threads() {
    const UNSIGNED: usize = 1_300;
    let repo = repo();
    import_unsigned(&repo, UNSIGNED, Some(TIP));
    let range = format!("{BASE}..main");
    let expected: Vec<String> = repo
        .git(&["rev-list", &range])
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(expected.len(), UNSIGNED + 2);
    let run = |threads: &str| {
        util::output(
            repo.gitsign()
                .env("RAYON_NUM_THREADS", threads)
                .args(["verify", &range, "--offline", "--format", "json"])
                .args([
                    "--certificate-identity",
                    SIGNER,
                    "--certificate-oidc-issuer",
                    GOOGLE,
                ]),
        )
    };
    let (code, out, err) = run("2");
    assert_eq!(code, 1, "unsigned commits are bad: {err}");
    let reported: Vec<String> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON line");
            v["sha"].as_str().expect("sha").to_owned()
        })
        .collect();
    assert_eq!(reported, expected, "every commit once, in walk order");
    let good: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(r#""verdict":"good""#))
        .collect();
    assert_eq!(
        good.len(),
        2,
        "the signed commits below the unsigned ones: {good:?}"
    );
    let (code, sequential, _) = run("1");
    assert_eq!(code, 1);
    assert_eq!(sequential, out, "one thread reports exactly what two do");
}

#[test]
fn range_with_an_undecided_commit_exits_2_and_bad_wins() {
    let repo = repo();
    // Two revisions (ONLINE's parent is not in the repository, so no walk through it).
    let (code, out, err) = util::output(repo.gitsign().args([
        "verify",
        TIP,
        ONLINE,
        "--certificate-identity-regexp",
        ".",
        "--certificate-oidc-issuer-regexp",
        ".",
    ]));
    assert_eq!(code, 2, "one undecided, none bad: {out}{err}");
    assert!(out.contains("undecided"), "{out}");
    let (code, _, err) = util::output(repo.gitsign().args([
        "verify",
        TIP,
        ONLINE,
        "--certificate-identity",
        "nobody@example.com",
        "--certificate-oidc-issuer-regexp",
        ".",
    ]));
    assert_eq!(code, 1, "a policy failure outranks undecided: {err}");
}

#[test]
fn git_verify_commit_and_log_show_signature_use_our_binary() {
    let repo = repo();
    let (code, out, err) = util::output(x509_git(&repo).args(["verify-commit", TIP]));
    assert_eq!(code, 0, "git verify-commit accepts a good signature: {err}");
    assert!(out.is_empty(), "nothing on stdout");
    assert!(
        err.contains(&format!("Good signature from [{SIGNER}]")),
        "{err}"
    );
    let (code, out, err) = util::output(x509_git(&repo).args([
        "log",
        "--show-signature",
        "-1",
        "--format=%H %G?",
        TIP,
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Good signature from") && out.contains(&format!("{TIP} G")),
        "git sees a good signature: {out}"
    );
    let (code, _, err) = util::output(x509_git(&repo).args(["verify-commit", ONLINE]));
    assert_ne!(
        code, 0,
        "an undecided signature is not reported good to git: {err}"
    );
    let (code, _, err) = util::output(
        x509_git(&repo)
            .env("GITSIGN_INSECURE_IGNORE_TLOG", "true")
            .args(["verify-commit", ONLINE]),
    );
    assert_eq!(
        code, 0,
        "the waiver reaches gpg mode through the environment: {err}"
    );
    assert!(
        err.contains("NOT anchored"),
        "and git's user is told: {err}"
    );
}

#[test]
fn git_rejects_tampered_commits_through_our_binary() {
    let repo = TestRepo::new();
    for file in ["a-message-byte", "b-author-line", "d-signature-grafted"] {
        let id = repo.write_object(
            "commit",
            &util::read(&format!("gitsign-commits/tampered/{file}.commit")),
        );
        let (code, _, err) = util::output(x509_git(&repo).args(["verify-commit", &id]));
        assert_ne!(code, 0, "{file}: git must not accept it: {err}");
        assert!(
            err.contains("does not match the signed payload"),
            "{file}: says why: {err}"
        );
    }
}

#[test]
fn gpg_verify_status_lines_are_byte_exact() {
    let raw = util::read(&format!("gitsign-commits/{TIP}.commit"));
    let split = gitsign::git::object::split_commit(&raw, gitsign::git::object::HashKind::Sha1)
        .expect("signed");
    let dir = tempfile::tempdir().expect("tmp");
    let sig = dir.path().join("sig");
    std::fs::write(&sig, &split.signature).expect("write sig");
    // Independent fingerprint: openssl extracts the certificate and hashes it.
    let der = gitsign::pem::decode_one(&split.signature, "SIGNED MESSAGE").expect("armor");
    std::fs::write(dir.path().join("sig.der"), der).expect("write der");
    let fpr = std::process::Command::new("sh")
        .arg("-c")
        .arg("openssl pkcs7 -inform DER -in sig.der -print_certs | openssl x509 -noout -fingerprint -sha1")
        .current_dir(dir.path())
        .output()
        .expect("openssl");
    let fpr = String::from_utf8_lossy(&fpr.stdout);
    let fpr = fpr
        .trim()
        .rsplit('=')
        .next()
        .expect("fingerprint")
        .replace(':', "")
        .to_lowercase();
    assert_eq!(fpr.len(), 40, "openssl printed a SHA-1 fingerprint");

    let mut cmd = util::hermetic(util::gitsign_bin(), dir.path());
    cmd.current_dir(dir.path())
        .args(["--status-fd=1", "--verify"])
        .arg(&sig)
        .arg("-");
    let out = run_with_stdin(cmd, &split.payload);
    assert_eq!(out.0, 0, "good signature: {}", out.2);
    assert_eq!(
        out.1,
        format!("[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG {fpr} {SIGNER}\n[GNUPG:] TRUST_FULLY 0 shell\n"),
        "stdout holds the status lines and nothing else"
    );

    let mut tampered = split.payload.clone();
    tampered.push(b'x');
    let mut cmd = util::hermetic(util::gitsign_bin(), dir.path());
    cmd.current_dir(dir.path())
        .args(["--status-fd=1", "--verify"])
        .arg(&sig)
        .arg("-");
    let out = run_with_stdin(cmd, &tampered);
    assert_eq!(out.0, 1, "bad signature exits 1");
    assert_eq!(
        out.1, "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG 0000000000000000 19 8 00 0 4\n",
        "no certificate was trusted, so ERRSIG"
    );
}

#[test]
fn gpg_verify_survives_garbage_signatures() {
    let dir = tempfile::tempdir().expect("tmp");
    let cases: [(&str, &[u8]); 5] = [
        ("empty", b""),
        ("not pem", b"hello world"),
        ("truncated pem", b"-----BEGIN SIGNED MESSAGE-----\nMIIB\n"),
        (
            "bad base64",
            b"-----BEGIN SIGNED MESSAGE-----\n!!!!\n-----END SIGNED MESSAGE-----\n",
        ),
        ("garbage der", &[0x30, 0x82, 0xff, 0xff, 0x06, 0x09]),
    ];
    for (name, bytes) in cases {
        let sig = dir.path().join("sig");
        std::fs::write(&sig, bytes).expect("write");
        let mut cmd = util::hermetic(util::gitsign_bin(), dir.path());
        cmd.current_dir(dir.path())
            .args(["--status-fd=1", "--verify"])
            .arg(&sig)
            .arg("-");
        let (code, out, err) = run_with_stdin(cmd, b"payload");
        assert_eq!(
            code, 1,
            "{name}: a clear negative answer, not a crash: {err}"
        );
        assert!(
            out.starts_with("[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG"),
            "{name}: {out}"
        );
        assert!(err.contains("gitsign: error:"), "{name}: explains: {err}");
        assert!(!err.contains("panicked"), "{name}: no panic");
    }
}

#[test]
fn release_tags_verify_with_git_verify_tag_and_verify_tag() {
    let repo = TestRepo::new();
    let manifest = util::json("gitsign-tags/manifest.json");
    for t in manifest["tags"].as_array().expect("tags").iter().take(28) {
        let name = t["tag"].as_str().expect("name");
        let id = repo.write_object("tag", &util::read(&format!("gitsign-tags/{name}.tag")));
        assert_eq!(
            id,
            t["sha"].as_str().expect("sha"),
            "hash-object reproduces {name}"
        );
        repo.git(&["update-ref", &format!("refs/tags/{name}"), &id]);
        let (code, _, err) = util::output(
            x509_git(&repo)
                .env("GITSIGN_INSECURE_IGNORE_TLOG", "true")
                .args(["verify-tag", name]),
        );
        assert_eq!(code, 0, "git verify-tag {name}: {err}");
        let issuer = t["oidc_issuer"].as_str().expect("issuer");
        let (code, _, err) = util::output(repo.gitsign().args([
            "verify-tag",
            name,
            "--insecure-ignore-tlog",
            "--certificate-identity",
            t["signer_san"].as_str().expect("san"),
            "--certificate-oidc-issuer",
            issuer,
        ]));
        assert_eq!(code, 0, "gitsign verify-tag {name}: {err}");
    }
    // An edited tag body no longer matches its signature.
    let mut raw = util::read("gitsign-tags/v0.1.0.tag");
    let pos = raw
        .windows(7)
        .position(|w| w == b"v0.1.0\n")
        .expect("tag line");
    raw[pos + 5] = b'9';
    let id = repo.write_object("tag", &raw);
    repo.git(&["update-ref", "refs/tags/edited", &id]);
    let (code, _, err) = util::output(repo.gitsign().args([
        "verify-tag",
        "edited",
        "--insecure-ignore-tlog",
        "--certificate-identity-regexp",
        ".",
        "--certificate-oidc-issuer-regexp",
        ".",
    ]));
    assert_eq!(code, 1, "edited tag is rejected: {err}");
    assert!(err.contains("does not match the signed payload"), "{err}");
}

/// An identity or issuer expression that does not compile is a usage error naming its flag,
/// with the syntax hint; when both are bad, the identity's is the one reported (the two
/// compile side by side), and nothing is verified.
#[test]
fn an_invalid_identity_or_issuer_expression_is_a_usage_error_naming_its_flag() {
    let repo = repo();
    for (identity, issuer, named, not_named) in [
        (
            "a(b",
            "c(d",
            "--certificate-identity-regexp",
            "--certificate-oidc-issuer-regexp",
        ),
        (
            ".",
            "c(d",
            "--certificate-oidc-issuer-regexp",
            "--certificate-identity-regexp",
        ),
        (
            "a(b",
            ".",
            "--certificate-identity-regexp",
            "--certificate-oidc-issuer-regexp",
        ),
    ] {
        let (code, out, err) = util::output(repo.gitsign().args([
            "verify",
            "--all",
            "--certificate-identity-regexp",
            identity,
            "--certificate-oidc-issuer-regexp",
            issuer,
        ]));
        assert_eq!(code, 2, "usage error: {out}{err}");
        assert!(out.is_empty(), "nothing verified: {out}");
        assert!(
            err.contains(&format!("invalid regular expression for {named}")),
            "{identity} / {issuer}: {err}"
        );
        assert!(!err.contains(not_named), "{identity} / {issuer}: {err}");
        assert!(err.contains("RE2"), "the syntax hint: {err}");
    }
}

#[test]
fn unknown_revisions_and_bad_trust_roots_are_usage_errors_with_hints() {
    let repo = repo();
    let policy = [
        "--certificate-identity-regexp",
        ".",
        "--certificate-oidc-issuer-regexp",
        ".",
    ];
    let (code, _, err) = util::output(
        repo.gitsign()
            .args(["verify", "no-such-branch"])
            .args(policy),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown revision 'no-such-branch'"), "{err}");
    std::fs::write(repo.path().join("root.json"), "{not json").expect("write");
    let (code, _, err) = util::output(
        repo.gitsign()
            .args(["verify", TIP, "--trusted-root", "root.json"])
            .args(policy),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("parsing the trusted root") && err.contains("Hint:"),
        "{err}"
    );
    let (code, _, err) = util::output(
        repo.gitsign()
            .env("GITSIGN_INSECURE_IGNORE_SCT", "perhaps")
            .args(["verify", TIP])
            .args(policy),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("invalid value 'perhaps' for GITSIGN_INSECURE_IGNORE_SCT"),
        "names the source: {err}"
    );
}

#[test]
fn staging_trust_root_rejects_production_commits() {
    let repo = repo();
    let root = util::data("trust/staging-trusted_root.json");
    let (code, _, err) = util::output(
        repo.gitsign()
            .args([
                "verify",
                TIP,
                "--certificate-identity-regexp",
                ".",
                "--certificate-oidc-issuer-regexp",
                ".",
            ])
            .arg("--trusted-root")
            .arg(root),
    );
    assert_eq!(code, 1, "{err}");
}

#[test]
fn fulcio_root_pem_bundle_replaces_the_fulcio_cas() {
    let repo = repo();
    // The Fulcio certificates of the public-good root, as Go gitsign users pass them.
    let root = util::json("trust/trusted_root.json");
    let mut pem = String::new();
    for ca in root["certificateAuthorities"].as_array().expect("CAs") {
        for c in ca["certChain"]["certificates"].as_array().expect("chain") {
            use base64::Engine as _;
            let der = base64::engine::general_purpose::STANDARD
                .decode(c["rawBytes"].as_str().expect("b64"))
                .expect("der");
            pem.push_str(&gitsign::pem::encode("CERTIFICATE", &der));
        }
    }
    std::fs::write(repo.path().join("fulcio.pem"), &pem).expect("write");
    let policy = [
        "--certificate-identity",
        SIGNER,
        "--certificate-oidc-issuer",
        GOOGLE,
    ];
    let (code, _, err) = util::output(
        repo.gitsign()
            .env("GITSIGN_FULCIO_ROOT", "fulcio.pem")
            .args(["verify", TIP])
            .args(policy),
    );
    assert_eq!(code, 0, "the same CAs as a PEM bundle still verify: {err}");
    // A bundle with only an unrelated CA (the TSA's) must not trust Fulcio's leaves.
    let tsa = &root["timestampAuthorities"][0]["certChain"]["certificates"];
    use base64::Engine as _;
    let der = base64::engine::general_purpose::STANDARD
        .decode(
            tsa[tsa.as_array().expect("tsa").len() - 1]["rawBytes"]
                .as_str()
                .expect("b64"),
        )
        .expect("der");
    std::fs::write(
        repo.path().join("other.pem"),
        gitsign::pem::encode("CERTIFICATE", &der),
    )
    .expect("write");
    let (code, _, err) = util::output(
        repo.gitsign()
            .env("SIGSTORE_ROOT_FILE", "other.pem")
            .args(["verify", TIP])
            .args(policy),
    );
    assert_eq!(
        code, 1,
        "an unrelated root does not vouch for the chain: {err}"
    );
    assert!(err.contains("not trusted"), "{err}");
}

#[test]
fn single_commit_summary_validates_the_rekor_entry_even_when_the_identity_mismatches() {
    let repo = repo();
    let (code, out, err) = util::output(repo.gitsign().args([
        "verify",
        TIP,
        "--certificate-identity",
        "mallory@example.com",
        "--certificate-oidc-issuer",
        GOOGLE,
    ]));
    assert_eq!(code, 1, "policy failure: {out}{err}");
    assert!(
        out.contains("Validated Rekor entry: true\n"),
        "the embedded entry verified before the identity was checked: {out}"
    );
    assert!(
        out.contains("Validated Certificate claims: false\n"),
        "the claims did not: {out}"
    );
    assert!(
        err.contains("gitsign: error: ") && err.contains("identity mismatch"),
        "the reason goes to stderr: {err}"
    );
}

/// Issue 16.3: the exit status of `gitsign verify` reports the verdicts even when stdout
/// cannot take them.
#[test]
fn unwritable_stdout_never_turns_bad_commits_into_success() {
    let repo = repo();
    let args = [
        "verify",
        &format!("{BASE}..{TIP}"),
        "--certificate-identity",
        "nobody@example.com",
        "--certificate-oidc-issuer",
        GOOGLE,
    ];
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let (code, _, err) = util::output(repo.gitsign().args(args).stdout(full));
    assert_eq!(
        code, 2,
        "a full device is an I/O error, not an answer: {err}"
    );
    assert!(
        err.contains("writing the verdicts to stdout"),
        "the failure is named: {err}"
    );

    // A reader that has gone (`| head`, `| true`): the output may end early, the verdict not.
    for json in [false, true] {
        let mut cmd = repo.gitsign();
        cmd.args(args)
            .args(if json { &["--format", "json"][..] } else { &[] })
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().expect("spawn");
        drop(child.stdout.take());
        let status = child.wait().expect("wait");
        assert_eq!(
            status.code(),
            Some(1),
            "a closed pipe still exits 1 for bad commits (json: {json})"
        );
    }
}

/// Issue 17: an empty range is an answer (nothing to verify), in words that count right.
#[test]
fn empty_ranges_exit_0_and_counts_are_singular_or_plural() {
    let repo = repo();
    let base = [
        "--certificate-identity",
        SIGNER,
        "--certificate-oidc-issuer",
        GOOGLE,
    ];
    let (code, out, err) = util::output(
        repo.gitsign()
            .args(["verify", &format!("{TIP}..{TIP}")])
            .args(base),
    );
    assert_eq!(code, 0, "nothing new is not an error: {out}{err}");
    assert!(out.is_empty(), "no verdict lines: {out}");
    assert!(
        err.contains("0 commits: 0 good, 0 bad, 0 undecided"),
        "{err}"
    );
    let (code, _, err) = util::output(
        repo.gitsign()
            .args(["verify", &format!("{MID}..{TIP}")])
            .args(base),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("1 commit: 1 good, 0 bad, 0 undecided"),
        "singular: {err}"
    );

    let empty = TestRepo::new();
    let (code, out, err) = util::output(empty.gitsign().args(["verify", "--all"]).args(base));
    assert_eq!(code, 0, "--all in an empty repository: {out}{err}");
    assert!(err.contains("0 commits"), "{err}");
}

/// Issue 17: with `--format json`, an error is a JSON object on stdout as well.
#[test]
fn json_format_reports_errors_as_json_on_stdout() {
    let repo = repo();
    let (code, out, err) = util::output(repo.gitsign().args([
        "verify",
        "no-such-revision",
        "--format",
        "json",
        "--certificate-identity",
        SIGNER,
        "--certificate-oidc-issuer",
        GOOGLE,
    ]));
    assert_eq!(code, 2, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("stdout is one JSON object");
    assert_eq!(v["exit_code"], 2, "{v}");
    assert!(
        v["error"].as_str().is_some_and(|e| !e.is_empty()),
        "the error is named: {v}"
    );
    assert!(
        err.contains("gitsign: error: "),
        "and rendered on stderr: {err}"
    );
}

/// Real PGP- and SSH-signed commits (tests/data/gitsign-commits/other-formats): `gitsign
/// verify` names each one's format, told here from the armor git wrote, and no Sigstore signer;
/// an unsigned commit has format `none`.
#[test]
fn verify_names_the_signature_format_of_every_commit() {
    let repo = TestRepo::new();
    let dir = util::data("gitsign-commits/other-formats");
    let mut want = Vec::new();
    for entry in std::fs::read_dir(dir).expect("other-formats dir") {
        let raw = std::fs::read(entry.expect("entry").path()).expect("read");
        let text = String::from_utf8_lossy(&raw);
        let format = if text.contains("\ngpgsig -----BEGIN SSH SIGNATURE-----") {
            "ssh"
        } else if text.contains("\ngpgsig -----BEGIN PGP SIGNATURE-----") {
            "openpgp"
        } else {
            panic!("the fixture is PGP or SSH signed: {text}")
        };
        want.push((repo.write_object("commit", &raw), format));
    }
    let unsigned = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.com> 1700000000 +0000\ncommitter A <a@example.com> 1700000000 +0000\n\nunsigned\n";
    want.push((repo.write_object("commit", unsigned), "none"));
    assert_eq!(want.len(), 7, "3 PGP, 3 SSH and one unsigned commit");
    for (id, format) in &want {
        let (code, out, err) = util::output(repo.gitsign().args([
            "verify",
            id,
            "--format",
            "json",
            "--certificate-identity",
            SIGNER,
            "--certificate-oidc-issuer",
            GOOGLE,
        ]));
        assert_eq!(code, 1, "no key configured for it: bad: {err}");
        let o: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON line");
        assert_eq!(o["format"], *format, "{id}: {o}");
        assert!(o["signer"].is_null(), "no Sigstore signer: {o}");
        // Read by their format's verifier; no key was configured.
        let code = if *format == "none" {
            "unsigned"
        } else {
            "unknown_key"
        };
        assert_eq!(o["code"], code, "{o}");
    }
}

/// One rule for unusable Rekor lookup settings, whichever command verifies: they decide only
/// the commits that need a lookup (undecided, naming the setting and where it came from);
/// commits carrying their log entry verify as before, in `gitsign verify` and in git's
/// `--verify` mode alike.
#[test]
fn invalid_rekor_settings_leave_only_commits_that_need_a_lookup_undecided() {
    let repo = repo();
    let mut cmd = repo.gitsign();
    cmd.env("GITSIGN_REKOR_CONCURRENCY", "many").args([
        "verify",
        TIP,
        ONLINE,
        "--format",
        "json",
        "--certificate-identity-regexp",
        ".",
        "--certificate-oidc-issuer-regexp",
        ".",
    ]);
    let (code, out, err) = util::output(&mut cmd);
    assert_eq!(code, 2, "one commit undecided, none bad: {out}{err}");
    let objs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(objs.len(), 2, "both commits are reported: {out}");
    let by = |sha: &str| {
        objs.iter()
            .find(|o| o["sha"] == sha)
            .unwrap_or_else(|| panic!("{sha} reported: {out}"))
    };
    assert_eq!(by(TIP)["verdict"], "good", "its entry is embedded: {out}");
    let online = by(ONLINE);
    assert_eq!(online["code"], "lookup_unconfigured", "{online}");
    assert!(
        online["reasons"][0]
            .as_str()
            .is_some_and(|r| r.contains("GITSIGN_REKOR_CONCURRENCY") && r.contains("many")),
        "the setting and its value are named: {online}"
    );
    let (code, _, err) = util::output(
        x509_git(&repo)
            .env("GITSIGN_REKOR_CONCURRENCY", "many")
            .args(["verify-commit", TIP]),
    );
    assert_eq!(code, 0, "git verify-commit of an embedded entry: {err}");
}

/// `--sct FILE` (Go gitsign's and cosign's detached SCT): read and parsed before anything is
/// verified, a bad file is a configuration error naming it; a certificate that embeds its SCT
/// is checked by that one, as cosign does, whatever the file holds.
#[test]
fn verify_sct_file_is_checked_up_front_and_an_embedded_sct_wins() {
    let repo = repo();
    let verify = |extra: &[&str]| {
        util::output(
            repo.gitsign()
                .args([
                    "verify",
                    TIP,
                    "--certificate-identity",
                    SIGNER,
                    "--certificate-oidc-issuer",
                    GOOGLE,
                ])
                .args(extra),
        )
    };
    let (code, _, err) = verify(&["--sct", "/nonexistent/sct.json"]);
    assert_eq!(code, 2, "an unreadable file: {err}");
    assert!(err.contains("/nonexistent/sct.json"), "named: {err}");
    let garbage = repo.path().join("garbage.json");
    std::fs::write(&garbage, b"{\"sct_version\": 0}").expect("write");
    let (code, _, err) = verify(&["--sct", garbage.to_str().expect("utf8")]);
    assert_eq!(code, 2, "not an add-chain response: {err}");
    assert!(err.contains("Hint:") && err.contains("add-chain"), "{err}");
    // A well-formed response from a log no trust root lists: unused, the SCT is embedded.
    let foreign = repo.path().join("foreign.json");
    std::fs::write(
        &foreign,
        format!(
            "{{\"sct_version\":0,\"id\":\"{}\",\"timestamp\":1,\"extensions\":\"\",\"signature\":\"BAMAAA==\"}}",
            "A".repeat(43) + "="
        ),
    )
    .expect("write");
    let (code, _, err) = verify(&["--sct", foreign.to_str().expect("utf8")]);
    assert_eq!(code, 0, "the embedded SCT is the one checked: {err}");
}

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--sct FILE` end to end: a real May 2022 Go gitsign commit, whose certificate embeds no SCT,
/// verifies with a detached SCT (an RFC 6962 add-chain response) from a CT log the trust root
/// lists — the certificate extracted, the log key made and the SCT signed by OpenSSL; without
/// the file, or with its time changed, the SCT check fails.
#[test]
fn verify_takes_a_detached_sct_for_a_certificate_that_embeds_none() {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let manifest = util::json("gitsign-commits/manifest.json");
    let c = manifest["commits"]
        .as_array()
        .expect("commits")
        .iter()
        .find(|c| c["cert_has_sct_extension"] == false)
        .expect("the May 2022 commits carry no SCT");
    let raw = util::read(&format!(
        "gitsign-commits/{}",
        c["file"].as_str().expect("file")
    ));
    let repo = TestRepo::new();
    let sha = repo.write_object("commit", &raw);
    let dir = repo.path();
    let split = gitsign::git::object::split_commit(&raw, gitsign::git::object::HashKind::Sha1)
        .expect("signed");
    let pkcs7 = String::from_utf8_lossy(&split.signature).replace("SIGNED MESSAGE", "PKCS7");
    std::fs::write(dir.join("sig.pem"), pkcs7).expect("write");
    openssl(
        dir,
        &[
            "pkcs7",
            "-in",
            "sig.pem",
            "-print_certs",
            "-out",
            "leaf.pem",
        ],
    );
    openssl(
        dir,
        &[
            "x509", "-in", "leaf.pem", "-outform", "DER", "-out", "leaf.der",
        ],
    );
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ct.key",
        ],
    );
    openssl(
        dir,
        &[
            "ec", "-in", "ct.key", "-pubout", "-outform", "DER", "-out", "ct.der",
        ],
    );
    let leaf = std::fs::read(dir.join("leaf.der")).expect("leaf");
    let spki = std::fs::read(dir.join("ct.der")).expect("spki");
    openssl(
        dir,
        &["dgst", "-sha256", "-binary", "-out", "log.id", "ct.der"],
    );
    let log_id = std::fs::read(dir.join("log.id")).expect("id");
    let sct_json = |timestamp: u64, signed_at: u64| {
        // RFC 6962 §3.2: the digitally-signed input of an x509_entry SCT.
        let mut signed = vec![0u8, 0];
        signed.extend_from_slice(&signed_at.to_be_bytes());
        signed.extend_from_slice(&[0, 0]);
        signed.extend_from_slice(&(leaf.len() as u32).to_be_bytes()[1..]);
        signed.extend_from_slice(&leaf);
        signed.extend_from_slice(&[0, 0]);
        std::fs::write(dir.join("signed.bin"), &signed).expect("write");
        openssl(
            dir,
            &[
                "dgst",
                "-sha256",
                "-sign",
                "ct.key",
                "-out",
                "sct.sig",
                "signed.bin",
            ],
        );
        openssl(
            dir,
            &["dgst", "-sha256", "-binary", "-out", "log.id", "ct.der"],
        );
        let sig = std::fs::read(dir.join("sct.sig")).expect("sig");
        let mut ds = vec![4u8, 3];
        ds.extend_from_slice(&(sig.len() as u16).to_be_bytes());
        ds.extend_from_slice(&sig);
        serde_json::json!({
            "sct_version": 0,
            "id": b64(&log_id),
            "timestamp": timestamp,
            "extensions": "",
            "signature": b64(&ds),
        })
        .to_string()
    };
    let mut root = util::json("trust/trusted_root.json");
    root["ctlogs"]
        .as_array_mut()
        .expect("ctlogs")
        .push(serde_json::json!({
            "baseUrl": "https://ct.example",
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": b64(&spki),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": {"start": "2021-01-01T00:00:00Z"},
            },
            "logId": {"keyId": b64(&log_id)},
        }));
    std::fs::write(dir.join("root.json"), root.to_string()).expect("write");
    let at = 1_652_000_000_000;
    std::fs::write(dir.join("good.json"), sct_json(at, at)).expect("write");
    std::fs::write(dir.join("moved.json"), sct_json(at + 1, at)).expect("write");
    let verify = |extra: &[&str]| {
        util::output(
            repo.gitsign()
                .args(["verify", &sha, "--format", "json", "--insecure-ignore-tlog"])
                .args(["--trusted-root", "root.json"])
                .args(["--certificate-identity-regexp", "."])
                .args(["--certificate-oidc-issuer-regexp", "."])
                .args(extra),
        )
    };
    let (code, out, err) = verify(&["--sct", "good.json"]);
    assert_eq!(
        code, 0,
        "the detached SCT vouches for the certificate: {out}{err}"
    );
    let (code, out, _) = verify(&[]);
    assert_eq!(code, 1, "without it the SCT check fails: {out}");
    assert!(out.contains("\"code\":\"sct\""), "{out}");
    let (code, out, _) = verify(&["--sct", "moved.json"]);
    assert_eq!(code, 1, "the SCT's time is signed: {out}");
    assert!(out.contains("\"code\":\"sct\""), "{out}");
}
/// Regression (hostile review): `gitsign completion bash | head -1` panicked (exit 101) on
/// the broken pipe. Every command that writes to stdout ends quietly, exit 0, when its reader
/// has gone. The pipe's read end is closed before the command starts, so every write fails.
#[test]
fn commands_writing_to_stdout_end_quietly_on_a_closed_pipe() {
    let repo = repo();
    for args in [
        &["completion", "bash"][..],
        &["completion", "zsh"],
        &["version"],
        &["--help"],
        &[],
        &["show", TIP],
    ] {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let out = repo
            .gitsign()
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("gitsign runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "gitsign {args:?} with its reader gone exits 0: {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("error"),
            "gitsign {args:?} ends quietly: {err}"
        );
    }
}

/// As Go gitsign (cobra): no arguments at all print the help on stdout and exit 0.
#[test]
fn no_arguments_print_help_and_succeed() {
    let repo = repo();
    let out = repo.gitsign().output().expect("gitsign runs");
    assert_eq!(out.status.code(), Some(0), "no arguments is not an error");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Usage: gitsign") && text.contains("verify-attestation"),
        "the help is on stdout: {text}"
    );
}

/// `--all` is every commit `git rev-list --all` lists: annotated tags (a tag of a tag too)
/// peeled to their commits, refs naming a tree or a blob passed over. Checked with the objects
/// loose, then packed without a commit-graph (refs told apart from the pack entries' headers),
/// then with one.
#[test]
fn all_peels_tags_and_passes_over_refs_to_trees_and_blobs_loose_packed_and_with_a_graph() {
    let repo = TestRepo::new();
    repo.git(&["commit", "-q", "--allow-empty", "-m", "first"]);
    repo.git(&["commit", "-q", "--allow-empty", "-m", "second"]);
    repo.git(&["checkout", "-q", "--orphan", "side"]);
    repo.git(&[
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "reachable only through tags",
    ]);
    repo.git(&["tag", "-a", "-m", "inner", "inner"]);
    repo.git(&["tag", "-a", "-m", "outer", "outer", "inner"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "side"]);
    let tree = repo.git(&["rev-parse", "HEAD^{tree}"]);
    repo.git(&["update-ref", "refs/tags/a-tree", tree.trim()]);
    let blob = repo.write_object("blob", b"not a commit\n");
    repo.git(&["update-ref", "refs/tags/a-blob", blob.trim()]);
    let mut expected: Vec<String> = repo
        .git(&["rev-list", "--all"])
        .lines()
        .map(str::to_owned)
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 3, "git's own --all: {expected:?}");
    let listed = || {
        let (code, out, err) = util::output(repo.gitsign().args([
            "verify",
            "--all",
            "--no-facts",
            "--format",
            "json",
            "--certificate-identity",
            SIGNER,
            "--certificate-oidc-issuer",
            GOOGLE,
        ]));
        assert_eq!(
            code, 1,
            "unsigned commits are bad, nothing fails: {out}{err}"
        );
        let mut shas: Vec<String> = out
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
                v["sha"].as_str().expect("sha").to_owned()
            })
            .collect();
        shas.sort();
        shas
    };
    assert_eq!(listed(), expected, "loose objects");
    repo.git(&["gc", "-q"]);
    let graph = repo.path().join(".git/objects/info/commit-graph");
    let _ = std::fs::remove_file(&graph);
    assert!(
        repo.path()
            .join(".git/objects/pack")
            .read_dir()
            .expect("packs")
            .count()
            > 0,
        "packed"
    );
    assert_eq!(listed(), expected, "packed, no commit-graph");
    repo.git(&["commit-graph", "write", "--reachable"]);
    assert!(graph.exists(), "a commit-graph");
    assert_eq!(listed(), expected, "packed, with a commit-graph");
}

/// A commit that cannot be read in the middle of a long range (its object gone, the
/// commit-graph still naming it, so the walk goes on): the verdicts of the chunks before it
/// are printed in walk order, then the error names the object, exit 2; nothing at or after it
/// is reported, however the chunks' passes finished.
#[test]
fn an_unreadable_commit_mid_range_ends_the_range_with_an_error_after_the_verdicts_before_it() {
    const COMMITS: usize = 700;
    let repo = TestRepo::new();
    import_unsigned(&repo, COMMITS, None);
    // Loose objects, so one can be taken away: the pack fast-import wrote, unpacked.
    let pack_dir = repo.path().join(".git/objects/pack");
    let packs: Vec<std::path::PathBuf> = std::fs::read_dir(&pack_dir)
        .expect("pack dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    let pack = packs
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "pack"))
        .expect("a pack");
    let bytes = std::fs::read(pack).expect("read the pack");
    for p in &packs {
        std::fs::remove_file(p).expect("remove the pack");
    }
    let (code, _, err) = run_with_stdin(
        {
            let mut c = repo.cmd("git");
            c.args(["unpack-objects", "-q"]);
            c
        },
        &bytes,
    );
    assert_eq!(code, 0, "{err}");
    repo.git(&["commit-graph", "write", "--reachable"]);
    let order: Vec<String> = repo
        .git(&["rev-list", "main"])
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(order.len(), COMMITS);
    let missing = &order[300];
    std::fs::remove_file(
        repo.path()
            .join(".git/objects")
            .join(&missing[..2])
            .join(&missing[2..]),
    )
    .expect("remove the commit object");
    let (code, out, err) = util::output(repo.gitsign().args([
        "verify",
        "--all",
        "--no-facts",
        "--offline",
        "--format",
        "json",
        "--certificate-identity",
        SIGNER,
        "--certificate-oidc-issuer",
        GOOGLE,
    ]));
    assert_eq!(code, 2, "an unreadable commit is an error: {out}{err}");
    assert!(err.contains(missing.as_str()), "the error names it: {err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    let (last, verdicts) = lines.split_last().expect("lines");
    assert_eq!(last["exit_code"], 2, "the error, last: {last}");
    let shas: Vec<&str> = verdicts
        .iter()
        .map(|v| v["sha"].as_str().expect("a verdict"))
        .collect();
    assert!(
        (64..300).contains(&shas.len()),
        "whole chunks before the unreadable commit: {} verdicts",
        shas.len()
    );
    assert_eq!(
        shas,
        order[..shas.len()]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        "in walk order, nothing at or after the unreadable commit"
    );
}
