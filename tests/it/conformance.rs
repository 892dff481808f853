//! The Sigstore conformance suite's bundle-verify cases (tests/data/sigstore-conformance),
//! every one through the `gitsign verify-bundle` binary: cases named `_fail` must fail, and
//! for the reason their README states (the JSON `code`), the others must verify.

use std::collections::BTreeMap;
use std::path::Path;

use crate::util;

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Each failing case and the code of the reason its README gives.
const EXPECTED_FAILURES: &[(&str, &str)] = &[
    (
        "bundle-empty-certificate-chain_fail",
        "bundle_empty_certificate_chain",
    ),
    // A staging bundle: its log is not in the production trust root.
    ("bundle-from-wrong-instance_fail", "tlog_unknown_log"),
    (
        "bundle-invalid-base64-signature_fail",
        "bundle_invalid_base64",
    ),
    ("bundle-malformed-json_fail", "bundle_malformed"),
    ("bundle-negative-log-index_fail", "tlog_malformed"),
    ("bundle-unknown-version_fail", "bundle_unsupported_version"),
    ("bundle-with-root-cert_fail", "bundle_root_in_chain"),
    ("checkpoint-bad-keyhint_fail", "tlog_checkpoint_signature"),
    ("checkpoint-wrong-roothash_fail", "tlog_checkpoint_mismatch"),
    ("dsse-invalid-sig_fail", "bad_signature"),
    ("dsse-mismatch-envelope_fail", "tlog_body_mismatch"),
    ("dsse-mismatch-sig_fail", "tlog_body_mismatch"),
    (
        "inclusion-proof-corrupted-hash_fail",
        "tlog_inclusion_proof",
    ),
    ("incorrect-public-key_fail", "tlog_body_mismatch"),
    (
        "integrated-time-in-future_fail",
        "outside_certificate_validity",
    ),
    // The certificate (valid in 2030) was not valid when the entry was logged (2023).
    (
        "intoto-expired-certificate_fail",
        "outside_certificate_validity",
    ),
    ("intoto-log-entry-mismatch_fail", "tlog_body_mismatch"),
    (
        "intoto-missing-inclusion-proof_fail",
        "tlog_no_inclusion_proof",
    ),
    (
        "intoto-set-outside-signing-cert-validity_fail",
        "outside_certificate_validity",
    ),
    (
        "intoto-tsa-timestamp-outside-cert-validity_fail",
        "outside_certificate_validity",
    ),
    (
        "invalid-checkpoint-signature_fail",
        "tlog_checkpoint_signature",
    ),
    // No README: its trusted root lists a CT log key that did not sign the SCT.
    ("invalid-ct-key_fail", "sct"),
    ("invalid-inclusion-proof_fail", "tlog_inclusion_proof"),
    ("managed-key-no-key_fail", "key_required"),
    ("managed-key-wrong-key_fail", "bad_signature"),
    ("message-digest-mismatch_fail", "digest_mismatch"),
    (
        "rekor2-checkpoint-missing-log-signature_fail",
        "tlog_checkpoint_malformed",
    ),
    (
        "rekor2-checkpoint-missing-origin_fail",
        "tlog_checkpoint_malformed",
    ),
    (
        "rekor2-checkpoint-missing-root-hash_fail",
        "tlog_checkpoint_malformed",
    ),
    (
        "rekor2-checkpoint-missing-size_fail",
        "tlog_checkpoint_malformed",
    ),
    (
        "rekor2-checkpoint-no-matching-signature_fail",
        "tlog_checkpoint_signature",
    ),
    ("rekor2-dsse-invalid-sig_fail", "bad_signature"),
    ("rekor2-dsse-mismatch-envelope_fail", "tlog_body_mismatch"),
    ("rekor2-dsse-mismatch-sig_fail", "tlog_body_mismatch"),
    ("rekor2-no-inclusion-proof_fail", "tlog_no_inclusion_proof"),
    ("rekor2-no-timestamp_fail", "no_time_anchor"),
    (
        "rekor2-timestamp-outside-trust-root-tsa-validity_fail",
        "timestamp_untrusted",
    ),
    (
        "rekor2-timestamp-outside-tsa-cert-validity_fail",
        "timestamp_untrusted",
    ),
    (
        "rekor2-timestamp-payload-mismatch_fail",
        "timestamp_mismatch",
    ),
    (
        "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail",
        "timestamp_untrusted",
    ),
    (
        "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail",
        "timestamp_untrusted",
    ),
    (
        "rekor2-timestamp-with-incorrect-time_fail",
        "outside_certificate_validity",
    ),
    ("set-invalid-signature_fail", "tlog_set"),
    ("signature-mismatch_fail", "bad_signature"),
    (
        "trust-root-tlog-missing-validity-start_fail",
        "trusted_root",
    ),
    ("wrong-hashedrekord-artifact_fail", "tlog_body_mismatch"),
    ("wrong-hashedrekord-cert-and-sig_fail", "tlog_body_mismatch"),
    ("wrong-hashedrekord-entry_fail", "tlog_body_mismatch"),
    ("wrong-material_fail", "digest_mismatch"),
];

