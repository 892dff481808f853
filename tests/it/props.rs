//! Property tests: RFC 6962 inclusion and consistency proofs over trees built here, CMS parsing of mutated
//! real signatures, CMS encode/decode round trips, and the config precedence default < git < SIGSTORE_* < GITSIGN_* < flag.

use proptest::prelude::*;

use gitsign::config::{Config, Key, Source, TABLE};
use gitsign::crypto::sha256;
use gitsign::trust::TrustedRoot;
use gitsign::verify::{self, policy::Policy, tlog};

use crate::util;

// --- RFC 6962 §2.1: the tree and its audit paths, computed from the definitions ---

fn node(l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
    let mut b = vec![0x01];
    b.extend_from_slice(l);
    b.extend_from_slice(r);
    sha256(&b)
}

/// Largest power of two strictly below `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]) over leaf hashes.
fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => sha256(b""),
        1 => leaves[0],
        n => {
            let k = split(n);
            node(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// PATH(m, D[n]), leaf to root.
fn path(m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

fn tree(n: usize, salt: u64) -> Vec<[u8; 32]> {
    (0..n)
        .map(|i| tlog::leaf_hash(format!("leaf {i} of {n} ({salt})").as_bytes()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn inclusion_proofs_of_built_trees_verify(n in 1usize..600, pick in any::<prop::sample::Index>(), salt in any::<u64>()) {
        let leaves = tree(n, salt);
        let m = pick.index(n);
        let root = mth(&leaves);
        let proof = path(m, &leaves);
        prop_assert!(
            tlog::verify_inclusion(&leaves[m], m as u64, n as u64, &proof, &root),
            "leaf {} of {} verifies with its audit path", m, n
        );
    }

    #[test]
    fn altered_inclusion_proofs_fail(
        n in 2usize..400,
        pick in any::<prop::sample::Index>(),
        other in any::<prop::sample::Index>(),
        byte in 0usize..32,
        bit in 0u8..8,
        salt in any::<u64>(),
    ) {
        let leaves = tree(n, salt);
        let m = pick.index(n);
        let root = mth(&leaves);
        let proof = path(m, &leaves);
        let o = other.index(n);
        if o != m {
            prop_assert!(
                !tlog::verify_inclusion(&leaves[m], o as u64, n as u64, &proof, &root),
                "leaf {} of {} must not verify at index {}", m, n, o
            );
            prop_assert!(
                !tlog::verify_inclusion(&leaves[o], m as u64, n as u64, &proof, &root),
                "another leaf must not verify with leaf {}'s path", m
            );
        }
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let i = pick.index(bad.len());
            bad[i][byte] ^= 1 << bit;
            prop_assert!(
                !tlog::verify_inclusion(&leaves[m], m as u64, n as u64, &bad, &root),
                "a flipped bit in proof hash {} must not verify", i
            );
            let short = &proof[..proof.len() - 1];
            prop_assert!(
                !tlog::verify_inclusion(&leaves[m], m as u64, n as u64, short, &root),
                "a truncated proof must not verify"
            );
        }
        let mut longer = proof.clone();
        longer.push(root);
        prop_assert!(
            !tlog::verify_inclusion(&leaves[m], m as u64, n as u64, &longer, &root),
            "a proof with an extra hash must not verify"
        );
    }
}

// --- CMS parsing of mutated real signatures ---

/// The DER of a real gitsign signature (embedded Rekor entry) and its payload.
fn real_signature() -> (Vec<u8>, Vec<u8>) {
    let raw = util::read("gitsign-commits/fe1e62346d3c346a343d089e8b4c3fb57716bc94.commit");
    let split = gitsign::git::object::split_commit(&raw, gitsign::git::object::HashKind::Sha1)
        .expect("the fixture commit is signed");
    let der = gitsign::pem::decode_one(&split.signature, "SIGNED MESSAGE")
        .expect("the signature is PEM armored");
    (der, split.payload)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn mutated_signatures_parse_or_fail_cleanly(
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..4),
        truncate in any::<bool>(),
    ) {
        let (mut der, payload) = real_signature();
        for (at, x) in &flips {
            let i = at.index(der.len());
            der[i] ^= x;
        }
        let whole = der.len();
        let keep = cut.index(whole);
        if truncate {
            der.truncate(keep);
        }
        let root = TrustedRoot::public_good();
        let policy = Policy::default();
        let verifier = verify::Verifier::new(&root, verify::Waivers::from_flags(false, false));
        if let Ok(msg) = gitsign::cms::parse(&der) {
            let _ = msg.check(&payload);
        }
        let report = verifier.verify_detached(&payload, &der, &policy);
        if truncate && keep < whole / 2 {
            prop_assert!(!report.is_good(), "half a signature cannot verify");
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_cms_parser(bytes in prop::collection::vec(any::<u8>(), 0..512), prefix in prop::sample::select(vec![&b""[..], b"\x30\x82", b"\x30\x80", b"-----BEGIN SIGNED MESSAGE-----\n"])) {
        let mut input = prefix.to_vec();
        input.extend_from_slice(&bytes);
        let _ = gitsign::cms::parse(&input);
    }

    #[test]
    fn a_signature_over_another_payload_never_verifies(extra in prop::collection::vec(any::<u8>(), 1..64)) {
        let (der, mut payload) = real_signature();
        payload.extend_from_slice(&extra);
        let root = TrustedRoot::public_good();
        let policy = Policy::default();
        let verifier = verify::Verifier::new(&root, verify::Waivers::from_flags(true, true));
        let report = verifier.verify_detached(&payload, &der, &policy);
        prop_assert!(!report.is_good(), "appending to the payload breaks the messageDigest");
    }
}

// --- Config precedence ---

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn config_precedence_holds_for_every_key(
        row in prop::sample::select(TABLE.to_vec()),
        git in prop::option::of("[a-z0-9]{1,8}"),
        git_upper in any::<bool>(),
        sigstore in prop::option::of("[a-z0-9]{1,8}"),
        root_file in prop::option::of("[a-z0-9]{1,8}"),
        gitsign in prop::option::of("[a-z0-9]{1,8}"),
        flag in prop::option::of("[a-z0-9]{1,8}"),
        noise in prop::collection::vec(("gitsign\\.[a-z]{1,6}", "[a-z]{1,4}"), 0..4),
    ) {
        let (key, git_name, sigstore_env, gitsign_env, default) = row;
        // Noise keys first: the row's own key (last occurrence wins) is appended after.
        let mut pairs: Vec<(String, String)> = noise
            .into_iter()
            .filter(|(k, _)| !TABLE.iter().any(|r| r.1.eq_ignore_ascii_case(k)))
            .collect();
        if let Some(v) = &git {
            let name = if git_upper { git_name.to_ascii_uppercase() } else { git_name.to_ascii_lowercase() };
            pairs.push((name, format!("git-{v}")));
        }
        let mut env: Vec<(&str, String)> = Vec::new();
        if let (Some(name), Some(v)) = (sigstore_env, &sigstore) {
            env.push((name, format!("sigstore-{v}")));
        }
        if key == Key::FulcioRoot {
            if let Some(v) = &root_file {
                env.push(("SIGSTORE_ROOT_FILE", format!("rootfile-{v}")));
            }
        }
        if let (Some(name), Some(v)) = (gitsign_env, &gitsign) {
            env.push((name, format!("gitsign-{v}")));
        }
        let lookup = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        let mut config = Config::resolve(&pairs, lookup);
        if let Some(v) = &flag {
            config.set_flag(key, format!("flag-{v}"), "--flag");
        }

        // The highest layer present wins.
        let want: Option<(String, &str)> = flag.as_ref().map(|v| (format!("flag-{v}"), "flag"))
            .or_else(|| gitsign_env.and(gitsign.as_ref()).map(|v| (format!("gitsign-{v}"), "env")))
            .or_else(|| sigstore_env.and(sigstore.as_ref()).map(|v| (format!("sigstore-{v}"), "env")))
            .or_else(|| (key == Key::FulcioRoot).then_some(()).and(root_file.as_ref()).map(|v| (format!("rootfile-{v}"), "env")))
            .or_else(|| git.as_ref().map(|v| (format!("git-{v}"), "git")))
            .or_else(|| default.map(|d| (d.to_owned(), "default")));
        prop_assert_eq!(config.get(key).map(str::to_owned), want.as_ref().map(|w| w.0.clone()), "value of {:?}", key);
        let source_kind = config.source(key).map(|s| match s {
            Source::Flag(_) => "flag",
            Source::Env(_) => "env",
            Source::GitConfig(_) => "git",
            Source::Default => "default",
        });
        prop_assert_eq!(source_kind, want.map(|w| w.1), "source of {:?}", key);
    }
}

// --- CMS encode/decode round trip ---

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    /// What the signer encodes, the parser reads back field for field: the exact signed
    /// attributes (so the signature still covers them), the signature, the certificate and
    /// every unsigned attribute.
    #[test]
    fn cms_encode_then_parse_round_trips(
        payload in prop::collection::vec(any::<u8>(), 0..2048),
        signing_time in 0i64..4_102_444_800,
        signature in prop::collection::vec(any::<u8>(), 1..160),
        unsigned in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..3),
    ) {
        let (real, _) = real_signature();
        let leaf = gitsign::cms::parse(&real).expect("real signature").certificates[0].clone();
        let attrs = gitsign::cms::signed_attributes(&payload, signing_time).expect("attributes");
        let unsigned: Vec<gitsign::cms::UnsignedAttribute> = unsigned
            .iter()
            .enumerate()
            .map(|(i, v)| gitsign::cms::UnsignedAttribute {
                oid: der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.3.9")
                    .parent()
                    .expect("arc")
                    .push_arc(10 + i as u32)
                    .expect("arc"),
                value_der: gitsign::der::tlv(0x04, v),
            })
            .collect();
        let der = gitsign::cms::encode(&leaf, &attrs, &signature, &unsigned).expect("encode");
        let msg = gitsign::cms::parse(&der).expect("what we encode parses");
        prop_assert_eq!(&msg.signer.signed_attrs_der, &attrs, "the signed bytes are kept exactly");
        prop_assert_eq!(&msg.signer.signature, &signature);
        prop_assert_eq!(&msg.certificates, &vec![leaf]);
        // Unsigned attributes are a DER SET OF: compared as a set.
        let mut got: Vec<_> = msg.signer.unsigned_attrs.iter().map(|a| (a.oid.to_string(), a.values.clone())).collect();
        let mut want: Vec<_> = unsigned.iter().map(|a| (a.oid.to_string(), vec![a.value_der.clone()])).collect();
        got.sort();
        want.sort();
        prop_assert_eq!(got, want);
        let time = msg.signer.signed_attrs.iter().find(|a| a.oid == gitsign::oid::SIGNING_TIME).expect("signingTime");
        let (tlv, _) = gitsign::der::read(&time.values[0]).expect("time element");
        prop_assert_eq!(gitsign::x509::decode_time(&tlv), Some(signing_time), "signingTime reads back (UTCTime to 2049, GeneralizedTime after)");
        let digest = msg.signer.signed_attrs.iter().find(|a| a.oid == gitsign::oid::MESSAGE_DIGEST).expect("messageDigest");
        prop_assert_eq!(&digest.values[0][2..], &gitsign::crypto::sha256(&payload)[..], "messageDigest is SHA-256 of the payload");
    }
}

// --- RFC 6962 §2.1.2: consistency proofs, computed from the definition ---

/// SUBPROOF(m, D[n], b).
fn subproof(m: usize, leaves: &[[u8; 32]], complete: bool) -> Vec<[u8; 32]> {
    let n = leaves.len();
    if m == n {
        return if complete {
            Vec::new()
        } else {
            vec![mth(leaves)]
        };
    }
    let k = split(n);
    if m <= k {
        let mut p = subproof(m, &leaves[..k], complete);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = subproof(m - k, &leaves[k..], false);
        p.push(mth(&leaves[..k]));
        p
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The local log's consistency proofs equal the RFC's definition, verify between the two
    /// roots, and fail when a hash is altered or the roots are swapped. (A wrong tree size
    /// can still verify when the proof's shape is the same: sizes are bound by the signed
    /// checkpoint, not by the proof.)
    #[test]
    fn consistency_proofs_of_built_trees_verify(n in 2usize..300, pick in any::<prop::sample::Index>(), salt in any::<u64>(), flip in any::<prop::sample::Index>()) {
        let leaves = tree(n, salt);
        let m = 1 + pick.index(n - 1); // 1 <= m < n
        let mut log = sigstore_local::merkle::Tree::new();
        for l in &leaves {
            log.push(*l);
        }
        let want = subproof(m, &leaves, true);
        let got = log.consistency_proof(m, n).expect("the log proves any older size");
        prop_assert_eq!(&got, &want, "the log follows RFC 6962 SUBPROOF");
        let (old, new) = (mth(&leaves[..m]), mth(&leaves));
        prop_assert!(sigstore_local::merkle::verify_consistency(m as u64, n as u64, &got, &old, &new));
        prop_assert!(!sigstore_local::merkle::verify_consistency(m as u64, n as u64, &got, &new, &old), "swapped roots fail");
        if !got.is_empty() {
            let mut bad = got.clone();
            let i = flip.index(bad.len());
            bad[i][0] ^= 1;
            prop_assert!(!sigstore_local::merkle::verify_consistency(m as u64, n as u64, &bad, &old, &new), "an altered hash fails");
        }
    }
}

// --- Issue 16.4: untrusted text is shown escaped, on one line ---

/// A report for a certificate naming `san` and `issuer`, with `outcome`.
fn report_naming(san: &str, issuer: &str, outcome: verify::Outcome) -> verify::Report {
    verify::Report {
        outcome,
        identity: Some(verify::policy::Identity {
            sans: vec![san.to_owned()],
            issuer: Some(issuer.to_owned()),
            ..Default::default()
        }),
        cert: Some(verify::CertSummary {
            sha1_fingerprint: "00ff".into(),
            serial: "01".into(),
            not_before: 1_700_000_000,
            not_after: 1_700_000_600,
            issuer_chain: Vec::new(),
            issuer_dn: format!("CN={san}"),
        }),
        anchor: Some(verify::Anchor::Timestamp {
            time: 1_700_000_100,
            tsa: issuer.to_owned(),
            logged: None,
        }),
        signing_time: Some(1_700_000_100),
    }
}

/// Every character that may not reach a terminal or the status fd raw.
fn is_spoofing(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}' | '\u{feff}')
}

/// What each renderer prints for a certificate naming `san` and `issuer`, one string per
/// rendered line-oriented output, with the number of lines it must have.
fn renders(san: &str, issuer: &str) -> Vec<(String, usize)> {
    use gitsign::check::Verified;
    use gitsign::cli::output;
    let mismatch = verify::Outcome::Bad(verify::Failure::Policy(
        verify::policy::PolicyError::IdentityMismatch {
            got: san.to_owned(),
            want: "alice@example.com".into(),
        },
    ));
    let mut out = Vec::new();
    for outcome in [
        verify::Outcome::Good,
        mismatch,
        verify::Outcome::Undecided(verify::report::Undecided::LookupFailed {
            rekor_url: issuer.to_owned(),
            error: san.to_owned(),
        }),
    ] {
        let r = report_naming(san, issuer, outcome);
        let plain = Verified::sigstore(report_naming("x", "x", r.outcome.clone()));
        let summary_lines = output::summary(&plain, true).lines().count();
        let v = Verified::sigstore(r.clone());
        out.push((output::summary(&v, true), summary_lines));
        out.push((output::range_line("0123456789abcdef", &v), 1));
        if let Some((msg, _)) = output::problem(&r) {
            out.push((format!("gitsign: error: {msg}\n"), 1));
        }
    }
    out.push((gitsign::gpg_status::good_sig("00ff", san), 1));
    out.push((gitsign::gpg_status::bad_sig("00ff", san), 1));
    out.push((
        format!("{}\n", gitsign::text::escape_bytes(san.as_bytes())),
        1,
    ));
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any byte string as identity (and issuer) prints with no control character and on the
    /// lines the format has, in human output, range lines, error lines and status lines.
    #[test]
    fn any_identity_prints_without_control_characters_on_one_line(
        san in prop::collection::vec(any::<u8>(), 0..64),
        issuer in prop::collection::vec(prop_oneof![Just(0x1bu8), Just(b'\n'), Just(b'\r'), any::<u8>()], 0..32),
        bidi in prop::sample::select(vec!["", "\u{202e}", "\u{2066}", "\u{9b}", "\u{2028}", "\u{200b}"]),
    ) {
        let san = format!("{}{bidi}", String::from_utf8_lossy(&san));
        let issuer = String::from_utf8_lossy(&issuer).into_owned();
        for (text, lines) in renders(&san, &issuer) {
            let body = text.strip_suffix('\n').unwrap_or(&text);
            prop_assert!(text.ends_with('\n'), "every render ends its last line: {text:?}");
            prop_assert_eq!(text.lines().count(), lines, "untrusted text adds no line: {:?}", text);
            prop_assert!(
                !body.chars().any(|c| c != '\n' && is_spoofing(c)),
                "no control or bidi character reaches the output: {:?}", text
            );
        }
    }
}

/// Issue 16.4: the SAN from the review, rendered.
#[test]
fn a_san_painting_a_good_signature_renders_escaped() {
    let san = "eve@example.com\x1b[2K\r\x1b[32mgitsign: Good signature from [alice@example.com](https://accounts.example.com)\x1b[8m";
    for (text, _) in renders(san, "https://issuer.example") {
        assert!(
            !text.contains('\x1b') && !text.contains('\r'),
            "no ESC or CR reaches the terminal: {text:?}"
        );
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("gitsign: Good signature from [alice")),
            "no line starts as alice's good signature: {text:?}"
        );
    }
}
