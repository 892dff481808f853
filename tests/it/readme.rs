//! The README cannot drift: its configuration table is regenerated from the key table
//! (`GITSIGN_UPDATE_DOCS=1 cargo test --test it readme::` rewrites it), and its Install and
//! "Try it locally" blocks run as written in a fresh HOME and install prefix (issue 17.1).

use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TABLE_START: &str = "<!-- generated from src/docs.rs";
const TABLE_END: &str = "<!-- end of generated table -->";
const CODES_START: &str = "<!-- generated from verify::FAILURE_CODES";
const CODES_END: &str = "<!-- end of generated codes -->";

fn readme_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")
}

fn readme() -> String {
    std::fs::read_to_string(readme_path()).expect("README.md is readable")
}

/// The first ```sh block after the heading `## {heading}`.
fn block(readme: &str, heading: &str) -> String {
    let at = readme
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("README has a '{heading}' section"));
    let rest = &readme[at..];
    let start = rest.find("```sh\n").expect("the section has a sh block") + "```sh\n".len();
    let len = rest[start..].find("\n```").expect("the block is closed");
    rest[start..start + len].to_owned()
}

/// Replace the text between the `start` marker line and `end` with `want`
/// (`GITSIGN_UPDATE_DOCS=1`), or check that it is `want`.
fn generated(start: &str, end: &str, want: &str, what: &str) {
    let text = readme();
    let at = text
        .find(start)
        .unwrap_or_else(|| panic!("README marks the {what}"));
    let body = at + text[at..].find('\n').expect("marker line ends") + 1;
    let stop = text
        .find(end)
        .unwrap_or_else(|| panic!("README marks the end of the {what}"));
    if std::env::var_os("GITSIGN_UPDATE_DOCS").is_some() {
        let updated = format!("{}{want}{}", &text[..body], &text[stop..]);
        std::fs::write(readme_path(), updated).expect("write README.md");
        return;
    }
    assert!(
        text[body..stop] == *want,
        "README's {what} is stale: run GITSIGN_UPDATE_DOCS=1 cargo test --test it readme::"
    );
}

#[test]
fn bad_verdict_codes_are_generated_from_the_code_list() {
    let want = gitsign::docs::failure_codes_markdown();
    assert!(want.contains("| `untrusted_chain` |"), "{want}");
    generated(CODES_START, CODES_END, &want, "table of bad codes");
}

#[test]
fn config_table_is_generated_from_the_key_table() {
    let text = readme();
    let start = text
        .find(TABLE_START)
        .expect("README marks the generated table");
    let body = start + text[start..].find('\n').expect("marker line ends") + 1;
    let end = text
        .find(TABLE_END)
        .expect("README marks the end of the table");
    let want = gitsign::docs::config_table_markdown();
    if std::env::var_os("GITSIGN_UPDATE_DOCS").is_some() {
        let updated = format!("{}{want}{}", &text[..body], &text[end..]);
        std::fs::write(readme_path(), updated).expect("write README.md");
        return;
    }
    assert!(
        text[body..end] == want,
        "README's configuration table is stale: run GITSIGN_UPDATE_DOCS=1 cargo test --test it readme::"
    );
    for name in [
        "GITSIGN_URL_OPENER",
        "GITSIGN_MATCH_COMMITTER",
        "GITSIGN_AUTOCLOSE",
        "GITSIGN_AUTOCLOSE_TIMEOUT",
    ] {
        assert!(want.contains(&format!("`{name}`")), "{name} is documented");
    }
}

/// The binaries `cargo install` would install, built by this test run: the workspace's
/// `target/<profile>/` holding the gitsign binary under test, with sigstore-local built there
/// if this run did not build it yet.
fn built_binaries() -> PathBuf {
    let dir = crate::util::gitsign_bin()
        .parent()
        .expect("the binary has a directory")
        .to_path_buf();
    if !dir.join("sigstore-local").is_file() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--locked",
                "-p",
                "sigstore-local",
                "--bin",
                "sigstore-local",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(
            status.success(),
            "building sigstore-local for the README test"
        );
    }
    dir
}

/// A `cargo` first on PATH that does what `cargo install --locked --path P` does with the
/// binaries this run already built (a release build in a test would take minutes); any other
/// invocation fails, so the README's commands are checked word for word.
fn cargo_stand_in(dir: &Path, built: &Path) {
    let script = format!(
        r#"#!/bin/sh
set -eu
root="${{CARGO_INSTALL_ROOT:-${{CARGO_HOME:-$HOME/.cargo}}}}"
mkdir -p "$root/bin"
case "$*" in
"install --locked --path .") cp '{b}/gitsign' '{b}/gitsign-credential-cache' "$root/bin/" ;;
"install --locked --path tests/sigstore-local") cp '{b}/sigstore-local' "$root/bin/" ;;
*) echo "README test: unexpected 'cargo $*'" >&2; exit 97 ;;
esac
"#,
        b = built.display()
    );
    let path = dir.join("cargo");
    std::fs::write(&path, script).expect("write the cargo stand-in");
    let mut perm = std::fs::metadata(&path).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&path, perm).expect("chmod");
}

