//! `gitsign attest`: sign an in-toto statement about a commit or its tree with a keyless
//! Sigstore identity and store it under `refs/attestations/` as Go gitsign does
//! ([`crate::attest`]). Signing reuses commit signing's identity, certificate and credential
//! cache; the envelope is logged in Rekor (a `hashedrekord` over the DSSE PAE bytes) and the
//! entry, with its inclusion proof, kept in a Sigstore bundle beside the envelope, so
//! `gitsign verify-attestation` decides offline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::{CliError, CliResult, Exit};
use crate::attest::{self, store, Envelope, Subject};
use crate::config::{Config, Key, RekorMode};
use crate::sign::flow::{Credentials, FlowError, Request};
use crate::verify::{self, policy::Policy, Outcome};

const EXAMPLES: &str = "\
Examples:
  # Attach SLSA provenance to the commit CI just built
  gitsign attest -f provenance.json --type https://slsa.dev/provenance/v1

  # Test results about the tree, so they survive a rebase that keeps the content
  gitsign attest -f results.json --type https://example.com/test-results/v1 --objtype tree

  # Share them
  git push origin refs/attestations/commits refs/attestations/trees

The commit of the attestation ref is printed on stdout.";

#[derive(clap::Args, Debug)]
#[command(
    about = "Sign an attestation about a commit or tree and store it under refs/attestations/",
    long_about = "Sign an in-toto statement whose subject is REVISION's commit (or its tree, \
with --objtype tree) and whose predicate is FILE, as a DSSE envelope with a keyless Sigstore \
certificate, and store it the way Go gitsign does: under refs/attestations/commits (or \
refs/attestations/trees), in a directory named after the object id, as FILE's name (the \
predicate), NAME.sig (the envelope) and NAME.sigstore.json (a Sigstore bundle with the \
certificate and the Rekor entry, which makes verification offline). The signed commit is not \
modified. Check them with `gitsign verify-attestation`.",
    after_long_help = EXAMPLES
)]
pub struct AttestArgs {
    /// Predicate to attest (a JSON object: SLSA provenance, test results, …)
    #[arg(short = 'f', long = "filepath", value_name = "FILE")]
    pub filepath: PathBuf,
    /// Predicate type URI (e.g. https://slsa.dev/provenance/v1); empty when not given, as
    /// Go gitsign's
    #[arg(
        long = "type",
        value_name = "URI",
        default_value = "",
        hide_default_value = true
    )]
    pub predicate_type: String,
    /// What the attestation is about: the commit or its tree
    #[arg(long, value_enum, default_value_t = Subject::Commit, value_name = "TYPE")]
    pub objtype: Subject,
    /// Commit to attest (or whose tree to attest)
    #[arg(default_value = "HEAD", value_name = "REVISION")]
    pub revision: String,
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The signing request commit signing would make, for `payload`: the same OIDC settings,
/// Fulcio and Rekor; always the offline Rekor mode (the entry is kept in the bundle).
fn request<'a>(
    settings: &'a mut crate::sign::flow::Settings,
    root: &'a crate::trust::TrustedRoot,
    payload: &'a [u8],
) -> Result<Request<'a>, CliError> {
    settings.rekor_mode = RekorMode::Offline;
    settings.timestamp_url = None;
    Ok(Request::new(payload, settings, root, None))
}

/// Key and certificate, from the credential cache when configured, else a login.
fn credentials(
    config: &Config,
    http: &crate::http::Http,
    req: &Request<'_>,
) -> Result<Credentials, FlowError> {
    let env = |k: &str| std::env::var(k).ok();
    let mut say = |t: &str| crate::ui::eprint(t);
    let cwd = std::env::current_dir()
        .ok()
        .map(|d| d.to_string_lossy().into_owned());
    let cache = crate::cache::Cache::from_config(config).map_err(FlowError::Config)?;
    let mut key = crate::cache::CacheKey::from_config(config, cwd).map_err(FlowError::Config)?;
    // Filed under the Fulcio actually used, which may come from the TUF signing config.
    key.fulcio_url = req.fulcio_url.to_owned();
    crate::cache::credentials(&cache, &key, http, req, &env, &mut say, &now_unix)
}

fn flow_error(e: FlowError) -> CliError {
    let hint = e.hint().replace(
        "nothing was signed, so git did not create the commit or tag",
        "nothing was signed, so nothing was stored or written",
    );
    CliError::new(
        Exit::from(&e),
        anyhow::Error::new(e).context("attesting failed"),
    )
    .hint(hint)
}

/// An in-toto statement signed keylessly: the DSSE envelope and the Sigstore bundle over it.
pub struct SignedStatement {
    pub envelope: Envelope,
    /// The Sigstore bundle (JSON): the envelope, the Fulcio certificate, the Rekor entry.
    pub bundle: Vec<u8>,
    /// Who signed, as the certificate names them.
    pub identity: String,
    /// The entry's index in the transparency log.
    pub log_index: i64,
}

