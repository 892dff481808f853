//! Go gitsign beside ours, both directions, against the local stack: what one signs the other
//! verifies (and a tampered copy neither accepts), through `gitsign verify`/`verify-tag`, git
//! with either binary as its x509 program, and our pre-receive hook; and the same config and
//! env given to both give the same `[GNUPG:]` lines and `%G? %GS %GF %GK`, except the
//! differences README's "Differences from Go gitsign" lists.
//!
//! The peer is the binary `scripts/go-gitsign` builds (Go gitsign v0.17.1 from the Go module
//! proxy); `scripts/test` exports its path as `GITSIGN_GO_PEER`. Without it each test prints
//! `skipped:` and returns. Go gitsign is configured only through its documented environment:
//! `GITSIGN_FULCIO_URL`, `GITSIGN_REKOR_URL`, `GITSIGN_OIDC_ISSUER`, `SIGSTORE_ID_TOKEN`,
//! `GITSIGN_REKOR_MODE`, `GITSIGN_TIMESTAMP_SERVER_URL`, `GITSIGN_TIMESTAMP_CERT_CHAIN`, and for
//! trust `SIGSTORE_ROOT_FILE` (Fulcio CAs), `SIGSTORE_REKOR_PUBLIC_KEY`,
//! `SIGSTORE_CT_LOG_PUBLIC_KEY_FILE` — PEM files written from the stack's trusted root — with
//! `TUF_ROOT` in a temporary directory, so it never reaches for the public TUF repository.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{self, gitsign_bin, output, run_with_stdin, TestRepo};

const IDENTITY: &str = "dev@example.com";

/// The Go gitsign binary, or `None` (after a visible `skipped:` line) when not configured.
pub(crate) fn peer(test: &str) -> Option<PathBuf> {
    match std::env::var_os("GITSIGN_GO_PEER") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            assert!(
                p.is_file(),
                "GITSIGN_GO_PEER={} is not a file (run scripts/go-gitsign)",
                p.display()
            );
            Some(p)
        }
        _ => {
            // Straight to the stream, past libtest's capture, so the skip shows.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: {test}: GITSIGN_GO_PEER is not set (scripts/test sets it when go is installed)"
            );
            None
        }
    }
}

/// PEM of base64 DER (the trusted root's `rawBytes`), 64 columns as `openssl` writes it.
pub(crate) fn pem(label: &str, b64: &str) -> String {
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The stack, Go gitsign, and the trust files both binaries are given.
struct World {
    local: util::Local,
    go: Option<PathBuf>,
    files: tempfile::TempDir,
    token: String,
}

/// How a signature is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Go gitsign's default: no `GITSIGN_REKOR_MODE` at all (online).
    Default,
    Offline,
    Online,
}

impl World {
    fn new(test: &str) -> Option<World> {
        Some(World::start(Some(peer(test)?)))
    }

    fn start(go: Option<PathBuf>) -> World {
        let local = util::start_stack();
        let files = tempfile::tempdir().expect("temp dir");
        let root = local.stack.trusted_root_json();
        let raw = |v: &serde_json::Value| v["rawBytes"].as_str().expect("rawBytes").to_owned();
        let chain = |v: &serde_json::Value| -> String {
            v["certChain"]["certificates"]
                .as_array()
                .expect("chain")
                .iter()
                .map(|c| pem("CERTIFICATE", &raw(c)))
                .collect()
        };
        let write = |name: &str, text: String| {
            std::fs::write(files.path().join(name), text).expect("write trust file")
        };
        write("fulcio.pem", chain(&root["certificateAuthorities"][0]));
        write("tsa.pem", chain(&root["timestampAuthorities"][0]));
        write(
            "rekor.pub",
            pem("PUBLIC KEY", &raw(&root["tlogs"][0]["publicKey"])),
        );
        write(
            "ctlog.pub",
            pem("PUBLIC KEY", &raw(&root["ctlogs"][0]["publicKey"])),
        );
        std::fs::create_dir(files.path().join("tuf")).expect("tuf dir");
        let token = local.stack.mint_token(IDENTITY);
        World {
            local,
            go,
            files,
            token,
        }
    }

    fn go(&self) -> &Path {
        self.go.as_deref().expect("the Go peer")
    }

    fn issuer(&self) -> String {
        self.local.stack.oidc_issuer()
    }

