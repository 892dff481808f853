//! Shared helpers: paths to vectors, the manifest, hermetic git and gitsign commands.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(data(rel)).unwrap_or_else(|e| panic!("reading test vector {rel}: {e}"))
}

pub fn json(rel: &str) -> serde_json::Value {
    serde_json::from_slice(&read(rel)).unwrap_or_else(|e| panic!("parsing {rel}: {e}"))
}

/// The gitsign binary under test.
pub fn gitsign_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gitsign"))
}

/// A command with a scrubbed environment: no user or system git config, fixed identity.
pub fn hermetic(program: impl AsRef<std::ffi::OsStr>, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.com")
        .env("GIT_AUTHOR_DATE", "1700000000 +0000")
        .env("GIT_COMMITTER_DATE", "1700000000 +0000")
        .env("LC_ALL", "C");
    cmd
}

/// Run and return (status code, stdout, stderr).
pub fn output(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A throwaway repository holding the given raw objects, written with `git hash-object -w`.
pub struct TestRepo {
    pub dir: tempfile::TempDir,
}

impl TestRepo {
    pub fn new() -> TestRepo {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = TestRepo { dir };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = hermetic(program, self.path());
        c.current_dir(self.path());
        c
    }

    pub fn git(&self, args: &[&str]) -> String {
        let (code, out, err) = output(self.cmd("git").args(args));
        assert_eq!(code, 0, "git {args:?} failed: {err}");
        out
    }

    /// Store a raw object and return its id.
    pub fn write_object(&self, kind: &str, raw: &[u8]) -> String {
        let file = self.path().join(".git/raw-object");
        std::fs::write(&file, raw).expect("write raw object");
        let id = self
            .git(&[
                "hash-object",
                "-t",
                kind,
                "-w",
                "--literally",
                file.to_str().expect("utf8 path"),
            ])
            .trim()
            .to_owned();
        std::fs::remove_file(&file).ok();
        id
    }

    pub fn gitsign(&self) -> Command {
        self.cmd(gitsign_bin())
    }
}

/// The local Sigstore stack on a free loopback port, with its state directory; stopped and
/// removed when dropped.
pub struct Local {
    pub stack: sigstore_local::Stack,
    _state: tempfile::TempDir,
}

pub fn start_stack() -> Local {
    start_stack_with(None)
}

/// The stack with its Fulcio CA in `shape` (`None`: `SIGSTORE_LOCAL_KEY_SHAPE`, else public-good).
pub fn start_stack_with(shape: Option<sigstore_local::KeyShape>) -> Local {
    let state = tempfile::tempdir().expect("state dir");
    let mut options = sigstore_local::Options::new(state.path().join("stack"));
    options.key_shape = shape;
    let stack = sigstore_local::Stack::start(options).expect("the local Sigstore stack starts");
    Local {
        stack,
        _state: state,
    }
}

/// Point a command at the stack through the variables a user would set.
pub fn stack_env(cmd: &mut Command, stack: &sigstore_local::Stack) {
    cmd.env("GITSIGN_FULCIO_URL", stack.fulcio_url())
        .env("GITSIGN_REKOR_URL", stack.rekor_url())
        .env("GITSIGN_OIDC_ISSUER", stack.oidc_issuer())
        .env("GITSIGN_TRUSTED_ROOT", stack.trusted_root_path());
}

/// Run with `input` on stdin and return (status code, stdout, stderr).
pub fn run_with_stdin(mut cmd: Command, input: &[u8]) -> (i32, String, String) {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input)
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every commit object of a repository (`git cat-file --batch-all-objects`): id and raw bytes.
pub fn all_commits(git_dir: &Path) -> Vec<(String, Vec<u8>)> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(["cat-file", "--batch-all-objects", "--unordered", "--batch"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git cat-file runs");
    assert!(out.status.success(), "git cat-file --batch-all-objects");
    let mut rest = &out.stdout[..];
    let mut commits = Vec::new();
    while !rest.is_empty() {
        let eol = rest.iter().position(|b| *b == b'\n').expect("header line");
        let header = String::from_utf8_lossy(&rest[..eol]).into_owned();
        let mut fields = header.split(' ');
        let (sha, kind, size) = (
            fields.next().expect("id").to_owned(),
            fields.next().expect("type").to_owned(),
            fields.next().expect("size").parse::<usize>().expect("size"),
        );
        let body = &rest[eol + 1..eol + 1 + size];
        if kind == "commit" {
            commits.push((sha, body.to_vec()));
        }
        rest = &rest[eol + 2 + size..];
    }
    commits
}

/// The committer (or tagger) time of a raw object, Unix seconds.
pub fn signer_time(raw: &[u8]) -> i64 {
    let value = gitsign::git::object::header_value(raw, "committer")
        .or_else(|| gitsign::git::object::header_value(raw, "tagger"))
        .expect("committer or tagger line");
    let text = String::from_utf8_lossy(value);
    let mut fields = text.rsplit(' ');
    let _tz = fields.next();
    fields
        .next()
        .and_then(|t| t.parse().ok())
        .expect("a timestamp before the time zone")
}
