//! Service URLs from Sigstore's signing config (issue 15 item 3): after `gitsign initialize`
//! against the local stack's TUF mirror, with no Fulcio or Rekor configured, signing goes to
//! the services the stack's `signing_config.v0.2.json` names; an explicit setting still wins;
//! `gitsign version --json` names every source; a new Rekor v2 shard is selected after a
//! refresh. Nothing reaches beyond loopback: the public-good defaults are unreachable here, so
//! a signature that works came from the signing config.

use std::process::Command;
use std::time::Duration;

use sigstore_local::http::Service;
use sigstore_local::tuf::Action;
use sigstore_local::{Options, Stack};

use crate::util::{gitsign_bin, output, TestRepo};

const IDENTITY: &str = "dev@example.com";

struct Env {
    repo: TestRepo,
    stack: Stack,
    tuf_root: tempfile::TempDir,
    _state: tempfile::TempDir,
}

impl Env {
    fn new(timestamp_ttl: Option<Duration>) -> Env {
        let state = tempfile::tempdir().expect("test setup");
        let mut options = Options::new(state.path().join("stack"));
        if let Some(ttl) = timestamp_ttl {
            options.tuf_timestamp_ttl = ttl;
        }
        let stack = Stack::start(options).expect("the stack starts");
        let repo = TestRepo::new();
        Env {
            repo,
            stack,
            tuf_root: tempfile::tempdir().expect("test setup"),
            _state: state,
        }
    }

    /// A token, the issuer (Go gitsign takes it from no signing config, neither do we) and
    /// the TUF root; no Fulcio, Rekor or trusted root.
    fn env(&self, cmd: &mut Command) {
        cmd.env("GITSIGN_OIDC_ISSUER", self.stack.oidc_issuer())
            .env("SIGSTORE_ID_TOKEN", self.stack.mint_token(IDENTITY))
            .env("TUF_ROOT", self.tuf_root.path());
    }

    fn gitsign(&self, args: &[&str], extra: &[(&str, &str)]) -> (i32, String, String) {
        let mut cmd = self.repo.gitsign();
        cmd.args(args);
        self.env(&mut cmd);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        output(&mut cmd)
    }

    fn initialize(&self) {
        self.stack.tuf_apply(&Action::Refresh).expect("test setup");
        let root = self.stack.tuf_root_path();
        let (code, _, err) = self.gitsign(
            &[
                "initialize",
                "--mirror",
                &self.stack.tuf_mirror_url(),
                "--root",
                root.to_str().expect("test setup"),
            ],
            &[],
        );
        assert_eq!(code, 0, "initialize: {err}");
    }

    fn commit(&self, message: &str, extra: &[(&str, &str)]) -> (i32, String, String) {
        let log = self.tuf_root.path().join("sign.log");
        let _ = std::fs::remove_file(&log);
        let mut cmd = self.repo.cmd("git");
        cmd.args(["-c", "gpg.format=x509", "-c"])
            .arg(format!("gpg.x509.program={}", gitsign_bin().display()))
            .args(["commit", "-q", "--allow-empty", "-S", "-m", message])
            .env("GITSIGN_LOG", &log);
        self.env(&mut cmd);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let (code, out, err) = output(&mut cmd);
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        (code, out, format!("{err}{logged}"))
    }