    /// The same config for both binaries: Go's documented variables and ours
    /// (`GITSIGN_TRUSTED_ROOT`, which Go ignores; we read `SIGSTORE_ROOT_FILE` too).
    fn env(&self, cmd: &mut Command, mode: Mode, tsa: bool) {
        let s = &self.local.stack;
        let f = |name: &str| self.files.path().join(name);
        cmd.env("GITSIGN_FULCIO_URL", s.fulcio_url())
            .env("GITSIGN_REKOR_URL", s.rekor_url())
            .env("GITSIGN_OIDC_ISSUER", s.oidc_issuer())
            .env("GITSIGN_TRUSTED_ROOT", s.trusted_root_path())
            .env("SIGSTORE_ROOT_FILE", f("fulcio.pem"))
            .env("SIGSTORE_REKOR_PUBLIC_KEY", f("rekor.pub"))
            .env("SIGSTORE_CT_LOG_PUBLIC_KEY_FILE", f("ctlog.pub"))
            .env("GITSIGN_TIMESTAMP_CERT_CHAIN", f("tsa.pem"))
            .env("TUF_ROOT", f("tuf"))
            .env("SIGSTORE_ID_TOKEN", &self.token);
        match mode {
            Mode::Default => {}
            Mode::Offline => {
                cmd.env("GITSIGN_REKOR_MODE", "offline");
            }
            Mode::Online => {
                cmd.env("GITSIGN_REKOR_MODE", "online");
            }
        }
        if tsa {
            cmd.env("GITSIGN_TIMESTAMP_SERVER_URL", s.timestamp_url());
        }
    }

    /// git with `program` as its x509 program and the shared env.
    fn git(&self, repo: &TestRepo, program: &Path, mode: Mode, tsa: bool) -> Command {
        let mut cmd = repo.cmd("git");
        cmd.args(["-c", "gpg.format=x509", "-c"])
            .arg(format!("gpg.x509.program={}", program.display()));
        self.env(&mut cmd, mode, tsa);
        cmd
    }

    /// `program verify` / `verify-tag` with the identity flags.
    fn verify(
        &self,
        repo: &TestRepo,
        program: &Path,
        sub: &str,
        rev: &str,
    ) -> (i32, String, String) {
        let mut cmd = repo.cmd(program);
        cmd.args([
            sub,
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
            &self.issuer(),
            rev,
        ]);
        self.env(&mut cmd, Mode::Default, false);
        output(&mut cmd)
    }

    /// A commit signed by `program` through git; returns its id.
    fn commit(&self, repo: &TestRepo, program: &Path, mode: Mode, tsa: bool, msg: &str) -> String {
        let (code, _, err) = output(self.git(repo, program, mode, tsa).args([
            "commit",
            "-q",
            "--allow-empty",
            "-S",
            "-m",
            msg,
        ]));
        assert_eq!(code, 0, "{} signs '{msg}': {err}", name(program));
        repo.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// An annotated tag signed by `program`; returns its name.
    fn tag(&self, repo: &TestRepo, program: &Path, mode: Mode, name_: &str) -> String {
        let (code, _, err) = output(
            self.git(repo, program, mode, false)
                .args(["tag", "-s", "-m", "release", name_]),
        );
        assert_eq!(code, 0, "{} signs tag {name_}: {err}", name(program));
        name_.to_owned()
    }
}

fn name(program: &Path) -> &'static str {
    if program == gitsign_bin() {
        "ours"
    } else {
        "Go gitsign"
    }
}

/// A copy of object `id` with one byte of its message changed and the signature kept; returns
/// the copy's id.
pub(crate) fn tampered(repo: &TestRepo, kind: &str, id: &str) -> String {
    let raw = repo.git(&["cat-file", kind, id]);
    let at = raw.rfind("\n\n").expect("message") + 2;
    let mut bytes = raw.into_bytes();
    assert!(at < bytes.len(), "the object has a message");
    bytes[at] ^= 0x20;
    let copy = repo.write_object(kind, &bytes);
    assert_ne!(copy, id);
    copy
}

/// git's view of a commit's signature: `%G? %GS %GF %GK` with `program`, one per line.
fn git_format(w: &World, repo: &TestRepo, program: &Path, rev: &str) -> String {
    let (code, out, err) = output(w.git(repo, program, Mode::Default, false).args([
        "log",
        "-1",
        "--format=%G?%n%GS%n%GF%n%GK",
        rev,
    ]));
    assert_eq!(code, 0, "git log: {err}");
    out
}

