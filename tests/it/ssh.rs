//! SSH signature verification (`gitsign::ssh`) against `ssh-keygen -Y verify` as the oracle,
//! run in the test: every SSH-signed commit of `tests/data/real-history/` (FIDO security keys
//! among them) and keys made here by `ssh-keygen` — ed25519, ECDSA P-256/384/521, RSA — with
//! wrong namespaces, `namespaces=`, `valid-after`/`valid-before` judged at the commit's time
//! (git's `-Overify-time`), revocation, tampering and unknown keys.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use gitsign::git::object::{signature_format, split_commit, HashKind, SignatureFormat};
use gitsign::ssh::{self, AllowedSigners, Failure, Revoked};

use crate::util::{all_commits, signer_time};

fn have_ssh_keygen() -> bool {
    let ok = Command::new("ssh-keygen")
        .arg("-?")
        .stderr(Stdio::piped())
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stderr).contains("find-principals"));
    if !ok {
        eprintln!("skipped: ssh-keygen with -Y find-principals (OpenSSH 8.2+) is not installed");
    }
    ok
}

/// Runs ssh-keygen (UTC, so `-Overify-time` and allowed signers' times are UTC) with `stdin`;
/// returns (success, stdout).
fn ssh_keygen(args: &[&str], stdin: &[u8]) -> (bool, String) {
    let mut child = Command::new("ssh-keygen")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TZ", "UTC")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssh-keygen runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    let out = child.wait_with_output().expect("ssh-keygen finishes");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn utc(t: chrono::NaiveDateTime) -> Option<i64> {
    Some(t.and_utc().timestamp())
}

/// `-Overify-time=` as git passes it (UTC here).
fn verify_time(t: i64) -> String {
    let at = chrono::DateTime::from_timestamp(t, 0).expect("a valid time");
    format!("-Overify-time={}", at.format("%Y%m%d%H%M%S"))
}

/// The oracle: git's `ssh-keygen -Y verify -n git -I principal` with the same files.
fn oracle(
    dir: &Path,
    allowed: &str,
    revoked: Option<&str>,
    principal: &str,
    sig: &[u8],
    payload: &[u8],
    at: i64,
) -> (bool, String) {
    let allowed_path = dir.join("allowed_signers");
    let sig_path = dir.join("sig");
    std::fs::write(&allowed_path, allowed).expect("write allowed signers");
    std::fs::write(&sig_path, sig).expect("write sig");
    let time = verify_time(at);
    let mut args = vec![
        "-Y",
        "verify",
        "-n",
        "git",
        "-f",
        allowed_path.to_str().expect("utf-8"),
        "-I",
        principal,
        "-s",
        sig_path.to_str().expect("utf-8"),
        &time,
    ];
    let revoked_path = dir.join("revoked");
    if let Some(r) = revoked {
        std::fs::write(&revoked_path, r).expect("write revoked");
        args.extend(["-r", revoked_path.to_str().expect("utf-8")]);
    }
    let (ok, out) = ssh_keygen(&args, payload);
    (ok && out.starts_with("Good"), out)
}

/// A key made by ssh-keygen in `dir`: (private key path, public key line, SHA256 fingerprint).
fn make_key(dir: &Path, name: &str, kind: &[&str]) -> (String, String, String) {
    let path = dir.join(name);
    let p = path.to_str().expect("utf-8").to_owned();
    let mut args = vec!["-q", "-N", "", "-C", name, "-f", &p];
    args.extend(kind);
    let (ok, _) = ssh_keygen(&args, b"");
    assert!(ok, "ssh-keygen {args:?}");
    let public = std::fs::read_to_string(format!("{p}.pub")).expect("public key");
    let (ok, listing) = ssh_keygen(&["-l", "-E", "sha256", "-f", &format!("{p}.pub")], b"");
    assert!(ok, "ssh-keygen -l");
    let fingerprint = listing
        .split(' ')
        .nth(1)
        .expect("fingerprint field")
        .to_owned();
    (p, public.trim().to_owned(), fingerprint)
}

