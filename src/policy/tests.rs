//! The language end to end: files that parse (the documented ones included), every error
//! with its line and column, hook files from before authorities keeping their meaning, and
//! the judge over the three signer shapes.

use std::collections::HashMap;

use super::judge::NoKeyFormats;
use super::*;
use crate::verify::policy::{Identity, Policy};

/// Key files held in memory, by path relative to the policy.
struct Files(HashMap<&'static str, &'static [u8]>);

impl FileSource for Files {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        if path.starts_with('/') {
            return Err(SourceError::Absolute);
        }
        self.0
            .get(path)
            .map(|b| b.to_vec())
            .ok_or(SourceError::Missing)
    }

    fn describe(&self, path: &str) -> String {
        format!("mem:{path}")
    }
}

fn files() -> Files {
    Files(HashMap::from([
        (
            "keys/web-flow.asc",
            b"FPR 5DE3E0509C47EA3CF04A42D34AEE18F83AFDEB23\n".as_slice(),
        ),
        (
            "allowed_signers",
            b"carol@example.com SHA256:carol\n".as_slice(),
        ),
    ]))
}

/// Stands in for the OpenPGP and SSH readers: a key file "holds" the fingerprints on its
/// `FPR` lines; an allowed-signers line is `principal fingerprint`.
struct FakeFormats;

impl KeyFormats for FakeFormats {
    fn openpgp_holds(&self, file: &KeyFile, fingerprint: &str) -> bool {
        String::from_utf8_lossy(&file.bytes)
            .lines()
            .filter_map(|l| l.strip_prefix("FPR "))
            .any(|f| f.eq_ignore_ascii_case(fingerprint))
    }

    fn ssh_admits(
        &self,
        file: &KeyFile,
        fingerprint: &str,
        principal: &str,
        _: Option<i64>,
    ) -> bool {
        String::from_utf8_lossy(&file.bytes).lines().any(|l| {
            l.split_once(' ')
                .is_some_and(|(p, k)| p == principal && k == fingerprint)
        })
    }
}

/// The brief's shape: what tests and other tools write.
const EXAMPLE: &str = r#"policy-authorities = ["maintainers"]     # who may change a committed policy

[authority.maintainers]                  # Sigstore identities: identity AND issuer, as pairs
sigstore = [
  { identity = "alice@example.com", issuer = "https://accounts.google.com" },
  { identity-regexp = '^https://github\.com/acme/app/\.github/workflows/release\.yml@refs/tags/', issuer = "https://token.actions.githubusercontent.com" },
]
[authority.github-web-flow]              # OpenPGP: files of armored public keys
openpgp = ["keys/web-flow.asc"]
[authority.laptops]                      # SSH: git's allowed-signers format
ssh = "allowed_signers"

[[rule]]
refs = ["refs/heads/main", "refs/tags/*"]
authorities = ["maintainers", "github-web-flow", "laptops"]
"#;

fn parse(text: &str) -> PolicyFile {
    PolicyFile::parse(text, "policy.toml", &files()).expect("the policy parses")
}

fn err(text: &str) -> ParseError {
    PolicyFile::parse(text, "policy.toml", &files()).expect_err("the policy must be refused")
}

fn sigstore(san: &str, issuer: &str) -> Signer {
    Signer::Sigstore(SigstoreSigner {
        identity: Identity {
            sans: vec![san.into()],
            issuer: Some(issuer.into()),
            ..Identity::default()
        },
        signing_time: Some(1_720_000_000),
    })
}

const GOOGLE: &str = "https://accounts.google.com";
const ACTIONS: &str = "https://token.actions.githubusercontent.com";

