//! Rendering verification reports: Go gitsign's summary lines, one line per object for ranges,
//! and JSON Lines for machines. Pure (reports in, strings out) but for [`json_error`] and
//! [`eprint_warnings`].

use std::io::Write as _;

use crate::check::{Format, Signer, Verified};
use crate::encoding::rfc3339;
use crate::text::escape;
use crate::verify::{Anchor, Outcome, Report};

/// The signer as text: `[SAN, …](issuer)` for Sigstore, as Go gitsign prints it; the key's
/// fingerprint and user id for OpenPGP (`gpg`'s order); the principal and key for SSH (as
/// `ssh-keygen -Y verify` says it).
pub fn signer_text(signer: &Signer) -> String {
    match signer {
        Signer::Sigstore { sans, issuer } => format!(
            "[{}]({})",
            escape(&sans.join(", ")),
            escape(issuer.as_deref().unwrap_or(""))
        ),
        Signer::Openpgp {
            fingerprint,
            key,
            user_id,
        } => {
            let sub = if key == fingerprint {
                String::new()
            } else {
                format!(" (subkey {})", escape(key))
            };
            match user_id {
                Some(uid) => format!("\"{}\" key {}{sub}", escape(uid), escape(fingerprint)),
                None => format!("key {}{sub}", escape(fingerprint)),
            }
        }
        Signer::Ssh { principal, key, .. } => {
            format!("{} with key {}", escape(principal), escape(key))
        }
    }
}

/// The signer in one phrase, for range lines: `identity (issuer)` for Sigstore, the key for
/// OpenPGP and SSH.
fn signer_phrase(signer: &Signer) -> String {
    match signer {
        Signer::Sigstore { .. } => {
            let who = format!("{} ({})", signer.identity(), signer.issuer().unwrap_or("?"));
            escape(&who).into_owned()
        }
        Signer::Openpgp { .. } | Signer::Ssh { .. } => signer_text(signer),
    }
}

/// Go gitsign's `PrintSummary` lines (what `git verify-commit` users know), plus our warnings.
pub fn summary(verified: &Verified, claims_checked: bool) -> String {
    let report = &verified.report;
    let mut out = String::new();
    if let Some(Anchor::Tlog { log_index, .. }) = &report.anchor {
        out.push_str(&format!("tlog index: {log_index}\n"));
    }
    match (&report.cert, &verified.signer) {
        (Some(cert), Some(signer)) => {
            out.push_str(&format!(
                "gitsign: Signature made using certificate ID 0x{} | {}\n",
                cert.sha1_fingerprint,
                escape(&cert.issuer_dn)
            ));
            let verb = match report.outcome {
                Outcome::Good => "Good",
                Outcome::Bad(_) => "Bad",
                Outcome::Undecided(_) => "Unverified",
            };
            out.push_str(&format!(
                "gitsign: {verb} signature from {}\n",
                signer_text(signer)
            ));
        }
        (None, Some(signer @ (Signer::Openpgp { .. } | Signer::Ssh { .. }))) => {
            let what = match verified.format {
                Format::Ssh => "an SSH key",
                _ => "an OpenPGP key",
            };
            out.push_str(&format!("gitsign: Signature made using {what}\n"));
            let verb = match report.outcome {
                Outcome::Good => "Good",
                Outcome::Bad(_) => "Bad",
                Outcome::Undecided(_) => "Unverified",
            };
            out.push_str(&format!(
                "gitsign: {verb} signature from {}\n",
                signer_text(signer)
            ));
        }
        _ => match verified.format {
            Format::Openpgp => out.push_str("gitsign: Signature made using an OpenPGP key\n"),
            Format::Ssh => out.push_str("gitsign: Signature made using an SSH key\n"),
            Format::Sigstore | Format::None => {
                out.push_str("gitsign: Signature made using unknown certificate\n")
            }
        },
    }
    let sig_ok = report.cert.is_some()
        || matches!(
            verified.signer,
            Some(Signer::Openpgp { .. } | Signer::Ssh { .. })
        );
    // True exactly when a Rekor entry was verified (embedded or looked up), whatever was
    // decided after it; a timestamp alone is not a Rekor entry.
    let tlog_ok = report.tlog_verified();
    out.push_str(&format!("Validated Git signature: {sig_ok}\n"));
    out.push_str(&format!("Validated Rekor entry: {tlog_ok}\n"));
    out.push_str(&format!(
        "Validated Certificate claims: {}\n",
        claims_checked && report.outcome == Outcome::Good
    ));
    out
}

