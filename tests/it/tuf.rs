//! Trust through TUF (issue 15) against the local stack's TUF repository: `gitsign
//! initialize`, then signing and verifying with no trusted root configured; refreshes that
//! follow key rotations and a new Rekor v2 shard; hostile metadata refused with the cached
//! trust left intact. Every command has its own `TUF_ROOT`; nothing reaches beyond loopback.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

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
        std::fs::write(repo.path().join("f"), "x").expect("test setup");
        repo.git(&["add", "f"]);
        Env {
            repo,
            stack,
            tuf_root: tempfile::tempdir().expect("test setup"),
            _state: state,
        }
    }

    /// The service URLs and a token, but no trusted root: trust comes from TUF.
    fn env(&self, cmd: &mut Command) {
        cmd.env("GITSIGN_FULCIO_URL", self.stack.fulcio_url())
            .env("GITSIGN_REKOR_URL", self.stack.rekor_url())
            .env("GITSIGN_OIDC_ISSUER", self.stack.oidc_issuer())
            .env("SIGSTORE_ID_TOKEN", self.stack.mint_token(IDENTITY))
            .env("TUF_ROOT", self.tuf_root.path());
    }

    fn gitsign(&self, args: &[&str]) -> (i32, String, String) {
        let mut cmd = self.repo.gitsign();
        cmd.args(args);
        self.env(&mut cmd);
        output(&mut cmd)
    }

    fn initialize(&self, mirror: &str) -> (i32, String, String) {
        let root = self.stack.tuf_root_path();
        self.gitsign(&[
            "initialize",
            "--mirror",
            mirror,
            "--root",
            root.to_str().expect("test setup"),
        ])
    }

    /// `git commit -S`; stderr with gitsign's log appended (git 2.39 does not relay the
    /// signing program's stderr).
    fn commit(&self, message: &str) -> (i32, String, String) {
        self.commit_with(message, &[])
    }

    /// A commit signed with the stack's trusted root configured explicitly (no TUF): for
    /// setting up history without racing short-lived TUF metadata on a slow machine.
    fn commit_trusting_the_stack(&self, message: &str) -> String {
        let root = self.stack.trusted_root_path();
        let (code, _, err) =
            self.commit_with(message, &[("GITSIGN_TRUSTED_ROOT", root.as_os_str())]);
        assert_eq!(code, 0, "signing with an explicit trusted root: {err}");
        self.head()
    }

    fn commit_with(
        &self,
        message: &str,
        extra: &[(&str, &std::ffi::OsStr)],
    ) -> (i32, String, String) {
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

    /// Publish a fresh timestamp, then initialize from the stack's HTTP mirror.
    fn initialize_fresh(&self) {
        self.stack.tuf_apply(&Action::Refresh).expect("test setup");
        let (code, _, err) = self.initialize(&self.stack.tuf_mirror_url());
        assert_eq!(code, 0, "initialize: {err}");
    }

    /// Let the short-lived metadata cached so far expire; what the stack publishes from now
    /// on lasts a day, so slow test machines cannot race it.
    fn expire_cache(&self, ttl: Duration) {
        self.stack
            .set_tuf_timestamp_ttl(Duration::from_secs(86_400));
        std::thread::sleep(ttl + Duration::from_millis(1200));
    }

    fn head(&self) -> String {
        self.repo.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    fn verify(&self, rev: &str) -> (i32, String, String) {
        self.gitsign(&[
            "verify",
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
            &self.stack.oidc_issuer(),
            rev,
        ])
    }

    /// The cache directory of the stack's HTTP mirror.
    fn cache(&self) -> PathBuf {
        let mirror = self.stack.tuf_mirror_url();
        let name = mirror
            .trim_start_matches("http://")
            .replace(['/', ':'], "-")
            .to_lowercase();
        self.tuf_root.path().join("gitsign-rs").join(name)
    }

    fn tuf_requests(&self) -> u64 {
        self.stack
            .request_counts()
            .iter()
            .filter(|(k, _)| k.starts_with("GET /tuf/"))
            .map(|(_, v)| v)
            .sum()
    }
}

fn json_file(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).expect("the file exists")).expect("the file is JSON")
}