/// The SHA-1 fingerprint of the signer's certificate (the one naming [`IDENTITY`]) in `id`'s
/// signature, by openssl.
fn fingerprint(repo: &TestRepo, id: &str) -> String {
    let raw = repo.git(&["cat-file", "commit", id]);
    let split =
        gitsign::git::object::split_commit(raw.as_bytes(), gitsign::git::object::HashKind::Sha1)
            .expect("signed commit");
    let der = gitsign::pem::decode_one(&split.signature, "SIGNED MESSAGE").expect("armor");
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("sig.der"), der).expect("write der");
    let out = Command::new("openssl")
        .args(["pkcs7", "-inform", "DER", "-in", "sig.der", "-print_certs"])
        .current_dir(dir.path())
        .output()
        .expect("openssl");
    let certs = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut found = Vec::new();
    for (i, block) in certs
        .split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .enumerate()
    {
        let file = dir.path().join(format!("cert{i}.pem"));
        std::fs::write(&file, format!("-----BEGIN CERTIFICATE-----{block}")).expect("write");
        let out = Command::new("openssl")
            .args([
                "x509",
                "-noout",
                "-fingerprint",
                "-sha1",
                "-ext",
                "subjectAltName",
                "-in",
            ])
            .arg(&file)
            .output()
            .expect("openssl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains(IDENTITY) {
            let first = text.lines().next().unwrap_or_default();
            found.push(
                first
                    .rsplit('=')
                    .next()
                    .unwrap_or_default()
                    .replace(':', "")
                    .to_lowercase(),
            );
        }
    }
    assert_eq!(found.len(), 1, "one signer certificate: {certs}");
    let fpr = found.remove(0);
    assert_eq!(fpr.len(), 40, "openssl printed a fingerprint");
    fpr
}

/// `program --status-fd=1 --verify SIG -` on `id`'s signature and payload, as git runs it:
/// (exit code, status lines).
fn gpg_verify(w: &World, repo: &TestRepo, program: &Path, id: &str) -> (i32, String) {
    let raw = repo.git(&["cat-file", "commit", id]);
    let split =
        gitsign::git::object::split_commit(raw.as_bytes(), gitsign::git::object::HashKind::Sha1)
            .expect("signed commit");
    let sig = repo.path().join(".git/gpg-sig");
    std::fs::write(&sig, &split.signature).expect("write sig");
    let mut cmd = repo.cmd(program);
    cmd.args(["--status-fd=1", "--verify"]).arg(&sig).arg("-");
    w.env(&mut cmd, Mode::Default, false);
    let (code, out, _) = run_with_stdin(cmd, &split.payload);
    (code, out)
}

/// Our pre-receive hook on a push of `repo`'s `main` (and tags) into a fresh bare repository:
/// (push exit code, stderr).
fn push_through_hook(w: &World, repo: &TestRepo, refspec: &str) -> (i32, String) {
    let bare = tempfile::tempdir().expect("bare");
    let (code, _, err) = output(
        repo.cmd("git")
            .args(["init", "-q", "--bare", "-b", "main"])
            .arg(bare.path()),
    );
    assert_eq!(code, 0, "{err}");
    std::fs::write(
        bare.path().join("gitsign-policy.toml"),
        format!(
            "default = \"reject\"\n[[rule]]\nrefs = [\"refs/heads/*\", \"refs/tags/*\"]\nidentities = [\"{IDENTITY}\"]\nissuers = [\"{}\"]\ntransparency = \"any\"\n",
            w.issuer()
        ),
    )
    .expect("policy");
    let (code, _, err) = output(
        repo.cmd(gitsign_bin())
            .args(["hook", "install", "--force"])
            .arg(bare.path()),
    );
    assert_eq!(code, 0, "hook install: {err}");
    let mut push = repo.cmd("git");
    push.arg("push").arg(bare.path()).arg(refspec);
    w.env(&mut push, Mode::Default, false);
    let (code, _, err) = output(&mut push);
    (code, err)
}

