//! The fault matrix (issue 16): each service of the local stack (OIDC, Fulcio, Rekor v1, TSA)
//! × each fault (5xx, a delay past the timeout, a malformed body, a wrong signature) × each
//! path that talks to it (signing, verify's Rekor lookups, the pre-receive hook), with the
//! outcome every cell must have, asserted:
//!
//! - signing: git records no commit, and the error names the service that failed;
//! - lookups: `gitsign verify` exits 2 and names Rekor;
//! - the hook: the push is refused, the ref is not created, and Rekor is named.
//!
//! Cells where a path never talks to a service are listed with the reason, so the table is
//! complete. Timeouts are 2 s (`GITSIGN_TIMEOUT`; 1 s is too tight for a debug-built stack signing P-384
//! certificates on a loaded machine) and delays 4 s, which keeps it fast.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use sigstore_local::{Faults, Service, Stack};

use crate::online::{online_commits, IDENTITY};
use crate::util::{gitsign_bin, hermetic, output, stack_env, start_stack, TestRepo};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Status5xx,
    Delay,
    Malformed,
    WrongSignature,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Sign,
    Lookup,
    Hook,
}

/// What a cell must show.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// The operation fails (per path, see the module doc) and stderr/stdout holds all of these.
    Fails(&'static [&'static str]),
    /// The path never talks to this service, for the reason given.
    NotApplicable(#[allow(dead_code)] &'static str),
}

use Expect::{Fails, NotApplicable};
use Fault::*;
use Via::*;

const NO_SERVER_IN_VERIFY: &str =
    "verification reads tokens, certificates and timestamps from the signature, not a server";

/// The matrix. Messages are the service-naming parts of gitsign's errors.
const MATRIX: &[(Service, Fault, Via, Expect)] = &[
    (Service::Oidc, Status5xx, Sign, Fails(&["OpenID", "503"])),
    (Service::Oidc, Delay, Sign, Fails(&["OpenID"])),
    (Service::Oidc, Malformed, Sign, Fails(&["OpenID"])),
    // A token whose signature does not verify is refused (Fulcio checks it).
    (Service::Oidc, WrongSignature, Sign, Fails(&["signature"])),
    (Service::Fulcio, Status5xx, Sign, Fails(&["Fulcio", "503"])),
    (Service::Fulcio, Delay, Sign, Fails(&["Fulcio"])),
    (Service::Fulcio, Malformed, Sign, Fails(&["Fulcio"])),
    (
        Service::Fulcio,
        WrongSignature,
        Sign,
        Fails(&["Fulcio", "chain"]),
    ),
    (
        Service::Rekor,
        Status5xx,
        Sign,
        Fails(&["transparency log", "503"]),
    ),
    (Service::Rekor, Delay, Sign, Fails(&["transparency log"])),
    (
        Service::Rekor,
        Malformed,
        Sign,
        Fails(&["transparency log"]),
    ),
    (
        Service::Rekor,
        WrongSignature,
        Sign,
        Fails(&["transparency log"]),
    ),
    (
        Service::Tsa,
        Status5xx,
        Sign,
        Fails(&["timestamp authority", "503"]),
    ),
    (Service::Tsa, Delay, Sign, Fails(&["timestamp authority"])),
    (Service::Tsa, Malformed, Sign, Fails(&["timestamp"])),
    (
        Service::Tsa,
        WrongSignature,
        Sign,
        Fails(&["timestamp does not verify"]),
    ),
    (
        Service::Rekor,
        Status5xx,
        Lookup,
        Fails(&["Rekor lookup at", "503"]),
    ),
    (Service::Rekor, Delay, Lookup, Fails(&["Rekor lookup at"])),
    (
        Service::Rekor,
        Malformed,
        Lookup,
        Fails(&["Rekor lookup at"]),
    ),
    (
        Service::Rekor,
        WrongSignature,
        Lookup,
        Fails(&["rejected entry"]),
    ),
    (
        Service::Rekor,
        Status5xx,
        Hook,
        Fails(&["Rekor lookup at", "503"]),
    ),
    (Service::Rekor, Delay, Hook, Fails(&["Rekor lookup at"])),
    (Service::Rekor, Malformed, Hook, Fails(&["Rekor lookup at"])),
    (Service::Rekor, WrongSignature, Hook, Fails(&["Rekor"])),
    (
        Service::Oidc,
        Status5xx,
        Lookup,
        NotApplicable(NO_SERVER_IN_VERIFY),
    ),
    (
        Service::Fulcio,
        Status5xx,
        Lookup,
        NotApplicable(NO_SERVER_IN_VERIFY),
    ),
    (
        Service::Tsa,
        Status5xx,
        Lookup,
        NotApplicable(NO_SERVER_IN_VERIFY),
    ),
    (
        Service::Oidc,
        Status5xx,
        Hook,
        NotApplicable(NO_SERVER_IN_VERIFY),
    ),
    (
        Service::Fulcio,
        Status5xx,
        Hook,
        NotApplicable(NO_SERVER_IN_VERIFY),
    ),
    (
        Service::Tsa,
        Status5xx,
        Hook,
        NotApplicable(NO_SERVER_IN_VERIFY),
    ),
];

