//! Real Go gitsign signatures (tests/data/gitsign-commits, public-good Sigstore) through the
//! library's verifier: every verdict, identity and issuer comes from the manifest.

use gitsign::git::object::HashKind;
use gitsign::trust::TrustedRoot;
use gitsign::verify::{self, policy::Policy, Anchor, ObjectKind, Outcome};

use crate::util;

fn verifier(root: &TrustedRoot, ignore_tlog: bool, ignore_sct: bool) -> verify::Verifier<'_> {
    verify::Verifier::new(root, verify::Waivers::from_flags(ignore_tlog, ignore_sct))
}

#[test]
fn every_fixture_commit_gets_the_manifest_verdict_offline() {
    let manifest = util::json("gitsign-commits/manifest.json");
    let root = TrustedRoot::public_good();
    let policy = Policy::default();
    let commits = manifest["commits"].as_array().expect("commits array");
    assert_eq!(commits.len(), 51, "the manifest lists 51 commits");
    let mut anchored = 0;
    for c in commits {
        let sha = c["sha"].as_str().expect("sha");
        let raw = util::read(&format!(
            "gitsign-commits/{}",
            c["file"].as_str().expect("file")
        ));
        let has_tlog = c["tlog_present"].as_bool().expect("tlog_present");
        let has_sct = c["cert_has_sct_extension"].as_bool().expect("sct flag");
        let r = verifier(&root, false, !has_sct).verify_object(
            &raw,
            ObjectKind::Commit,
            HashKind::Sha1,
            &policy,
        );
        let id = r
            .identity
            .as_ref()
            .unwrap_or_else(|| panic!("{sha}: identity must be read: {:?}", r.outcome));
        assert_eq!(
            id.subject(),
            c["signer_san"].as_str().expect("san"),
            "{sha}: signer"
        );
        let want_issuer = c["oidc_issuer_v2"]
            .as_str()
            .or(c["oidc_issuer_v1"].as_str());
        assert_eq!(id.issuer.as_deref(), want_issuer, "{sha}: issuer");
        if has_tlog {
            anchored += 1;
            assert_eq!(
                r.outcome,
                Outcome::Good,
                "{sha}: embedded entry anchors time offline"
            );
            match r.anchor {
                Some(Anchor::Tlog {
                    log_index,
                    integrated_time,
                    ..
                }) => {
                    assert_eq!(
                        Some(log_index),
                        c["tlog_log_index"].as_i64(),
                        "{sha}: log index"
                    );
                    assert_eq!(
                        Some(integrated_time),
                        c["tlog_integrated_time"].as_i64(),
                        "{sha}: time"
                    );
                }
                ref other => panic!("{sha}: expected a tlog anchor, got {other:?}"),
            }
        } else {
            assert!(
                matches!(r.outcome, Outcome::Undecided(_)),
                "{sha}: online-mode signature is undecided offline, got {:?}",
                r.outcome
            );
            let r = verifier(&root, true, !has_sct).verify_object(
                &raw,
                ObjectKind::Commit,
                HashKind::Sha1,
                &policy,
            );
            assert_eq!(
                r.outcome,
                Outcome::Good,
                "{sha}: passes with --insecure-ignore-tlog"
            );
            assert!(
                matches!(r.anchor, Some(Anchor::Unanchored { .. })),
                "{sha}: says time was not anchored"
            );
        }
    }
    assert_eq!(
        anchored,
        manifest["counts"]["with_tlog"].as_i64().expect("count") as usize
    );
}

#[test]
fn certificates_without_sct_fail_unless_waived() {
    let manifest = util::json("gitsign-commits/manifest.json");
    let root = TrustedRoot::public_good();
    let policy = Policy::default();
    let no_sct: Vec<_> = manifest["commits"]
        .as_array()
        .expect("commits")
        .iter()
        .filter(|c| c["cert_has_sct_extension"] == false)
        .collect();
    assert!(!no_sct.is_empty(), "the May 2022 commits carry no SCT");
    for c in no_sct {
        let raw = util::read(&format!(
            "gitsign-commits/{}",
            c["file"].as_str().expect("file")
        ));
        let r = verifier(&root, true, false).verify_object(
            &raw,
            ObjectKind::Commit,
            HashKind::Sha1,
            &policy,
        );
        match &r.outcome {
            Outcome::Bad(f) => assert_eq!(f.code(), "sct", "{}: fails for the SCT", c["sha"]),
            other => panic!("{}: expected an SCT failure, got {other:?}", c["sha"]),
        }
    }
}