#[test]
fn initialize_then_sign_and_verify_with_no_trusted_root_configured() {
    let e = Env::new(None);
    // Without initialize the embedded public-good root applies: the stack is not trusted,
    // and nothing tries to reach a TUF mirror.
    let (code, _, err) = e.commit("before initialize");
    assert_ne!(
        code, 0,
        "public-good trust must not accept the stack: {err}"
    );
    assert_eq!(e.tuf_requests(), 0, "no TUF traffic before initialize");

    let (code, out, err) = e.initialize(&e.stack.tuf_mirror_url());
    assert_eq!(code, 0, "initialize must succeed: {err}");
    assert!(
        out.contains("Initialized TUF from") && out.contains("root version 1"),
        "initialize must say what it did: {out}"
    );
    assert!(
        e.cache().join("targets/trusted_root.json").exists(),
        "the trusted root target is cached"
    );
    let before = e.tuf_requests();

    let (code, _, err) = e.commit("signed with TUF trust");
    assert_eq!(
        code, 0,
        "signing with the TUF trusted root must work: {err}"
    );
    let (code, out, err) = e.verify("HEAD");
    assert_eq!(
        code, 0,
        "verification with the TUF trusted root must pass: {out}{err}"
    );
    assert!(
        !err.contains("warning"),
        "a fresh cache needs no note: {err}"
    );
    assert_eq!(
        e.tuf_requests(),
        before,
        "an unexpired cache works offline: no TUF request while signing and verifying"
    );

    // An explicit trusted root still wins over TUF.
    let mut cmd = e.repo.gitsign();
    cmd.args([
        "verify",
        "--certificate-identity",
        IDENTITY,
        "--certificate-oidc-issuer",
        &e.stack.oidc_issuer(),
        "HEAD",
    ]);
    e.env(&mut cmd);
    cmd.env(
        "GITSIGN_TRUSTED_ROOT",
        crate::util::data("trust/trusted_root.json"),
    );
    let (code, _, _) = output(&mut cmd);
    assert_ne!(
        code, 0,
        "GITSIGN_TRUSTED_ROOT (public-good) must override the TUF root"
    );
}

#[test]
fn a_file_mirror_initializes_for_air_gapped_sites() {
    let e = Env::new(None);
    let mirror = format!("file://{}", e.stack.tuf_repo_dir().display());
    let (code, out, err) = e.initialize(&mirror);
    assert_eq!(code, 0, "a file:// mirror must initialize: {out}{err}");
    assert_eq!(e.tuf_requests(), 0, "a file mirror needs no HTTP");
    let (code, _, err) = e.commit("signed with a file mirror");
    assert_eq!(code, 0, "signing must work: {err}");
    let (code, out, err) = e.verify("HEAD");
    assert_eq!(code, 0, "verification must pass: {out}{err}");

    let (code, _, err) = e.gitsign(&["initialize", "--mirror", "ftp://example.invalid"]);
    assert_eq!(code, 2, "an unsupported mirror is a usage error: {err}");
    assert!(err.contains("unsupported TUF mirror"), "{err}");
}

#[test]
fn a_refresh_follows_rotations_and_a_new_shard_and_old_commits_still_verify() {
    let ttl = Duration::from_secs(6);
    let e = Env::new(Some(ttl));
    let old = e.commit_trusting_the_stack("before the rotation");
    e.initialize_fresh();

    e.stack.set_tuf_timestamp_ttl(Duration::from_secs(86_400));
    for role in ["root", "timestamp", "snapshot", "targets"] {
        e.stack
            .tuf_apply(&Action::RotateKey(role.into()))
            .expect("test setup");
    }
    e.stack
        .tuf_apply(&Action::AddRekorV2Shard)
        .expect("test setup");
    // The cached timestamp expires; the next command refreshes.
    e.expire_cache(ttl);
    e.stack.tuf_apply(&Action::Refresh).expect("test setup");
    let before = e.tuf_requests();
    let (code, out, err) = e.verify(&old);
    assert_eq!(
        code, 0,
        "the old commit verifies after the refresh: {out}{err}"
    );
    assert!(!err.contains("warning"), "the refresh must succeed: {err}");
    assert!(e.tuf_requests() > before, "expired metadata is refreshed");
    assert_eq!(
        json_file(&e.cache().join("root.json"))["signed"]["version"],
        5,
        "the client walked four root rotations"
    );
    let trusted = json_file(&e.cache().join("targets/trusted_root.json"));
    assert_eq!(
        trusted["tlogs"].as_array().expect("test setup").len(),
        3,
        "the new shard's key is in the refreshed trusted root"
    );
    assert_eq!(
        trusted,
        e.stack.trusted_root_json(),
        "the cached trusted root is the stack's current one"
    );

    let (code, _, err) = e.commit("after the rotation");
    assert_eq!(code, 0, "signing after the rotation: {err}");
    let (code, out, err) = e.verify("HEAD");
    assert_eq!(code, 0, "the new commit verifies: {out}{err}");
}

