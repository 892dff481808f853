//! What the reference documentation says about settings: one sentence per key of the config
//! table ([`crate::config::TABLE`]) and the environment variables read outside it. The
//! README's configuration table and the man pages' ENVIRONMENT section are generated from
//! here and drift-tested (`tests/it/readme.rs`, `tests/it/man.rs`), so a key added to the table
//! without a sentence does not compile (the match below is exhaustive).

use crate::config::{Key, TABLE};

/// What a setting does, in one sentence (Markdown code spans allowed).
pub fn meaning(key: Key) -> &'static str {
    match key {
        Key::Fulcio => "Fulcio address (certificate authority)",
        Key::FulcioRoot => "PEM bundle replacing the trust root's Fulcio CAs",
        Key::Rekor => "Rekor address (transparency log)",
        Key::RekorMode => "`offline` (default here: the log entry and its inclusion proof are embedded in the signature) or `online` (Go gitsign's legacy mode: looked up when verifying)",
        Key::ClientId => "OAuth client id of the OIDC login",
        Key::ClientSecretFile => "file holding the OAuth client secret, if the issuer needs one",
        Key::RedirectUrl => "redirect URL of the browser login (default: a free port on 127.0.0.1)",
        Key::Issuer => "OIDC issuer to log in with",
        Key::ConnectorId => "Dex connector to skip the provider choice (`https://github.com/login/oauth`, …)",
        Key::TokenProvider => "where the identity token comes from: `envvar` (`SIGSTORE_ID_TOKEN`), `filesystem`, `github-actions`, `buildkite-agent`, `spiffe`, `google-workload-identity`, `google-impersonate`, `interactive` (browser) or `device` (RFC 8628 device flow); default: each ambient one found, in that order, the next when one fails, else the browser",
        Key::TimestampServerUrl => "RFC 3161 timestamp authority to countersign with",
        Key::TimestampCertChain => "PEM chain of that timestamp authority (root CA included), trusted for RFC 3161 tokens beside the trusted root's TSAs, when signing and verifying",
        Key::LogPath => "write this signing's human output to this file (truncated each time, as Go gitsign does)",
        Key::MatchCommitter => "refuse to sign unless the certificate names the committer's email, or a URI equal to `user.name` (default false)",
        Key::Autoclose => "close the browser tab after the login (default true)",
        Key::AutocloseTimeout => "seconds before that tab closes (default 6)",
        Key::UrlOpener => "command that opens the login URL, split like a shell (quotes), `{{.URL}}` replaced by it; with no terminal, a failing opener ends the login at once; e.g. `curl -sfL {{.URL}}` to log in headlessly against an issuer that approves without a person (the local stack)",
        Key::TrustedRoot => "Sigstore `trusted_root.json` (default: the embedded public-good root)",
        Key::InsecureIgnoreTlog => "the `--insecure-ignore-tlog` waiver for `git verify-commit`",
        Key::InsecureIgnoreSct => "the `--insecure-ignore-sct` waiver for `git verify-commit`",
        Key::Timeout => "seconds one network request (Fulcio, Rekor, timestamp authority) may take before its single retry (default 30)",
        Key::RekorConcurrency => "Rekor lookup requests in flight when verifying a range (default 16)",
        Key::RekorDeadline => "seconds all Rekor lookups of one verification may take (default 300)",
        Key::Policy => "the policy file (authorities and rules, `gitsign policy --help`), relative to the git directory: the pre-receive hook's (default `gitsign-policy.toml`), `gitsign verify`'s when no identity flag is given, and git's verification's when set (`%G?` is G only for signers it admits, U for other valid signatures)",
        Key::PolicyAnchor => "the commit (any revision) from which the committed policy `.gitsign/policy.toml` is trusted: `gitsign verify` then judges each later commit by the policy in force at its first parent, and a change to `.gitsign/` takes effect only when one of the `policy-authorities` signed it; git's verification (`%G?`) gives G only to signers that policy accepts; in a receiving repository (a full commit id there), the pre-receive hook judges pushes by it and refuses unauthorised changes",
        Key::CredentialCache => "socket of `gitsign-credential-cache`: one login for many signatures",
        Key::CacheScope => "`directory` (default, like Go gitsign) or `user`: one login for every repository",
        Key::CredentialStore => "`agent` (default: the daemon) or `keyring` (Linux kernel keyutils, macOS Keychain, Windows Credential Manager)",
        Key::RekorVersion => "Rekor API to log signatures with: `1` (default) or `2` (rekor-tiles, at `gitsign.rekor`; needs `gitsign.timestampServerURL`, as v2 entries carry no time); needs `enableSigstoreGo`, as in Go gitsign",
        Key::EnableSigstoreGo => "Go gitsign's signing-path switch (default true); here it only gates `rekorVersion`",
        Key::LoginTimeout => "seconds a browser or device login may take (default 300)",
        Key::SshAllowedSignersFile => "git's allowed signers file: the SSH keys whose signatures `gitsign verify` and `verify-tag` accept, and their principals (`--ssh-allowed-signers` overrides it)",
        Key::SshRevocationFile => "git's revoked SSH keys, one public key a line (binary KRLs are refused)",
        Key::TufCacheValidity => "seconds after a TUF refresh during which the cached trusted root and signing config are used without asking the mirror, unless their metadata expires first (default 86400, one day, as sigstore-go; 0: every use); when a due refresh fails, the unexpired cache is used with a warning",
    }
}

