//! Rendering verification reports: Go gitsign's summary lines, one line per object for ranges,
//! and JSON Lines for machines. Pure: reports in, strings out.

use crate::text::escape;
use crate::verify::{chain::rfc3339, Anchor, Outcome, Report};

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
    let tlog_ok = matches!(
        report.anchor,
        Some(Anchor::Tlog { .. } | Anchor::Timestamp { .. })
    ) && report.outcome == Outcome::Good;
    out.push_str(&format!("Validated Git signature: {sig_ok}\n"));
    out.push_str(&format!("Validated Rekor entry: {tlog_ok}\n"));
    out.push_str(&format!(
        "Validated Certificate claims: {}\n",
        claims_checked && report.outcome == Outcome::Good
    ));
    if let Some(Anchor::Unanchored { assumed }) = &report.anchor {
        out.push_str(&format!(
            "WARNING: signing time NOT anchored (--insecure-ignore-tlog): the chain was checked at {} (notBefore + 60s); nothing proves the signature was made while the certificate was valid\n",
            rfc3339(*assumed)
        ));
    }
    if let Some(Anchor::Timestamp { time, tsa }) = &report.anchor {
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

/// 1 if anything is bad, else 2 if anything is undecided, else 0.
pub fn exit_code<'a>(reports: impl IntoIterator<Item = &'a Report>) -> u8 {
    let mut code = 0;
    for r in reports {
        match r.outcome {
            Outcome::Bad(_) => return 1,
            Outcome::Undecided(_) => code = 2,
            Outcome::Good => {}
        }
    }
    code
}