/// Run one case as the suite lays it out; returns (exit code, JSON report, stderr).
fn run_case(suite: &Path, case: &str) -> (i32, serde_json::Value, String) {
    let dir = suite.join(case);
    let home = tempfile::tempdir().expect("temp home");
    let mut cmd = util::hermetic(util::gitsign_bin(), home.path());
    cmd.current_dir(home.path());
    cmd.arg("verify-bundle")
        .arg("--bundle")
        .arg(dir.join("bundle.sigstore.json"))
        .args(["--format", "json"]);
    let key = dir.join("key.pub");
    if key.exists() {
        cmd.arg("--key").arg(key);
    } else {
        let read = |name: &str, default: &str| {
            std::fs::read_to_string(dir.join(name))
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|_| default.to_owned())
        };
        cmd.arg("--certificate-identity")
            .arg(read("identity", DEFAULT_IDENTITY))
            .arg("--certificate-oidc-issuer")
            .arg(read("issuer", DEFAULT_ISSUER));
    }
    let root = dir.join("trusted_root.json");
    if root.exists() {
        cmd.arg("--trusted-root").arg(root);
    }
    let artifact = dir.join("artifact");
    cmd.arg(if artifact.exists() {
        artifact
    } else {
        suite.join("a.txt")
    });
    let (code, out, err) = util::output(&mut cmd);
    let json = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("{case}: stdout is one JSON object ({e}): {out:?} / {err}"));
    (code, json, err)
}

#[test]
fn every_conformance_case_gives_its_expected_outcome_and_reason() {
    let suite = util::data("sigstore-conformance/bundle-verify");
    let expected: BTreeMap<&str, &str> = EXPECTED_FAILURES.iter().copied().collect();
    let mut cases: Vec<String> = std::fs::read_dir(&suite)
        .expect("conformance suite directory")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 70, "the 2026-08-19 snapshot has 70 cases");
    for name in expected.keys() {
        assert!(
            cases.iter().any(|c| c == name),
            "{name} is in the expectation table but not in the suite"
        );
    }

    let mut passed = 0;
    let mut problems = Vec::new();
    for case in &cases {
        let (code, json, err) = run_case(&suite, case);
        let got = json["code"].as_str().unwrap_or("");
        if case.ends_with("_fail") {
            let Some(want) = expected.get(case.as_str()) else {
                problems.push(format!(
                    "{case}: failing case missing from the expectation table"
                ));
                continue;
            };
            if code == 0 || json["verdict"] == "good" {
                problems.push(format!("{case}: must fail, but verified"));
            } else if got != *want {
                problems.push(format!(
                    "{case}: must fail with '{want}', failed with '{got}' ({}) {err}",
                    json["reasons"]
                ));
            } else {
                passed += 1;
            }
        } else if code != 0 || json["verdict"] != "good" {
            problems.push(format!(
                "{case}: must verify, got exit {code}, '{got}' ({}) {err}",
                json["reasons"]
            ));
        } else {
            passed += 1;
        }
    }
    assert!(
        problems.is_empty(),
        "{passed}/{} conformance cases as expected; the others:\n{}",
        cases.len(),
        problems.join("\n")
    );
}

#[test]
fn a_good_bundle_reports_identity_and_time_anchor() {
    let suite = util::data("sigstore-conformance/bundle-verify");
    let (code, json, _) = run_case(&suite, "happy-path-v0.3");
    assert_eq!(code, 0, "the v0.3 happy path verifies");
    assert_eq!(
        json["identity"], DEFAULT_IDENTITY,
        "the report names the certificate identity"
    );
    assert_eq!(
        json["time_anchor"], "tlog",
        "a Rekor v1 entry with a SET anchors the time"
    );
    let (code, json, _) = run_case(&suite, "rekor2-happy-path");
    assert_eq!(code, 0, "the Rekor v2 happy path verifies");
    assert_eq!(
        json["time_anchor"], "timestamp",
        "Rekor v2 entries carry no time: the RFC 3161 timestamp anchors it"
    );
}

#[test]
fn verify_bundle_exit_codes_follow_verify() {
    let suite = util::data("sigstore-conformance/bundle-verify");
    let (code, _, _) = run_case(&suite, "signature-mismatch_fail");
    assert_eq!(code, 1, "a bad signature is a negative answer");
    let (code, json, _) = run_case(&suite, "trust-root-tlog-missing-validity-start_fail");
    assert_eq!(code, 2, "an unusable trusted root is a configuration error");
    assert_eq!(
        json["verdict"], "error",
        "reported as an error, not a verdict"
    );
}