#[test]
fn install_and_try_it_locally_run_as_written() {
    let text = readme();
    let install = block(&text, "Install");
    let try_it = block(&text, "Try it locally");
    let built = built_binaries();
    let tmp = tempfile::tempdir().expect("temp dir");
    let (home, prefix, shim, tmpdir) = (
        tmp.path().join("home"),
        tmp.path().join("prefix"),
        tmp.path().join("shim"),
        tmp.path().join("tmp"),
    );
    for d in [&home, &shim, &tmpdir] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    cargo_stand_in(&shim, &built);
    // After the README's blocks: restart the stack on the same state directory and check
    // that the commit signed before still verifies against the issuer it now exports.
    let restart = r#"
sigstore-local --state-dir "$try/stack" >"$try/again.out" &
until grep -qx ready "$try/again.out" 2>/dev/null; do sleep 0.1; done
. "$try/stack/env"
gitsign verify HEAD --certificate-identity dev@example.com --certificate-oidc-issuer "$GITSIGN_OIDC_ISSUER"
echo "restarted issuer: $GITSIGN_OIDC_ISSUER"
kill %1; wait
echo README-BLOCKS-DONE
"#;
    let script = format!("set -euo pipefail\n{install}\n{try_it}\n{restart}");
    let system_path = std::env::var("PATH").unwrap_or_default();
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env_clear()
        .env("HOME", &home)
        .env("PATH", format!("{}:{system_path}", shim.display()))
        .env("CARGO_INSTALL_ROOT", &prefix)
        .env("TMPDIR", &tmpdir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("LC_ALL", "C")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    let pgid = child.id().to_string();
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Whatever happened, nothing the blocks started outlives the test.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut out)
        .ok();
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut err)
        .ok();
    let status = status.unwrap_or_else(|| {
        panic!("the README blocks took over 180 s\nstdout:\n{out}\nstderr:\n{err}")
    });
    assert!(
        status.success() && out.contains("README-BLOCKS-DONE"),
        "the README's Install and Try it locally blocks run as written ({status})\nstdout:\n{out}\nstderr:\n{err}"
    );
    assert!(
        prefix.join("bin/gitsign").is_file() && prefix.join("bin/sigstore-local").is_file(),
        "binaries land in the install prefix"
    );
    assert!(
        prefix
            .join("share/man/man1/gitsign-hook-install.1")
            .is_file(),
        "nested man pages are installed beside bin/"
    );
    let completion =
        std::fs::read_to_string(home.join(".local/share/bash-completion/completions/gitsign"))
            .expect("bash completion is installed");
    assert!(
        completion.contains("verify-tag"),
        "the completion knows the subcommands"
    );
    // git verify-commit shows gitsign's stderr; gitsign verify prints its summary on stdout.
    let shown = format!("{out}{err}");
    assert!(
        shown.matches("gitsign: Good signature from [dev@example.com]").count() >= 3
            && shown.matches("Validated Certificate claims: true").count() >= 2,
        "git verify-commit and gitsign verify (before and after the restart) report a good signature\nstdout:\n{out}\nstderr:\n{err}"
    );
    // man finds the pages through PATH alone (man-db maps <dir>/bin to <dir>/share/man).
    let man = Command::new("man")
        .args(["-w", "gitsign-hook-install"])
        .env_clear()
        .env("HOME", &home)
        .env(
            "PATH",
            format!("{}:{system_path}", prefix.join("bin").display()),
        )
        .output();
    match man {
        Ok(o) if o.status.success() => assert!(
            String::from_utf8_lossy(&o.stdout).starts_with(&prefix.display().to_string()),
            "man resolves the installed page: {}",
            String::from_utf8_lossy(&o.stdout)
        ),
        Ok(o) => println!(
            "skipped: man -w could not resolve pages here: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => println!("skipped: no man on this machine ({e})"),
    }
}

#[test]
fn json_lines_fields_and_undecided_codes_are_documented() {
    let text = readme();
    let report = gitsign::verify::Report {
        outcome: gitsign::verify::Outcome::Good,
        identity: None,
        cert: None,
        anchor: None,
        signing_time: None,
    };
    let v = gitsign::cli::output::json("0", "commit", &gitsign::check::Verified::sigstore(report));
    let keys = v.as_object().expect("an object").keys();
    for key in keys {
        assert!(
            text.contains(&format!("`{key}`")),
            "README documents the JSON field '{key}'"
        );
    }
    for code in gitsign::verify::report::Undecided::CODES {
        assert!(
            text.contains(&format!("`{code}`")),
            "README documents the undecided code '{code}'"
        );
    }
}