fn sign(dir: &Path, key: &str, namespace: &str, payload: &[u8]) -> Vec<u8> {
    let file = dir.join("payload");
    std::fs::write(&file, payload).expect("write payload");
    let f = file.to_str().expect("utf-8");
    let (ok, _) = ssh_keygen(&["-Y", "sign", "-n", namespace, "-f", key, f], b"");
    assert!(ok, "ssh-keygen -Y sign");
    let sig = std::fs::read(format!("{f}.sig")).expect("signature written");
    std::fs::remove_file(format!("{f}.sig")).expect("remove sig");
    sig
}

const PAYLOAD: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.com> 1700000000 +0000\ncommitter A <a@example.com> 1700000000 +0000\n\nsigned\n";
const AT: i64 = 1_700_000_000;

fn tampered(payload: &[u8]) -> Vec<u8> {
    let mut t = payload.to_vec();
    let last = t.len() - 2;
    t[last] ^= 0x20;
    t
}

fn check(
    allowed: &str,
    revoked: &str,
    sig: &[u8],
    payload: &[u8],
    at: i64,
) -> Result<ssh::Signer, Failure> {
    let allowed = AllowedSigners::parse(allowed, &utc).expect("allowed signers parse");
    let revoked = Revoked::parse(revoked.as_bytes()).expect("revocation file parses");
    ssh::verify(payload, sig, &allowed, &revoked, at)
}

#[test]
fn every_key_type_verifies_as_ssh_keygen_says_and_tampering_is_caught() {
    if !have_ssh_keygen() {
        return;
    }
    let dir = tempfile::tempdir().expect("scratch");
    for (name, kind) in [
        ("ed25519", &["-t", "ed25519"][..]),
        ("p256", &["-t", "ecdsa", "-b", "256"]),
        ("p384", &["-t", "ecdsa", "-b", "384"]),
        ("p521", &["-t", "ecdsa", "-b", "521"]),
        ("rsa", &["-t", "rsa", "-b", "3072"]),
    ] {
        let (key, public, fingerprint) = make_key(dir.path(), name, kind);
        let allowed = format!("\"{name}@example.com,*@corp.example\" {public}\n");
        let sig = sign(dir.path(), &key, "git", PAYLOAD);
        // git passes each principal find-principals prints; the first one verifies.
        let principal = format!("{name}@example.com");
        let (good, out) = oracle(dir.path(), &allowed, None, &principal, &sig, PAYLOAD, AT);
        assert!(good, "{name}: ssh-keygen says good: {out}");
        assert!(out.contains(&fingerprint), "{name}: {out}");
        let signer = check(&allowed, "", &sig, PAYLOAD, AT)
            .unwrap_or_else(|e| panic!("{name}: ssh-keygen says good, we say {e}"));
        assert_eq!(signer.key_fingerprint, fingerprint, "{name}");
        assert_eq!(
            signer.principal,
            format!("{name}@example.com"),
            "{name}: the first principal, as git shows it"
        );

        let bad = tampered(PAYLOAD);
        let (good, _) = oracle(dir.path(), &allowed, None, &principal, &sig, &bad, AT);
        assert!(!good, "{name}: ssh-keygen refuses a changed payload");
        assert_eq!(
            check(&allowed, "", &sig, &bad, AT).map_err(|e| e.code()),
            Err("bad_signature"),
            "{name}: a changed payload"
        );
    }
}