#[test]
fn hostile_tuf_metadata_is_refused_and_the_cached_trust_stays() {
    let ttl = Duration::from_secs(6);
    let e = Env::new(Some(ttl));
    let good = e.commit_trusting_the_stack("signed while the mirror was honest");
    // initialize_fresh publishes a second timestamp version: a rollback to the first is one.
    e.initialize_fresh();
    let snapshot = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        [
            "root.json",
            "timestamp.json",
            "snapshot.json",
            "targets.json",
            "targets/trusted_root.json",
        ]
        .iter()
        .map(|f| {
            (
                f.to_string(),
                std::fs::read(dir.join(f)).expect("test setup"),
            )
        })
        .collect()
    };
    let cached = snapshot(&e.cache());

    let cases = [
        (Action::Rollback, "rolled back from version"),
        (Action::BadSignature, "0 valid signature(s), 1 required"),
        (Action::MixAndMatch, "mix-and-match"),
        (Action::Oversized, "larger than 16384 bytes"),
        (Action::ExpireTimestamp, "timestamp metadata expired"),
    ];
    for (i, (action, reason)) in cases.iter().enumerate() {
        if i > 0 {
            e.stack.tuf_apply(&Action::Refresh).expect("test setup");
        }
        e.stack.tuf_apply(action).expect("test setup");
        if i == 0 {
            // Let the metadata cached by initialize expire, so every command refreshes.
            e.expire_cache(ttl);
        }
        let (code, out, err) = e.verify(&good);
        assert_eq!(
            code, 0,
            "{action:?}: verification falls back to the cached trusted root: {out}{err}"
        );
        assert!(
            err.contains("warning: cannot refresh the TUF metadata")
                && err.contains(reason)
                && err.contains("verifying with the cached trusted root"),
            "{action:?}: the fallback must be said, with the reason '{reason}': {err}"
        );
        assert_eq!(
            err.matches("warning").count(),
            1,
            "{action:?}: said once: {err}"
        );
        assert_eq!(
            snapshot(&e.cache()),
            cached,
            "{action:?}: the cached trust must be left intact"
        );
        let (code, _, err) = e.commit("must not be signed");
        assert_ne!(
            code, 0,
            "{action:?}: signing with stale trust must be refused"
        );
        assert!(
            err.contains("TUF trusted root is out of date") && err.contains(reason),
            "{action:?}: the refusal must say why: {err}"
        );
        assert!(err.contains("Hint:"), "{action:?}: with a hint: {err}");
        assert_eq!(e.head(), good, "{action:?}: no unsigned commit recorded");
    }

    // Once the mirror is honest again, a refresh succeeds and signing works.
    e.stack.tuf_apply(&Action::Refresh).expect("test setup");
    let (code, _, err) = e.commit("signed after the mirror recovered");
    assert_eq!(code, 0, "signing after recovery: {err}");
    assert!(
        !err.contains("warning"),
        "no fallback once refreshed: {err}"
    );
}

