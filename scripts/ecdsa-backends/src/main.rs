//! Single-core ECDSA verify throughput of the signature backends gitsign's `src/crypto.rs`
//! could sit on — ring, aws-lc-rs and RustCrypto (`p256` / `p384`) — for the two shapes a
//! public-good signature holds: P-256/SHA-256 (CMS signer, SCT, Rekor SET and checkpoint) and
//! P-384/SHA-384 (Fulcio's intermediate signing every leaf). Run through `scripts/bench-ecdsa`,
//! which adds `openssl speed` as the reference and prints each rate's ratio to it.
//!
//! Workload, per curve: 64 distinct keys, each signing one message whose length steps evenly from 100 to
//! 1,500 bytes (the inputs gitsign verifies: CMS signed attributes, certificate TBS, SCT and
//! SET inputs, checkpoints), keys as uncompressed points (RFC 5480 §2.2) and signatures as
//! DER ECDSA-Sig-Value (RFC 3279 §2.2.3), as X.509 and CMS carry them. Each verify starts from bytes, as `PublicKey::verify` does:
//! parse the uncompressed point, parse the DER signature, hash the message (SHA-256 or SHA-384), verify. Every
//! backend first checks all 64 signatures and rejects a tampered message, so a rate is never
//! that of an error path.
//!
//! Rates are per second of this thread's CPU time, the divisor `openssl speed` uses too, so
//! other work on a shared machine slows a run down without lowering its numbers much.
//!
//! Usage: `ecdsa-backends [SECONDS]` (default 2 of CPU time per backend and curve). Output: one
//! `curve<TAB>backend<TAB>verifies per CPU second<TAB>share of wall time on a core` line per
//! backend and curve (`p256`, `p384`), `curve<TAB>backend<TAB>-` when it was not compiled in (aws-lc-rs is behind the `aws-lc` feature
//! because its C build may be unavailable).

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{
    EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING,
    ECDSA_P384_SHA384_ASN1_SIGNING,
};

const KEYS: usize = 64;
const MIN_LEN: usize = 100;
const MAX_LEN: usize = 1_500;

/// One signed message: SEC1 uncompressed public key, message, DER signature.
struct Case {
    key: Vec<u8>,
    msg: Vec<u8>,
    sig: Vec<u8>,
}