#[test]
fn go_verifies_what_we_sign_and_refuses_tampered_copies() {
    let Some(w) = World::new("go_verifies_what_we_sign") else {
        return;
    };
    let ours = gitsign_bin();
    let repo = TestRepo::new();
    // Go gitsign's verifier needs a Rekor entry; with `GITSIGN_TIMESTAMP_CERT_CHAIN` it also
    // checks the RFC 3161 token of online-mode signatures (offline + TSA: see below).
    for (mode, tsa) in [
        (Mode::Offline, false),
        (Mode::Online, false),
        (Mode::Online, true),
    ] {
        let what = format!("ours, {mode:?}{}", if tsa { " + TSA" } else { "" });
        let id = w.commit(&repo, &ours, mode, tsa, &what);
        let (code, out, err) = w.verify(&repo, w.go(), "verify", &id);
        assert_eq!(code, 0, "{what}: Go's gitsign verify accepts: {out}{err}");
        assert!(
            out.contains("Validated Certificate claims: true"),
            "{what}: {out}"
        );
        let (code, _, err) = output(
            w.git(&repo, w.go(), Mode::Default, false)
                .args(["verify-commit", &id]),
        );
        assert_eq!(
            code, 0,
            "{what}: git verify-commit through Go accepts: {err}"
        );
        assert_eq!(
            git_format(&w, &repo, w.go(), &id).lines().next(),
            Some("G"),
            "{what}: git shows a good signature through Go"
        );
        let mut wrong = repo.cmd(w.go());
        wrong.args([
            "verify",
            "--certificate-identity",
            "other@example.com",
            "--certificate-oidc-issuer",
            &w.issuer(),
            &id,
        ]);
        w.env(&mut wrong, Mode::Default, false);
        assert_ne!(
            output(&mut wrong).0,
            0,
            "{what}: Go refuses another identity"
        );

        let bad = tampered(&repo, "commit", &id);
        let (code, out, err) = w.verify(&repo, w.go(), "verify", &bad);
        assert_ne!(code, 0, "{what}: Go refuses the tampered copy: {out}{err}");
        let (code, _, err) = w.verify(&repo, &ours, "verify", &bad);
        assert_ne!(code, 0, "{what}: we refuse the tampered copy: {err}");
        for program in [w.go(), &ours] {
            let (code, _, err) = output(
                w.git(&repo, program, Mode::Default, false)
                    .args(["verify-commit", &bad]),
            );
            assert_ne!(
                code,
                0,
                "{what}: git through {} refuses: {err}",
                name(program)
            );
        }
    }

    let tag = w.tag(&repo, &ours, Mode::Offline, "v1.0.0");
    let (code, out, err) = w.verify(&repo, w.go(), "verify-tag", &tag);
    assert_eq!(code, 0, "Go's verify-tag accepts our tag: {out}{err}");
    let (code, _, err) = output(
        w.git(&repo, w.go(), Mode::Default, false)
            .args(["verify-tag", &tag]),
    );
    assert_eq!(code, 0, "git verify-tag through Go accepts our tag: {err}");
    let tag_id = repo.git(&["rev-parse", &tag]).trim().to_owned();
    let bad = tampered(&repo, "tag", &tag_id);
    repo.git(&["update-ref", "refs/tags/tampered", &bad]);
    for program in [w.go(), &ours] {
        let (code, _, err) = w.verify(&repo, program, "verify-tag", "tampered");
        assert_ne!(code, 0, "{} refuses the tampered tag: {err}", name(program));
        let (code, _, err) = output(
            w.git(&repo, program, Mode::Default, false)
                .args(["verify-tag", "tampered"]),
        );
        assert_ne!(
            code,
            0,
            "git through {} refuses the tampered tag: {err}",
            name(program)
        );
    }

    // Offline mode + RFC 3161 timestamp: Go gitsign v0.17.1's sigstore-go path parses the
    // embedded TimeStampToken as a whole TimeStampResp and refuses every such signature, its
    // own included (README, "Differences from Go gitsign"). Same answer for ours and Go's.
    let go_own = w.commit(&repo, w.go(), Mode::Offline, true, "Go, offline + TSA");
    let our_own = w.commit(&repo, &ours, Mode::Offline, true, "ours, offline + TSA");
    let (go_code, go_out, go_err) = w.verify(&repo, w.go(), "verify", &go_own);
    let (our_code, our_out, our_err) = w.verify(&repo, w.go(), "verify", &our_own);
    assert_eq!(
        (go_code == 0, our_code == 0),
        (false, false),
        "Go gives both the same answer: {go_out}{go_err} / {our_out}{our_err}"
    );
    assert!(
        go_err.contains("pkiStatusInfo") && our_err.contains("pkiStatusInfo"),
        "for the same reason: {go_err} / {our_err}"
    );
    let (code, _, err) = w.verify(&repo, &ours, "verify", &go_own);
    assert_eq!(code, 0, "we accept Go's offline + TSA commit: {err}");
}

