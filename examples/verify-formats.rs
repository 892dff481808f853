//! Benchmark (scripts/bench-formats): single-core throughput of the OpenPGP and SSH verifiers
//! over every OpenPGP- and SSH-signed commit of the given repositories.
//!
//! ```sh
//! verify-formats <openpgp-key-file> <git-dir>...
//! ```
//!
//! Commits are read once with `git cat-file --batch-all-objects --batch` and split as git
//! splits them; then each format's signatures are verified `BENCH_RUNS` times (default 3),
//! the fastest run kept. OpenPGP signatures are checked against the key file (those by other
//! keys end as `unknown_key` after the parse, and are timed too: a range holds both). SSH
//! signatures are checked against an allowed signers list of their own keys. Printed: the
//! key ring's parse time, then per format the count, the verdicts and verifies per second.

use std::collections::BTreeMap;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use gitsign::git::object::{signature_format, split_commit, HashKind, SignatureFormat, Split};
use gitsign::{openpgp, ssh};

fn commits(git_dir: &str) -> Result<Vec<Vec<u8>>, String> {
    let out = Command::new("git")
        .args([
            "--git-dir",
            git_dir,
            "cat-file",
            "--batch-all-objects",
            "--batch",
        ])
        .output()
        .map_err(|e| format!("git: {e}"))?;
    let mut rest = &out.stdout[..];
    let mut objects = Vec::new();
    while let Some(eol) = rest.iter().position(|b| *b == b'\n') {
        let header = String::from_utf8_lossy(&rest[..eol]).into_owned();
        let mut f = header.split(' ');
        let kind = f.nth(1).ok_or("no type")?.to_owned();
        let size: usize = f.next().and_then(|s| s.parse().ok()).ok_or("no size")?;
        if kind == "commit" {
            objects.push(rest[eol + 1..eol + 1 + size].to_vec());
        }
        rest = &rest[(eol + 2 + size).min(rest.len())..];
    }
    Ok(objects)
}

fn committer_time(raw: &[u8]) -> i64 {
    gitsign::git::object::header_value(raw, "committer")
        .and_then(|v| {
            let text = String::from_utf8_lossy(v).into_owned();
            text.rsplit(' ').nth(1).and_then(|t| t.parse().ok())
        })
        .unwrap_or(0)
}

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut fastest = Duration::MAX;
    let mut last = None;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let out = f();
        fastest = fastest.min(start.elapsed());
        last = Some(out);
    }
    (fastest, last.expect("at least one run"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((keys, repos)) = args.split_first() else {
        eprintln!("usage: verify-formats <openpgp-key-file> <git-dir>...");
        return ExitCode::from(2);
    };
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let key_bytes = match std::fs::read(keys) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{keys}: {e}");
            return ExitCode::from(2);
        }
    };
    let (parse, ring) = best(runs, || {
        let mut ring = openpgp::Keyring::new();
        ring.add_file(&key_bytes).map(|_| ring)
    });
    let ring = match ring {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{keys}: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "openpgp key ring: {} certificates parsed in {:.2} ms",
        ring.len(),
        parse.as_secs_f64() * 1e3
    );

    let mut pgp: Vec<Split> = Vec::new();
    let mut sshs: Vec<(Split, i64)> = Vec::new();
    for repo in repos {
        let objects = match commits(repo) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("{repo}: {e}");
                return ExitCode::from(2);
            }
        };
        for raw in objects {
            let Some(split) = split_commit(&raw, HashKind::Sha1) else {
                continue;
            };
            match signature_format(&split.signature) {
                SignatureFormat::Openpgp => pgp.push(split),
                SignatureFormat::Ssh => sshs.push((split, committer_time(&raw))),
                _ => {}
            }
        }
    }

    let (t, verdicts) = best(runs, || {
        let mut v = BTreeMap::new();
        for s in &pgp {
            let code = match openpgp::verify(&s.payload, &s.signature, &ring) {
                Ok(_) => "good",
                Err(e) => e.code(),
            };
            *v.entry(code).or_insert(0usize) += 1;
        }
        v
    });
    println!(
        "openpgp: {} signatures {verdicts:?} in {:.1} ms: {:.0} verifies/s",
        pgp.len(),
        t.as_secs_f64() * 1e3,
        pgp.len() as f64 / t.as_secs_f64()
    );
    let good_only: Vec<&Split> = pgp
        .iter()
        .filter(|s| openpgp::verify(&s.payload, &s.signature, &ring).is_ok())
        .collect();
    let (t, _) = best(runs, || {
        good_only
            .iter()
            .filter(|s| openpgp::verify(&s.payload, &s.signature, &ring).is_ok())
            .count()
    });
    println!(
        "openpgp (good ones only, RSA 2048/4096): {} in {:.1} ms: {:.0} verifies/s",
        good_only.len(),
        t.as_secs_f64() * 1e3,
        good_only.len() as f64 / t.as_secs_f64()
    );

    let mut allowed = String::new();
    for (s, _) in &sshs {
        if let Ok(sig) = ssh_key::SshSig::from_pem(&s.signature) {
            if let Ok(line) = ssh_key::PublicKey::new(sig.public_key().clone(), "").to_openssh() {
                allowed.push_str(&format!("bench@example.com {line}\n"));
            }
        }
    }
    let allowed = match ssh::AllowedSigners::parse(&allowed, &|t| Some(t.and_utc().timestamp())) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("allowed signers: {e}");
            return ExitCode::from(2);
        }
    };
    let revoked = ssh::Revoked::default();
    let (t, verdicts) = best(runs.max(20), || {
        let mut v = BTreeMap::new();
        for (s, at) in &sshs {
            let code = match ssh::verify(&s.payload, &s.signature, &allowed, &revoked, *at) {
                Ok(_) => "good",
                Err(e) => e.code(),
            };
            *v.entry(code).or_insert(0usize) += 1;
        }
        v
    });
    println!(
        "ssh: {} signatures {verdicts:?} in {:.2} ms: {:.0} verifies/s",
        sshs.len(),
        t.as_secs_f64() * 1e3,
        sshs.len() as f64 / t.as_secs_f64()
    );
    ExitCode::SUCCESS
}
