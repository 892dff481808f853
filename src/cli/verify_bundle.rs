//! `gitsign verify-bundle`: a Sigstore bundle over an artifact, through the same verification
//! core as commits ([`crate::verify::Verifier::verify_input`]), with the same policy flags, output
//! formats and exit codes as `gitsign verify`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;

use super::verify::{policy, Format, IdentityArgs, IssuerArgs, TrustArgs, WorkflowArgs};
use super::{output, CliError, CliResult, Exit};
use crate::encoding::rfc3339;
use crate::verify::{self, bundle, Outcome, Report};

const EXAMPLES: &str = "\
Examples:
  # A release artifact signed in GitHub Actions
  gitsign verify-bundle --bundle app.tar.gz.sigstore.json \\
      --certificate-identity-regexp '^https://github.com/acme/app/' \\
      --certificate-oidc-issuer https://token.actions.githubusercontent.com app.tar.gz

  # An artifact signed with a long-lived key
  gitsign verify-bundle --bundle app.sigstore.json --key cosign.pub app.tar.gz

Exit status: 0 when the bundle verifies, 1 when it is malformed, does not match the
artifact or the policy, or any proof in it fails, 2 when something could not be
decided (usage, configuration or I/O errors).";

#[derive(clap::Args, Debug)]
#[command(
    about = "Verify a Sigstore bundle over an artifact",
    long_about = "Verify a Sigstore bundle (v0.1 to v0.3: message signature or DSSE/in-toto \
envelope, Rekor v1 or v2 entries, RFC 3161 timestamps) over ARTIFACT, offline, with the \
checks commit signatures get. Certificate-signed bundles need one identity flag and one \
issuer flag; key-signed bundles need --key.",
    after_long_help = EXAMPLES
)]
pub struct VerifyBundleArgs {
    /// The artifact the bundle signs (for DSSE, a subject of its in-toto statement)
    #[arg(value_name = "ARTIFACT")]
    pub artifact: String,
    /// Sigstore bundle (JSON) to verify
    #[arg(long, value_name = "FILE")]
    pub bundle: String,
    /// Verify with this PEM public key instead of a certificate identity
    #[arg(long, value_name = "PUBKEY.pem", conflicts_with_all = ["certificate_identity", "certificate_identity_regexp", "certificate_oidc_issuer", "certificate_oidc_issuer_regexp"])]
    pub key: Option<String>,
    /// Identity the certificate must name (email or URI in the SAN)
    #[arg(
        long,
        value_name = "ID",
        conflicts_with = "certificate_identity_regexp"
    )]
    pub certificate_identity: Option<String>,
    /// Regular expression the certificate identity must match
    #[arg(long, value_name = "REGEXP")]
    pub certificate_identity_regexp: Option<String>,
    /// OIDC issuer that authenticated the signer (Fulcio's issuer extension)
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "certificate_oidc_issuer_regexp"
    )]
    pub certificate_oidc_issuer: Option<String>,
    /// Regular expression the OIDC issuer must match
    #[arg(long, value_name = "REGEXP")]
    pub certificate_oidc_issuer_regexp: Option<String>,
    #[command(flatten)]
    pub workflow: WorkflowArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

fn read(path: &str, what: &str) -> Result<Vec<u8>, CliError> {
    Ok(std::fs::read(path).with_context(|| format!("reading the {what} '{path}'"))?)
}

/// An error before any verdict: in JSON mode also one object with its code on stdout.
fn fail(args: &VerifyBundleArgs, code: &str, e: CliError) -> CliError {
    if args.format == Format::Json {
        let v = serde_json::json!({
            "kind": "bundle",
            "bundle": args.bundle,
            "artifact": args.artifact,
            "verdict": "error",
            "code": code,
            "reasons": [format!("{:#}", e.error)],
        });
        let _ = writeln!(std::io::stdout(), "{v}");
    }
    e
}

