//! Real history: every commit of two public repositories whose contributors sign with Go
//! gitsign against public-good Sigstore (`tests/data/real-history/`), verified with
//! `gitsign verify --all` and each verdict compared with the independent checker's manifest:
//! all 3,492 signed commits good with the manifest's identity and issuer, every other commit
//! (unsigned, OpenPGP, SSH) not good. These are the certificates public-good Fulcio issues
//! (P-384 intermediate, SHA-384 leaf signatures), thousands of distinct leaves.
//!
//! The signatures were made in Go gitsign's default online mode and embed no log entry, so the
//! signing-time proof is waived with `--insecure-ignore-tlog` (checked at notBefore + 60 s, as
//! Go gitsign does) and `--offline` keeps the run off the network.

use std::collections::BTreeMap;
use std::path::Path;

use crate::util::{data, hermetic, output};

/// The manifest's expectation for one signed commit.
struct Expected {
    identity: String,
    issuer: String,
}

fn manifest(name: &str) -> BTreeMap<String, Expected> {
    let path = data(&format!("real-history/{name}.manifest.jsonl"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{name} manifest line {line}: {e}"));
            let field = |k: &str| {
                v[k].as_str()
                    .unwrap_or_else(|| panic!("{name} manifest: no {k} in {line}"))
                    .to_owned()
            };
            assert_eq!(v["ok"], true, "every manifest verdict is good: {line}");
            (
                field("sha"),
                Expected {
                    identity: field("identity"),
                    issuer: field("issuer"),
                },
            )
        })
        .collect()
}

/// Copy `tests/data/real-history/NAME.git` into `dir`, adding the `refs/` directory git needs
/// and cannot keep in a tree while it is empty (all refs are in `packed-refs`).
pub(crate) fn lay_out(name: &str, dir: &Path) -> std::path::PathBuf {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("create dir");
        for entry in std::fs::read_dir(from).expect("read fixture dir") {
            let entry = entry.expect("dir entry");
            let target = to.join(entry.file_name());
            if entry.file_type().expect("file type").is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).expect("copy fixture file");
            }
        }
    }
    let repo = dir.join(format!("{name}.git"));
    copy(&data(&format!("real-history/{name}.git")), &repo);
    std::fs::create_dir_all(repo.join("refs/heads")).expect("refs dir");
    std::fs::create_dir_all(repo.join("refs/tags")).expect("refs dir");
    repo
}

/// `gitsign verify --all` in `repo` as the manifest was made: offline, the time check waived,
/// any identity, JSON lines; with `extra` arguments.
fn verify_all(home: &Path, repo: &Path, extra: &[&str]) -> (i32, String, String) {
    output(
        hermetic(crate::util::gitsign_bin(), home)
            .current_dir(repo)
            .env("GITSIGN_TRUSTED_ROOT", data("trust/trusted_root.json"))
            .args([
                "verify",
                "--all",
                "--offline",
                "--insecure-ignore-tlog",
                "--format",
                "json",
                "--certificate-identity-regexp",
                ".",
                "--certificate-oidc-issuer-regexp",
                ".",
            ])
            .args(extra),
    )
}

fn check(name: &str, signed: usize, total: usize) {
    let expected = manifest(name);
    assert_eq!(expected.len(), signed, "{name}: manifest size");
    let home = tempfile::tempdir().expect("home");
    let repo = lay_out(name, home.path());
    let (code, out, err) = verify_all(home.path(), &repo, &[]);
    // Unsigned and foreign-format commits make the range's answer negative.
    assert_eq!(
        code, 1,
        "{name}: exit code with unsigned commits present: {err}"
    );
    let mut seen = 0;
    let mut lines = 0;
    for line in out.lines() {
        lines += 1;
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}: {line}: {e}"));
        let sha = v["sha"].as_str().expect("sha");
        let verdict = v["verdict"].as_str().expect("verdict");
        match expected.get(sha) {
            Some(want) => {
                seen += 1;
                assert_eq!(verdict, "good", "{name} {sha}: {line}");
                assert_eq!(
                    v["identity"],
                    want.identity.as_str(),
                    "{name} {sha} identity"
                );
                assert_eq!(v["issuer"], want.issuer.as_str(), "{name} {sha} issuer");
            }
            None => assert_ne!(
                verdict, "good",
                "{name} {sha}: not gitsign-signed per the manifest, yet good: {line}"
            ),
        }
    }
    assert_eq!(lines, total, "{name}: one verdict per commit");
    assert_eq!(seen, signed, "{name}: every signed commit verified");
}