    /// `gitsign --status-fd=2 -bsau <identity>` over a payload on stdin, as git runs it.
    fn sign_directly(&self) -> (i32, String, String) {
        use std::io::Write as _;
        let mut cmd = self.repo.gitsign();
        cmd.args(["--status-fd=2", "-bsau", IDENTITY])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        self.env(&mut cmd);
        let mut child = cmd.spawn().expect("gitsign starts");
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\npayload\n");
        }
        let out = child.wait_with_output().expect("gitsign runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `gitsign version --json`: the signing config's origin and the services by key.
    fn version(&self, extra: &[(&str, &str)]) -> (String, Vec<(String, String, String)>) {
        let (code, out, err) = self.gitsign(&["version", "--json"], extra);
        assert_eq!(code, 0, "gitsign version: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("version --json is JSON");
        let origin = v["signingConfig"].as_str().unwrap_or_default().to_owned();
        let services = v["services"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        let f = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
                        (f("key"), f("value"), f("source"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        (origin, services)
    }

    /// The stack's signing config as its mirror publishes it, from the TUF cache.
    fn published_signing_config(&self) -> serde_json::Value {
        let name = self
            .stack
            .tuf_mirror_url()
            .trim_start_matches("http://")
            .replace(['/', ':'], "-")
            .to_lowercase();
        let p = self
            .tuf_root
            .path()
            .join("gitsign-rs")
            .join(name)
            .join("targets/signing_config.v0.2.json");
        serde_json::from_slice(&std::fs::read(&p).expect("the signing config is cached"))
            .expect("the signing config is JSON")
    }
}

fn service<'a>(services: &'a [(String, String, String)], key: &str) -> (&'a str, &'a str) {
    services
        .iter()
        .find(|(k, _, _)| k == key)
        .map(|(_, v, s)| (v.as_str(), s.as_str()))
        .unwrap_or_else(|| panic!("gitsign version names {key}: {services:?}"))
}

#[test]
fn signing_uses_the_tuf_signing_config_unless_a_url_is_set() {
    let e = Env::new(None);
    // Before initialize: the defaults, named as such.
    let (origin, services) = e.version(&[]);
    assert!(
        origin.starts_with("none"),
        "no signing config yet: {origin}"
    );
    assert_eq!(
        service(&services, "gitsign.fulcio"),
        ("https://fulcio.sigstore.dev", "default")
    );

    e.initialize();
    let mirror = e.stack.tuf_mirror_url();
    let from_tuf = format!("signing config (TUF {mirror})");
    let (origin, services) = e.version(&[]);
    assert_eq!(origin, format!("TUF {mirror}"));
    assert_eq!(
        service(&services, "gitsign.fulcio"),
        (e.stack.fulcio_url().as_str(), from_tuf.as_str())
    );
    assert_eq!(
        service(&services, "gitsign.rekor"),
        (e.stack.rekor_url().as_str(), from_tuf.as_str())
    );
    assert_eq!(
        service(&services, "gitsign.rekorVersion"),
        ("1", from_tuf.as_str()),
        "the stack's signing config has a v1 log only"
    );
    assert_eq!(
        service(&services, "gitsign.issuer").1,
        "GITSIGN_OIDC_ISSUER"
    );

    let fulcio_before = e.stack.service_request_count(Service::Fulcio);
    let rekor_before = e.stack.service_request_count(Service::Rekor);
    let (code, _, err) = e.commit("urls from the signing config", &[]);
    assert_eq!(code, 0, "signing with the signing config's services: {err}");
    assert!(
        e.stack.service_request_count(Service::Fulcio) > fulcio_before,
        "the stack's Fulcio issued the certificate"
    );
    assert!(
        e.stack.service_request_count(Service::Rekor) > rekor_before,
        "the stack's Rekor logged the signature"
    );
    let (code, out, err) = e.gitsign(
        &[
            "verify",
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
            &e.stack.oidc_issuer(),
            "HEAD",
        ],
        &[],
    );
    assert_eq!(code, 0, "the commit verifies: {out}{err}");

    // An explicit Fulcio wins: an unreachable one makes signing fail, and version names it.
    let dead = [("GITSIGN_FULCIO_URL", "http://127.0.0.1:9")];
    let (_, services) = e.version(&dead);
    assert_eq!(
        service(&services, "gitsign.fulcio"),
        ("http://127.0.0.1:9", "GITSIGN_FULCIO_URL")
    );
    assert_eq!(service(&services, "gitsign.rekor").1, from_tuf);
    let fulcio_before = e.stack.service_request_count(Service::Fulcio);
    let (code, _, err) = e.commit("explicit fulcio", &dead);
    assert_ne!(
        code, 0,
        "the explicit, unreachable Fulcio must be used: {err}"
    );
    assert!(
        err.contains("could not get a signing certificate"),
        "the failure is Fulcio's: {err}"
    );
    assert_eq!(
        e.stack.service_request_count(Service::Fulcio),
        fulcio_before,
        "the signing config's Fulcio is not asked"
    );
}

/// The stack's v2 shards as its mirror publishes them: (url, has an end).
fn v2_shards(published: &serde_json::Value) -> Vec<(String, bool)> {
    published["rekorTlogUrls"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|s| s["majorApiVersion"] == 2)
                .map(|s| {
                    (
                        s["url"].as_str().unwrap_or_default().to_owned(),
                        s["validFor"].get("end").is_some(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_new_rekor_v2_shard_is_selected_after_a_refresh() {
    let ttl = Duration::from_secs(6);
    let e = Env::new(Some(ttl));
    e.initialize();
    let mirror = e.stack.tuf_mirror_url();
    let from_tuf = format!("signing config (TUF {mirror})");
    let v2 = [("GITSIGN_REKOR_VERSION", "2")];

    // The stack starts with the v1 log and one v2 shard. Unset, the version is 1 (Go
    // gitsign's default); asked for, v2 selects the shard.
    let first = v2_shards(&e.published_signing_config());
    assert_eq!(first.len(), 1, "one v2 shard to start with: {first:?}");
    let (_, services) = e.version(&[]);
    assert_eq!(
        service(&services, "gitsign.rekor"),
        (e.stack.rekor_url().as_str(), from_tuf.as_str())
    );
    assert_eq!(
        service(&services, "gitsign.rekorVersion"),
        ("1", from_tuf.as_str())
    );
    let (_, services) = e.version(&v2);
    assert_eq!(service(&services, "gitsign.rekor").0, first[0].0);
    assert_eq!(
        service(&services, "gitsign.rekorVersion"),
        ("2", "GITSIGN_REKOR_VERSION")
    );

    // A new shard ends the first one's window; once the cached timestamp expires, the next
    // command refreshes and selects the new shard.
    e.stack.set_tuf_timestamp_ttl(Duration::from_secs(86_400));
    e.stack
        .tuf_apply(&Action::AddRekorV2Shard)
        .expect("test setup");
    std::thread::sleep(ttl + Duration::from_millis(1200));
    e.stack.tuf_apply(&Action::Refresh).expect("test setup");
    let (_, services) = e.version(&v2);
    let shards = v2_shards(&e.published_signing_config());
    assert_eq!(
        shards.len(),
        2,
        "the refresh brought the new shard: {shards:?}"
    );
    let (old, new) = (&shards[0], &shards[1]);
    assert!(
        old.1 && !new.1,
        "the first shard's window ended: {shards:?}"
    );
    assert_ne!(old.0, new.0);
    assert_eq!(
        service(&services, "gitsign.rekor"),
        (new.0.as_str(), from_tuf.as_str()),
        "the newest valid shard is selected"
    );
    // The default stays on v1.
    let (_, services) = e.version(&[]);
    assert_eq!(service(&services, "gitsign.rekorVersion").0, "1");
    assert_eq!(service(&services, "gitsign.rekor").0, e.stack.rekor_url());
}

#[test]
fn an_unusable_signing_config_is_a_clear_error_not_a_fallback() {
    let e = Env::new(None);
    let fulcio = e.stack.fulcio_url();
    let rekor = e.stack.rekor_url();
    let svc = |url: &str, window: serde_json::Value| serde_json::json!({ "url": url, "majorApiVersion": 1, "validFor": window, "operator": "sigstore.local" });
    let open = serde_json::json!({ "start": "2020-01-01T00:00:00Z" });
    let cases = [
        (
            "its only Rekor expired in 2021",
            serde_json::json!({
                "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
                "caUrls": [svc(&fulcio, open.clone())],
                "rekorTlogUrls": [svc(&rekor, serde_json::json!({ "start": "2020-01-01T00:00:00Z", "end": "2021-01-01T00:00:00Z" }))],
                "rekorTlogConfig": { "selector": "ANY" },
            }),
            "rekorTlogUrls has no service for API version(s) [1] valid at",
        ),
        (
            "its only Rekor starts in 2999",
            serde_json::json!({
                "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
                "caUrls": [svc(&fulcio, open.clone())],
                "rekorTlogUrls": [svc(&rekor, serde_json::json!({ "start": "2999-01-01T00:00:00Z" }))],
                "rekorTlogConfig": { "selector": "ANY" },
            }),
            "rekorTlogUrls has no service",
        ),
        (
            "a v0.1 media type",
            serde_json::json!({
                "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.1+json",
                "caUrl": fulcio,
            }),
            "expected 'application/vnd.dev.sigstore.signingconfig.v0.2+json'",
        ),
        (
            "a Fulcio URL that is not http(s)",
            serde_json::json!({
                "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
                "caUrls": [svc("ftp://fulcio.invalid", open.clone())],
            }),
            "caUrls has a service with an invalid URL 'ftp://fulcio.invalid'",
        ),
    ];
    for (what, config, want) in cases {
        let body = serde_json::to_vec(&config).expect("test setup");
        e.stack
            .tuf_apply(&Action::SigningConfig(body.clone()))
            .expect("test setup");
        e.initialize();
        assert_eq!(
            e.published_signing_config(),
            config,
            "{what}: the client cached the new signing config"
        );
        let fulcio_before = e.stack.service_request_count(Service::Fulcio);
        let (code, _, err) = e.commit(what, &[]);
        assert_ne!(code, 0, "{what}: signing must refuse: {err}");
        // git does not always relay the signer's stderr: ask gitsign directly, as git does.
        let (code, out, err) = e.sign_directly();
        assert_eq!(code, 2, "{what}: a configuration error exits 2: {err}");
        assert!(out.is_empty(), "{what}: no signature on stdout");
        assert!(
            err.contains(want),
            "{what}: the error says why ({want}): {err}"
        );
        assert!(err.contains("Hint:"), "{what}: the error has a hint: {err}");
        assert_eq!(
            e.stack.service_request_count(Service::Fulcio),
            fulcio_before,
            "{what}: nothing is asked of any Fulcio"
        );
        // Explicit URLs need no signing config.
        let explicit = [
            ("GITSIGN_FULCIO_URL", fulcio.as_str()),
            ("GITSIGN_REKOR_URL", rekor.as_str()),
        ];
        let (code, _, err) = e.commit(what, &explicit);
        assert_eq!(code, 0, "{what}: explicit URLs still sign: {err}");
        // `gitsign version` reports the problem and still succeeds.
        let (code, out, err) = e.gitsign(&["version"], &[]);
        assert_eq!(code, 0, "{what}: version must not fail: {err}");
        assert!(
            out.contains("signing config: ") && out.contains(want),
            "{what}: version names the problem: {out}"
        );
    }
}

/// Issue 15's rotation: with `rekorVersion=2` and nothing else configured, signing takes the
/// v2 shard and the timestamp authority from the TUF signing config; after the stack adds a
/// shard and the cache refreshes, new commits go to the new shard; every commit verifies from
/// the TUF trusted root alone, the old shard's ones included.
#[test]
fn rekor_v2_commits_follow_the_signing_config_to_a_new_shard_and_all_verify() {
    let ttl = Duration::from_secs(6);
    let e = Env::new(Some(ttl));
    e.initialize();
    let v2 = [
        ("GITSIGN_REKOR_VERSION", "2"),
        ("GITSIGN_ENABLE_SIGSTORE_GO", "true"),
    ];
    let head = || e.repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let verify = |rev: &str| {
        e.gitsign(
            &[
                "verify",
                "--certificate-identity",
                IDENTITY,
                "--certificate-oidc-issuer",
                &e.stack.oidc_issuer(),
                rev,
            ],
            &[],
        )
    };

    let (code, _, err) = e.commit("on the first shard", &v2);
    assert_eq!(
        code, 0,
        "signing with Rekor v2 from the signing config: {err}"
    );
    let first = head();
    assert_eq!(e.stack.rekor_v2_size(), 1, "the entry is in the v2 shard");
    assert_eq!(e.stack.log_size(), 0, "nothing went to the v1 log");
    let (code, out, err) = verify(&first);
    assert_eq!(code, 0, "verified from the TUF trusted root: {out}{err}");

    e.stack.set_tuf_timestamp_ttl(Duration::from_secs(86_400));
    e.stack
        .tuf_apply(&Action::AddRekorV2Shard)
        .expect("test setup");
    std::thread::sleep(ttl + Duration::from_millis(1200));
    e.stack.tuf_apply(&Action::Refresh).expect("test setup");

    let (code, _, err) = e.commit("on the new shard", &v2);
    assert_eq!(code, 0, "signing after the new shard: {err}");
    let second = head();
    assert_eq!(
        e.stack.rekor_v2_size(),
        1,
        "the entry is in the new (newest) shard, which started empty"
    );
    for (rev, what) in [
        (&first, "the old shard's commit"),
        (&second, "the new shard's"),
    ] {
        let (code, out, err) = verify(rev);
        assert_eq!(code, 0, "{what} verifies: {out}{err}");
    }
}

/// Regression: a signing config the verified targets list, but which the mirror withholds or
/// serves altered, read as "the mirror publishes none", and signing went to the default
/// (public-good) services.
#[test]
fn a_listed_but_tampered_signing_config_refuses_to_sign() {
    let e = Env::new(None);
    e.initialize();
    let name = e
        .stack
        .tuf_mirror_url()
        .trim_start_matches("http://")
        .replace(['/', ':'], "-")
        .to_lowercase();
    let cached = e
        .tuf_root
        .path()
        .join("gitsign-rs")
        .join(name)
        .join("targets/signing_config.v0.2.json");
    std::fs::remove_file(&cached).expect("the signing config is cached");
    let targets = e.stack.tuf_repo_dir().join("targets");
    for entry in std::fs::read_dir(&targets).expect("test setup") {
        let path = entry.expect("test setup").path();
        if path
            .to_string_lossy()
            .ends_with(".signing_config.v0.2.json")
        {
            std::fs::write(&path, b"{\"caUrls\": []}").expect("test setup");
        }
    }
    let (code, out, err) = e.sign_directly();
    assert_ne!(code, 0, "nothing is signed: {err}");
    assert!(out.is_empty(), "no signature on stdout: {out}");
    assert!(
        err.contains("cannot sign")
            && err.contains("lists signing_config.v0.2.json but it cannot be used")
            && err.contains("pinned"),
        "the refusal names the real cause: {err}"
    );
    assert!(
        !err.contains("fulcio.sigstore.dev"),
        "no fallback to the default services: {err}"
    );
}
