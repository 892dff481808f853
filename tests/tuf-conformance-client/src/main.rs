//! gitsign's TUF client (`gitsign::tuf::updater`) behind the client protocol of the TUF
//! conformance suite (<https://github.com/theupdateframework/tuf-conformance>,
//! `CLIENT-CLI.md`): `init`, `refresh` and `download`, exit 0 on success and 1 on any failure.
//!
//! The metadata directory holds exactly the files the updater persists (`root.json`,
//! `timestamp.json`, …, delegated roles percent-encoded); the targets directory holds each
//! downloaded target under its percent-encoded target path, as python-tuf's client does.
//! `scripts/tuf-conformance` runs the suite against this binary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use gitsign::tuf::updater::{quote, Cache, Remote, Updater};
use gitsign::tuf::TufError;

const USAGE: &str = "usage: tuf-conformance-client --metadata-dir DIR [--metadata-url URL] \
[--target-name PATH --target-dir DIR --target-base-url URL] (init ROOT | refresh | download)";

#[derive(Default)]
struct Args {
    metadata_dir: Option<PathBuf>,
    metadata_url: Option<String>,
    target_name: Option<String>,
    target_dir: Option<PathBuf>,
    target_base_url: Option<String>,
    command: Vec<String>,
}

fn parse(argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args::default();
    let mut argv = argv.peekable();
    while let Some(a) = argv.next() {
        let mut value = |name: &str| argv.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--metadata-dir" => args.metadata_dir = Some(value(&a)?.into()),
            "--metadata-url" => args.metadata_url = Some(value(&a)?),
            "--target-name" => args.target_name = Some(value(&a)?),
            "--target-dir" => args.target_dir = Some(value(&a)?.into()),
            "--target-base-url" => args.target_base_url = Some(value(&a)?),
            s if s.starts_with("-v") => {}
            _ => args.command.push(a),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tuf-conformance-client: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tuf-conformance-client: {e}");
            ExitCode::from(1)
        }
    }
}

fn need<'a, T>(v: &'a Option<T>, name: &str) -> Result<&'a T, String> {
    v.as_ref()
        .ok_or_else(|| format!("{name} is required\n{USAGE}"))
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn run(args: &Args) -> Result<(), String> {
    let dir = need(&args.metadata_dir, "--metadata-dir")?;
    match args.command.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["init", root] => {
            // As the protocol allows: copy, no checks; the first refresh verifies it.
            std::fs::copy(root, dir.join("root.json"))
                .map(|_| ())
                .map_err(|e| format!("cannot copy '{root}': {e}"))
        }
        ["refresh"] => {
            let remote = HttpRemote::new(need(&args.metadata_url, "--metadata-url")?, None);
            let cache = DirCache {
                metadata: dir.clone(),
                targets: None,
            };
            updater(&remote, &cache)
                .refresh()
                .map(|_| ())
                .map_err(|e| chain(&e))
        }
        ["download"] => {
            let name = need(&args.target_name, "--target-name")?;
            let remote = HttpRemote::new(
                need(&args.metadata_url, "--metadata-url")?,
                Some(need(&args.target_base_url, "--target-base-url")?),
            );
            let cache = DirCache {
                metadata: dir.clone(),
                targets: Some(need(&args.target_dir, "--target-dir")?.clone()),
            };
            let up = updater(&remote, &cache);
            let mut trusted = up.refresh().map_err(|e| chain(&e))?;
            up.target(&mut trusted, name)
                .map(|_| ())
                .map_err(|e| chain(&e))
        }
        _ => Err(USAGE.to_owned()),
    }
}

fn updater<'a>(remote: &'a HttpRemote, cache: &'a DirCache) -> Updater<'a> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Updater { remote, cache, now }
}

struct HttpRemote {
    metadata: String,
    targets: Option<String>,
    http: gitsign::http::Http,
}

impl HttpRemote {
    fn new(metadata: &str, targets: Option<&String>) -> HttpRemote {
        HttpRemote {
            metadata: metadata.trim_end_matches('/').to_owned(),
            targets: targets.map(|t| t.trim_end_matches('/').to_owned()),
            http: gitsign::http::Http::new(Duration::from_secs(30)),
        }
    }

    fn get(&self, url: String, max_len: u64) -> Result<Option<Vec<u8>>, TufError> {
        let reply = self
            .http
            .get_limited(&url, max_len)
            .map_err(|source| TufError::Fetch {
                url: url.clone(),
                source,
            })?;
        match reply.status {
            200..=299 if reply.body.len() as u64 <= max_len => Ok(Some(reply.body)),
            200..=299 => Err(TufError::TooLarge {
                file: url,
                limit: max_len,
            }),
            403 | 404 => Ok(None),
            status => Err(TufError::Status { url, status }),
        }
    }
}

impl Remote for HttpRemote {
    fn fetch(&self, path: &str, max_len: u64) -> Result<Option<Vec<u8>>, TufError> {
        self.get(format!("{}/{path}", self.metadata), max_len)
    }

    fn fetch_target(&self, path: &str, max_len: u64) -> Result<Option<Vec<u8>>, TufError> {
        match &self.targets {
            Some(base) => self.get(format!("{base}/{path}"), max_len),
            None => Ok(None),
        }
    }
}

/// Metadata in the metadata directory, targets (when downloading) in the targets directory.
struct DirCache {
    metadata: PathBuf,
    targets: Option<PathBuf>,
}

impl DirCache {
    fn path(&self, name: &str) -> Option<PathBuf> {
        match name.strip_prefix("targets/") {
            Some(t) => Some(self.targets.as_ref()?.join(quote(t))),
            None => Some(self.metadata.join(name)),
        }
    }
}

impl Cache for DirCache {
    fn read(&self, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.path(name)?).ok()
    }

    fn write(&self, name: &str, bytes: &[u8]) -> Result<(), TufError> {
        let Some(path) = self.path(name) else {
            return Ok(());
        };
        write(&path, bytes)
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), TufError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|source| TufError::Io {
            path: path.to_owned(),
            source,
        })
}