#[test]
fn we_verify_what_go_signs_and_refuse_tampered_copies() {
    let Some(w) = World::new("we_verify_what_go_signs") else {
        return;
    };
    let ours = gitsign_bin();
    let repo = TestRepo::new();
    let mut good = Vec::new();
    for (mode, tsa) in [
        (Mode::Default, false),
        (Mode::Offline, false),
        (Mode::Online, false),
        (Mode::Online, true),
        (Mode::Offline, true),
    ] {
        let what = format!("Go, {mode:?}{}", if tsa { " + TSA" } else { "" });
        let id = w.commit(&repo, w.go(), mode, tsa, &what);
        let (code, out, err) = w.verify(&repo, &ours, "verify", &id);
        assert_eq!(code, 0, "{what}: our gitsign verify accepts: {out}{err}");
        let (code, _, err) = output(
            w.git(&repo, &ours, Mode::Default, false)
                .args(["verify-commit", &id]),
        );
        assert_eq!(
            code, 0,
            "{what}: git verify-commit through us accepts: {err}"
        );
        assert!(
            err.contains(IDENTITY),
            "{what}: git shows the signer: {err}"
        );
        let bad = tampered(&repo, "commit", &id);
        let (code, _, err) = w.verify(&repo, &ours, "verify", &bad);
        assert_ne!(code, 0, "{what}: we refuse the tampered copy: {err}");
        let (code, _, err) = output(
            w.git(&repo, &ours, Mode::Default, false)
                .args(["verify-commit", &bad]),
        );
        assert_ne!(
            code, 0,
            "{what}: git through us refuses the tampered copy: {err}"
        );
        good.push((what, id, bad));
    }
    let tag = w.tag(&repo, w.go(), Mode::Offline, "v2.0.0");
    let (code, out, err) = w.verify(&repo, &ours, "verify-tag", &tag);
    assert_eq!(code, 0, "our verify-tag accepts Go's tag: {out}{err}");
    let (code, _, err) = output(
        w.git(&repo, &ours, Mode::Default, false)
            .args(["verify-tag", &tag]),
    );
    assert_eq!(code, 0, "git verify-tag through us accepts Go's tag: {err}");
    let tag_id = repo.git(&["rev-parse", &tag]).trim().to_owned();
    let bad_tag = tampered(&repo, "tag", &tag_id);
    repo.git(&["update-ref", "refs/tags/tampered", &bad_tag]);
    let (code, _, err) = w.verify(&repo, &ours, "verify-tag", "tampered");
    assert_ne!(code, 0, "we refuse Go's tampered tag: {err}");
    let (code, _, err) = output(
        w.git(&repo, &ours, Mode::Default, false)
            .args(["verify-tag", "tampered"]),
    );
    assert_ne!(code, 0, "git through us refuses Go's tampered tag: {err}");

    // The hook accepts the whole Go-signed history and the tag...
    let (code, err) = push_through_hook(&w, &repo, "refs/heads/main:refs/heads/main");
    assert_eq!(code, 0, "the hook accepts Go's commits: {err}");
    let (code, err) = push_through_hook(&w, &repo, &format!("refs/tags/{tag}:refs/tags/{tag}"));
    assert_eq!(code, 0, "the hook accepts Go's tag: {err}");
    // ...and refuses each tampered copy.
    for (what, _, bad) in &good {
        repo.git(&["update-ref", "refs/heads/bad", bad]);
        let (code, err) = push_through_hook(&w, &repo, "refs/heads/bad:refs/heads/main");
        assert_ne!(code, 0, "{what}: the hook refuses the tampered copy: {err}");
        assert!(err.contains("pre-receive hook declined"), "{what}: {err}");
    }
    let (code, err) = push_through_hook(&w, &repo, "refs/tags/tampered:refs/tags/tampered");
    assert_ne!(code, 0, "the hook refuses the tampered tag: {err}");
}