#[test]
fn the_example_parses_into_named_authorities_and_a_rule() {
    let p = parse(EXAMPLE);
    let names: Vec<&str> = p.authorities.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["maintainers", "github-web-flow", "laptops"],
        "file order"
    );
    assert_eq!(p.default, DefaultAction::Reject, "fail closed by default");
    let m = p.authority("maintainers").expect("maintainers");
    assert_eq!(m.line, 3, "an authority is named by its header's line");
    assert_eq!(m.sigstore.len(), 2);
    assert_eq!(m.sigstore[1].line, 6, "an entry by its own line");
    let gpg = p.authority("github-web-flow").expect("web flow");
    assert_eq!(gpg.openpgp.len(), 1);
    assert_eq!(gpg.openpgp[0].path, "keys/web-flow.asc");
    assert_eq!(gpg.openpgp[0].shown, "mem:keys/web-flow.asc");
    assert!(
        gpg.openpgp[0].bytes.starts_with(b"FPR 5DE3"),
        "the file's bytes are kept for the key formats"
    );
    let ssh = &p.authority("laptops").expect("laptops").ssh;
    assert_eq!(
        (ssh.len(), ssh[0].path.as_str()),
        (1, "allowed_signers"),
        "one path without a list"
    );
    assert_eq!(p.policy_authorities, vec![0]);
    let rule = p.rule_for("refs/tags/v1").expect("tags have a rule");
    assert_eq!(rule.line, 14);
    assert_eq!(
        rule.authorities
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["maintainers", "github-web-flow", "laptops"],
        "the rule's order"
    );
    assert!(p.rule_for("refs/heads/dev").is_none());
    assert!(p.warnings().is_empty(), "{:?}", p.warnings());
}

/// The block `gitsign policy --help` shows must itself be a valid policy.
#[test]
fn the_documented_language_parses() {
    let block: String = LANGUAGE_HELP
        .lines()
        .skip_while(|l| !l.starts_with("    "))
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    assert!(block.contains("[[rule]]"), "the example was found: {block}");
    let files = Files(HashMap::from([
        ("keys/web-flow.asc", b"k".as_slice()),
        ("allowed_signers", b"s".as_slice()),
    ]));
    let p = PolicyFile::parse(&block, "help", &files).expect("the documented example parses");
    let m = p.authority("release").expect("release");
    assert_eq!(
        m.sigstore[0].extensions,
        vec![(
            FulcioExtension::SourceRepositoryUri,
            "https://github.com/acme/app".to_string()
        )]
    );
    assert_eq!(m.sigstore[0].validity.after, Some(1_704_067_200));
    assert_eq!(
        m.sigstore[0].line, 8,
        "an entry written as a table is named by its header's line"
    );
    assert_eq!(p.rules[0].authorities.len(), 4);
    assert_eq!(
        p.rules[0].unsigned_before,
        Some(Cutoff::Time(1_704_067_200))
    );
}

#[test]
fn key_files_take_a_path_a_table_or_a_list_with_bounds() {
    let p = parse(
        r#"
[authority.a]
openpgp = ["keys/web-flow.asc", { file = "keys/web-flow.asc", valid-before = 2024-01-01T00:00:00Z }]
ssh = { file = "allowed_signers", valid-after = "2023-01-01T00:00:00+01:00" }
[[rule]]
refs = ["refs/*"]
authorities = ["a"]
"#,
    );
    let a = p.authority("a").expect("a");
    assert_eq!(a.openpgp.len(), 2);
    assert!(a.openpgp[0].validity.is_unbounded());
    assert_eq!(a.openpgp[1].validity.before, Some(1_704_067_200));
    assert_eq!(a.openpgp[1].line, 3);
    assert_eq!(
        a.ssh[0].validity.after,
        Some(1_672_527_600),
        "a string time with an offset"
    );
}

