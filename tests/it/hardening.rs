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
    assert!(
        err.contains("gitsign: Bad signature from [eve@example.com\\n[GNUPG:] GOODSIG")
            && err.contains("\\x1b[2K\\r\\x1b[32m"),
        "the real verdict shows the SAN escaped: {err}"
    );
    assert!(
        err.contains("gitsign: error: ") && err.contains("certificate chain is not trusted"),
        "the real error is visible: {err}"
    );
}
