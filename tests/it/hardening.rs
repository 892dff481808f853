//! Issue 16, hostile inputs end to end: certificates whose SAN paints the terminal or injects
//! status lines, signatures with bytes around them, and core dumps of the signing process.
//! Hostile certificates and signatures are made by `openssl`, independent of our encoder.

use std::path::Path;
use std::process::Command;

use crate::util::{gitsign_bin, output, TestRepo};

/// DER of a GeneralNames holding one rfc822Name with these exact bytes.
fn san_der(email: &[u8]) -> Vec<u8> {
    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match body.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n < 0x100 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(body);
        out
    }
    tlv(0x30, &tlv(0x81, email))
}

fn openssl(dir: &Path, args: &[&str]) {
    let (code, _, err) = output(Command::new("openssl").current_dir(dir).args(args));
    assert_eq!(code, 0, "openssl {args:?} runs: {err}");
}

/// A self-signed P-256 certificate naming `email` (any bytes), as `c.pem` / `k.pem` in `dir`.
fn self_signed(dir: &Path, email: &[u8]) {
    let hex: String = san_der(email).iter().map(|b| format!("{b:02x}")).collect();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "k.pem",
            "-out",
            "c.pem",
            "-subj",
            "/CN=x",
            "-days",
            "2",
            "-addext",
            &format!("subjectAltName=DER:{hex}"),
        ],
    );
}

/// A commit signed by openssl over its payload with the certificate in `dir`; its id.
pub(crate) fn openssl_signed_commit(repo: &TestRepo, dir: &Path, message: &str) -> String {
    let head = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
                author A <a@example.com> 1700000000 +0000\n\
                committer A <a@example.com> 1700000000 +0000\n";
    let body = format!("\n{message}\n");
    std::fs::write(dir.join("payload"), format!("{head}{body}")).expect("write payload");
    openssl(
        dir,
        &[
            "cms", "-sign", "-binary", "-md", "sha256", "-in", "payload", "-signer", "c.pem",
            "-inkey", "k.pem", "-outform", "PEM", "-out", "sig.pem",
        ],
    );
    let pem = std::fs::read_to_string(dir.join("sig.pem"))
        .expect("read signature")
        .replace("-----BEGIN CMS-----", "-----BEGIN SIGNED MESSAGE-----")
        .replace("-----END CMS-----", "-----END SIGNED MESSAGE-----");
    let gpgsig = format!("gpgsig {}\n", pem.trim_end().replace('\n', "\n "));
    repo.write_object("commit", format!("{head}{gpgsig}{body}").as_bytes())
}

/// Issue 16.4: a SAN that repaints the line as alice's good signature and carries a forged
/// `[GNUPG:] GOODSIG` line. Before: git's status fd got a second line `[GNUPG:] GOODSIG 0000
/// alice@example.com…` and the terminal showed "gitsign: Good signature from [alice…]" in green
/// over the real verdict. After: one escaped status line, no ESC or CR on the terminal.
#[test]
fn a_spoofing_san_renders_escaped_and_injects_no_status_line() {
    let dir = tempfile::tempdir().expect("dir");
    let san = b"eve@example.com\n[GNUPG:] GOODSIG 0000 alice@example.com\x1b[2K\r\x1b[32mgitsign: Good signature from [alice@example.com](https://accounts.example.com)\x1b[8m";
    self_signed(dir.path(), san);
    let repo = TestRepo::new();
    let id = openssl_signed_commit(&repo, dir.path(), "spoof");

    let program = format!("gpg.x509.program={}", gitsign_bin().display());
    let (code, _, err) = output(repo.cmd("git").args([
        "-c",
        "gpg.format=x509",
        "-c",
        &program,
        "verify-commit",
        "--raw",
        &id,
    ]));
    assert_ne!(code, 0, "git refuses the self-signed signature: {err}");
    let status: Vec<&str> = err.lines().filter(|l| l.contains("[GNUPG:]")).collect();
    assert_eq!(
        status.len(),
        2,
        "NEWSIG and one verdict line, nothing injected: {err:?}"
    );
    assert!(
        status.iter().all(|l| l.starts_with("[GNUPG:] ")),
        "every status line is ours: {err:?}"
    );
    assert!(
        !status.iter().any(|l| l.starts_with("[GNUPG:] GOODSIG")),
        "no GOODSIG reaches git: {err:?}"
    );
    assert!(
        status[1].starts_with("[GNUPG:] BADSIG ") && status[1].contains("\\n[GNUPG:] GOODSIG"),
        "the SAN is shown escaped in the BADSIG line: {err:?}"
    );

    let (code, out, err) = output(repo.gitsign().args([
        "verify",
        "--certificate-identity",
        "alice@example.com",
        "--certificate-oidc-issuer",
        "https://accounts.example.com",
        &id,
    ]));
    assert_eq!(code, 1, "a bad signature exits 1: {err}");
    for text in [&out, &err] {
        assert!(
            !text.contains('\x1b') && !text.contains('\r'),
            "no ESC or CR reaches the terminal: {text:?}"
        );
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("gitsign: Good signature") || l.starts_with("[GNUPG:]")),
            "no line reads as a good signature or a status line: {text:?}"
        );
    }
    // The summary is on stdout (as Go gitsign prints it), the error on stderr.
    let shown = format!("{out}{err}");
    assert!(
        shown.contains("gitsign: Bad signature from [eve@example.com\\n[GNUPG:] GOODSIG")
            && shown.contains("\\x1b[2K\\r\\x1b[32m"),
        "the real verdict shows the SAN escaped: {shown}"
    );
    assert!(
        err.contains("gitsign: error: ") && err.contains("certificate chain is not trusted"),
        "the real error is visible: {err}"
    );
}