#[test]
fn malcontent_every_signed_commit_is_good_as_the_manifest_says() {
    check("malcontent", 2_203, 5_440);
}

#[test]
fn wolfictl_every_signed_commit_is_good_as_the_manifest_says() {
    check("wolfictl", 1_289, 4_118);
}

/// The progress total: counted from the commit-graph alone, equal to what `git rev-list
/// --count` says for `--all` and for a range; no total without a commit-graph.
#[test]
fn commit_graph_counts_match_git_rev_list() {
    use gitsign::git::repo::Repo;
    let home = tempfile::tempdir().expect("home");
    let repo = lay_out("wolfictl", home.path());
    let git = |args: &[&str]| {
        let (code, out, err) = output(hermetic("git", home.path()).current_dir(&repo).args(args));
        assert_eq!(code, 0, "git {args:?}: {err}");
        out.trim().to_owned()
    };
    let count = |specs: &[&str]| {
        let r = Repo::discover(&repo).expect("open repository");
        let specs: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
        r.count_with_commit_graph(&r.select(&specs).expect("select"))
    };
    assert_eq!(count(&["--all"]), None, "no commit-graph, no total");
    git(&["commit-graph", "write", "--reachable"]);
    let all: usize = git(&["rev-list", "--all", "--count"])
        .parse()
        .expect("count");
    assert_eq!(all, 4_118, "git's own count of the fixture");
    assert_eq!(count(&["--all"]), Some(all), "--all");
    // HEAD names a branch the fixture does not carry; take the newest ref.
    let head = git(&[
        "for-each-ref",
        "--sort=-committerdate",
        "--count=1",
        "--format=%(objectname)",
    ]);
    let older = git(&["rev-list", "--max-count=1", "--skip=50", &head]);
    let range = format!("{older}..{head}");
    let want: usize = git(&["rev-list", "--count", &range])
        .parse()
        .expect("count");
    assert_eq!(count(&[&range]), Some(want), "{range}");
    assert_eq!(count(&[&head]), Some(1), "a single commit");
}

