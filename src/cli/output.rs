//! Rendering verification reports: Go gitsign's summary lines, one line per object for ranges,
//! and JSON Lines for machines. Pure (reports in, strings out) but for [`json_error`].

use std::io::Write as _;

use crate::encoding::rfc3339;
use crate::text::escape;
use crate::verify::{Anchor, Outcome, Report};

/// Go gitsign's `PrintSummary` lines (what `git verify-commit` users know), plus our warnings.
pub fn summary(report: &Report, claims_checked: bool) -> String {
    let mut out = String::new();
    if let Some(Anchor::Tlog { log_index, .. }) = &report.anchor {
        out.push_str(&format!("tlog index: {log_index}\n"));
    }
    match (&report.cert, &report.identity) {
        (Some(cert), Some(id)) => {
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
                "gitsign: {verb} signature from [{}]({})\n",
                escape(&id.sans.join(", ")),
                escape(id.issuer.as_deref().unwrap_or(""))
            ));
        }
        _ => out.push_str("gitsign: Signature made using unknown certificate\n"),
    }
    let sig_ok = report.cert.is_some();
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
            let mut msg = f.to_string();
            let mut src = std::error::Error::source(f);
            while let Some(s) = src {
                msg.push_str(&format!(": {s}"));
                src = s.source();
            }
            Some((escape(&msg).into_owned(), f.hint().map(str::to_owned)))
        }
        Outcome::Undecided(why) => Some((
            format!("undecided: {}", escape(&why.to_string())),
            Some(why.hint().into()),
        )),
    }
}

/// One line for a range listing: `<sha> <VERDICT> <who or why>`.
pub fn range_line(id: &str, report: &Report) -> String {
    let short = id.get(..12).unwrap_or(id);
    let who = report
        .identity
        .as_ref()
        .map(|i| {
            let who = format!("{} ({})", i.subject(), i.issuer.as_deref().unwrap_or("?"));
            escape(&who).into_owned()
        })
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
pub fn json(id: &str, kind: &str, report: &Report) -> serde_json::Value {
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
    serde_json::json!({
        "sha": id,
        "kind": kind,
        "verdict": report.outcome.verdict(),
        "code": report.outcome.code(),
        "reasons": reasons,
        "identity": report.identity.as_ref().map(|i| i.subject().to_owned()),
        "issuer": report.identity.as_ref().and_then(|i| i.issuer.clone()),
        "tlog_index": tlog_index,
        "integrated_time": integrated_time,
        "time_anchor": anchor,
        "certificate": report.cert.as_ref().map(|c| serde_json::json!({
            "sha1": c.sha1_fingerprint,
            "serial": c.serial,
            "not_before": rfc3339(c.not_before),
            "not_after": rfc3339(c.not_after),
            "issuer": c.issuer_dn,
        })),
    })
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
            let s = summary(&r, true);
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
        let line = range_line("0123456789abcdef", &r);
        assert!(
            line.starts_with("0123456789ab undecided ") && line.contains("https://rekor.example"),
            "{line}"
        );
        assert_eq!(json("x", "commit", &r)["code"], "not_in_log");
    }
}
