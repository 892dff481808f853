//! `gitsign version`: what a bug report needs, as Go gitsign's `version` prints it — the
//! version, the build commit, the `GITSIGN_*`, `SIGSTORE_*` and `TUF_*` environment (values
//! of secrets redacted: Go prints `SIGSTORE_ID_TOKEN` verbatim, we never do) and every
//! effective setting with where it came from; as text or `--json`.

use std::process::ExitCode;

use super::{CliError, CliResult, Exit};

#[derive(clap::Args, Debug)]
pub struct VersionArgs {
    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,
}

/// The environment prefixes Go gitsign reports (pkg/version/version.go).
const PREFIXES: &[&str] = &["GITSIGN_", "SIGSTORE_", "TUF_"];

/// Parts of a variable name that mark its value as a secret.
const SECRET_MARKS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSPHRASE",
    "AUTH",
    "PRIVATE",
];

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit this binary was built from, when known.
pub fn build_commit() -> &'static str {
    option_env!("GITSIGN_BUILD_COMMIT").unwrap_or("unknown")
}

/// The reported variables, sorted: (name, value shown). Unset and empty ones are left out,
/// as Go does; secrets, and anything shaped like a JWT, show as `<redacted>`.
pub fn reported_env(vars: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(k, v)| PREFIXES.iter().any(|p| k.starts_with(p)) && !v.trim().is_empty())
        .map(|(k, v)| {
            let secret = SECRET_MARKS.iter().any(|m| k.contains(m)) || looks_like_jwt(&v);
            let shown = if secret {
                "<redacted>".to_owned()
            } else {
                printable(&v)
            };
            (k, shown)
        })
        .collect();
    out.sort();
    out
}

fn looks_like_jwt(v: &str) -> bool {
    let v = v.trim();
    v.starts_with("eyJ") && v.split('.').count() == 3
}