/// `gitsign policy init` over a real history: the identity/issuer pairs it proposes are the
/// independent manifest's (workflow identities grouped by workflow), and under the proposal
/// `gitsign verify --policy` admits every signed commit.
#[test]
fn policy_init_proposes_the_manifests_signers_and_verify_admits_them_all() {
    let name = "malcontent";
    let expected = manifest(name);
    let pairs: std::collections::BTreeSet<(String, String)> = expected
        .values()
        .map(|e| {
            let id = match e.identity.split_once("@refs/") {
                Some((workflow, _)) if e.identity.starts_with("https://") => format!("{workflow}@"),
                _ => e.identity.clone(),
            };
            (id, e.issuer.clone())
        })
        .collect();
    let home = tempfile::tempdir().expect("home");
    let repo = lay_out(name, home.path());
    let gitsign = |args: &[&str]| {
        output(
            hermetic(crate::util::gitsign_bin(), home.path())
                .current_dir(&repo)
                .env("GITSIGN_TRUSTED_ROOT", data("trust/trusted_root.json"))
                .args(args),
        )
    };
    let (code, proposal, err) = gitsign(&[
        "policy",
        "init",
        "--offline",
        "--insecure-ignore-tlog",
        "--from=--all",
        "--ref",
        "refs/*",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!(
            "proposed {} identity/issuer pair(s) from {} verified commit(s)",
            pairs.len(),
            expected.len()
        )),
        "{} pairs in the manifest: {err}",
        pairs.len()
    );
    let file = home.path().join("proposal.toml");
    std::fs::write(&file, &proposal).expect("write proposal");
    let (code, out, err) = gitsign(&[
        "verify",
        "--all",
        "--offline",
        "--insecure-ignore-tlog",
        "--ref",
        "refs/heads/main",
        "--policy",
        file.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(code, 1, "unsigned commits remain bad: {err}");
    assert_eq!(
        out.lines()
            .filter(|l| l.ends_with(" authority signers"))
            .count(),
        expected.len(),
        "every signed commit is admitted by the proposal"
    );
    assert!(
        err.contains(&format!(
            "authorities: signers {}; admitted by none: 0",
            expected.len()
        )),
        "{err}"
    );
}

/// The walk answers from the commit-graph when there is one (ref tips and parents are not
/// read): the same commits in the same order as without it, also when the graph is stale
/// (commits made since it was written); and they are the commits `git rev-list --all` lists.
#[test]
fn the_walk_with_a_commit_graph_lists_what_it_lists_without() {
    let home = tempfile::tempdir().expect("home");
    let repo = lay_out("wolfictl", home.path());
    let git = |args: &[&str]| -> String {
        let (code, out, err) = output(hermetic("git", home.path()).current_dir(&repo).args(args));
        assert_eq!(code, 0, "git {args:?}: {err}");
        out.trim().to_owned()
    };
    let walked = || -> Vec<String> {
        let (code, out, err) = verify_all(home.path(), &repo, &["--no-facts"]);
        assert_eq!(code, 1, "{err}");
        out.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("json line");
                v["sha"].as_str().expect("sha").to_owned()
            })
            .collect()
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let plain = walked();
    let listed: Vec<String> = git(&["rev-list", "--all"])
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(sorted(plain.clone()), sorted(listed), "git's commits");
    git(&["commit-graph", "write", "--reachable"]);
    assert!(repo.join("objects/info/commit-graph").is_file());
    assert_eq!(walked(), plain, "with a commit-graph: the same walk");

    // Commits made since the graph was written: on main, and a new branch off one of them.
    let empty = git(&["mktree"]);
    let main = git(&["rev-parse", "main"]);
    let one = git(&["commit-tree", &empty, "-p", &main, "-m", "after the graph"]);
    let two = git(&[
        "commit-tree",
        &empty,
        "-p",
        &one,
        "-m",
        "after the graph, again",
    ]);
    git(&["update-ref", "refs/heads/main", &two]);
    git(&["update-ref", "refs/heads/side", &one]);
    let stale = walked();
    assert_eq!(stale.len(), plain.len() + 2, "the new commits are walked");
    assert!(stale.contains(&one) && stale.contains(&two));
    std::fs::remove_file(repo.join("objects/info/commit-graph")).expect("remove graph");
    assert_eq!(walked(), stale, "a stale graph: the same walk as none");
}

/// Every object of both real histories' packs, read as the walk reads them (straight from the
/// packs, each delta chain inflated once, `gitsign::git::packs`), is byte for byte what
/// `git cat-file --batch` gives, with the same type.
#[test]
fn objects_read_from_the_packs_are_what_git_reads() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["wolfictl", "malcontent"] {
        let repo = lay_out(name, dir.path());
        let local = gix::open(&repo).expect("open");
        let packs = gitsign::git::packs::Packs::open(&local);
        let ids: Vec<gix::ObjectId> = std::fs::read_dir(repo.join("objects/pack"))
            .expect("pack dir")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "idx"))
            .flat_map(|idx| {
                gix::odb::pack::index::File::at(&idx, gix::hash::Kind::Sha1)
                    .expect("index")
                    .iter()
                    .map(|e| e.oid)
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(ids.len() > 1000, "{name}: {} objects", ids.len());
        let mut git = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(&repo)
            .args(["cat-file", "--batch"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("git cat-file runs");
        let mut stdin = git.stdin.take().expect("stdin");
        let list: String = ids.iter().map(|id| format!("{id}\n")).collect();
        let writer = std::thread::spawn(move || stdin.write_all(list.as_bytes()));
        let out = git.wait_with_output().expect("git cat-file output");
        writer.join().expect("writer").expect("ids written");
        let mut rest = &out.stdout[..];
        for id in &ids {
            let header_end = rest.iter().position(|&b| b == b'\n').expect("header");
            let header = std::str::from_utf8(&rest[..header_end]).expect("text");
            let mut fields = header.split(' ');
            assert_eq!(fields.next(), Some(id.to_string().as_str()), "{header}");
            let kind = fields.next().expect("type");
            let size: usize = fields.next().expect("size").parse().expect("a size");
            let body = &rest[header_end + 1..header_end + 1 + size];
            rest = &rest[header_end + 2 + size..];
            // The kind from the entries' headers alone (as `--all` tells commits from tags).
            assert_eq!(
                packs.kind(id).map(|k| k.to_string()).as_deref(),
                Some(kind),
                "{name}: {id}: kind from the headers"
            );
            let (got_kind, got) = packs
                .find(id)
                .unwrap_or_else(|| panic!("{name}: {id} not read"));
            assert_eq!(got_kind.to_string(), kind, "{name}: {id}");
            assert!(&got[..] == body, "{name}: {id}: other bytes than git's");
        }
    }
}