/// Sign the in-toto statement `payload` as every attestation is signed: a DSSE envelope
/// (payload type `application/vnd.in-toto+json`) signed with commit signing's identity,
/// certificate and credential cache, logged in Rekor as a `hashedrekord` over the PAE bytes,
/// kept with its inclusion proof in a Sigstore bundle, and checked by our own verifier
/// before anything is written.
pub fn sign_statement(config: &Config, payload: Vec<u8>) -> Result<SignedStatement, CliError> {
    // Signing trust, as commit signing's: stale TUF metadata that cannot be refreshed refuses.
    let root = super::setup::load_trust_for(config, crate::tuf::Purpose::Sign)?;
    let unsigned = Envelope {
        payload_type: attest::PAYLOAD_TYPE.to_owned(),
        payload,
        signature: Vec::new(),
    };
    let pae = unsigned.signed_bytes();
    let mut settings = super::sign_settings(config)?;
    let req = request(&mut settings, &root, &pae)?;
    let timeout = config.positive_int(Key::Timeout)?.unwrap_or(10);
    let http = crate::http::Http::new(std::time::Duration::from_secs(timeout));
    let creds = credentials(config, &http, &req).map_err(flow_error)?;
    let signature = creds
        .key
        .sign(&pae)
        .map_err(|e| flow_error(FlowError::Cms(e.into())))?;
    let logged = crate::rekor::upload_entry(
        &http,
        req.rekor_url,
        &crate::crypto::sha256(&pae),
        &signature,
        &creds.issued.leaf.to_pem(),
        &root,
    )
    .map_err(|e| flow_error(FlowError::Log(e)))?;
    let envelope = Envelope {
        signature,
        ..unsigned
    };
    let bundle = attest::bundle_json(&creds.issued.leaf.der, &logged.entry, &envelope);

    // Our own verifier must accept what is stored, time anchor included.
    let check = crate::verify::bundle::parse(&bundle)
        .and_then(|b| attest::verification_input(&b, &envelope));
    let policy = Policy::default();
    let verifier = verify::Verifier::new(&root, verify::Waivers::default());
    let outcome = match check {
        Ok(input) => verifier.verify_input(&input, &policy).outcome,
        Err(f) => Outcome::Bad(f),
    };
    if outcome != Outcome::Good {
        let why = match outcome {
            Outcome::Bad(f) => f.to_string(),
            Outcome::Undecided(w) => w.to_string(),
            Outcome::Good => String::new(),
        };
        return Err(flow_error(FlowError::SelfCheck(why)));
    }
    Ok(SignedStatement {
        envelope,
        bundle,
        identity: creds.identity,
        log_index: logged.verified.log_index,
    })
}

pub fn run(args: &AttestArgs) -> CliResult {
    let name = args
        .filepath
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    store::check_name(&name).map_err(|e| {
        CliError::new(Exit::Usage, e.into())
            .hint("name the predicate file after what it holds, e.g. provenance.json")
    })?;
    let predicate = std::fs::read(&args.filepath)
        .with_context(|| format!("reading the predicate '{}'", args.filepath.display()))?;
    let id = store::resolve(&args.revision, args.objtype).map_err(|e| {
        CliError::new(
            Exit::Usage,
            anyhow::Error::new(e).context(format!("'{}' names no commit", args.revision)),
        )
        .hint("pass a commit: HEAD, a branch or an id")
    })?;
    let payload =
        attest::statement(args.objtype, &id, &args.predicate_type, &predicate).map_err(|e| {
            CliError::new(Exit::Usage, e.into())
                .hint("the predicate must be a JSON object, as Go gitsign requires")
        })?;

    let config = super::load_config()?;
    let signed = sign_statement(&config, payload)?;

    let files = vec![
        (name.clone(), predicate),
        (
            format!("{name}{}", attest::SIG_SUFFIX),
            signed.envelope.to_json(),
        ),
        (format!("{name}{}", attest::BUNDLE_SUFFIX), signed.bundle),
    ];
    let commit = store::write(args.objtype, &id, &name, &files)
        .with_context(|| format!("storing the attestation under {}", args.objtype.ref_name()))?;
    crate::ui::eprint(&format!(
        "gitsign: attested {} {id} as {} ({}), transparency log index {}; stored in {}\n",
        match args.objtype {
            Subject::Commit => "commit",
            Subject::Tree => "tree",
        },
        crate::text::escape(&signed.identity),
        if args.predicate_type.is_empty() {
            "no predicate type".into()
        } else {
            crate::text::escape(&args.predicate_type)
        },
        signed.log_index,
        args.objtype.ref_name()
    ));
    super::output::print(format!("{commit}\n").as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