/// The uid owning `/proc/<pid>/environ`: the process's own while it is dumpable, root's once
/// it is not (the kernel's `task_dump_owner`; `/proc/<pid>` itself always shows the euid), so
/// a process can be probed from outside.
fn proc_owner(pid: u32) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}/environ"))
        .ok()
        .map(|m| m.uid())
}

/// Issue 16.11: the signing process is not dumpable while it holds the token and the key.
/// Probed from outside while Fulcio is held back: a signer running as uid 65534 has its
/// `/proc/<pid>/environ` owned by root. Before: owned by 65534 (dumpable, a crash left a core with the
/// key). A control process of the same uid shows the probe tells the two apart.
#[test]
fn the_signing_process_cannot_dump_core() {
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt;
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    if rustix::process::geteuid().as_raw() != 0 {
        eprintln!("skipped: running the signer as another uid (setpriv) needs root");
        return;
    }
    let nobody = |program: &Path| {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(program);
        c
    };
    let mut control = nobody(Path::new("sleep"))
        .arg("30")
        .spawn()
        .expect("spawn sleep");
    let started = Instant::now();
    let control_owner = loop {
        // setpriv execs sleep in the same process; wait until it has dropped root.
        match proc_owner(control.id()) {
            Some(0) if started.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(10))
            }
            owner => break owner,
        }
    };
    let _ = control.kill();
    let _ = control.wait();
    assert_eq!(
        control_owner,
        Some(65534),
        "a dumpable process of uid 65534 owns its /proc/<pid>/environ"
    );

    let local = crate::util::start_stack();
    let stack = &local.stack;
    let public = tempfile::tempdir().expect("dir");
    std::fs::set_permissions(public.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let root = public.path().join("trusted_root.json");
    std::fs::copy(stack.trusted_root_path(), &root).expect("copy the trust root");
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    stack.set_faults(
        sigstore_local::Service::Fulcio,
        sigstore_local::Faults {
            delay: Some(Duration::from_secs(2)),
            times: Some(1),
            ..Default::default()
        },
    );
    let mut cmd = nobody(&gitsign_bin());
    cmd.args(["--status-fd=2", "-bsau", "x"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", public.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("SIGSTORE_ID_TOKEN", stack.mint_token("dev@example.com"))
        .env("GITSIGN_FULCIO_URL", stack.fulcio_url())
        .env("GITSIGN_REKOR_URL", stack.rekor_url())
        .env("GITSIGN_OIDC_ISSUER", stack.oidc_issuer())
        .env("GITSIGN_TRUSTED_ROOT", &root)
        .current_dir(public.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn the signer");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"payload\n")
        .expect("payload");
    let started = Instant::now();
    while stack.service_request_count(sigstore_local::Service::Fulcio) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the signer reaches Fulcio"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Fulcio holds the answer for 2 s: the signer has its token and key in memory now.
    let owner = proc_owner(child.id());
    let out = child.wait_with_output().expect("the signer runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "the signer still signs: {err}");
    assert_eq!(
        owner,
        Some(0),
        "the signer's /proc entry is root's: it is not dumpable while signing"
    );
    assert!(!err.contains("could not disable core dumps"), "{err}");
}

/// Issue 16.10: one signature, one encoding. Every Go gitsign commit signature in the fixtures
/// parses as git hands it over (final newline included); with bytes after the CMS structure,
/// text around the PEM block, a second block or a header line it is refused. Before: all of
/// these were accepted as the same signature, each variant a new commit id.
#[test]
fn a_signature_with_bytes_around_it_is_refused() {
    use gitsign::git::object::{split_commit, HashKind};
    let dir = crate::util::data("gitsign-commits");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("fixture dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|x| x != "commit") {
            continue;
        }
        let raw = std::fs::read(&path).expect("fixture");
        let Some(split) = split_commit(&raw, HashKind::Sha1) else {
            continue;
        };
        let sig = String::from_utf8(split.signature.clone()).expect("PEM is text");
        let name = path.display();
        gitsign::cms::parse(sig.as_bytes())
            .unwrap_or_else(|e| panic!("{name}: the real signature parses: {e}"));
        let der = gitsign::pem::decode_one(sig.as_bytes(), "SIGNED MESSAGE").expect("armor");
        let rearmor = |der: &[u8]| gitsign::pem::encode("SIGNED MESSAGE", der);
        let mut longer = der.clone();
        longer.extend_from_slice(b"\x00\x00");
        // The ContentInfo's length grown by two to cover two bytes appended inside it.
        let mut inside = der.clone();
        let grown = grow_outer_length(&mut inside, 2);
        inside.extend_from_slice(b"\x05\x00");
        let mut hostile = vec![
            ("two bytes after the DER", rearmor(&longer)),
            ("text after the block", format!("{sig}junk\n")),
            ("text before the block", format!("junk\n{sig}")),
            ("a second block", format!("{sig}{sig}")),
            (
                "a header line",
                sig.replacen("-----\n", "-----\nVersion: 1\n", 1),
            ),
        ];
        if grown {
            hostile.push(("a field after the SignedData", rearmor(&inside)));
        }
        for (what, text) in hostile {
            assert!(
                gitsign::cms::parse(text.as_bytes()).is_err(),
                "{name}: {what} is refused"
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 40,
        "the Go gitsign fixtures were read ({checked})"
    );
}

/// Add `by` to the length of the outermost TLV when it is in long form; false if it is not.
fn grow_outer_length(der: &mut [u8], by: usize) -> bool {
    let n = match der.get(1) {
        Some(&b) if b & 0x80 != 0 => (b & 0x7f) as usize,
        _ => return false,
    };
    let Some(bytes) = der.get_mut(2..2 + n) else {
        return false;
    };
    let len = bytes.iter().fold(0usize, |a, &b| (a << 8) | b as usize) + by;
    for (i, b) in bytes.iter_mut().rev().enumerate() {
        *b = (len >> (8 * i)) as u8;
    }
    true
}

/// Twenty `gitsign verify` runs at once on one repository share its proof cache: online-mode
/// commits are looked up and their proofs written by all of them together. Every run gives
/// the right verdict, and every proof file left is whole (a reader never sees a torn file;
/// no temporary file is left behind).
#[test]
fn twenty_parallel_verifies_share_one_proof_cache() {
    let local = crate::util::start_stack();
    let stack = &local.stack;
    let repo = TestRepo::new();
    let ids = crate::online::online_commits(&repo, stack, 3, "parallel");
    let issuer = stack.oidc_issuer();
    let run = || {
        let mut cmd = repo.gitsign();
        cmd.args([
            "verify",
            "--certificate-identity",
            crate::online::IDENTITY,
            "--certificate-oidc-issuer",
            &issuer,
            "HEAD~3..HEAD",
        ]);
        crate::util::stack_env(&mut cmd, stack);
        output(&mut cmd)
    };
    let results: Vec<(i32, String, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20).map(|_| s.spawn(run)).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("verify thread"))
            .collect()
    });
    for (i, (code, out, err)) in results.iter().enumerate() {
        assert_eq!(*code, 0, "run {i} accepts the three commits: {out}{err}");
        assert_eq!(out.matches(" good ").count(), 3, "run {i}: {out}");
    }
    let proofs = repo.path().join(".git/gitsign/proofs");
    for id in &ids {
        let path = proofs.join(&id[..2]).join(format!("{}.json", &id[2..]));
        let text = std::fs::read_to_string(&path).expect("a proof per commit");
        let v: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{id}: a whole proof: {e}"));
        assert!(v.is_object(), "{id}: a proof is Rekor's JSON object");
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("proof dir")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "no temporary file is left: {leftovers:?}"
        );
    }
    // The cache now answers alone: a run with Rekor gone still accepts them.
    stack.set_faults(
        sigstore_local::Service::Rekor,
        sigstore_local::Faults {
            status: Some(503),
            ..Default::default()
        },
    );
    let (code, out, err) = run();
    assert_eq!(code, 0, "the proofs written in parallel serve: {out}{err}");
    stack.clear_faults();
}
