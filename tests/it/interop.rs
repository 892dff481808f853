//! An independent CMS implementation agrees with us: OpenSSL verifies the signature of every
//! real fixture over the payload *we* extracted, and rejects it over a changed payload.

use gitsign::git::object::{split_commit, split_tag, HashKind};

use crate::util;

fn openssl_verifies(dir: &std::path::Path, sig_der: &[u8], payload: &[u8]) -> bool {
    std::fs::write(dir.join("sig.der"), sig_der).expect("write sig");
    std::fs::write(dir.join("payload"), payload).expect("write payload");
    let out = std::process::Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-binary",
            "-noverify",
            "-inform",
            "DER",
            "-in",
            "sig.der",
            "-content",
            "payload",
            "-out",
            "/dev/null",
        ])
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    out.status.success()
}

#[test]
fn openssl_agrees_on_every_fixture_signature_and_payload() {
    let dir = tempfile::tempdir().expect("tmp");
    let manifest = util::json("gitsign-commits/manifest.json");
    let mut checked = 0;
    for c in manifest["commits"].as_array().expect("commits") {
        let raw = util::read(&format!(
            "gitsign-commits/{}",
            c["file"].as_str().expect("file")
        ));
        let split = split_commit(&raw, HashKind::Sha1).expect("signed");
        let der = gitsign::pem::decode_one(&split.signature, "SIGNED MESSAGE").expect("armor");
        assert!(
            openssl_verifies(dir.path(), &der, &split.payload),
            "{}: OpenSSL accepts our payload split",
            c["sha"]
        );
        let mut changed = split.payload.clone();
        changed.push(b'\n');
        assert!(
            !openssl_verifies(dir.path(), &der, &changed),
            "{}: OpenSSL rejects a changed payload",
            c["sha"]
        );
        checked += 1;
    }
    let manifest = util::json("gitsign-tags/manifest.json");
    for t in manifest["tags"].as_array().expect("tags") {
        let raw = util::read(&format!(
            "gitsign-tags/{}",
            t["file"].as_str().expect("file")
        ));
        let split = split_tag(&raw).expect("signed tag");
        let der = gitsign::pem::decode_one(&split.signature, "SIGNED MESSAGE").expect("armor");
        assert!(
            openssl_verifies(dir.path(), &der, &split.payload),
            "{}: OpenSSL accepts our tag split",
            t["tag"]
        );
        checked += 1;
    }
    assert_eq!(checked, 51 + 28);
}