/// Environment variables gitsign reads that are not keys of the table.
pub const OTHER_ENV: &[(&str, &str)] = &[
    (
        "SIGSTORE_ID_TOKEN",
        "an OIDC identity token to sign with (no login)",
    ),
    (
        "SIGSTORE_ROOT_FILE",
        "same as `SIGSTORE_FULCIO_ROOT`, below it in precedence (cosign's name)",
    ),
    (
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "with `ACTIONS_ID_TOKEN_REQUEST_TOKEN`: GitHub Actions' ambient identity token",
    ),
    (
        "BUILDKITE_AGENT_ACCESS_TOKEN",
        "Buildkite's ambient identity token",
    ),
    (
        "SPIFFE_ENDPOINT_SOCKET",
        "path of the SPIFFE Workload API socket (default `/tmp/spire-agent/public/api.sock`); present: the `spiffe` provider",
    ),
    (
        "GCE_METADATA_HOST",
        "`host[:port]` of the GCE metadata server (default `169.254.169.254`); set: the `google-workload-identity` provider",
    ),
    (
        "GOOGLE_SERVICE_ACCOUNT_NAME",
        "service account the `google-impersonate` provider mints tokens for (IAM credentials API)",
    ),
    (
        "GOOGLE_APPLICATION_CREDENTIALS",
        "an `authorized_user` credentials file for `google-impersonate` (else gcloud's, else the metadata server)",
    ),
    (
        "NO_COLOR",
        "set and not empty: no colour even on a terminal",
    ),
    (
        "CLICOLOR_FORCE",
        "set and not `0`: colour even when stderr is not a terminal",
    ),
    (
        "XDG_CACHE_HOME",
        "where the credential cache socket lives (default `~/.cache`)",
    ),
];

/// Files and refs gitsign reads or writes.
pub const FILES: &[(&str, &str)] = &[
    ("~/.gitconfig, $XDG_CONFIG_HOME/git/config, .git/config", "where `gitsign.*` keys are read, with includes and `git -c`, as `git config` would"),
    (".git/gitsign/", "proofs of online-mode signatures found in Rekor, re-verified whenever used"),
    ("refs/notes/gitsign", "the same proofs as git notes (`gitsign verify --attach-proofs`), to push and fetch"),
    ("refs/attestations/commits, refs/attestations/trees", "attestations (`gitsign attest`), one directory per commit or tree id holding NAME, NAME.sig (DSSE envelope) and NAME.sigstore.json (bundle), as Go gitsign lays them out"),
    ("gitsign-policy.toml", "the pre-receive hook's policy, in the git directory unless `gitsign.policy` or `--policy` names another; `gitsign verify` reads `gitsign.policy` (or `--policy`) too"),
    ("$XDG_CACHE_HOME/sigstore/gitsign/cache.sock", "the credential cache's socket (`~/.cache` when `XDG_CACHE_HOME` is unset)"),
];

/// Exit codes, the same for every subcommand.
pub const EXIT_CODES: &[(&str, &str)] = &[
    (
        "0",
        "every object verified, or the command did what was asked",
    ),
    (
        "1",
        "a negative answer: unsigned, bad signature, policy not met, PGP or SSH signature",
    ),
    (
        "2",
        "could not decide: no time anchor offline, usage, configuration, network or I/O error",
    ),
    ("255", "an internal error (a bug: please report it)"),
];

/// git's pages every gitsign page refers to.
pub const SEE_ALSO_GIT: &[&str] = &[
    "git-commit(1)",
    "git-verify-commit(1)",
    "git-verify-tag(1)",
    "githooks(5)",
    "git-config(1)",
];

/// One row per key: git config name, environment variables (GITSIGN_* first), meaning.
pub fn rows() -> Vec<(&'static str, Vec<&'static str>, &'static str)> {
    TABLE
        .iter()
        .map(|&(key, git, sigstore, gitsign, _)| {
            let mut env: Vec<&str> = [gitsign, sigstore].into_iter().flatten().collect();
            if key == Key::FulcioRoot {
                env.push("SIGSTORE_ROOT_FILE");
            }
            (git, env, meaning(key))
        })
        .collect()
}
/// The README's table of the codes of bad verdicts, from [`crate::verify::FAILURE_CODES`].
pub fn failure_codes_markdown() -> String {
    let mut out = String::from("| `code` (bad) | meaning |\n|---|---|\n");
    for (code, meaning) in crate::verify::FAILURE_CODES {
        out.push_str(&format!("| `{code}` | {meaning} |\n"));
    }
    out
}

/// The README's configuration table (Markdown).
pub fn config_table_markdown() -> String {
    let code = |s: &str| format!("`{s}`");
    let mut out = String::from("| git config | environment | meaning |\n|---|---|---|\n");
    for (git, env, meaning) in rows() {
        let env: Vec<String> = env.iter().map(|e| code(e)).collect();
        let env = if env.is_empty() {
            "—".to_owned()
        } else {
            env.join(", ")
        };
        out.push_str(&format!("| {} | {env} | {meaning} |\n", code(git)));
    }
    for (name, meaning) in OTHER_ENV {
        out.push_str(&format!("| — | {} | {meaning} |\n", code(name)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_a_sentence_and_the_table_names_every_variable() {
        let md = config_table_markdown();
        for &(_, git, sigstore, gitsign, _) in TABLE {
            for name in [Some(git), sigstore, gitsign].into_iter().flatten() {
                assert!(md.contains(&format!("`{name}`")), "{name} is in the table");
            }
        }
        assert!(
            md.contains("| `gitsign.urlOpener` | `GITSIGN_URL_OPENER` | command that opens"),
            "a row reads git name, variable, meaning: {md}"
        );
        assert!(
            !md.contains("||"),
            "no empty cell: a key without variables shows a dash"
        );
    }
}