#[test]
fn signing_with_expired_metadata_and_no_mirror_is_refused_verification_falls_back() {
    let ttl = Duration::from_secs(6);
    let e = Env::new(Some(ttl));
    e.commit_trusting_the_stack("signed online");
    e.initialize_fresh();
    e.expire_cache(ttl);
    // The mirror goes away (the TUF service answers 503 from now on).
    e.stack.set_faults(
        sigstore_local::Service::Tuf,
        sigstore_local::Faults {
            status: Some(503),
            ..Default::default()
        },
    );
    let (code, out, err) = e.verify("HEAD");
    assert_eq!(code, 0, "verification falls back to the cache: {out}{err}");
    assert!(
        err.contains("verifying with the cached trusted root"),
        "{err}"
    );
    // Regression: every process waited on the failing mirror again. The failure is
    // remembered: the next verification does not ask the mirror, and says so.
    let before = e.tuf_requests();
    let (code, out, err) = e.verify("HEAD");
    assert_eq!(code, 0, "still verified from the cache: {out}{err}");
    assert_eq!(
        e.tuf_requests(),
        before,
        "a mirror that just failed is not asked again by the next process"
    );
    assert!(
        err.contains("not retried for another") && err.contains("HTTP 503"),
        "the note says the mirror is not retried, and why: {err}"
    );
    // Regression: version showed the signing config of this expired, unrefreshable cache
    // as current.
    let (code, out, err) = e.gitsign(&["version"]);
    assert_eq!(code, 0, "version answers: {out}{err}");
    assert!(
        out.contains("signing config: TUF") && out.contains("(stale: cannot refresh"),
        "version says the signing config is stale, and why: {out}"
    );
    let (code, _, err) = e.commit("must not be signed");
    assert_eq!(code, 128, "git reports the refused signature: {err}");
    assert!(
        err.contains("cannot sign: the TUF trusted root is out of date")
            && err.contains("HTTP 503"),
        "{err}"
    );
    // With no cache at all, a configured mirror's trust is not replaced by the embedded
    // public-good root: verification cannot decide, and says why.
    std::fs::remove_dir_all(e.cache()).expect("test setup");
    let (code, _, err) = e.verify("HEAD");
    assert_eq!(
        code, 2,
        "no trust to verify with is 'could not decide': {err}"
    );
    assert!(
        err.contains("the embedded public-good root does not stand in for a configured mirror")
            && !err.contains("verifying with the embedded trusted root"),
        "{err}"
    );
    e.stack.clear_faults();
}

/// Overwrite every published copy of target `name` (`targets/<sha256>.<name>`) with `bytes`,
/// or remove them when `bytes` is `None`.
fn tamper_target(e: &Env, name: &str, bytes: Option<&[u8]>) {
    let dir = e.stack.tuf_repo_dir().join("targets");
    let mut hit = 0;
    for entry in std::fs::read_dir(&dir).expect("test setup") {
        let path = entry.expect("test setup").path();
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
        if file.ends_with(&format!(".{name}")) {
            hit += 1;
            match bytes {
                Some(b) => std::fs::write(&path, b).expect("test setup"),
                None => std::fs::remove_file(&path).expect("test setup"),
            }
        }
    }
    assert!(hit > 0, "the mirror publishes {name}");
}

/// Regression: a signing config the verified targets list but the mirror withholds or serves
/// tampered was reported as "publishes no signing config", and signing used default URLs.
#[test]
fn a_tampered_signing_config_is_not_reported_as_absent() {
    let e = Env::new(None);
    e.stack.tuf_apply(&Action::Refresh).expect("test setup");
    tamper_target(
        &e,
        "signing_config.v0.2.json",
        Some(b"{\"tampered\": true}"),
    );
    let (code, out, err) = e.initialize(&e.stack.tuf_mirror_url());
    assert_eq!(
        code, 0,
        "the trusted root is fine, initialize succeeds: {out}{err}"
    );
    assert!(
        !err.contains("publishes no"),
        "a listed signing config is not absent: {err}"
    );
    assert!(
        err.contains("lists signing_config.v0.2.json but it cannot be used")
            && err.contains("pinned"),
        "the warning names the real cause (the pinned length or hash): {err}"
    );
    let (code, out, err) = e.gitsign(&["version"]);
    assert_eq!(code, 0, "version still answers: {out}{err}");
    assert!(
        out.contains("signing config: unusable")
            && out.contains("lists signing_config.v0.2.json but it cannot be used"),
        "version reports the signing config unusable, with the cause: {out}"
    );
    assert!(
        !out.contains("the mirror has none"),
        "version must not call it absent: {out}"
    );
}

/// Regression: a failed `gitsign initialize` re-run deleted the previous verified cache.
#[test]
fn a_failed_initialize_rerun_keeps_the_previous_cache() {
    let e = Env::new(None);
    e.initialize_fresh();
    let before = std::fs::read(e.cache().join("targets/trusted_root.json")).expect("cached");
    e.stack
        .tuf_apply(&Action::ExpireTimestamp)
        .expect("test setup");
    let (code, _, err) = e.initialize(&e.stack.tuf_mirror_url());
    assert_eq!(code, 2, "initialize from a frozen mirror fails: {err}");
    assert!(
        err.contains("expired") && err.contains("clock") && err.contains("frozen"),
        "the hint names the likely cause of expired metadata (clock, frozen mirror): {err}"
    );
    assert_eq!(
        std::fs::read(e.cache().join("targets/trusted_root.json")).ok(),
        Some(before),
        "the previous verified cache is still in place"
    );
    let stray: Vec<_> = std::fs::read_dir(e.tuf_root.path().join("gitsign-rs"))
        .expect("test setup")
        .filter_map(|d| d.ok())
        .map(|d| d.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".new") || n.contains(".old"))
        .collect();
    assert!(stray.is_empty(), "no half-built cache is left: {stray:?}");
}