#[test]
fn tampered_commits_fail_with_their_specific_reason() {
    let manifest = util::json("gitsign-commits/manifest-tampered.json");
    let root = TrustedRoot::public_good();
    let policy = Policy::default();
    for v in manifest["vectors"].as_array().expect("vectors") {
        let raw = util::read(&format!(
            "gitsign-commits/{}",
            v["file"].as_str().expect("file")
        ));
        let r = verifier(&root, true, true).verify_object(
            &raw,
            ObjectKind::Commit,
            HashKind::Sha1,
            &policy,
        );
        let want = v["expected_error_code"].as_str().expect("code");
        match &r.outcome {
            Outcome::Bad(f) => assert_eq!(f.code(), want, "{}: {}", v["file"], v["tamper"]),
            other => panic!("{}: must fail, got {other:?}", v["file"]),
        }
    }
}

#[test]
fn other_signature_formats_are_reported_not_verified() {
    let root = TrustedRoot::public_good();
    let policy = Policy::default();
    let dir = util::data("gitsign-commits/other-formats");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("other-formats dir") {
        let raw = std::fs::read(entry.expect("entry").path()).expect("read");
        let r = verifier(&root, true, true).verify_object(
            &raw,
            ObjectKind::Commit,
            HashKind::Sha1,
            &policy,
        );
        match &r.outcome {
            Outcome::Bad(f) => assert_eq!(
                f.code(),
                "foreign_format",
                "PGP/SSH is not a gitsign signature"
            ),
            other => panic!("expected foreign format, got {other:?}"),
        }
        seen += 1;
    }
    assert_eq!(seen, 6, "3 PGP and 3 SSH commits");
}

#[test]
fn staging_root_does_not_trust_production_signatures() {
    let root = TrustedRoot::from_json(&util::read("trust/staging-trusted_root.json"))
        .expect("staging root");
    let policy = Policy::default();
    let raw = util::read("gitsign-commits/fe1e62346d3c346a343d089e8b4c3fb57716bc94.commit");
    let r = verifier(&root, false, false).verify_object(
        &raw,
        ObjectKind::Commit,
        HashKind::Sha1,
        &policy,
    );
    assert!(
        matches!(r.outcome, Outcome::Bad(_)),
        "a production signature must not verify against staging: {:?}",
        r.outcome
    );
}

#[test]
fn release_tags_verify_with_their_manifest_identity() {
    let manifest = util::json("gitsign-tags/manifest.json");
    let root = TrustedRoot::public_good();
    let policy = Policy::default();
    let tags = manifest["tags"].as_array().expect("tags array");
    assert_eq!(tags.len(), 28, "28 release tags");
    let mut embedded = 0;
    for t in tags {
        let name = t["tag"].as_str().expect("tag");
        let raw = util::read(&format!("gitsign-tags/{name}.tag"));
        let has_sct = t["has_sct"].as_bool().unwrap_or(true);
        let r = verifier(&root, true, !has_sct).verify_object(
            &raw,
            ObjectKind::Tag,
            HashKind::Sha1,
            &policy,
        );
        assert_eq!(r.outcome, Outcome::Good, "{name}");
        let id = r.identity.as_ref().expect("identity");
        assert_eq!(
            id.subject(),
            t["signer_san"].as_str().expect("san"),
            "{name}: signer"
        );
        assert_eq!(
            id.issuer.as_deref(),
            t["oidc_issuer"].as_str(),
            "{name}: issuer"
        );
        // The manifest calls every tag online-mode, but the newest releases embed a Rekor
        // entry: those must verify offline with a tlog anchor, the rest be undecided.
        let offline = verifier(&root, false, !has_sct).verify_object(
            &raw,
            ObjectKind::Tag,
            HashKind::Sha1,
            &policy,
        );
        match (&offline.outcome, &offline.anchor) {
            (Outcome::Good, Some(Anchor::Tlog { .. })) => embedded += 1,
            (Outcome::Undecided(_), None) => {}
            other => {
                panic!("{name}: offline verdict must be anchored-good or undecided, got {other:?}")
            }
        }
        let mut edited = raw.clone();
        let pos = edited
            .windows(3)
            .position(|w| w == b"tag")
            .expect("tag header")
            + 4;
        edited[pos] ^= 0x01;
        let r = verifier(&root, true, !has_sct).verify_object(
            &edited,
            ObjectKind::Tag,
            HashKind::Sha1,
            &policy,
        );
        assert!(
            matches!(r.outcome, Outcome::Bad(_)),
            "{name}: an edited tag is rejected"
        );
    }
    assert!(embedded < tags.len(), "most release tags are online-mode");
}