/// Our lines beyond Go gitsign's summary (an unanchored signing time, the timestamp that
/// anchored it): warnings and notes, for stderr.
pub fn notes(report: &Report) -> String {
    let mut out = String::new();
    if let Some(Anchor::Unanchored { assumed }) = &report.anchor {
        out.push_str(&format!(
            "WARNING: signing time NOT anchored (--insecure-ignore-tlog): the chain was checked at {} (notBefore + 60s); nothing proves the signature was made while the certificate was valid\n",
            rfc3339(*assumed)
        ));
    }
    if let Some(Anchor::Timestamp { time, tsa, logged }) = &report.anchor {
        if let Some(l) = logged {
            out.push_str(&format!(
                "tlog index: {} ({}), Rekor v2: the time is the timestamp's\n",
                l.log_index,
                escape(&l.log_url)
            ));
        }
        out.push_str(&format!(
            "timestamp: {} ({})\n",
            rfc3339(*time),
            escape(tsa)
        ));
    }
    out
}

/// The reason line(s) and hint for a report that is not good.
pub fn problem(report: &Report) -> Option<(String, Option<String>)> {
    match &report.outcome {
        Outcome::Good => None,
        Outcome::Bad(f) => {
            let msg = crate::text::one_line(f);
            Some((escape(&msg).into_owned(), f.hint().map(str::to_owned)))
        }
        Outcome::Undecided(why) => Some((
            format!("undecided: {}", escape(&why.to_string())),
            Some(why.hint().into()),
        )),
    }
}

/// `gitsign: error: [LABEL: ]REASON` and its `Hint:` line for a report that is not good (the
/// label names the object; empty for none), else nothing.
pub fn problem_lines(report: &Report, label: &str) -> String {
    let Some((msg, hint)) = problem(report) else {
        return String::new();
    };
    let mut out = if label.is_empty() {
        format!("gitsign: error: {msg}\n")
    } else {
        // The label may come from a ref's tree or a tag name: untrusted, escaped.
        format!("gitsign: error: {}: {msg}\n", escape(label))
    };
    if let Some(h) = hint {
        out.push_str(&format!("Hint: {h}\n"));
    }
    out
}

/// A warning the library returned, with its hint.
pub fn warning(w: &crate::proofs::Warning) -> String {
    let mut out = format!("gitsign: warning: {}\n", escape(&w.to_string()));
    if let Some(h) = w.hint() {
        out.push_str(&format!("Hint: {h}\n"));
    }
    out
}

/// One line for a range listing: `<sha> <VERDICT> <who or why>`.
pub fn range_line(id: &str, verified: &Verified) -> String {
    let report = &verified.report;
    let short = id.get(..12).unwrap_or(id);
    let who = verified
        .signer
        .as_ref()
        .map(signer_phrase)
        .unwrap_or_default();
    match &report.outcome {
        Outcome::Good => {
            let how = match &report.anchor {
                Some(Anchor::Tlog { log_index, .. }) => format!("tlog {log_index}"),
                Some(Anchor::Timestamp {
                    time,
                    logged: Some(l),
                    ..
                }) => format!("tlog {} timestamp {}", l.log_index, rfc3339(*time)),
                Some(Anchor::Timestamp { time, .. }) => format!("timestamp {}", rfc3339(*time)),
                Some(Anchor::Unanchored { .. }) => "UNANCHORED".into(),
                None => String::new(),
            };
            format!("{short} good      {who} {how}\n")
        }
        Outcome::Bad(f) => format!(
            "{short} bad       {}: {}\n",
            f.code(),
            escape(&f.to_string())
        ),
        Outcome::Undecided(why) => {
            format!("{short} undecided {who} {}\n", escape(&why.to_string()))
        }
    }
}

/// One JSON object per verified object.
pub fn json(id: &str, kind: &str, verified: &Verified) -> serde_json::Value {
    serde_json::to_value(JsonLine::new(id, kind, verified)).unwrap_or_default()
}

/// [`json`] as one line of text (no newline), with the `authority` a policy admitted the
/// signer under when `authority` is given: serialised straight from the report, no
/// intermediate [`serde_json::Value`] (a range prints one per commit).
pub fn json_line(
    id: &str,
    kind: &str,
    verified: &Verified,
    authority: Option<Option<&str>>,
) -> String {
    let line = JsonLine {
        authority,
        ..JsonLine::new(id, kind, verified)
    };
    serde_json::to_string(&line).unwrap_or_default()
}