#[test]
fn gnupg_status_lines_and_git_placeholders_match_go_but_for_the_listed_differences() {
    let Some(w) = World::new("gnupg_status_lines_match_go") else {
        return;
    };
    let ours = gitsign_bin();
    let repo = TestRepo::new();
    for signer in [&ours, w.go()] {
        let id = w.commit(&repo, signer, Mode::Offline, false, name(signer));
        let fpr = fingerprint(&repo, &id);
        // Good signature. Difference: GOODSIG's user id. Go prints the certificate's subject
        // DN, empty in every Fulcio certificate; we print the identity (SAN), which git shows
        // as "Good signature from <identity>" and as %GS.
        let go = gpg_verify(&w, &repo, w.go(), &id);
        let us = gpg_verify(&w, &repo, &ours, &id);
        assert_eq!(
            go,
            (
                0,
                format!("[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG {fpr} \n[GNUPG:] TRUST_FULLY 0 shell\n")
            ),
            "Go on {}'s commit",
            name(signer)
        );
        assert_eq!(
            us,
            (
                0,
                format!(
                    "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG {fpr} {IDENTITY}\n[GNUPG:] TRUST_FULLY 0 shell\n"
                )
            ),
            "ours on {}'s commit",
            name(signer)
        );
        assert_eq!(
            git_format(&w, &repo, w.go(), &id),
            format!("G\n\n\n{fpr}\n"),
            "git through Go"
        );
        assert_eq!(
            git_format(&w, &repo, &ours, &id),
            format!("G\n{IDENTITY}\n\n{fpr}\n"),
            "git through us: the same but %GS"
        );
        // Tampered copy. Difference: Go stops after NEWSIG (its BADSIG/ERRSIG are unreachable
        // in v0.17.1); we say ERRSIG (no certificate could be trusted for this content), so
        // git shows "E" instead of "N"; both refuse.
        let bad = tampered(&repo, "commit", &id);
        let (go_code, go_lines) = gpg_verify(&w, &repo, w.go(), &bad);
        let (us_code, us_lines) = gpg_verify(&w, &repo, &ours, &bad);
        assert_eq!((go_code, go_lines.as_str()), (1, "[GNUPG:] NEWSIG\n"));
        assert_eq!(
            (us_code, us_lines.as_str()),
            (
                1,
                "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG 0000000000000000 19 8 00 0 4\n"
            )
        );
        assert_eq!(git_format(&w, &repo, w.go(), &bad), "N\n\n\n\n");
        assert_eq!(
            git_format(&w, &repo, &ours, &bad),
            "E\n\n\n0000000000000000\n",
            "ERRSIG's key id is %GK"
        );
    }
}