/// Control characters shown as `\u{…}`: a value must not rewrite the terminal.
fn printable(v: &str) -> String {
    v.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_unicode().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

pub fn run(args: &VersionArgs) -> CliResult {
    let env = reported_env(
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.to_string_lossy().into_owned()))),
    );
    let config = crate::config::Config::load();
    let settings: Vec<crate::config::Setting> = match &config {
        Ok(c) => c
            .describe()
            .into_iter()
            .map(|mut s| {
                s.value = printable(&s.value);
                s
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let (origin, services) = match &config {
        Ok(c) => services(c),
        Err(_) => ("not read (configuration error)".to_owned(), Vec::new()),
    };
    let embedded = crate::tuf::embedded();
    let mut out = String::new();
    if args.json {
        let v = serde_json::json!({
            "gitVersion": VERSION,
            "buildCommit": build_commit(),
            "env": env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
            "settings": settings,
            "signingConfig": origin,
            "embeddedTrust": embedded.map(|e| serde_json::json!({
                "tufRootVersion": e.tuf_root_version,
                "tufRootExpires": crate::encoding::rfc3339(e.tuf_root_expires),
                "trustedRootNewestKey": e.trusted_root_newest_key.map(crate::encoding::rfc3339),
            })),
            "services": services,
            "configError": config.as_ref().err().map(|e| e.to_string()),
        });
        out.push_str(&serde_json::to_string_pretty(&v).unwrap_or_default());
        out.push('\n');
    } else {
        out.push_str(&format!("gitsign version {VERSION}\n"));
        out.push_str(&format!("build commit: {}\n", build_commit()));
        if !env.is_empty() {
            out.push_str("env:\n");
            for (k, v) in &env {
                out.push_str(&format!("    {k}={v}\n"));
            }
        }
        out.push_str("settings:\n");
        for s in &settings {
            out.push_str(&format!(
                "    {} = {} (from {})\n",
                s.key, s.value, s.source
            ));
        }
        out.push_str(&format!("signing config: {origin}\n"));
        if let Some(e) = embedded {
            out.push_str(&format!(
                "embedded TUF root: version {}, expires {}\n",
                e.tuf_root_version,
                crate::encoding::rfc3339(e.tuf_root_expires)
            ));
            if let Some(t) = e.trusted_root_newest_key {
                out.push_str(&format!(
                    "embedded trusted root: newest key valid from {}\n",
                    crate::encoding::rfc3339(t)
                ));
            }
        }
        out.push_str("services:\n");
        for s in &services {
            out.push_str(&format!(
                "    {} = {} (from {})\n",
                s.key, s.value, s.source
            ));
        }
    }
    {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        match stdout
            .write_all(out.as_bytes())
            .and_then(|_| stdout.flush())
        {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(CliError::new(
                    Exit::Io,
                    anyhow::Error::new(e).context("writing to stdout"),
                ))
            }
            _ => {}
        }
    }
    match config {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(CliError::new(Exit::Config, anyhow::Error::new(e))
            .hint("run `git config --get-regexp '^gitsign\\.'` to see what git reports")),
    }
}

/// Where the signing config comes from, and each effective service URL with its source
/// (`gitsign.*` names), as signing would resolve them now. TUF trust is read as for
/// verification: a stale cache that cannot be refreshed is reported, not fatal.
fn services(config: &crate::config::Config) -> (String, Vec<crate::config::Setting>) {
    use crate::config::settings::{self, FromTuf};
    let tuf = super::tuf_signing_config_noted(config, crate::tuf::Purpose::Verify);
    let (origin, tuf) = match &tuf {
        Ok(Some((c, mirror, None))) => (
            format!("TUF {}", printable(mirror)),
            Some(FromTuf { config: c, mirror }),
        ),
        // An expired cache that could not be refreshed: what signing would refuse.
        Ok(Some((c, mirror, Some(note)))) => (
            format!(
                "TUF {} (stale: {}; signing refuses it until a refresh succeeds)",
                printable(mirror),
                printable(note)
            ),
            Some(FromTuf { config: c, mirror }),
        ),
        Ok(None) => (
            "none (gitsign initialize was not run, or the mirror has none)".to_owned(),
            None,
        ),
        Err(e) => (
            format!("unusable: {}", printable(&format!("{:#}", e.error))),
            None,
        ),
    };
    let resolved = match settings::services(config, tuf, super::initialize::now()) {
        Ok(s) => s,
        Err(e) => {
            return (
                format!(
                    "{origin}; cannot resolve the services: {}",
                    printable(&format!("{:#}", anyhow::Error::new(e)))
                ),
                Vec::new(),
            )
        }
    };
    let row = |key: &'static str, value: String, source: String| crate::config::Setting {
        key,
        value: printable(&value),
        source,
    };
    let mut out = vec![
        row(
            "gitsign.fulcio",
            resolved.fulcio.value,
            resolved.fulcio.origin.to_string(),
        ),
        row(
            "gitsign.rekor",
            resolved.rekor.value,
            resolved.rekor.origin.to_string(),
        ),
        row(
            "gitsign.rekorVersion",
            match resolved.rekor_version.value {
                crate::config::RekorVersion::V1 => "1".to_owned(),
                crate::config::RekorVersion::V2 => "2".to_owned(),
            },
            resolved.rekor_version.origin.to_string(),
        ),
        row(
            "gitsign.issuer",
            resolved.issuer.value,
            resolved.issuer.origin.to_string(),
        ),
    ];
    if let Some(t) = resolved.timestamp {
        out.push(row(
            "gitsign.timestampServerURL",
            t.value,
            t.origin.to_string(),
        ));
    }
    (origin, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_other_prefixes_left_out() {
        let vars = [
            ("SIGSTORE_ID_TOKEN", "eyJhbGciOi.eyJzdWIiOi.c2ln"),
            ("GITSIGN_FULCIO_URL", "https://fulcio.example"),
            ("TUF_ROOT", "/tmp/tuf"),
            ("GITSIGN_OIDC_CLIENT_SECRET", "hunter2"),
            ("SIGSTORE_SOMETHING", "eyJa.eyJb.sig"),
            ("GITSIGN_EMPTY", ""),
            ("GITSIGN_LOG", "/tmp/a\u{1b}[2Jb"),
            ("HOME", "/root"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "x"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let shown = reported_env(vars);
        let shown: Vec<(&str, &str)> = shown
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("GITSIGN_FULCIO_URL", "https://fulcio.example"),
                ("GITSIGN_LOG", "/tmp/a\\u{1b}[2Jb"),
                ("GITSIGN_OIDC_CLIENT_SECRET", "<redacted>"),
                ("SIGSTORE_ID_TOKEN", "<redacted>"),
                ("SIGSTORE_SOMETHING", "<redacted>"),
                ("TUF_ROOT", "/tmp/tuf"),
            ],
            "Go's prefixes only, sorted, empty ones left out, secrets and JWTs redacted, control characters escaped"
        );
    }
}