/// Regression: after a validly signed update, a failing `trusted_root.json` download made
/// verification fall back to the embedded public-good root (the new targets.json was already
/// cached and no longer matched the cached trusted root).
#[test]
fn a_failed_trusted_root_download_keeps_the_cached_trust() {
    let ttl = Duration::from_secs(6);
    let e = Env::new(Some(ttl));
    let good = e.commit_trusting_the_stack("signed before the update");
    e.initialize_fresh();
    let cached_targets = std::fs::read(e.cache().join("targets.json")).expect("cached");
    // A new shard changes trusted_root.json: new, validly signed targets metadata.
    e.stack
        .tuf_apply(&Action::AddRekorV2Shard)
        .expect("test setup");
    e.expire_cache(ttl);
    e.stack.tuf_apply(&Action::Refresh).expect("test setup");
    tamper_target(&e, "trusted_root.json", None);
    let (code, out, err) = e.verify(&good);
    assert_eq!(
        code, 0,
        "verification uses the cached trusted root of the mirror: {out}{err}"
    );
    assert!(
        err.contains("verifying with the cached trusted root") && !err.contains("embedded"),
        "never the embedded public-good root for a configured mirror: {err}"
    );
    assert_eq!(
        std::fs::read(e.cache().join("targets.json")).ok(),
        Some(cached_targets),
        "new metadata is committed only together with the targets it vouches for"
    );
}

/// `gitsign version` shows the embedded TUF root's version and expiry (read here from the
/// asset itself) and the embedded trusted root's newest key.
#[test]
fn version_shows_the_embedded_trust() {
    let asset = json_file(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/assets/public-good-tuf-root.json"),
    );
    let version = asset["signed"]["version"]
        .as_u64()
        .expect("the asset has a version");
    let expires = asset["signed"]["expires"]
        .as_str()
        .expect("the asset has an expiry");
    let repo = TestRepo::new();
    let (code, out, err) = output(repo.gitsign().arg("version"));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!(
            "embedded TUF root: version {version}, expires {expires}"
        )),
        "the embedded root's version and expiry: {out}"
    );
    assert!(
        out.contains("embedded trusted root: newest key valid from 20"),
        "the embedded trusted root's newest key: {out}"
    );
    let (code, out, err) = output(repo.gitsign().args(["version", "--json"]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON output");
    assert_eq!(
        v["embeddedTrust"]["tufRootVersion"].as_u64(),
        Some(version),
        "JSON carries it too: {out}"
    );
}

/// Regression: text from TUF metadata, an unverified `timestamp.json`'s fields included,
/// reached the terminal unescaped.
#[test]
fn text_from_unverified_metadata_is_escaped() {
    let ttl = Duration::from_secs(6);
    let e = Env::new(Some(ttl));
    let good = e.commit_trusting_the_stack("signed while the mirror was honest");
    e.initialize_fresh();
    e.expire_cache(ttl);
    let hostile = serde_json::json!({
        "signed": {"_type": "time\u{1b}[2J\u{1b}[31mstamp", "spec_version": "1.0",
                   "version": 99, "expires": "2099-01-01T00:00:00Z", "meta": {}},
        "signatures": []
    });
    std::fs::write(
        e.stack.tuf_repo_dir().join("timestamp.json"),
        hostile.to_string(),
    )
    .expect("test setup");
    let (code, out, err) = e.verify(&good);
    assert_eq!(code, 0, "falls back to the cached trust: {out}{err}");
    assert!(
        err.contains("not valid TUF metadata"),
        "the refusal is reported: {err}"
    );
    assert!(
        !err.contains('\u{1b}') && !out.contains('\u{1b}'),
        "no escape character from the mirror reaches the terminal: {err:?}"
    );
}

/// The runtime cache validity (`gitsign.tufCacheValidity`, one day by default): an unexpired
/// cache is refreshed once it is older than that, and a failing refresh keeps the valid cache.
#[test]
fn the_cache_is_refreshed_after_its_validity_and_kept_when_that_fails() {
    let e = Env::new(None);
    e.initialize_fresh();
    let verify_with = |validity: &str| {
        let mut cmd = e.repo.gitsign();
        cmd.args([
            "verify",
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
            &e.stack.oidc_issuer(),
            "HEAD",
        ]);
        e.env(&mut cmd);
        cmd.env("GITSIGN_TUF_CACHE_VALIDITY", validity);
        output(&mut cmd)
    };
    let (code, _, err) = e.commit("signed with TUF trust");
    assert_eq!(code, 0, "{err}");
    let before = e.tuf_requests();
    let (code, out, err) = verify_with("86400");
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(e.tuf_requests(), before, "within a day: no TUF request");
    let (code, out, err) = verify_with("0");
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        e.tuf_requests() > before,
        "validity 0: the unexpired cache is refreshed"
    );
    assert!(
        !err.contains("warning"),
        "a refresh that works is silent: {err}"
    );
    e.stack.set_faults(
        sigstore_local::Service::Tuf,
        sigstore_local::Faults {
            status: Some(503),
            ..Default::default()
        },
    );
    let (code, out, err) = verify_with("0");
    e.stack.clear_faults();
    assert_eq!(code, 0, "the valid cache still verifies: {out}{err}");
    assert!(
        err.contains("using the cached metadata, valid until") && err.contains("HTTP 503"),
        "the failed refresh is said, with its cause: {err}"
    );
    let (code, out, err) = verify_with("soon");
    assert_eq!(
        code, 2,
        "an invalid value is a configuration error: {out}{err}"
    );
    assert!(
        err.contains("GITSIGN_TUF_CACHE_VALIDITY"),
        "the error names the source: {err}"
    );
}

