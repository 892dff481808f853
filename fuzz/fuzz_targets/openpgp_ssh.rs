//! OpenPGP and SSH signatures, and the key files that trust them: a `gpgsig` header of any
//! format is attacker-controlled bytes in a git object, and a policy's key files come from
//! whoever may push to it. The first byte picks the reader. The verifying readers take the
//! rest as a commit payload followed by its armored signature (split where the armor
//! begins), checked against GitHub's web-flow keys or the SSH keys of the seeds' commits, so
//! that a mutated seed reaches the signature check and not only the parser.
//!
//! Seeds (`seeds/openpgp_ssh`, the selector byte first): real commits of
//! tests/data/real-history split as git splits them (ed25519 and FIDO `sk-ecdsa` SSH
//! signatures, GitHub web-flow merges; named by commit id), tests/data/openpgp's 2017
//! web-flow signature, the web-flow key file, an allowed signers file and a revocation list.
//! ssh-keygen -Y verify accepts each SSH seed with `ALLOWED`.
#![no_main]
use std::sync::LazyLock;

use gitsign::openpgp::Keyring;
use gitsign::ssh::{AllowedSigners, Revoked};
use libfuzzer_sys::fuzz_target;

/// GitHub's web-flow keys (the seeds' OpenPGP signatures are theirs).
static RING: LazyLock<Keyring> = LazyLock::new(|| {
    let mut ring = Keyring::new();
    ring.add_file(include_bytes!("../../tests/data/keys/github-web-flow.asc"))
        .expect("the web-flow keys parse");
    ring
});

/// The keys of the SSH-signed seeds (real commits of tests/data/real-history), one line
/// with options and validity bounds so that the line's own conditions are judged too.
const ALLOWED: &str = "\
a@example.com,!b@example.com namespaces=\"git\",valid-after=\"20200101Z\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF3fHQgRaK/1MEyffu7MC2ZLwbLDu7+CecBMiH4PGxl0
* ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN4eE1tvUbRpEB3Y5tdiiDXH/psLYiJr8UrpBTQDamBT
c@example.com valid-before=\"20991231Z\" sk-ecdsa-sha2-nistp256@openssh.com AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAAAIbmlzdHAyNTYAAABBBAyAaCUrQgXPH+LxW7XCmTAI9794TKVLoKUdvxQu7TtAk8VfOZGhLch9Vrg5dTZ3MLeOxYb3J5fBv+D3gO/y5s8AAAAEc3NoOg==
";

static SIGNERS: LazyLock<AllowedSigners> = LazyLock::new(|| {
    AllowedSigners::parse(ALLOWED, &|_| None).expect("the seeds' allowed signers parse")
});

/// A payload and the armored signature after it.
fn split(input: &[u8]) -> (&[u8], &[u8]) {
    let at = input
        .windows(10)
        .position(|w| w == b"-----BEGIN")
        .unwrap_or(input.len());
    input.split_at(at)
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, input)) = data.split_first() else {
        return;
    };
    match which % 5 {
        0 => {
            let (payload, signature) = split(input);
            let _ = gitsign::openpgp::verify(payload, signature, &RING);
        }
        1 => {
            let (payload, signature) = split(input);
            // A time inside the seeds' lines' bounds, and one before them.
            for at in [1_700_000_000, 0] {
                if let Ok(signer) = gitsign::ssh::verify(
                    payload,
                    signature,
                    &SIGNERS,
                    &Revoked::default(),
                    at,
                ) {
                    let _ = gitsign::ssh::admits(
                        &SIGNERS,
                        &signer.key_fingerprint,
                        &signer.principal,
                        Some(at),
                    );
                }
            }
            let _ = gitsign::ssh::signing_key(payload, signature);
        }
        2 => {
            let _ = Keyring::new().add_file(input);
        }
        3 => {
            let text = String::from_utf8_lossy(input);
            if let Ok(signers) = AllowedSigners::parse(&text, &|_| Some(0)) {
                let _ = gitsign::ssh::admits(&signers, "SHA256:x", "a@example.com", None);
            }
            let _ = gitsign::ssh::match_pattern_list("a@example.com", &text);
        }
        _ => {
            let _ = Revoked::parse(input);
        }
    }
});
