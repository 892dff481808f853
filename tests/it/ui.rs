//! Colour on stderr (issue 17.5): the house prefixes are coloured when forced or on a
//! terminal, never with NO_COLOR or `--color never`, and stdout is never touched.

use crate::util::{output, TestRepo};

const RED_ERROR: &str = "\x1b[1;31mgitsign: error:\x1b[0m";

fn verify_missing(repo: &TestRepo, env: &[(&str, &str)], flags: &[&str]) -> (i32, String, String) {
    let mut cmd = repo.gitsign();
    cmd.args([
        "verify",
        "no-such-revision",
        "--certificate-identity",
        "a@example.com",
    ])
    .args(["--certificate-oidc-issuer", "https://issuer.example"])
    .args(flags);
    for (k, v) in env {
        cmd.env(k, v);
    }
    output(&mut cmd)
}

#[test]
fn errors_are_coloured_when_forced_and_plain_with_no_color_or_color_never() {
    let repo = TestRepo::new();
    let (code, out, err) = verify_missing(&repo, &[], &[]);
    assert_eq!(code, 2, "an unknown revision cannot be decided: {err}");
    assert!(
        err.starts_with("gitsign: error:") && !err.contains('\x1b'),
        "a pipe gets plain text: {err:?}"
    );

    let (_, out_forced, err) = verify_missing(&repo, &[("CLICOLOR_FORCE", "1")], &[]);
    assert!(
        err.starts_with(RED_ERROR),
        "CLICOLOR_FORCE colours the error prefix: {err:?}"
    );
    assert_eq!(out_forced, out, "stdout is the same with or without colour");

    let (_, _, err) = verify_missing(&repo, &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], &[]);
    assert!(
        !err.contains('\x1b'),
        "NO_COLOR wins over CLICOLOR_FORCE: {err:?}"
    );

    let (_, _, err) = verify_missing(&repo, &[], &["--color", "always"]);
    assert!(
        err.starts_with(RED_ERROR),
        "--color always colours into a pipe: {err:?}"
    );

    let (_, _, err) = verify_missing(&repo, &[("CLICOLOR_FORCE", "1")], &["--color", "never"]);
    assert!(
        !err.contains('\x1b'),
        "--color never wins over the environment: {err:?}"
    );
}