fn main() -> ExitCode {
    let seconds = match std::env::args().nth(1).map(|s| s.parse::<f64>()) {
        None => 2.0,
        Some(Ok(s)) if s > 0.0 && s.is_finite() => s,
        Some(_) => {
            eprintln!("ecdsa-backends: error: SECONDS must be a positive number");
            return ExitCode::from(2);
        }
    };
    let time = Duration::from_secs_f64(seconds);
    let mut failed = false;
    for (curve, signing, backends) in curves() {
        let cases = match make_cases(signing) {
            Ok(cases) => cases,
            Err(e) => {
                eprintln!("ecdsa-backends: error: generating {curve} keys and signatures: {e}");
                return ExitCode::from(2);
            }
        };
        for (name, verify) in backends {
            match verify.map(|f| measure(&cases, time, f)) {
                None => println!("{curve}\t{name}\t-"),
                Some(Ok((rate, on_cpu))) => println!("{curve}\t{name}\t{rate:.0}\t{on_cpu:.2}"),
                Some(Err(e)) => {
                    eprintln!("ecdsa-backends: error: {curve} {name}: {e}");
                    failed = true;
                }
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

type Verify = fn(&Case) -> bool;

type Backends = [(&'static str, Option<Verify>); 3];

/// The curves, each with the algorithm that signs its cases and its backends in output order
/// (`None` for one left out of this build). The RustCrypto crate is named after its curve.
fn curves() -> [(&'static str, &'static EcdsaSigningAlgorithm, Backends); 2] {
    [
        (
            "p256",
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            [
                ("ring", Some(verify_ring_p256)),
                ("aws-lc-rs", aws_lc_p256()),
                ("p256", Some(verify_p256)),
            ],
        ),
        (
            "p384",
            &ECDSA_P384_SHA384_ASN1_SIGNING,
            [
                ("ring", Some(verify_ring_p384)),
                ("aws-lc-rs", aws_lc_p384()),
                ("p384", Some(verify_p384)),
            ],
        ),
    ]
}

fn verify_ring_p256(c: &Case) -> bool {
    use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &c.key)
        .verify(&c.msg, &c.sig)
        .is_ok()
}

fn verify_ring_p384(c: &Case) -> bool {
    use ring::signature::{UnparsedPublicKey, ECDSA_P384_SHA384_ASN1};
    UnparsedPublicKey::new(&ECDSA_P384_SHA384_ASN1, &c.key)
        .verify(&c.msg, &c.sig)
        .is_ok()
}

#[cfg(feature = "aws-lc")]
fn aws_lc_p256() -> Option<Verify> {
    fn verify(c: &Case) -> bool {
        use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &c.key)
            .verify(&c.msg, &c.sig)
            .is_ok()
    }
    Some(verify)
}

#[cfg(feature = "aws-lc")]
fn aws_lc_p384() -> Option<Verify> {
    fn verify(c: &Case) -> bool {
        use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P384_SHA384_ASN1};
        UnparsedPublicKey::new(&ECDSA_P384_SHA384_ASN1, &c.key)
            .verify(&c.msg, &c.sig)
            .is_ok()
    }
    Some(verify)
}

#[cfg(not(feature = "aws-lc"))]
fn aws_lc_p256() -> Option<Verify> {
    None
}

#[cfg(not(feature = "aws-lc"))]
fn aws_lc_p384() -> Option<Verify> {
    None
}

fn verify_p256(c: &Case) -> bool {
    use p256::ecdsa::{signature::Verifier, Signature, VerifyingKey};
    let (Ok(key), Ok(sig)) = (
        VerifyingKey::from_sec1_bytes(&c.key),
        Signature::from_der(&c.sig),
    ) else {
        return false;
    };
    key.verify(&c.msg, &sig).is_ok()
}

fn verify_p384(c: &Case) -> bool {
    use p384::ecdsa::{signature::Verifier, Signature, VerifyingKey};
    let (Ok(key), Ok(sig)) = (
        VerifyingKey::from_sec1_bytes(&c.key),
        Signature::from_der(&c.sig),
    ) else {
        return false;
    };
    key.verify(&c.msg, &sig).is_ok()
}

/// 64 fresh key pairs, each signing one random message; lengths step from 100 to 1,500 bytes.
fn make_cases(alg: &'static EcdsaSigningAlgorithm) -> Result<Vec<Case>, String> {
    let rng = SystemRandom::new();
    (0..KEYS)
        .map(|i| {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).map_err(|e| e.to_string())?;
            let pair =
                EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).map_err(|e| e.to_string())?;
            let mut msg = vec![0; MIN_LEN + i * (MAX_LEN - MIN_LEN) / (KEYS - 1)];
            rng.fill(&mut msg).map_err(|e| e.to_string())?;
            let sig = pair.sign(&rng, &msg).map_err(|e| e.to_string())?;
            Ok(Case {
                key: pair.public_key().as_ref().to_vec(),
                msg,
                sig: sig.as_ref().to_vec(),
            })
        })
        .collect()
}

/// Verifies per second of CPU time over whole passes through `cases`, until `time` of CPU
/// time is spent (or five times that of wall time, on a machine too busy to give it), after
/// checking that every case verifies and a tampered message does not. Also returns the share
/// of the wall time this thread was on a core: near 1.0 means nothing else competed for it.
fn measure(cases: &[Case], time: Duration, verify: Verify) -> Result<(f64, f64), String> {
    if let Some(i) = cases.iter().position(|c| !verify(c)) {
        return Err(format!("rejected valid signature {i}"));
    }
    let mut tampered = Case {
        key: cases[0].key.clone(),
        msg: cases[0].msg.clone(),
        sig: cases[0].sig.clone(),
    };
    tampered.msg[0] ^= 1;
    if verify(&tampered) {
        return Err("accepted a signature over a tampered message".into());
    }
    let wall_start = Instant::now();
    let cpu_start = cpu_time()?;
    let mut done: u64 = 0;
    loop {
        for c in cases {
            if !black_box(verify(black_box(c))) {
                return Err("a valid signature failed during the timed loop".into());
            }
        }
        done += cases.len() as u64;
        let cpu = cpu_time()? - cpu_start;
        let wall = wall_start.elapsed();
        if cpu >= time || wall >= time * 5 {
            let cpu = cpu.as_secs_f64();
            return Ok((done as f64 / cpu, cpu / wall.as_secs_f64()));
        }
    }
}

/// Time this thread has spent on a core (Linux `/proc/thread-self/schedstat`, nanoseconds).
/// CPU time, not wall time, is the divisor because it is `openssl speed`'s default one (user
/// time; `-elapsed` switches it to wall time), and because it leaves out the time other
/// processes on a shared machine held the core.
fn cpu_time() -> Result<Duration, String> {
    let path = "/proc/thread-self/schedstat";
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?;
    text.split_whitespace()
        .next()
        .and_then(|ns| ns.parse().ok())
        .map(Duration::from_nanos)
        .ok_or_else(|| format!("no run time in {path}: '{}'", text.trim()))
}