#[test]
fn namespace_validity_window_revocation_and_unknown_keys_are_refused_as_by_ssh_keygen() {
    if !have_ssh_keygen() {
        return;
    }
    let dir = tempfile::tempdir().expect("scratch");
    let (key, public, fingerprint) = make_key(dir.path(), "k", &["-t", "ed25519"]);
    let (_, other_public, _) = make_key(dir.path(), "other", &["-t", "ed25519"]);
    let sig = sign(dir.path(), &key, "git", PAYLOAD);
    let p = "k@example.com";
    let plain = format!("{p} {public}\n");
    // (case, allowed signers, revocation file, signature, our code)
    let file_sig = sign(dir.path(), &key, "file", PAYLOAD);
    let cases: Vec<(&str, String, String, &[u8], &str)> = vec![
        (
            "signed for namespace 'file'",
            plain.clone(),
            String::new(),
            &file_sig,
            "wrong_namespace",
        ),
        (
            "namespaces= excludes git",
            format!("{p} namespaces=\"file,email\" {public}\n"),
            String::new(),
            &sig,
            "wrong_namespace",
        ),
        (
            "valid-before passed at the commit's time",
            format!("{p} valid-before=\"20230101Z\" {public}\n"),
            String::new(),
            &sig,
            "key_expired",
        ),
        (
            "valid-after still ahead at the commit's time",
            format!("{p} valid-after=\"20240101\" {public}\n"),
            String::new(),
            &sig,
            "key_not_yet_valid",
        ),
        (
            "in the revocation file",
            plain.clone(),
            format!("{public}\n"),
            &sig,
            "key_revoked",
        ),
        (
            "not an allowed signer",
            format!("{p} {other_public}\n"),
            String::new(),
            &sig,
            "unknown_key",
        ),
    ];
    for (case, allowed, revoked, signature, code) in cases {
        let revoked_arg = (!revoked.is_empty()).then_some(revoked.as_str());
        let (good, out) = oracle(dir.path(), &allowed, revoked_arg, p, signature, PAYLOAD, AT);
        assert!(!good, "{case}: ssh-keygen refuses: {out}");
        let ours = check(&allowed, &revoked, signature, PAYLOAD, AT);
        assert_eq!(
            ours.as_ref().map_err(|e| e.code()),
            Err(code),
            "{case}: {ours:?}"
        );
    }
    // The window and namespace options accept what they name.
    let allowed = format!(
        "{p} namespaces=\"g*\",valid-after=\"20230101Z\",valid-before=\"20240101\" {public}\n"
    );
    let (good, out) = oracle(dir.path(), &allowed, None, p, &sig, PAYLOAD, AT);
    assert!(good, "inside the window: {out}");
    let signer = check(&allowed, "", &sig, PAYLOAD, AT).expect("inside the window");
    assert_eq!(signer.key_fingerprint, fingerprint);
    // The unknown key's fingerprint is in the reason.
    match check(&format!("{p} {other_public}\n"), "", &sig, PAYLOAD, AT) {
        Err(Failure::UnknownKey { fingerprint: f }) => assert_eq!(f, fingerprint),
        other => panic!("unknown key: {other:?}"),
    }
}

#[test]
fn principal_patterns_admit_as_ssh_keygen_verify_dash_i_does() {
    if !have_ssh_keygen() {
        return;
    }
    let dir = tempfile::tempdir().expect("scratch");
    let (key, public, fingerprint) = make_key(dir.path(), "k", &["-t", "ed25519"]);
    let sig = sign(dir.path(), &key, "git", PAYLOAD);
    // (principals of the line, principal asked for)
    let cases = [
        ("k@example.com", "k@example.com"),
        ("*@example.com", "k@example.com"),
        ("*@example.com", "k@example.org"),
        ("k?@example.com", "k@example.com"),
        ("k?@example.com", "kk@example.com"),
        ("k**", "k"),
        ("**", "k@example.com"),
        ("?**", "k"),
        ("k*b**", "k"),
        ("k*b**", "kab"),
        ("*a*a*b", "aab"),
        ("*a*a*b", "aaab"),
        ("*a*a*b", "abab"),
        ("*a*a*b", "aba"),
        ("b@x.org,*@example.com", "k@example.com"),
        ("*@example.com,!k@*", "k@example.com"),
        ("!z@*,*@example.com", "k@example.com"),
        ("K@example.com", "k@example.com"),
    ];
    let mut admitted = 0;
    for (principals, principal) in cases {
        let line = format!("{principals} {public}\n");
        let (good, out) = oracle(dir.path(), &line, None, principal, &sig, PAYLOAD, AT);
        let allowed = AllowedSigners::parse(&line, &utc).expect("allowed signers parse");
        let ours = ssh::admits(&allowed, &fingerprint, principal, Some(AT));
        assert_eq!(
            ours, good,
            "{principal:?} against {principals:?}: ssh-keygen says {out}"
        );
        admitted += usize::from(good);
    }
    assert!(
        (5..cases.len() - 5).contains(&admitted),
        "both answers among the cases: {admitted} of {}",
        cases.len()
    );
}