const SERVICES: [Service; 4] = [Service::Oidc, Service::Fulcio, Service::Rekor, Service::Tsa];
const FAULTS: [Fault; 4] = [Status5xx, Delay, Malformed, WrongSignature];

fn faults(f: Fault) -> Faults {
    match f {
        Status5xx => Faults {
            status: Some(503),
            ..Faults::default()
        },
        Delay => Faults {
            delay: Some(Duration::from_millis(4000)),
            ..Faults::default()
        },
        Malformed => Faults {
            malformed_body: true,
            ..Faults::default()
        },
        WrongSignature => Faults {
            wrong_signature: true,
            ..Faults::default()
        },
    }
}

/// The cell for (service, fault, path); a service a path never talks to has one row (5xx)
/// standing for every fault.
fn cell(service: Service, fault: Fault, path: Via) -> Option<Expect> {
    MATRIX
        .iter()
        .find(|(s, f, p, e)| {
            *s == service
                && *p == path
                && (*f == fault || matches!(e, NotApplicable(_)) && *f == Status5xx)
        })
        .map(|c| c.3)
}

#[test]
fn the_matrix_has_one_cell_per_service_fault_and_path() {
    for s in SERVICES {
        for f in FAULTS {
            for p in [Sign, Lookup, Hook] {
                assert!(cell(s, f, p).is_some(), "a cell for {s:?} × {f:?} × {p:?}");
            }
        }
    }
    for (i, a) in MATRIX.iter().enumerate() {
        assert!(
            !MATRIX[i + 1..]
                .iter()
                .any(|b| (a.0, a.1, a.2) == (b.0, b.1, b.2)),
            "one row per cell: {:?}",
            (a.0, a.1, a.2)
        );
    }
}

fn assert_names(cell: &str, text: &str, want: &[&str]) {
    for w in want {
        assert!(text.contains(w), "{cell}: the error names {w:?}: {text}");
    }
}

fn head(repo: &TestRepo) -> String {
    repo.git(&["rev-parse", "HEAD"]).trim().to_owned()
}

/// `git commit -S` through gitsign set up so that it talks to `service`: the browser login
/// (answered by curl) for OIDC, a minted token otherwise, the TSA when it is the one tested.
fn signing_commit(repo: &TestRepo, stack: &Stack, service: Service) -> Command {
    let mut cmd = repo.cmd("git");
    cmd.args(["-c", "gpg.format=x509", "-c"])
        .arg(format!("gpg.x509.program={}", gitsign_bin().display()))
        .args(["commit", "--allow-empty", "-S", "-q", "-m", "fault matrix"])
        .env("GITSIGN_TIMEOUT", "2");
    stack_env(&mut cmd, stack);
    match service {
        Service::Oidc => {
            cmd.env("GITSIGN_URL_OPENER", "curl -sfL {{.URL}}");
        }
        _ => {
            cmd.env("SIGSTORE_ID_TOKEN", stack.mint_token(IDENTITY));
        }
    }
    if service == Service::Tsa {
        cmd.env("GITSIGN_TIMESTAMP_SERVER_URL", stack.timestamp_url());
    }
    cmd
}

#[test]
fn signing_faults_leave_no_commit_and_name_the_service() {
    let local = start_stack();
    let stack = &local.stack;
    let repo = TestRepo::new();
    repo.git(&["commit", "--allow-empty", "-q", "-m", "base"]);
    for service in SERVICES {
        // The same setup without a fault signs: each refusal below is the fault's doing.
        let log = repo.path().join(".git/gitsign.log");
        std::fs::remove_file(&log).ok();
        let (code, _, err) = output(signing_commit(&repo, stack, service).env("GITSIGN_LOG", &log));
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        assert_eq!(code, 0, "{service:?} without a fault signs: {err}{logged}");
        for fault in FAULTS {
            let name = format!("{service:?} × {fault:?} × signing");
            let Some(Fails(want)) = cell(service, fault, Sign) else {
                panic!("{name}: every signing cell expects a failure");
            };
            let before = head(&repo);
            let used_before = stack.service_request_count(service);
            stack.set_faults(service, faults(fault));
            let log = repo.path().join(".git/gitsign.log");
            std::fs::remove_file(&log).ok();
            let (code, out, err) =
                output(signing_commit(&repo, stack, service).env("GITSIGN_LOG", &log));
            stack.clear_faults();
            // git before 2.40 drops the signing program's stderr on failure; the log keeps it.
            let err = format!("{err}{}", std::fs::read_to_string(&log).unwrap_or_default());
            assert_ne!(code, 0, "{name}: the commit fails: {err}");
            assert_eq!(head(&repo), before, "{name}: no commit is recorded");
            assert!(
                stack.service_request_count(service) > used_before,
                "{name}: the faulty service was asked"
            );
            assert!(
                !out.contains("BEGIN SIGNED MESSAGE"),
                "{name}: nothing signed"
            );
            assert!(err.contains("gitsign: error: "), "{name}: an error: {err}");
            assert_names(&name, &err, want);
        }
    }
}