/// The fields of a JSON verdict, in the order `serde_json` sorts an object's keys, so the
/// text is the same as [`serde_json::Value`]'s.
#[derive(serde::Serialize)]
struct JsonLine<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    authority: Option<Option<&'a str>>,
    certificate: Option<JsonCert<'a>>,
    code: Option<&'static str>,
    format: &'static str,
    identity: Option<&'a str>,
    integrated_time: Option<i64>,
    issuer: Option<&'a str>,
    kind: &'a str,
    reasons: Vec<String>,
    sha: &'a str,
    signer: Option<JsonSigner<'a>>,
    time_anchor: &'static str,
    tlog_index: Option<i64>,
    verdict: &'static str,
}

#[derive(serde::Serialize)]
struct JsonCert<'a> {
    issuer: &'a str,
    not_after: String,
    not_before: String,
    serial: &'a str,
    sha1: &'a str,
}

#[derive(serde::Serialize)]
struct JsonSigner<'a> {
    identity: &'a str,
    issuer: Option<&'a str>,
    key: Option<&'a str>,
    user_id: Option<&'a str>,
}

impl<'a> JsonLine<'a> {
    fn new(id: &'a str, kind: &'a str, verified: &'a Verified) -> JsonLine<'a> {
        let report = &verified.report;
        let reasons: Vec<String> = match &report.outcome {
            Outcome::Good => Vec::new(),
            Outcome::Bad(_) => vec![problem(report).map(|p| p.0).unwrap_or_default()],
            Outcome::Undecided(why) => vec![why.to_string()],
        };
        let (tlog_index, integrated_time, anchor) = match &report.anchor {
            Some(Anchor::Tlog {
                log_index,
                integrated_time,
                ..
            }) => (Some(*log_index), Some(*integrated_time), "tlog"),
            Some(Anchor::Timestamp {
                logged: Some(l), ..
            }) => (Some(l.log_index), None, "timestamp"),
            Some(Anchor::Timestamp { .. }) => (None, None, "timestamp"),
            Some(Anchor::Unanchored { .. }) => (None, None, "none (insecure-ignore-tlog)"),
            None => (None, None, "none"),
        };
        JsonLine {
            authority: None,
            certificate: report.cert.as_ref().map(|c| JsonCert {
                issuer: &c.issuer_dn,
                not_after: rfc3339(c.not_after),
                not_before: rfc3339(c.not_before),
                serial: &c.serial,
                sha1: &c.sha1_fingerprint,
            }),
            code: report.outcome.code(),
            format: verified.format.name(),
            identity: report.identity.as_ref().map(|i| i.subject()),
            integrated_time,
            issuer: report.identity.as_ref().and_then(|i| i.issuer.as_deref()),
            kind,
            reasons,
            sha: id,
            signer: verified.signer.as_ref().map(|s| JsonSigner {
                identity: s.identity(),
                issuer: s.issuer(),
                key: s.key(),
                user_id: match s {
                    Signer::Openpgp { user_id, .. } => user_id.as_deref(),
                    _ => None,
                },
            }),
            time_anchor: anchor,
            tlog_index,
            verdict: report.outcome.verdict(),
        }
    }
}

/// An attestation verdict's verb (`Good`, `Bad`, `Unverified`) and its ` from <signer>` suffix
/// (empty without a signer), as `verify-attestation` and `verify-attestation --vsa` print them.
pub fn verdict_words(verified: &Verified) -> (&'static str, String) {
    let verb = match verified.report.outcome {
        crate::verify::Outcome::Good => "Good",
        crate::verify::Outcome::Bad(_) => "Bad",
        crate::verify::Outcome::Undecided(_) => "Unverified",
    };
    let signer = verified
        .signer
        .as_ref()
        .map(|s| format!(" from {}", signer_text(s)))
        .unwrap_or_default();
    (verb, signer)
}

/// The warnings the library returned, on stderr.
pub fn eprint_warnings(warnings: &[crate::proofs::Warning]) {
    for w in warnings {
        crate::ui::eprint(&warning(w));
    }
}

/// Write `bytes` to stdout and flush. A reader that has gone (a broken pipe: `| head`) ends
/// the output quietly — `Ok`, and the command exits as it would have; any other failure
/// (`>/dev/full`, an I/O error) means the output was not delivered: an error (exit 2).
pub fn print(bytes: &[u8]) -> Result<(), super::CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(super::CliError::new(
            super::Exit::Io,
            anyhow::Error::new(e).context("writing to stdout"),
        )),
        _ => Ok(()),
    }
}