pub fn run(args: &VerifyBundleArgs) -> CliResult {
    let has_identity =
        args.certificate_identity.is_some() || args.certificate_identity_regexp.is_some();
    let has_issuer =
        args.certificate_oidc_issuer.is_some() || args.certificate_oidc_issuer_regexp.is_some();
    if args.key.is_none() && !(has_identity && has_issuer) {
        return Err(fail(
            args,
            "usage",
            CliError::new(Exit::Usage,
                anyhow::anyhow!("one identity flag and one issuer flag are required without --key"),
            )
            .hint("pass --certificate-identity (or -regexp) and --certificate-oidc-issuer (or -regexp), or --key for key-signed bundles"),
        ));
    }
    let policy = policy(
        &IdentityArgs {
            certificate_identity: args.certificate_identity.clone(),
            certificate_identity_regexp: args.certificate_identity_regexp.clone(),
        },
        &IssuerArgs {
            certificate_oidc_issuer: args.certificate_oidc_issuer.clone(),
            certificate_oidc_issuer_regexp: args.certificate_oidc_issuer_regexp.clone(),
        },
        &args.workflow,
    )
    .map_err(|e| fail(args, "usage", e))?;
    // A bundle carries its proofs: nothing is looked up.
    let setup = super::load_config()
        .and_then(|config| super::setup::verify_setup(config, &args.trust.flags(true)))
        .map_err(|e| fail(args, "trusted_root", e))?;
    let key = match &args.key {
        Some(path) => {
            let pem = read(path, "public key").map_err(|e| fail(args, "io", e))?;
            let der = crate::pem::decode_one(&pem, "PUBLIC KEY")
                .with_context(|| format!("parsing the public key '{path}'"))
                .map_err(|e| {
                    fail(
                        args,
                        "key",
                        CliError::new(Exit::Config, e)
                            .hint("the file must hold a PEM PUBLIC KEY block"),
                    )
                })?;
            Some(der)
        }
        None => None,
    };
    let bundle_json = read(&args.bundle, "bundle").map_err(|e| fail(args, "io", e))?;
    let artifact = read(&args.artifact, "artifact").map_err(|e| fail(args, "io", e))?;

    let verifier = setup.verifier();
    let report =
        match bundle::parse(&bundle_json).and_then(|b| b.to_input(&artifact, key.as_deref())) {
            Ok(input) => verifier.verify_input(&input, &policy),
            Err(f) => Report {
                outcome: Outcome::Bad(f),
                identity: None,
                cert: None,
                anchor: None,
                signing_time: None,
            },
        };

    let id = format!(
        "sha256:{}",
        crate::encoding::hex(&crate::crypto::sha256(&artifact))
    );
    let written = match args.format {
        Format::Json => {
            let verified = crate::check::Verified::sigstore(report.clone());
            let mut v = output::json(&id, "bundle", &verified);
            if let Some(obj) = v.as_object_mut() {
                obj.insert("bundle".into(), args.bundle.clone().into());
                obj.insert("artifact".into(), args.artifact.clone().into());
                obj.insert(
                    "timestamps".into(),
                    report
                        .anchor
                        .as_ref()
                        .map(|a| rfc3339(a.time()))
                        .into_iter()
                        .collect::<Vec<_>>()
                        .into(),
                );
            }
            writeln!(std::io::stdout(), "{v}")
        }
        Format::Human => {
            crate::ui::eprint(&summary(&report, &args.artifact, key.is_some()));
            if let Some((msg, hint)) = output::problem(&report) {
                crate::ui::eprint(&format!("gitsign: error: {}: {msg}\n", args.bundle));
                if let Some(h) = hint {
                    crate::ui::eprint(&format!("Hint: {h}\n"));
                }
            }
            Ok(())
        }
    };
    if written.is_err() {
        return Ok(ExitCode::SUCCESS); // broken pipe: the reader has gone
    }
    let mut tally = crate::verify::Tally::default();
    tally.add(&report.outcome);
    Ok(Exit::of(&tally).into())
}

/// Human summary on stderr: who signed, how the time was proven, the verdict.
fn summary(report: &Report, artifact: &str, keyed: bool) -> String {
    use crate::text::escape;
    let mut out = String::new();
    let verb = match report.outcome {
        Outcome::Good => "Good",
        Outcome::Bad(_) => "Bad",
        Outcome::Undecided(_) => "Unverified",
    };
    match (&report.cert, &report.identity) {
        (Some(cert), Some(id)) => {
            out.push_str(&format!(
                "gitsign: Signature made using certificate ID 0x{} | {}\n",
                cert.sha1_fingerprint,
                escape(&cert.issuer_dn)
            ));
            out.push_str(&format!(
                "gitsign: {verb} bundle signature over '{artifact}' from [{}]({})\n",
                escape(&id.sans.join(", ")),
                escape(id.issuer.as_deref().unwrap_or(""))
            ));
        }
        _ if keyed => out.push_str(&format!(
            "gitsign: {verb} bundle signature over '{artifact}' by the key given with --key\n"
        )),
        _ => out.push_str(&format!("gitsign: {verb} bundle over '{artifact}'\n")),
    }
    match &report.anchor {
        Some(verify::Anchor::Tlog {
            log_index,
            integrated_time,
            log_url,
            ..
        }) => out.push_str(&format!(
            "tlog index: {log_index} ({}), integrated {}\n",
            escape(log_url),
            rfc3339(*integrated_time)
        )),
        Some(verify::Anchor::Timestamp { time, tsa, logged }) => {
            if let Some(l) = logged {
                out.push_str(&format!(
                    "tlog index: {} ({}), Rekor v2: no signed time\n",
                    l.log_index,
                    escape(&l.log_url)
                ));
            }
            out.push_str(&format!("timestamp: {} ({})\n", rfc3339(*time), escape(tsa)))
        }
        Some(verify::Anchor::Unanchored { .. }) => out.push_str(
            "WARNING: signing time NOT anchored (--insecure-ignore-tlog): nothing proves the signature was made while the certificate was valid\n",
        ),
        None => {}
    }
    out
}
