//! OpenPGP verification (`gitsign::openpgp`) against GnuPG as the oracle, run in the test:
//! every OpenPGP-signed commit of `tests/data/real-history/` (GitHub's web-flow merges and
//! maintainers' own keys) and keys made here by `gpg` — RSA, EdDSA, ECDSA P-256/384/521,
//! signing subkeys, expiry, revocation, keys newer than the signature, SHA-1, tampering and
//! unknown keys. No signature `gpg` refuses may be accepted. Where the verdicts differ by
//! design (expiry judged at the signature's time, SHA-1 refused) the test says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use gitsign::git::object::{signature_format, split_commit, HashKind, SignatureFormat};
use gitsign::openpgp::{self, Failure, Keyring};

use crate::util::{all_commits, data};

/// A throwaway GnuPG home.
struct Gpg {
    home: tempfile::TempDir,
}

/// `gpg` is installed (skip visibly otherwise).
fn have_gpg() -> bool {
    let ok = Command::new("gpg")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: gpg is not installed (the OpenPGP oracle)");
    }
    ok
}

impl Gpg {
    fn new() -> Gpg {
        let home = tempfile::tempdir().expect("gnupg home");
        std::fs::set_permissions(
            home.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .expect("chmod gnupg home");
        Gpg { home }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("gpg");
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GNUPGHOME", self.home.path())
            .env("LC_ALL", "C")
            .args([
                "--batch",
                "--no-tty",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ]);
        c
    }

    /// Runs gpg; returns (success, stdout, stderr).
    fn run(&self, args: &[&str]) -> (bool, Vec<u8>, String) {
        let out = self.cmd().args(args).output().expect("gpg runs");
        (
            out.status.success(),
            out.stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn ok(&self, args: &[&str]) -> Vec<u8> {
        let (ok, out, err) = self.run(args);
        assert!(ok, "gpg {args:?}: {err}");
        out
    }

    fn import(&self, path: &Path) {
        self.ok(&["--import", path.to_str().expect("utf-8 path")]);
    }

    /// Makes a key; returns its primary fingerprint.
    fn gen(&self, uid: &str, algo: &str, usage: &str, faked: Option<&str>) -> String {
        let mut args = Vec::new();
        if let Some(t) = faked {
            args.extend(["--faked-system-time", t]);
        }
        args.extend(["--quick-gen-key", uid, algo, usage, "never"]);
        self.ok(&args);
        self.fingerprints(uid)[0].clone()
    }

    /// Primary fingerprint first, then the subkeys', as `--with-colons` lists them.
    fn fingerprints(&self, who: &str) -> Vec<String> {
        let out = self.ok(&["--with-colons", "--list-keys", who]);
        String::from_utf8_lossy(&out)
            .lines()
            .filter(|l| l.starts_with("fpr:"))
            .map(|l| l.split(':').nth(9).expect("fpr field").to_owned())
            .collect()
    }

    /// A detached armored signature (what git stores) by exactly `key` over `payload`.
    fn sign(&self, key: &str, payload: &[u8], extra: &[&str]) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("scratch");
        let input = dir.path().join("payload");
        let output = dir.path().join("payload.asc");
        std::fs::write(&input, payload).expect("write payload");
        let exact = format!("{key}!");
        let mut args: Vec<&str> = extra.to_vec();
        args.extend([
            "-u",
            &exact,
            "-o",
            output.to_str().expect("utf-8"),
            "-bsa",
            input.to_str().expect("utf-8"),
        ]);
        self.ok(&args);
        std::fs::read(&output).expect("signature written")
    }

    fn export(&self, key: &str) -> Vec<u8> {
        self.ok(&["--armor", "--export", key])
    }

    /// `gpg --verify` status lines (`--status-fd 1`) for one signature.
    fn verify(&self, signature: &[u8], payload: &[u8], scratch: &Path) -> String {
        let sig = scratch.join("sig.asc");
        let msg = scratch.join("payload");
        std::fs::write(&sig, signature).expect("write sig");
        std::fs::write(&msg, payload).expect("write payload");
        let out = self
            .cmd()
            .args(["--status-fd", "1", "--verify"])
            .arg(&sig)
            .arg(&msg)
            .stderr(Stdio::null())
            .output()
            .expect("gpg --verify runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// The status keyword among the verdict lines gpg printed.
fn verdict(status: &str) -> &'static str {
    for word in [
        "GOODSIG",
        "EXPKEYSIG",
        "REVKEYSIG",
        "EXPSIG",
        "BADSIG",
        "ERRSIG",
    ] {
        if status.contains(&format!("[GNUPG:] {word} ")) {
            return word;
        }
    }
    "NONE"
}

/// VALIDSIG fields: signing key fingerprint, creation time, hash algorithm id, primary fingerprint.
fn validsig(status: &str) -> Option<(String, i64, u8, String)> {
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("[GNUPG:] VALIDSIG "))?;
    let f: Vec<&str> = line.split(' ').collect();
    Some((
        f[0].to_owned(),
        f[2].parse().expect("creation time"),
        f[7].parse().expect("hash algorithm"),
        f[9].to_owned(),
    ))
}

fn ring_of(files: &[&[u8]]) -> Keyring {
    let mut ring = Keyring::new();
    for f in files {
        let warnings = ring.add_file(f).expect("the exported keys parse");
        assert!(warnings.is_empty(), "no key dropped: {warnings:?}");
    }
    ring
}

const PAYLOAD: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.com> 1700000000 +0000\ncommitter A <a@example.com> 1700000000 +0000\n\nsigned\n";

fn tampered(payload: &[u8]) -> Vec<u8> {
    let mut t = payload.to_vec();
    let last = t.len() - 2;
    t[last] ^= 0x20;
    t
}

#[test]
fn every_key_algorithm_verifies_as_gpg_says_and_tampering_is_caught() {
    if !have_gpg() {
        return;
    }
    let gpg = Gpg::new();
    let scratch = tempfile::tempdir().expect("scratch");
    for (uid, algo) in [
        ("RSA <rsa@example.com>", "rsa3072"),
        ("EdDSA <ed@example.com>", "ed25519"),
        ("P256 <p256@example.com>", "nistp256"),
        ("P384 <p384@example.com>", "nistp384"),
        ("P521 <p521@example.com>", "nistp521"),
    ] {
        let fpr = gpg.gen(uid, algo, "sign", None);
        let ring = ring_of(&[&gpg.export(&fpr)]);
        let sig = gpg.sign(&fpr, PAYLOAD, &[]);
        let status = gpg.verify(&sig, PAYLOAD, scratch.path());
        assert_eq!(
            verdict(&status),
            "GOODSIG",
            "{algo}: gpg's verdict: {status}"
        );
        let signer = openpgp::verify(PAYLOAD, &sig, &ring)
            .unwrap_or_else(|e| panic!("{algo}: gpg says good, we say {e}"));
        assert_eq!(signer.key_fingerprint, fpr, "{algo}: the signing key");
        assert_eq!(signer.primary_fingerprint, fpr, "{algo}: the primary key");
        assert_eq!(signer.user_id.as_deref(), Some(uid), "{algo}: the user id");

        let bad = tampered(PAYLOAD);
        assert_eq!(verdict(&gpg.verify(&sig, &bad, scratch.path())), "BADSIG");
        assert_eq!(
            openpgp::verify(&bad, &sig, &ring).map_err(|e| e.code()),
            Err("bad_signature"),
            "{algo}: a changed payload"
        );
    }
}

/// RSA keys below and within aws-lc's sizes (the `pgp` crate checks 1024 bits and SHA-224,
/// aws-lc 2048 bits with SHA-256/384/512): every signature verifies as gpg says, and a changed
/// payload is refused.
#[test]
fn rsa_signatures_of_each_size_and_hash_verify_as_gpg_says() {
    if !have_gpg() {
        return;
    }
    let gpg = Gpg::new();
    let scratch = tempfile::tempdir().expect("scratch");
    for (uid, algo) in [
        ("RSA1024 <rsa1024@example.com>", "rsa1024"),
        ("RSA2048 <rsa2048@example.com>", "rsa2048"),
    ] {
        let fpr = gpg.gen(uid, algo, "sign", None);
        let ring = ring_of(&[&gpg.export(&fpr)]);
        for (hash, id) in [("SHA224", 11), ("SHA256", 8), ("SHA384", 9), ("SHA512", 10)] {
            let sig = gpg.sign(&fpr, PAYLOAD, &["--digest-algo", hash]);
            let status = gpg.verify(&sig, PAYLOAD, scratch.path());
            assert_eq!(verdict(&status), "GOODSIG", "{algo} {hash}: {status}");
            assert_eq!(validsig(&status).map(|v| v.2), Some(id), "{algo} {hash}");
            let signer = openpgp::verify(PAYLOAD, &sig, &ring)
                .unwrap_or_else(|e| panic!("{algo} {hash}: gpg says good, we say {e}"));
            assert_eq!(signer.key_fingerprint, fpr, "{algo} {hash}");
            let bad = tampered(PAYLOAD);
            assert_eq!(verdict(&gpg.verify(&sig, &bad, scratch.path())), "BADSIG");
            assert_eq!(
                openpgp::verify(&bad, &sig, &ring).map_err(|e| e.code()),
                Err("bad_signature"),
                "{algo} {hash}: a changed payload"
            );
        }
    }
}

#[test]
fn sha1_signatures_are_refused_though_gpg_accepts_them() {
    if !have_gpg() {
        return;
    }
    let gpg = Gpg::new();
    let scratch = tempfile::tempdir().expect("scratch");
    let fpr = gpg.gen("Old <old@example.com>", "rsa2048", "sign", None);
    let ring = ring_of(&[&gpg.export(&fpr)]);
    let sig = gpg.sign(&fpr, PAYLOAD, &["--digest-algo", "SHA1"]);
    let status = gpg.verify(&sig, PAYLOAD, scratch.path());
    let (_, _, hash, _) = validsig(&status).expect("gpg checked the signature");
    assert_eq!(hash, 2, "gpg made a SHA-1 signature: {status}");
    assert_eq!(
        verdict(&status),
        "GOODSIG",
        "gpg still accepts SHA-1: {status}"
    );
    assert_eq!(
        openpgp::verify(PAYLOAD, &sig, &ring),
        Err(Failure::WeakHash("SHA1".into())),
        "SHA-1 data signatures are refused"
    );
}

#[test]
fn a_signing_subkey_signs_for_its_primary_key() {
    if !have_gpg() {
        return;
    }
    let gpg = Gpg::new();
    let scratch = tempfile::tempdir().expect("scratch");
    let uid = "Sub <sub@example.com>";
    let primary = gpg.gen(uid, "ed25519", "cert", Some("20200101T000000"));
    gpg.ok(&[
        "--faked-system-time",
        "20200601T000000!",
        "--quick-add-key",
        &primary,
        "rsa2048",
        "sign",
        "never",
    ]);
    let fprs = gpg.fingerprints(uid);
    assert_eq!(fprs.len(), 2, "a primary and one subkey: {fprs:?}");
    let sub = &fprs[1];
    let ring = ring_of(&[&gpg.export(&primary)]);

    let sig = gpg.sign(sub, PAYLOAD, &["--faked-system-time", "20200701T000000"]);
    let status = gpg.verify(&sig, PAYLOAD, scratch.path());
    assert_eq!(verdict(&status), "GOODSIG", "{status}");
    let (key, _, _, prim) = validsig(&status).expect("VALIDSIG");
    let signer = openpgp::verify(PAYLOAD, &sig, &ring).expect("gpg says good");
    assert_eq!(
        (
            signer.key_fingerprint.as_str(),
            signer.primary_fingerprint.as_str()
        ),
        (key.as_str(), prim.as_str()),
        "the subkey signed on behalf of the primary key, as gpg reports"
    );
    assert_eq!(&signer.key_fingerprint, sub);
    // The same certificate exported binary (`gpg --export`, no armor) reads the same.
    let binary = ring_of(&[&gpg.ok(&["--export", &primary])]);
    assert_eq!(openpgp::verify(PAYLOAD, &sig, &binary), Ok(signer));
}

#[test]
fn expiry_is_judged_at_the_signature_time_gpg_judges_it_now() {
    if !have_gpg() {
        return;
    }
    let gpg = Gpg::new();
    let scratch = tempfile::tempdir().expect("scratch");
    let uid = "Exp <exp@example.com>";
    let fpr = gpg.gen(uid, "nistp384", "sign", Some("20200101T000000"));
    let before = gpg.sign(&fpr, PAYLOAD, &["--faked-system-time", "20200101T120000"]);
    let after = gpg.sign(&fpr, PAYLOAD, &["--faked-system-time", "20200103T000000"]);
    // Expiry set later: one day after 2020-01-01T01:00, i.e. 2020-01-02T01:00.
    gpg.ok(&[
        "--faked-system-time",
        "20200101T010000",
        "--quick-set-expire",
        &fpr,
        "1d",
    ]);
    let ring = ring_of(&[&gpg.export(&fpr)]);
    for sig in [&before, &after] {
        let status = gpg.verify(sig, PAYLOAD, scratch.path());
        assert_eq!(
            verdict(&status),
            "EXPKEYSIG",
            "the key has expired by now: {status}"
        );
    }
    let signer = openpgp::verify(PAYLOAD, &before, &ring)
        .expect("made while the key was valid: good, though gpg says EXPKEYSIG");
    assert_eq!(signer.key_fingerprint, fpr);
    match openpgp::verify(PAYLOAD, &after, &ring) {
        Err(Failure::KeyExpired {
            expired, signed, ..
        }) => {
            assert_eq!(expired, 1_577_926_800, "2020-01-02T01:00Z");
            assert_eq!(signed, 1_578_009_600, "2020-01-03T00:00Z");
        }
        other => panic!("made after expiry: {other:?}"),
    }
}

#[test]
fn a_revoked_key_and_a_key_newer_than_its_signature_are_refused_as_by_gpg() {
    if !have_gpg() {
        return;
    }
    let gpg = Gpg::new();
    let scratch = tempfile::tempdir().expect("scratch");
    let fpr = gpg.gen("Rev <rev@example.com>", "ed25519", "sign", None);
    let sig = gpg.sign(&fpr, PAYLOAD, &[]);
    // gpg's own revocation certificate (reason 0, "no reason": a hard revocation), with the
    // colon it prefixes to keep an accidental import out removed.
    let rev_path = gpg.home.path().join(format!("openpgp-revocs.d/{fpr}.rev"));
    let rev = std::fs::read_to_string(&rev_path).expect("gpg stored a revocation certificate");
    let cert = scratch.path().join("rev.asc");
    std::fs::write(&cert, rev.replace(":-----BEGIN", "-----BEGIN")).expect("write");
    gpg.import(&cert);
    let ring = ring_of(&[&gpg.export(&fpr)]);
    let status = gpg.verify(&sig, PAYLOAD, scratch.path());
    assert_eq!(verdict(&status), "REVKEYSIG", "{status}");
    assert!(
        matches!(openpgp::verify(PAYLOAD, &sig, &ring), Err(Failure::KeyRevoked { ref key, .. }) if *key == fpr),
        "revoked"
    );

    // gpg's clock frozen ('!'): a slow key generation must not move the times asserted below.
    let future = gpg.gen(
        "Fut <fut@example.com>",
        "rsa2048",
        "sign",
        Some("20210101T000000!"),
    );
    let sig = gpg.sign(
        &future,
        PAYLOAD,
        &[
            "--faked-system-time",
            "20200601T000000!",
            "--ignore-time-conflict",
        ],
    );
    let ring = ring_of(&[&gpg.export(&future)]);
    assert_eq!(
        verdict(&gpg.verify(&sig, PAYLOAD, scratch.path())),
        "ERRSIG"
    );
    assert!(matches!(
        openpgp::verify(PAYLOAD, &sig, &ring),
        Err(Failure::KeyNotYetValid {
            created: 1_609_459_200,
            signed: 1_590_969_600,
            ..
        })
    ));
}

#[test]
fn a_signature_by_a_key_nobody_configured_names_its_fingerprint() {
    if !have_gpg() {
        return;
    }
    let signer = Gpg::new();
    let verifier = Gpg::new();
    let scratch = tempfile::tempdir().expect("scratch");
    let fpr = signer.gen("Stranger <s@example.com>", "ed25519", "sign", None);
    let known = verifier.gen("Known <k@example.com>", "ed25519", "sign", None);
    let sig = signer.sign(&fpr, PAYLOAD, &[]);
    let status = verifier.verify(&sig, PAYLOAD, scratch.path());
    assert_eq!(verdict(&status), "ERRSIG", "{status}");
    assert!(status.contains("[GNUPG:] NO_PUBKEY "), "{status}");
    let ring = ring_of(&[&verifier.export(&known)]);
    assert_eq!(
        openpgp::verify(PAYLOAD, &sig, &ring),
        Err(Failure::UnknownKey { issuer: fpr }),
        "the issuer fingerprint subpacket names the stranger"
    );
}

/// One OpenPGP-signed commit of the real history.
struct Signed {
    sha: String,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

fn openpgp_commits(name: &str, dir: &Path) -> Vec<Signed> {
    let repo = crate::real_history::lay_out(name, dir);
    all_commits(&repo)
        .into_iter()
        .filter_map(|(sha, raw)| {
            let split = split_commit(&raw, HashKind::Sha1)?;
            (signature_format(&split.signature) == SignatureFormat::Openpgp).then_some(Signed {
                sha,
                payload: split.payload,
                signature: split.signature,
            })
        })
        .collect()
}

/// Key expiry per primary fingerprint, from gpg's own listing.
fn expiries(gpg: &Gpg) -> BTreeMap<String, i64> {
    let out = gpg.ok(&["--with-colons", "--list-keys"]);
    let text = String::from_utf8_lossy(&out).into_owned();
    let mut map = BTreeMap::new();
    let mut expiry = None;
    for line in text.lines() {
        let f: Vec<&str> = line.split(':').collect();
        match f[0] {
            "pub" => expiry = f[6].parse::<i64>().ok(),
            "fpr" => {
                if let Some(e) = expiry.take() {
                    map.insert(f[9].to_owned(), e);
                }
            }
            _ => expiry = None,
        }
    }
    map
}

/// gpg's status for every commit, on two threads (one gpg process per signature).
fn gpg_statuses(gpg: &Gpg, commits: &[Signed], tamper: bool) -> Vec<String> {
    let half = commits.len().div_ceil(2).max(1);
    std::thread::scope(|s| {
        let workers: Vec<_> = commits
            .chunks(half)
            .map(|chunk| {
                s.spawn(move || {
                    let scratch = tempfile::tempdir().expect("scratch");
                    chunk
                        .iter()
                        .map(|c| {
                            let payload = if tamper {
                                tampered(&c.payload)
                            } else {
                                c.payload.clone()
                            };
                            gpg.verify(&c.signature, &payload, scratch.path())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("oracle worker"))
            .collect()
    })
}

/// Every OpenPGP commit of one real repository: our verdict against gpg's.
/// Returns how many we found good per primary fingerprint, and how many were unknown.
fn compare_with_gpg(name: &str, keys: &Path) -> (usize, BTreeMap<String, usize>, usize) {
    let dir = tempfile::tempdir().expect("scratch");
    let commits = openpgp_commits(name, dir.path());
    let ring = ring_of(&[&std::fs::read(keys).expect("key file")]);
    let gpg = Gpg::new();
    gpg.import(keys);
    let expiry = expiries(&gpg);
    assert_eq!(
        expiry.len(),
        1,
        "one of the two web-flow keys expires: {expiry:?}"
    );
    let statuses = gpg_statuses(&gpg, &commits, false);
    let mut good = BTreeMap::new();
    let mut unknown = 0;
    for (c, status) in commits.iter().zip(&statuses) {
        let ours = openpgp::verify(&c.payload, &c.signature, &ring);
        let word = verdict(status);
        match (&ours, validsig(status)) {
            (Ok(signer), Some((key, created, _, primary))) => {
                assert_eq!(signer.key_fingerprint, key, "{name} {}", c.sha);
                assert_eq!(signer.primary_fingerprint, primary, "{name} {}", c.sha);
                assert_eq!(signer.created, created, "{name} {}", c.sha);
                match word {
                    "GOODSIG" => {}
                    // gpg judges expiry now; we at the signature's time, which must precede it.
                    "EXPKEYSIG" => assert!(
                        created < expiry[&primary],
                        "{name} {}: made after the key expired yet good",
                        c.sha
                    ),
                    other => panic!("{name} {}: we accept what gpg calls {other}", c.sha),
                }
                *good.entry(primary).or_insert(0) += 1;
            }
            (Ok(_), None) => panic!(
                "{name} {}: good, but gpg could not verify it: {status}",
                c.sha
            ),
            (Err(Failure::UnknownKey { issuer }), _) => {
                assert_eq!(word, "ERRSIG", "{name} {}: {status}", c.sha);
                let errsig = status
                    .lines()
                    .find_map(|l| l.strip_prefix("[GNUPG:] NO_PUBKEY "))
                    .unwrap_or_else(|| panic!("{name} {}: gpg lacks the key too: {status}", c.sha));
                assert!(
                    issuer.ends_with(errsig),
                    "{name} {}: {issuer} vs {errsig}",
                    c.sha
                );
                unknown += 1;
            }
            (Err(e), Some((_, created, hash, primary))) => {
                let designed = match e {
                    Failure::WeakHash(_) => matches!(hash, 1..=3),
                    Failure::KeyExpired { .. } => created >= expiry[&primary],
                    _ => false,
                };
                assert!(
                    designed,
                    "{name} {}: gpg verified it, we say {e}: {status}",
                    c.sha
                );
            }
            (Err(e), None) => {
                assert_ne!(word, "GOODSIG", "{name} {}: {e}", c.sha);
            }
        }
    }
    // Tampering: a sample of the signatures over a changed payload; both refuse every one.
    let sample: Vec<Signed> = commits
        .iter()
        .step_by(97)
        .map(|c| Signed {
            sha: c.sha.clone(),
            payload: c.payload.clone(),
            signature: c.signature.clone(),
        })
        .collect();
    let statuses = gpg_statuses(&gpg, &sample, true);
    for (c, status) in sample.iter().zip(&statuses) {
        let ours = openpgp::verify(&tampered(&c.payload), &c.signature, &ring);
        assert!(ours.is_err(), "{name} {}: tampered payload accepted", c.sha);
        assert_ne!(verdict(status), "GOODSIG", "{name} {}: the oracle", c.sha);
        if verdict(status) == "BADSIG" {
            assert_eq!(
                ours.map_err(|e| e.code()),
                Err("bad_signature"),
                "{name} {}",
                c.sha
            );
        }
    }
    (commits.len(), good, unknown)
}

const NEW_WEB_FLOW: &str = "968479A1AFF927E37D1A566BB5690EEEBB952194";
const OLD_WEB_FLOW: &str = "5DE3E0509C47EA3CF04A42D34AEE18F83AFDEB23";

fn web_flow_keys() -> PathBuf {
    data("keys/github-web-flow.asc")
}

#[test]
fn malcontent_openpgp_commits_verify_as_gpg_says() {
    if !have_gpg() {
        return;
    }
    let (total, good, unknown) = compare_with_gpg("malcontent", &web_flow_keys());
    assert_eq!(total, 2_581, "OpenPGP-signed commits in malcontent");
    assert_eq!(
        good.get(NEW_WEB_FLOW),
        Some(&2_463),
        "web-flow (new key): {good:?}"
    );
    assert_eq!(
        good.len(),
        1,
        "only web-flow keys were configured: {good:?}"
    );
    assert_eq!(
        unknown,
        total - 2_463,
        "the maintainers' own keys are unknown"
    );
}

#[test]
fn wolfictl_openpgp_commits_verify_as_gpg_says() {
    if !have_gpg() {
        return;
    }
    let (total, good, unknown) = compare_with_gpg("wolfictl", &web_flow_keys());
    assert_eq!(total, 2_715, "OpenPGP-signed commits in wolfictl");
    assert_eq!(
        good.get(NEW_WEB_FLOW),
        Some(&2_098),
        "web-flow (new key): {good:?}"
    );
    assert_eq!(
        good.get(OLD_WEB_FLOW),
        Some(&596),
        "web-flow (old key, expired 2024 but valid when these were signed): {good:?}"
    );
    assert_eq!(
        unknown,
        total - 2_098 - 596,
        "the maintainers' own keys are unknown"
    );
}
