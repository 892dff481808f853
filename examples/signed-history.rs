//! Benchmark fixture (scripts/bench-memory): a long linear history of commits signed the way
//! `git commit -S` with gitsign signs them, written straight into a repository's object
//! database — 100,000 commits in minutes instead of the ~3 hours that 100,000 `git commit -S`
//! runs (two process spawns and a login each) would take.
//!
//! ```sh
//! . <stack state dir>/env     # GITSIGN_FULCIO_URL, GITSIGN_REKOR_URL, GITSIGN_OIDC_ISSUER, …
//! signed-history <repository> <commits>   # prints the tip's id on stdout
//! ```
//!
//! Each commit is the payload git hands the signer for
//! `git commit --allow-empty -S -m "commit <i>"` (empty tree, the previous commit as parent,
//! author and committer `Bench <dev@example.com>` one second apart from 1700000001 on),
//! signed by gitsign's own pipeline ([`gitsign::sign::flow::sign_with`]: CMS signature,
//! hashedrekord upload, the verified entry embedded in default offline Rekor mode, and the
//! self-check) and joined the way git inserts the `gpgsig` header
//! ([`gitsign::git::object_id::join_commit`]). Nothing here re-implements a signing step.
//!
//! One login serves many commits, as with the credential cache: a token minted by the local
//! stack's `/mint` endpoint, one Fulcio certificate, a new one when less than two minutes of
//! it are left. Commits are chained (a signature covers the parent's id, which covers the
//! parent's signature and its Rekor entry), so they are signed one after another, each waiting
//! for its Rekor round trip; the one HTTP client keeps its loopback connection alive.
//! Objects are written loose; the caller packs them.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context as _};
use gitsign::config::Config;
use gitsign::git::object::HashKind;
use gitsign::git::object_id;
use gitsign::sign::flow::{self, Credentials, Request};
use gix::objs::Write as _;

const IDENTITY: &str = "dev@example.com";
const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
const FIRST_TIME: i64 = 1_700_000_000;
/// Log in again when the certificate has less than this left (Fulcio's live ten minutes).
const RENEW_MARGIN: i64 = 120;

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// What git hands `gpg.x509.program` for `git commit --allow-empty -S -m "commit <i>"`.
fn payload(i: u64, parent: Option<&str>) -> Vec<u8> {
    let t = FIRST_TIME + i as i64;
    let parent = parent.map(|p| format!("parent {p}\n")).unwrap_or_default();
    format!(
        "tree {EMPTY_TREE}\n{parent}author Bench <{IDENTITY}> {t} +0000\n\
         committer Bench <{IDENTITY}> {t} +0000\n\ncommit {i}\n"
    )
    .into_bytes()
}

fn login(http: &gitsign::http::Http, req: &Request<'_>) -> anyhow::Result<Credentials> {
    let mint = format!(
        "{}/mint?email={IDENTITY}",
        req.oidc.issuer.trim_end_matches('/')
    );
    let reply = http
        .get(&mint)
        .with_context(|| format!("minting a token at '{mint}'"))?;
    if !reply.ok() {
        bail!("'{mint}' answered {}: {}", reply.status, reply.snippet());
    }
    let token = String::from_utf8(reply.body).context("the minted token is not text")?;
    let env = |k: &str| (k == "SIGSTORE_ID_TOKEN").then(|| token.trim().to_owned());
    flow::login(http, req, &env, &mut |_| {}, &now_unix).context("logging in")
}

fn run(repo_dir: &str, commits: u64) -> anyhow::Result<String> {
    let config = Config::resolve(&[], |k| std::env::var(k).ok());
    let root = gitsign::cli::setup::load_trust(&config).map_err(|e| e.error)?;
    let settings = gitsign::cli::sign_settings(&config).map_err(|e| e.error)?;
    let request = Request::new(&[], &settings, &root, None);
    let http = gitsign::http::Http::new(std::time::Duration::from_secs(30));
    let repo = gix::open(repo_dir).with_context(|| format!("opening '{repo_dir}'"))?;
    if repo.object_hash() != gix::hash::Kind::Sha1 {
        bail!("'{repo_dir}' is not a SHA-1 repository");
    }
    // git knows the empty tree without storing it; gix and a later repack want it stored.
    repo.objects
        .write_buf(gix::objs::Kind::Tree, &[])
        .context("writing the empty tree")?;

    let started = Instant::now();
    let mut creds = login(&http, &request)?;
    let mut logins = 1;
    let mut parent: Option<String> = None;
    for i in 1..=commits {
        if creds.issued.leaf.not_after - now_unix() < RENEW_MARGIN {
            creds = login(&http, &request)?;
            logins += 1;
        }
        let payload = payload(i, parent.as_deref());
        let req = Request {
            payload: &payload,
            ..request.clone()
        };
        let signed = flow::sign_with(&http, &req, &creds, now_unix)
            .with_context(|| format!("signing commit {i}"))?;
        let raw = object_id::join_commit(&payload, signed.pem.as_bytes(), HashKind::Sha1);
        let id = repo
            .objects
            .write_buf(gix::objs::Kind::Commit, &raw)
            .with_context(|| format!("writing commit {i}"))?
            .to_string();
        parent = Some(id);
        if i % 10_000 == 0 || i == commits {
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "signed-history: {i} of {commits} commits signed in {secs:.0} s ({:.0}/s, {logins} login(s))",
                i as f64 / secs
            );
        }
    }
    parent.context("no commits asked for")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (repo, commits) = match args.as_slice() {
        [repo, n] => match n.parse::<u64>() {
            Ok(n) if n > 0 => (repo, n),
            _ => {
                eprintln!("signed-history: error: invalid commit count '{n}'");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: signed-history <repository> <commits>");
            return ExitCode::from(2);
        }
    };
    match run(repo, commits) {
        Ok(tip) => {
            println!("{tip}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("signed-history: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