fn verify_online(repo: &Path, stack: &Stack) -> (i32, String, String) {
    std::fs::remove_dir_all(repo.join(".git/gitsign")).ok();
    let mut cmd = hermetic(gitsign_bin(), repo);
    cmd.current_dir(repo)
        .args([
            "verify",
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
            &stack.oidc_issuer(),
            "HEAD",
        ])
        .env("GITSIGN_TIMEOUT", "2");
    stack_env(&mut cmd, stack);
    output(&mut cmd)
}

#[test]
fn lookup_faults_are_undecided_exit_2_and_name_rekor() {
    let local = start_stack();
    let stack = &local.stack;
    let repo = TestRepo::new();
    online_commits(&repo, stack, 1, "lookup");
    let (code, _, err) = verify_online(repo.path(), stack);
    assert_eq!(
        code, 0,
        "the online-mode commit verifies without a fault: {err}"
    );
    for service in SERVICES {
        for fault in FAULTS {
            let name = format!("{service:?} × {fault:?} × lookup");
            let Some(Fails(want)) = cell(service, fault, Lookup) else {
                continue;
            };
            stack.set_faults(service, faults(fault));
            let (code, out, err) = verify_online(repo.path(), stack);
            stack.clear_faults();
            assert_eq!(code, 2, "{name}: could not decide, exit 2: {out}{err}");
            assert_names(&name, &format!("{out}{err}"), want);
        }
    }
}

#[test]
fn hook_faults_refuse_the_push_and_name_rekor() {
    let local = start_stack();
    let stack = &local.stack;
    let work = TestRepo::new();
    let ids = online_commits(&work, stack, 1, "hook");
    let base = work.git(&["rev-parse", &format!("{}^", ids[0])]);
    let bare = tempfile::tempdir().expect("bare");
    let git_bare = |args: &[&str]| {
        let (code, _, err) = output(
            hermetic("git", bare.path())
                .current_dir(bare.path())
                .args(args),
        );
        assert_eq!(code, 0, "git {args:?}: {err}");
    };
    git_bare(&["init", "-q", "--bare", "-b", "main", "."]);
    std::fs::write(
        bare.path().join("gitsign-policy.toml"),
        format!(
            "default = \"reject\"\n[[rule]]\nrefs = [\"refs/heads/*\"]\nidentities = [\"{IDENTITY}\"]\nissuers = [\"{}\"]\ntransparency = \"online\"\nunsigned-before = \"{}\"\n",
            stack.oidc_issuer(),
            base.trim()
        ),
    )
    .expect("policy");
    let (code, _, err) = output(
        hermetic(gitsign_bin(), bare.path())
            .args(["hook", "install", "--force"])
            .arg(bare.path()),
    );
    assert_eq!(code, 0, "the hook installs: {err}");
    let push = |target: &str| {
        std::fs::remove_dir_all(bare.path().join("gitsign")).ok();
        let mut cmd = work.cmd("git");
        cmd.arg("push")
            .arg(bare.path())
            .arg(format!("HEAD:{target}"))
            .env("GITSIGN_TIMEOUT", "2");
        stack_env(&mut cmd, stack);
        output(&mut cmd)
    };
    let ref_exists = |name: &str| {
        output(hermetic("git", bare.path()).current_dir(bare.path()).args([
            "rev-parse",
            "-q",
            "--verify",
            name,
        ]))
        .0 == 0
    };
    for service in SERVICES {
        for fault in FAULTS {
            let name = format!("{service:?} × {fault:?} × hook");
            let Some(Fails(want)) = cell(service, fault, Hook) else {
                continue;
            };
            let target = format!("refs/heads/{service:?}-{fault:?}");
            stack.set_faults(service, faults(fault));
            let (code, _, err) = push(&target);
            stack.clear_faults();
            assert_ne!(code, 0, "{name}: the push is refused: {err}");
            assert!(!ref_exists(&target), "{name}: the ref is not created");
            assert!(
                err.contains("push rejected"),
                "{name}: the hook refused it: {err}"
            );
            assert_names(&name, &err, want);
        }
    }
    // Last, so that no faulty cell meets a commit the repository already holds.
    let (code, _, err) = push("refs/heads/control");
    assert_eq!(code, 0, "the same push is accepted without a fault: {err}");
}
