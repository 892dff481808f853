//! The stack's TUF repository, checked by independent code: python-tuf's reference client
//! (`tuf.ngclient.Updater`, installed by `scripts/python-venv`) must fetch and verify it,
//! follow key rotations and a new Rekor v2 shard, and refuse what an attacker on the mirror
//! publishes.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sigstore_local::tuf::Action;
use sigstore_local::{Options, Stack};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Refresh with python-tuf from `mdir` and print both targets and the trusted root version.
const CLIENT: &str = r#"
import json, os, sys
from tuf.ngclient import Updater
mdir, tdir, mirror = sys.argv[1:4]
u = Updater(metadata_dir=mdir, metadata_base_url=mirror,
            target_base_url=mirror + "/targets/", target_dir=tdir)
try:
    u.refresh()
    out = {}
    for name in ("trusted_root.json", "signing_config.v0.2.json"):
        info = u.get_targetinfo(name)
        if info is None:
            raise SystemExit("error: no target " + name)
        with open(u.download_target(info), "rb") as f:
            out[name] = json.load(f)
    with open(os.path.join(mdir, "root.json"), "rb") as f:
        out["root_version"] = json.load(f)["signed"]["version"]
    print(json.dumps(out))
except Exception as e:
    print("error: %s: %s" % (type(e).__name__, e))
    sys.exit(1)
"#;

struct Client {
    python: PathBuf,
    mdir: PathBuf,
    tdir: PathBuf,
    mirror: String,
}

impl Client {
    fn new(stack: &Stack, dir: &Path) -> Client {
        let python = repo_root().join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/python-venv first (it installs python-tuf, the TUF client this test cross-checks with)",
            python.display()
        );
        let mdir = dir.join("metadata");
        let tdir = dir.join("targets");
        std::fs::create_dir_all(&mdir).unwrap();
        std::fs::create_dir_all(&tdir).unwrap();
        std::fs::copy(stack.tuf_root_path(), mdir.join("root.json")).unwrap();
        Client {
            python,
            mdir,
            tdir,
            mirror: stack.tuf_mirror_url(),
        }
    }

    /// Ok(targets) or Err(python-tuf's error line).
    fn refresh(&self) -> Result<Value, String> {
        let out = Command::new(&self.python)
            .arg("-c")
            .arg(CLIENT)
            .arg(&self.mdir)
            .arg(&self.tdir)
            .arg(&self.mirror)
            .output()
            .expect("python must run");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(serde_json::from_str(&text).unwrap())
        } else {
            Err(format!("{text}{}", String::from_utf8_lossy(&out.stderr)))
        }
    }
}

fn signing_config_on_disk(stack: &Stack) -> Value {
    let path = stack.state_dir().join("client_trust_config.json");
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["signingConfig"].clone()
}

#[test]
fn python_tuf_fetches_verifies_and_follows_the_stacks_repository() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(Options::new(dir.path().join("state"))).unwrap();
    let client = Client::new(&stack, dir.path());

    let got = client
        .refresh()
        .expect("python-tuf must accept the repository");
    assert_eq!(
        got["trusted_root.json"],
        stack.trusted_root_json(),
        "the TUF target must be the stack's trusted root"
    );
    assert_eq!(
        got["signing_config.v0.2.json"],
        signing_config_on_disk(&stack),
        "the TUF target must be the stack's signing config"
    );
    assert_eq!(got["root_version"], 1, "no rotation yet");
    let tlogs = |v: &Value| v["trusted_root.json"]["tlogs"].as_array().unwrap().len();
    assert_eq!(tlogs(&got), 2, "the Rekor v1 log and the first v2 shard");

    // Operators rotate every key and add a shard: the client walks the root versions.
    for role in ["root", "timestamp", "snapshot", "targets"] {
        stack.tuf_apply(&Action::RotateKey(role.into())).unwrap();
    }
    stack.tuf_apply(&Action::AddRekorV2Shard).unwrap();
    let got = client
        .refresh()
        .expect("python-tuf must follow the rotations");
    assert_eq!(got["root_version"], 5, "four rotations, four new roots");
    assert_eq!(tlogs(&got), 3, "the new shard must be published");
    assert_eq!(
        got["trusted_root.json"],
        stack.trusted_root_json(),
        "the refreshed target must be the stack's current trusted root"
    );
    let rekor = got["signing_config.v0.2.json"]["rekorTlogUrls"]
        .as_array()
        .unwrap();
    assert!(
        rekor[1]["validFor"]["end"].is_string() && rekor[2]["validFor"]["end"].is_null(),
        "the old shard's window must end and the new one stay open: {rekor:?}"
    );

    // What an attacker on the mirror could publish must be refused by someone else's client.
    let hostile = [
        (Action::BadSignature, "UnsignedMetadataError"),
        (Action::Rollback, "BadVersionNumberError"),
        (Action::MixAndMatch, "BadVersionNumberError"),
        (Action::Oversized, "DownloadLengthMismatchError"),
        (Action::ExpireTimestamp, "ExpiredMetadataError"),
    ];
    for (action, error) in hostile {
        stack.tuf_apply(&Action::Refresh).unwrap();
        client
            .refresh()
            .unwrap_or_else(|e| panic!("a refreshed repository must verify again: {e}"));
        stack.tuf_apply(&action).unwrap();
        let err = client
            .refresh()
            .expect_err(&format!("python-tuf must refuse {action:?}"));
        assert!(
            err.contains(error),
            "{action:?} must be refused with {error}, got: {err}"
        );
    }
}

#[test]
fn tuf_admin_endpoint_applies_actions_and_files_are_served_safely() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(Options::new(dir.path().join("state"))).unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let before = stack.tuf_version("root");
    let r = agent
        .post(&format!("{}/admin/tuf", stack.base_url()))
        .send_json(serde_json::json!({"action": "rotate_key", "role": "root"}))
        .unwrap();
    assert_eq!(r.status(), 200, "the admin action must succeed");
    assert_eq!(
        stack.tuf_version("root"),
        before + 1,
        "root must be rotated"
    );
    let r = agent
        .post(&format!("{}/admin/tuf", stack.base_url()))
        .send_json(serde_json::json!({"action": "melt"}))
        .unwrap();
    assert_eq!(r.status(), 400, "an unknown action is a bad request");
    for path in ["timestamp.json", "2.root.json", "1.snapshot.json"] {
        let r = agent
            .get(&format!("{}/{path}", stack.tuf_mirror_url()))
            .call()
            .unwrap();
        assert_eq!(r.status(), 200, "{path} must be served");
    }
    for path in [
        "../state.json",
        "..%2Fstate.json",
        "targets/../../state.json",
        "",
    ] {
        let r = agent
            .get(&format!("{}/{path}", stack.tuf_mirror_url()))
            .call()
            .unwrap();
        assert_eq!(r.status(), 404, "'{path}' must not escape the repository");
    }
    assert!(
        stack.request_count("GET /tuf/timestamp.json") >= 1,
        "TUF requests are counted per file"
    );
}