/// (text, line, column, start of the message)
#[test]
fn every_error_names_file_line_and_column() {
    let rule = "[[rule]]\nrefs = ['refs/*']\nauthorities = ['a']\n";
    let a = "[authority.a]\nsigstore = [{ identity = 'x', issuer = 'y' }]\n";
    let cases: Vec<(String, usize, usize, &str)> = vec![
        ("default = [\n".into(), 2, 1, "invalid array"),
        (
            "defualt = 'reject'\n".into(),
            1,
            1,
            "unknown field `defualt`",
        ),
        (
            format!("{a}gpg = ['k']\n{rule}"),
            3,
            1,
            "unknown field `gpg`",
        ),
        (
            "[authority.a]\nsigstore = [{ identity = 'x', issuer = 'y', isuser = 'z' }]\n".into(),
            2,
            45,
            "unknown key `isuser` in a sigstore entry",
        ),
        (
            "[authority.a]\nopenpgp = [{ file = 'keys/web-flow.asc', valid = 1 }]\n".into(),
            2,
            42,
            "unknown field `valid`",
        ),
        (
            format!("{a}[[rule]]\nrefs = ['refs/*']\nauthorities = ['a', 'b']\n"),
            5,
            21,
            "unknown authority 'b' in authorities (defined: 'a')",
        ),
        (
            format!("policy-authorities = ['root']\n{a}{rule}"),
            1,
            23,
            "unknown authority 'root' in policy-authorities",
        ),
        (
            "[[rule]]\nrefs = ['refs/*']\nauthorities = ['a']\n".into(),
            3,
            16,
            "unknown authority 'a' in authorities (none is defined",
        ),
        (
            "[authority.a]\nsigstore = [{ identity-regexp = 'a(', issuer = 'y' }]\n".into(),
            2,
            33,
            "invalid regular expression in identity-regexp",
        ),
        (
            "[authority.a]\nsigstore = [{ identity = 'x', issuer-regexp = '[' }]\n".into(),
            2,
            47,
            "invalid regular expression in issuer-regexp",
        ),
        (
            "[authority.a]\nsigstore = [{ identity = 'x', identity-regexp = 'x', issuer = 'y' }]\n"
                .into(),
            2,
            49,
            "set identity or identity-regexp, not both",
        ),
        (
            "[authority.a]\nsigstore = [\n  { identity = 'x' },\n]\n".into(),
            3,
            3,
            "sigstore entry has no issuer",
        ),
        (
            "[authority.a]\nsigstore = [{ issuer = 'y' }]\n".into(),
            2,
            13,
            "sigstore entry has no identity",
        ),
        (
            "[authority.a]\nsigstore = [{ identity = 'x', issuer = 'y', valid-after = 'yesterday' }]\n"
                .into(),
            2,
            59,
            "invalid valid-after \"yesterday\"",
        ),
        (
            "[authority.a]\nsigstore = [{ identity = 'x', issuer = 'y', valid-after = 2024-01-01T00:00:00 }]\n"
                .into(),
            2,
            59,
            "invalid valid-after \"2024-01-01T00:00:00\": not an RFC 3339 time with an offset",
        ),
        (
            "[authority.a]\nsigstore = [{ identity = 'x', issuer = 'y', valid-after = 2024-01-01T00:00:00Z, valid-before = 2023-01-01T00:00:00Z }]\n"
                .into(),
            2,
            96,
            "valid-before is not after valid-after",
        ),
        (
            "[authority.a]\nsigstore = [{ identity = 'x', issuer = 'y', build-trigger = 3 }]\n".into(),
            2,
            61,
            "build-trigger must be a string, not integer",
        ),
        (
            "[authority.a]\nopenpgp = ['keys/missing.asc']\n".into(),
            2,
            12,
            "cannot read the OpenPGP key file 'keys/missing.asc' of authority 'a' (mem:keys/missing.asc): no such file",
        ),
        (
            "[authority.a]\nssh = '/etc/ssh/allowed_signers'\n".into(),
            2,
            7,
            "cannot read the SSH allowed-signers file '/etc/ssh/allowed_signers' of authority 'a'",
        ),
        ("[authority.a]\nopenpgp = []\n".into(), 2, 11, "openpgp lists no files"),
        (
            "[authority.a]\nsigstore = []\n".into(),
            1,
            12,
            "authority 'a' admits no one",
        ),
        (
            "[authority.\"core team\"]\nsigstore = [{ identity = 'x', issuer = 'y' }]\n".into(),
            1,
            12,
            "invalid authority name \"core team\"",
        ),
        (
            format!("{a}[[rule]]\nrefs = ['refs/*']\nauthorities = []\n"),
            5,
            15,
            "authorities is empty",
        ),
        (
            "[[rule]]\nrefs = ['refs/*']\n".into(),
            2,
            8,
            "rule has no authority",
        ),
        (
            format!("{a}[[rule]]\nrefs = ['refs/*']\nauthorities = ['(rule at line 2)']\n"),
            5,
            16,
            "unknown authority '(rule at line 2)'",
        ),
    ];
    let mut wrong = Vec::new();
    for (text, line, column, start) in &cases {
        let e = err(text);
        if (e.line, e.column) != (*line, *column) || !e.message.starts_with(start) {
            wrong.push(format!("{text:?} -> {e}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    for (text, line, column, start) in cases {
        let e = err(&text);
        assert_eq!(
            (e.file.as_str(), e.line, e.column),
            ("policy.toml", line, column),
            "where the error is, for:\n{text}\n{e}"
        );
        assert!(
            e.message.starts_with(start),
            "the message for:\n{text}\nis {e}"
        );
        assert!(!e.message.contains('\n'), "one line: {e}");
        assert!(
            e.to_string()
                .starts_with(&format!("policy.toml:{line}:{column}: ")),
            "file:line:column: {e}"
        );
    }
}

/// Hook files from before authorities: each rule's identities × issuers is one inline
/// authority that decides as the hook's identity policy did.
#[test]
fn old_hook_files_keep_their_meaning() {
    let old = r#"
default = "allow"
[[rule]]
refs = ["refs/heads/main", "refs/tags/*"]
identities = ["alice@example.com"]
identity-regexps = ['^.*@example\.com$']
issuers = ["https://accounts.google.com", "https://github.com/login/oauth"]
transparency = "embedded"
unsigned-before = "2024-01-01T00:00:00Z"
[[rule]]
refs = ["refs/heads/*"]
identity-regexps = ['.*']
issuer-regexps = ['^https://token\.actions\.githubusercontent\.com$']
deletions = "reject"
"#;
    let p = PolicyFile::parse(old, "old.toml", &NoFiles).expect("an old hook file parses");
    assert_eq!(p.default, DefaultAction::Allow);
    assert_eq!(p.authorities.len(), 2, "one inline authority per rule");
    assert_eq!(p.authorities[0].name, "(rule at line 4)");
    assert!(p.authorities.iter().all(Authority::is_inline));
    assert!(
        p.warnings().is_empty(),
        "inline authorities are used by their rule"
    );
    let main = p.rule_for("refs/heads/main").expect("main");
    assert_eq!(
        (main.line, main.transparency, main.deletions),
        (4, Transparency::Embedded, Deletions::Allow)
    );
    assert_eq!(main.unsigned_before, Some(Cutoff::Time(1_704_067_200)));
    let dev = p.rule_for("refs/heads/dev").expect("dev");
    assert_eq!((dev.line, dev.deletions), (11, Deletions::Reject));

    // The identity policy the hook built from such a rule before, by hand.
    let before = Policy {
        identity: Some(Matcher::AnyOf(vec![
            Matcher::Exact("alice@example.com".into()),
            Matcher::Regex(crate::verify::policy::Re2::new(r"^.*@example\.com$").expect("re")),
        ])),
        issuer: Some(Matcher::AnyOf(vec![
            Matcher::Exact(GOOGLE.into()),
            Matcher::Exact("https://github.com/login/oauth".into()),
        ])),
        ..Policy::default()
    };
    for (san, issuer) in [
        ("alice@example.com", GOOGLE),
        ("bob@example.com", "https://github.com/login/oauth"),
        ("mallory@evil.example", GOOGLE),
        ("alice@example.com", ACTIONS),
        ("", GOOGLE),
    ] {
        let signer = sigstore(san, issuer);
        let Signer::Sigstore(s) = &signer else {
            unreachable!("built as Sigstore")
        };
        let was = before.check(&s.identity);
        let now = main.admit(&signer, &NoKeyFormats);
        assert_eq!(
            now.as_ref()
                .map(|a| a.name.as_str())
                .map_err(|e| e.to_string()),
            was.as_ref()
                .map(|_| "(rule at line 4)")
                .map_err(|e| e.to_string()),
            "{san} / {issuer} is decided as before, with the same words"
        );
    }
}

#[test]
fn a_rule_may_name_authorities_and_keep_inline_identities() {
    let p = parse(&format!(
        "{EXAMPLE}identities = ['dave@example.com']\nissuers = ['{GOOGLE}']\n"
    ));
    let rule = &p.rules[0];
    assert_eq!(
        rule.authorities.len(),
        4,
        "three named, then the inline one"
    );
    let who = |s: Signer| {
        rule.admit(&s, &FakeFormats)
            .map(|a| a.name.clone())
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        who(sigstore("dave@example.com", GOOGLE)),
        Ok("(rule at line 14)".into())
    );
    assert_eq!(
        who(sigstore("alice@example.com", GOOGLE)),
        Ok("maintainers".into())
    );
}

#[test]
fn the_judge_binds_each_identity_to_its_issuer() {
    let p = parse(EXAMPLE);
    let rule = p.rule_for("refs/heads/main").expect("main");
    let who = |s: Signer| {
        rule.admit(&s, &FakeFormats)
            .map(|a| a.name.clone())
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        who(sigstore("alice@example.com", GOOGLE)),
        Ok("maintainers".into())
    );
    let workflow = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.0";
    assert_eq!(who(sigstore(workflow, ACTIONS)), Ok("maintainers".into()));
    // Both identities and both issuers are listed, but not as these pairs.
    let refused = who(sigstore("alice@example.com", ACTIONS)).expect_err("alice via Actions");
    assert_eq!(
        refused,
        "the signer 'alice@example.com' (issuer 'https://token.actions.githubusercontent.com') is not admitted by any authority of the rule (maintainers, github-web-flow, laptops)"
    );
    assert!(
        who(sigstore(workflow, GOOGLE)).is_err(),
        "the workflow identity from another issuer"
    );
    assert!(
        who(sigstore(
            "https://github.com/evil/app/.github/workflows/release.yml@refs/tags/v1",
            ACTIONS
        ))
        .is_err(),
        "the anchored regexp names the repository"
    );
    assert_eq!(
        who(Signer::OpenPgp {
            fingerprint: "5de3e0509c47ea3cf04a42d34aee18f83afdeb23".into(),
            time: None
        }),
        Ok("github-web-flow".into()),
        "a fingerprint in the authority's key file, in any case"
    );
    assert!(who(Signer::OpenPgp {
        fingerprint: "0000000000000000000000000000000000000000".into(),
        time: None
    })
    .is_err());
    assert_eq!(
        who(Signer::Ssh {
            fingerprint: "SHA256:carol".into(),
            principal: "carol@example.com".into(),
            time: None
        }),
        Ok("laptops".into())
    );
    assert!(
        who(Signer::Ssh {
            fingerprint: "SHA256:carol".into(),
            principal: "mallory@example.com".into(),
            time: None
        })
        .is_err(),
        "the allowed-signers file binds the key to its principal"
    );
    assert!(
        rule.admit(
            &Signer::OpenPgp {
                fingerprint: "5DE3E0509C47EA3CF04A42D34AEE18F83AFDEB23".into(),
                time: None
            },
            &NoKeyFormats
        )
        .is_err(),
        "without the key formats no key file admits anyone"
    );
    assert_eq!(
        p.authorities_for_openpgp("5DE3E0509C47EA3CF04A42D34AEE18F83AFDEB23", &FakeFormats)
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["github-web-flow"]
    );
    assert_eq!(
        p.authorities_for_ssh("SHA256:carol", "carol@example.com", &FakeFormats)
            .len(),
        1
    );
    assert_eq!(rule.openpgp_files().count(), 1);
    assert_eq!(rule.ssh_files().count(), 1);
}

#[test]
fn extensions_and_validity_narrow_an_entry() {
    let p = parse(
        r#"
[authority.release]
sigstore = [{ identity-regexp = '^https://github\.com/acme/app/', issuer = "https://token.actions.githubusercontent.com", source-repository-uri = "https://github.com/acme/app", runner-environment = "github-hosted", valid-after = 2024-01-01T00:00:00Z, valid-before = 2025-01-01T00:00:00Z }]
[[rule]]
refs = ["refs/tags/*"]
authorities = ["release"]
"#,
    );
    let rule = &p.rules[0];
    let signer = |repo: Option<&str>, runner: &str, time: Option<i64>| {
        let mut extensions = std::collections::BTreeMap::new();
        if let Some(r) = repo {
            extensions.insert(FulcioExtension::SourceRepositoryUri, r.to_string());
        }
        extensions.insert(FulcioExtension::RunnerEnvironment, runner.to_string());
        Signer::Sigstore(SigstoreSigner {
            identity: Identity {
                sans: vec![
                    "https://github.com/acme/app/.github/workflows/r.yml@refs/tags/v1".into(),
                ],
                issuer: Some(ACTIONS.into()),
                extensions,
                ..Identity::default()
            },
            signing_time: time,
        })
    };
    let mid_2024 = Some(1_720_000_000);
    assert!(rule
        .admit(
            &signer(
                Some("https://github.com/acme/app"),
                "github-hosted",
                mid_2024
            ),
            &NoKeyFormats
        )
        .is_ok());
    let e = rule
        .admit(
            &signer(Some("https://github.com/acme/app"), "self-hosted", mid_2024),
            &NoKeyFormats,
        )
        .expect_err("a self-hosted runner");
    assert_eq!(
        e.to_string(),
        "runner-environment mismatch: certificate says 'self-hosted', policy wants 'github-hosted'",
        "one entry in the rule: the precise mismatch"
    );
    assert!(
        rule.admit(&signer(None, "github-hosted", mid_2024), &NoKeyFormats)
            .is_err(),
        "a certificate without the extension does not match"
    );
    let late = rule
        .admit(
            &signer(
                Some("https://github.com/acme/app"),
                "github-hosted",
                Some(1_750_000_000),
            ),
            &NoKeyFormats,
        )
        .expect_err("signed after valid-before");
    assert_eq!(
        late,
        Refusal::OutsideValidity {
            signer: "'https://github.com/acme/app/.github/workflows/r.yml@refs/tags/v1' (issuer 'https://token.actions.githubusercontent.com')".into(),
            authority: "release".into(),
            validity: "from 2024-01-01T00:00:00Z until 2025-01-01T00:00:00Z".into(),
            at: "at 2025-06-15T15:06:40Z".into(),
        }
    );
    assert!(
        matches!(
            rule.admit(
                &signer(Some("https://github.com/acme/app"), "github-hosted", None),
                &NoKeyFormats
            ),
            Err(Refusal::OutsideValidity { .. })
        ),
        "bounded, and no proven time: refused"
    );
}

#[test]
fn unused_authorities_are_warned_about() {
    let p = parse(&format!(
        "{EXAMPLE}[authority.spare]\nsigstore = [{{ identity = 'x', issuer = 'y' }}]\n"
    ));
    assert_eq!(
        p.warnings(),
        vec![
            "policy.toml:16: authority 'spare' is named by no rule and not in policy-authorities"
                .to_string()
        ]
    );
}

#[test]
fn hostile_input_does_not_panic() {
    for text in [
        "\u{0}",
        "[authority.a]\nsigstore = 3\n",
        "[authority.a]\nsigstore = [3]\n",
        "[authority.a]\nsigstore = [{ identity = [] , issuer = {} }]\n",
        "[authority.a]\nopenpgp = 3\n",
        "[authority.a]\nopenpgp = [[]]\n",
        "[authority.a]\nopenpgp = { valid-after = 1 }\n",
        "[authority.a]\nssh = [{ file = 3 }]\n",
        "policy-authorities = 'a'\n",
        "[[rule]]\nrefs = ['refs/a']\nauthorities = [[]]\n",
        "[[rule]]\nrefs = ['refs/a']\nauthorities = 'a'\n",
    ] {
        assert!(
            PolicyFile::parse(text, "p", &files()).is_err(),
            "refused: {text}"
        );
    }
}

#[test]
fn globs_match_like_refspecs() {
    let g = RefGlob::new;
    assert!(g("refs/tags/*").matches("refs/tags/v1.0"));
    assert!(
        g("refs/tags/*").matches("refs/tags/release/v1"),
        "* crosses /"
    );
    assert!(!g("refs/tags/*").matches("refs/heads/main"));
    assert!(g("refs/heads/main").matches("refs/heads/main"));
    assert!(
        !g("refs/heads/main").matches("refs/heads/main2"),
        "literal globs are exact"
    );
    assert!(g("refs/heads/release-?").matches("refs/heads/release-1"));
    assert!(!g("refs/heads/release-?").matches("refs/heads/release-10"));
    assert!(g("refs/*/ma*n").matches("refs/heads/main"));
    assert!(g("refs/**").matches("refs/a/b/c"));
    assert!(!g("refs/*x").matches("refs/abc"));
}

#[test]
fn validity_is_half_open_and_fails_closed_without_a_time() {
    let v = Validity {
        after: Some(100),
        before: Some(200),
    };
    assert!(v.admits(Some(100)), "valid-after is inclusive");
    assert!(!v.admits(Some(200)), "valid-before is exclusive");
    assert!(!v.admits(Some(99)));
    assert!(!v.admits(None), "a bound and no time: not admitted");
    assert!(Validity::default().admits(None), "no bound, no time needed");
}