/// Regression: every initialize failure hinted "check the --mirror URL and the network",
/// also when the --root file was the problem.
#[test]
fn an_unusable_initial_root_is_blamed_on_the_root_file() {
    let e = Env::new(None);
    let bad = e.tuf_root.path().join("not-a-root.json");
    let mut root = json_file(&e.stack.tuf_root_path());
    // Same content, but the root role's only key is now one gitsign cannot read.
    for (_, key) in root["signed"]["keys"]
        .as_object_mut()
        .expect("test setup")
        .iter_mut()
    {
        key["keyval"]["public"] = "not a key".into();
    }
    std::fs::write(&bad, root.to_string()).expect("test setup");
    let (code, _, err) = e.gitsign(&[
        "initialize",
        "--mirror",
        &e.stack.tuf_mirror_url(),
        "--root",
        bad.to_str().expect("test setup"),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("initial root.json is not usable")
            && err.contains("the --root file")
            && !err.contains("check the --mirror URL"),
        "the hint names the --root file, not the network: {err}"
    );
    assert_eq!(
        e.tuf_requests(),
        0,
        "nothing is fetched with an unusable root"
    );
}

/// Regression (hostile review): `attest` signed with stale TUF trust it could not refresh,
/// where commit signing refuses. It must refuse the same way, before anything is logged.
#[test]
fn attest_with_expired_metadata_and_no_mirror_is_refused_as_signing_is() {
    let ttl = Duration::from_secs(6);
    let e = Env::new(Some(ttl));
    e.commit_trusting_the_stack("to attest");
    e.initialize_fresh();
    e.expire_cache(ttl);
    e.stack.set_faults(
        sigstore_local::Service::Tuf,
        sigstore_local::Faults {
            status: Some(503),
            ..Default::default()
        },
    );
    let logged = e.stack.log_size();
    let predicate = e.tuf_root.path().join("provenance.json");
    std::fs::write(&predicate, "{\"built\":true}").expect("test setup");
    let (code, _, err) = e.gitsign(&[
        "attest",
        "-f",
        predicate.to_str().expect("utf8 path"),
        "--type",
        "https://slsa.dev/provenance/v1",
    ]);
    assert_ne!(code, 0, "attesting with stale trust must be refused: {err}");
    assert!(
        err.contains("cannot sign: the TUF trusted root is out of date")
            && err.contains("HTTP 503"),
        "the reason is said as for commits: {err}"
    );
    assert_eq!(e.stack.log_size(), logged, "nothing was logged");
    let (code, _, _) = output(e.repo.cmd("git").args([
        "rev-parse",
        "-q",
        "--verify",
        "refs/attestations/commits",
    ]));
    assert_ne!(code, 0, "nothing was stored");
    e.stack.clear_faults();
}