/// An error as one JSON object on stdout (`--format json`), beside its rendering on stderr,
/// so a machine reading stdout learns why there are no verdicts.
pub fn json_error(e: &super::CliError) {
    let causes: Vec<String> = e.error.chain().skip(1).map(|c| c.to_string()).collect();
    let v = serde_json::json!({
        "error": e.error.to_string(),
        "causes": causes,
        "hint": e.hint,
        "exit_code": e.kind.code(),
    });
    let mut out = std::io::stdout().lock();
    // The error itself goes to stderr too; a stdout that cannot take it has nothing to add.
    let _ = writeln!(out, "{v}").and_then(|_| out.flush());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{policy::Identity, CertSummary, EntrySource, Failure, Undecided};

    fn report(outcome: Outcome, anchor: Option<Anchor>) -> Report {
        Report {
            outcome,
            identity: Some(Identity {
                sans: vec!["alice@example.com".into()],
                issuer: Some("https://accounts.google.com".into()),
                ..Default::default()
            }),
            cert: Some(CertSummary {
                sha1_fingerprint: "ab".into(),
                serial: "01".into(),
                not_before: 0,
                not_after: 600,
                issuer_chain: Vec::new(),
                issuer_dn: "CN=sigstore-intermediate".into(),
            }),
            anchor,
            signing_time: None,
        }
    }

    fn tlog() -> Option<Anchor> {
        Some(Anchor::Tlog {
            log_index: 7,
            integrated_time: 60,
            log_url: String::new(),
            source: EntrySource::Embedded,
        })
    }

    #[test]
    fn validated_rekor_entry_is_true_exactly_when_an_entry_verified() {
        let mismatch = Failure::Policy(crate::verify::policy::PolicyError::IdentityMismatch {
            got: "mallory@example.com".into(),
            want: "alice@example.com".into(),
        });
        let cases = [
            (report(Outcome::Good, tlog()), true),
            (report(Outcome::Bad(mismatch), tlog()), true),
            (
                report(
                    Outcome::Good,
                    Some(Anchor::Timestamp {
                        time: 60,
                        tsa: "https://tsa.example".into(),
                        logged: None,
                    }),
                ),
                false,
            ),
            (
                report(
                    Outcome::Good,
                    Some(Anchor::Timestamp {
                        time: 60,
                        tsa: "https://tsa.example".into(),
                        logged: Some(crate::verify::Logged {
                            log_index: 7,
                            log_url: "https://log2025.rekor.example".into(),
                        }),
                    }),
                ),
                true,
            ),
            (report(Outcome::Undecided(Undecided::Offline), None), false),
        ];
        for (r, want) in cases {
            let s = summary(&Verified::sigstore(r.clone()), true);
            assert!(
                s.contains(&format!("Validated Rekor entry: {want}\n")),
                "{:?} / {:?}: {s}",
                r.outcome,
                r.anchor
            );
        }
    }

    #[test]
    fn range_lines_carry_the_undecided_reason() {
        let r = report(
            Outcome::Undecided(Undecided::NotInLog {
                rekor_url: "https://rekor.example".into(),
            }),
            None,
        );
        let r = Verified::sigstore(r);
        let line = range_line("0123456789abcdef", &r);
        assert!(
            line.starts_with("0123456789ab undecided ") && line.contains("https://rekor.example"),
            "{line}"
        );
        assert_eq!(json("x", "commit", &r)["code"], "not_in_log");
    }

    #[test]
    fn json_carries_format_and_signer_and_text_names_a_keyed_format() {
        let v = Verified::sigstore(report(Outcome::Good, tlog()));
        let j = json("x", "commit", &v);
        assert_eq!(j["format"], "sigstore");
        assert_eq!(j["signer"]["identity"], "alice@example.com");
        assert_eq!(j["signer"]["issuer"], "https://accounts.google.com");
        assert!(
            summary(&v, true).contains(
                "gitsign: Good signature from [alice@example.com](https://accounts.google.com)\n"
            ),
            "Go gitsign's line, from the signer"
        );
        let ssh = Verified {
            report: Report::bad(crate::verify::Failure::ForeignFormat(
                crate::git::object::SignatureFormat::Ssh,
            )),
            format: Format::Ssh,
            signer: None,
            proof: None,
        };
        let j = json("x", "commit", &ssh);
        assert_eq!(j["format"], "ssh");
        assert!(j["signer"].is_null());
        assert!(
            summary(&ssh, true).contains("gitsign: Signature made using an SSH key\n"),
            "{}",
            summary(&ssh, true)
        );
    }
}