/// Run `program` in gpg mode with `args` on `input`; (code, stdout bytes, stderr).
fn gpg(
    w: &World,
    dir: &Path,
    program: &Path,
    args: &[&str],
    input: &[u8],
) -> (i32, Vec<u8>, String) {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut cmd = util::hermetic(program, dir);
    cmd.current_dir(dir).args(args);
    w.env(&mut cmd, Mode::Offline, false);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn gpg_mode_armor_attached_and_verify_arguments_agree_with_go() {
    // Our half runs without the peer too.
    let w = World::start(peer("gpg_mode_agrees_with_go (Go's half)"));
    let ours = gitsign_bin();
    let signers: Vec<PathBuf> = w.go.iter().cloned().chain([ours.clone()]).collect();
    let dir = tempfile::tempdir().expect("tmp");
    // Go signs only payloads shaped like a git object.
    let payload = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.com> 1700000000 +0000\ncommitter A <a@example.com> 1700000000 +0000\n\nmessage\n";
    let mut hashes = Vec::new();
    for signer in &signers {
        let who = name(signer);
        // -a selects PEM; without it both write DER.
        let (code, pem, err) = gpg(
            &w,
            dir.path(),
            signer,
            &["--status-fd=2", "-bsau", "K"],
            payload,
        );
        assert_eq!(code, 0, "{who} -bsau: {err}");
        assert!(
            pem.starts_with(b"-----BEGIN SIGNED MESSAGE-----\n"),
            "{who}: PEM with -a"
        );
        // pk algo 19 (ECDSA) and the hash of the issuer's signature on the leaf, as Go maps it.
        let created = |kind: &str, err: &str| -> String {
            let line = err
                .lines()
                .find(|l| l.starts_with("[GNUPG:] SIG_CREATED "))
                .unwrap_or_else(|| panic!("{who}: no SIG_CREATED: {err}"))
                .to_owned();
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), 8, "{who}: {line}");
            assert_eq!(
                (fields[2], fields[3], fields[5]),
                (kind, "19", "00"),
                "{who}: {line}"
            );
            fields[4].to_owned()
        };
        hashes.push(created("D", &err));
        let (code, der, err) = gpg(
            &w,
            dir.path(),
            signer,
            &["--status-fd=2", "-bsu", "K"],
            payload,
        );
        assert_eq!(code, 0, "{who} -bsu: {err}");
        assert_eq!(der.first(), Some(&0x30), "{who}: DER without -a");
        // -s without -b: an attached signature, SIG_CREATED S.
        let (code, attached, err) = gpg(&w, dir.path(), signer, &["--status-fd=2", "-sa"], payload);
        assert_eq!(code, 0, "{who} -sa: {err}");
        hashes.push(created("S", &err));
        let (code, attached_der, err) = gpg(&w, dir.path(), signer, &["-s"], payload);
        assert_eq!(code, 0, "{who} -s: {err}");

        // OpenSSL agrees: the detached DER over the payload, the attached one on its own.
        std::fs::write(dir.path().join("payload"), payload).expect("write");
        std::fs::write(dir.path().join("det.der"), &der).expect("write");
        std::fs::write(dir.path().join("att.der"), &attached_der).expect("write");
        std::fs::write(dir.path().join("att.pem"), &attached).expect("write");
        std::fs::write(dir.path().join("det.pem"), &pem).expect("write");
        let openssl = |args: &[&str]| {
            Command::new("openssl")
                .args(["cms", "-verify", "-noverify", "-binary", "-inform", "DER"])
                .args(args)
                .current_dir(dir.path())
                .output()
                .expect("openssl")
        };
        let out = openssl(&["-in", "det.der", "-content", "payload", "-out", "/dev/null"]);
        assert!(
            out.status.success(),
            "{who}: openssl verifies the detached DER"
        );
        let out = openssl(&["-in", "att.der"]);
        assert!(
            out.status.success(),
            "{who}: openssl verifies the attached DER"
        );
        assert_eq!(
            out.stdout, payload,
            "{who}: the attached signature holds the payload"
        );

        // We verify all of them: --verify SIG - (DER or PEM), --verify SIG, --verify < SIG.
        let good = |out: &(i32, Vec<u8>, String), how: &str| {
            assert_eq!(out.0, 0, "{who}'s {how}: {}", out.2);
            let lines = String::from_utf8_lossy(&out.1);
            assert!(
                lines.contains("[GNUPG:] GOODSIG "),
                "{who}'s {how}: {lines}"
            );
        };
        good(
            &gpg(
                &w,
                dir.path(),
                &ours,
                &["--status-fd=1", "--verify", "det.der", "-"],
                payload,
            ),
            "detached DER",
        );
        good(
            &gpg(
                &w,
                dir.path(),
                &ours,
                &["--status-fd=1", "-v", "det.pem", "payload"],
                b"",
            ),
            "detached PEM, -v",
        );
        good(
            &gpg(
                &w,
                dir.path(),
                &ours,
                &["--status-fd=1", "--verify", "att.pem"],
                b"",
            ),
            "attached PEM file",
        );
        good(
            &gpg(
                &w,
                dir.path(),
                &ours,
                &["--status-fd=1", "--verify", "att.der"],
                b"",
            ),
            "attached DER file",
        );
        good(
            &gpg(
                &w,
                dir.path(),
                &ours,
                &["--status-fd=1", "--verify"],
                &attached,
            ),
            "attached PEM on stdin",
        );
        // And a tampered attached signature is refused.
        let mut bad = attached_der.clone();
        let at = bad
            .windows(b"message".len())
            .position(|w| w == b"message")
            .expect("payload inside");
        bad[at] ^= 0x20;
        let (code, lines, _) = gpg(&w, dir.path(), &ours, &["--status-fd=1", "--verify"], &bad);
        assert_eq!(code, 1, "{who}'s tampered attached signature");
        assert!(!String::from_utf8_lossy(&lines).contains("GOODSIG"));
        // Go verifies the detached DER the same way (its attached verification is broken in
        // v0.17.1: README, "Differences from Go gitsign").
        if let Some(go) = &w.go {
            let (code, lines, err) = gpg(
                &w,
                dir.path(),
                go,
                &["--status-fd=1", "--verify", "det.der", "-"],
                payload,
            );
            assert_eq!(code, 0, "Go verifies {who}'s detached DER: {err}");
            assert!(String::from_utf8_lossy(&lines).contains("[GNUPG:] GOODSIG "));
        }
    }
    hashes.dedup();
    assert_eq!(
        hashes.len(),
        1,
        "the same hash algorithm id from both: {hashes:?}"
    );
    // Detached signatures given as attached are refused with a hint, exit 2.
    let (code, _, err) = gpg(
        &w,
        dir.path(),
        &ours,
        &["--status-fd=1", "--verify", "det.pem"],
        b"",
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("Hint: give the signed data too"), "{err}");
}