#[test]
fn real_history_ssh_commits_verify_as_ssh_keygen_says_fido_keys_included() {
    if !have_ssh_keygen() {
        return;
    }
    let mut key_types = std::collections::BTreeMap::new();
    let mut total = 0;
    for (name, count) in [("malcontent", 2), ("wolfictl", 31)] {
        let dir = tempfile::tempdir().expect("scratch");
        let repo = crate::real_history::lay_out(name, dir.path());
        let commits: Vec<_> = all_commits(&repo)
            .into_iter()
            .filter_map(|(sha, raw)| {
                let split = split_commit(&raw, HashKind::Sha1)?;
                (signature_format(&split.signature) == SignatureFormat::Ssh)
                    .then(|| (sha, signer_time(&raw), split))
            })
            .collect();
        assert_eq!(commits.len(), count, "{name}: SSH-signed commits");
        // The allowed signers: each signature's own public key, as a user would list it.
        let mut allowed = String::new();
        for (_, _, split) in &commits {
            let sig = ssh_key::SshSig::from_pem(&split.signature).expect("SSHSIG parses");
            let line = ssh_key::PublicKey::new(sig.public_key().clone(), "")
                .to_openssh()
                .expect("encode key");
            if !allowed.contains(&line) {
                allowed.push_str(&format!("signer@{name} {line}\n"));
            }
        }
        let principal = format!("signer@{name}");
        for (sha, at, split) in &commits {
            let (good, out) = oracle(
                dir.path(),
                &allowed,
                None,
                &principal,
                &split.signature,
                &split.payload,
                *at,
            );
            let ours = check(&allowed, "", &split.signature, &split.payload, *at);
            match &ours {
                Ok(signer) => {
                    assert!(good, "{name} {sha}: we accept, ssh-keygen does not: {out}");
                    assert!(out.contains(&signer.key_fingerprint), "{name} {sha}: {out}");
                    *key_types.entry(signer.key_type.clone()).or_insert(0) += 1;
                }
                Err(e) => assert!(!good, "{name} {sha}: ssh-keygen accepts, we say {e}"),
            }
            let bad = tampered(&split.payload);
            let (good, _) = oracle(
                dir.path(),
                &allowed,
                None,
                &principal,
                &split.signature,
                &bad,
                *at,
            );
            assert!(!good, "{name} {sha}: the oracle refuses a changed payload");
            assert_eq!(
                check(&allowed, "", &split.signature, &bad, *at).map_err(|e| e.code()),
                Err("bad_signature"),
                "{name} {sha}: a changed payload"
            );
            total += 1;
        }
    }
    let good: usize = key_types.values().sum();
    assert_eq!(
        good, total,
        "every real SSH signature verifies: {key_types:?}"
    );
    assert!(
        key_types.keys().any(|k| k.starts_with("sk-")),
        "FIDO security-key signatures are among them: {key_types:?}"
    );
}

/// The key a signature carries is offered (as an allowed signers line's key) only when the
/// signature verifies under it in git's namespace.
#[test]
fn the_signing_key_is_the_one_ssh_keygen_made_and_only_for_a_signature_it_verifies() {
    if !have_ssh_keygen() {
        return;
    }
    let dir = tempfile::tempdir().expect("scratch");
    for (name, kind) in [
        ("ed", &["-t", "ed25519"][..]),
        ("p256", &["-t", "ecdsa", "-b", "256"][..]),
    ] {
        let (key, public, _) = make_key(dir.path(), name, kind);
        let want: Vec<&str> = public.split_whitespace().take(2).collect();
        let sig = sign(dir.path(), &key, "git", PAYLOAD);
        assert_eq!(
            ssh::signing_key(PAYLOAD, &sig).as_deref(),
            Some(want.join(" ").as_str()),
            "{name}: the key ssh-keygen wrote"
        );
        assert_eq!(
            ssh::signing_key(&tampered(PAYLOAD), &sig),
            None,
            "{name}: a changed payload"
        );
        let other = sign(dir.path(), &key, "file", PAYLOAD);
        assert_eq!(
            ssh::signing_key(PAYLOAD, &other),
            None,
            "{name}: another namespace"
        );
    }
    assert_eq!(ssh::signing_key(PAYLOAD, b"not a signature"), None);
}