/// `GITSIGN_TIMESTAMP_CERT_CHAIN` alone vouches for the RFC 3161 token, both ways: our
/// trusted root here lists no TSA (Go gitsign never reads a trusted root; it trusts the system
/// roots plus that chain), and the commits are online mode, so offline only the token anchors
/// their time.
#[test]
fn timestamps_verify_through_the_configured_chain_alone_both_ways() {
    let Some(w) = World::new("timestamps_verify_through_the_configured_chain_alone") else {
        return;
    };
    let ours = gitsign_bin();
    let repo = TestRepo::new();
    let mut root = w.local.stack.trusted_root_json();
    root["timestampAuthorities"] = serde_json::json!([]);
    let no_tsa = w.files.path().join("no-tsa.json");
    std::fs::write(&no_tsa, root.to_string()).expect("write root");
    let git = |program: &Path| {
        let mut cmd = w.git(&repo, program, Mode::Online, true);
        cmd.env("GITSIGN_TRUSTED_ROOT", &no_tsa);
        cmd
    };
    for program in [w.go(), &ours] {
        let (code, _, err) =
            output(git(program).args(["commit", "-q", "--allow-empty", "-S", "-m", name(program)]));
        assert_eq!(code, 0, "{} signs with the chain: {err}", name(program));
        let id = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
        let verify = |chain: bool| {
            let mut cmd = repo.cmd(&ours);
            cmd.args([
                "verify",
                "--offline",
                "--certificate-identity",
                IDENTITY,
                "--certificate-oidc-issuer",
                &w.issuer(),
                &id,
            ]);
            w.env(&mut cmd, Mode::Default, false);
            cmd.env("GITSIGN_TRUSTED_ROOT", &no_tsa);
            if !chain {
                cmd.env_remove("GITSIGN_TIMESTAMP_CERT_CHAIN");
            }
            output(&mut cmd)
        };
        let (code, out, err) = verify(true);
        assert_eq!(
            code,
            0,
            "{}'s token verifies through the chain: {out}{err}",
            name(program)
        );
        let (code, out, err) = verify(false);
        assert_ne!(
            code,
            0,
            "{}'s token without the chain is untrusted: {out}{err}",
            name(program)
        );
        let (code, out, err) = w.verify(&repo, w.go(), "verify", &id);
        assert_eq!(
            code,
            0,
            "Go verifies {}'s commit with the same chain: {out}{err}",
            name(program)
        );
    }
}

/// The `spiffe` provider, both binaries against the same loopback Workload API
/// (`providers::workload_api`, a hand-written HTTP/2 gRPC server that grpc-go, Go gitsign's
/// client, must accept too): each finds the socket through `SPIFFE_ENDPOINT_SOCKET` alone,
/// signs with the JWT-SVID it serves (a SPIFFE ID subject, as go-spiffe requires), and the
/// other verifies the commit for that identity.
#[test]
fn spiffe_svids_sign_for_both_and_each_verifies_the_other() {
    let Some(w) = World::new("spiffe_svids_sign_for_both") else {
        return;
    };
    let ours = gitsign_bin();
    let repo = TestRepo::new();
    let mut request = sigstore_local::oidc::TokenRequest::email(IDENTITY);
    request.subject = "spiffe://example.org/workload".into();
    let svid = w.local.stack.mint_token_with(&request);
    let dir = tempfile::tempdir().expect("dir");
    let sock = dir.path().join("api.sock");
    let api = crate::providers::workload_api(&sock, Some(svid.clone()));
    for (n, program) in [w.go(), ours.as_path()].into_iter().enumerate() {
        let mut git = w.git(&repo, program, Mode::Offline, false);
        git.env_remove("SIGSTORE_ID_TOKEN")
            .env("SPIFFE_ENDPOINT_SOCKET", &sock)
            .args(["commit", "-q", "--allow-empty", "-S", "-m", name(program)]);
        let (code, out, err) = output(&mut git);
        assert_eq!(code, 0, "{} signs with the SVID: {out}{err}", name(program));
        assert!(!err.contains(&svid), "the token is not printed: {err}");
        assert_eq!(
            api.seen().len(),
            n + 1,
            "{} asked the Workload API",
            name(program)
        );
        let id = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
        for verifier in [w.go(), ours.as_path()] {
            let (code, out, err) = w.verify(&repo, verifier, "verify", &id);
            assert_eq!(
                code,
                0,
                "{} verifies {}'s SPIFFE-signed commit: {out}{err}",
                name(verifier),
                name(program)
            );
        }
    }
}
