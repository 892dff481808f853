//! The kept-facts file: an append-only log of checksummed records, read whole into a map.
//!
//! One record a line: `<checksum, 8 hex> <key, 64 hex> <value>\n`, the value one line of text
//! (compact JSON never holds a raw newline), the checksum CRC-32 over a tag, the key and the
//! value. The last record of a key wins. The checksum catches damage (a torn or garbled
//! record), not a writer: anyone who can write the git directory can write any checksum, and
//! rewrite the objects the facts are about too.
//!
//! Concurrency: a batch of records goes to the file in one `write(2)` on an `O_APPEND`
//! descriptor, so the kernel puts each batch at the end whole: two writers interleave whole
//! batches, never bytes, and neither loses the other's records. A reader that meets a last
//! line without its newline (a write in progress, or a crash in the middle of one) skips it.
//!
//! Damage: a complete line that is not a well-formed record with its checksum means the file
//! is not what we wrote; the whole store is then ignored (one warning, returned) and removed,
//! and the next verifications write it again. A file of the earlier layout (records with a
//! 16-digit checksum) is removed without a warning, its facts verified again; such records
//! appended later (an older gitsign beside this one) are passed over. Bounds: the
//! file is opened without following a symlink, never waited on (a FIFO is refused), and read
//! up to [`MAX_BYTES`]; a larger one is treated as damaged.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The largest store read; a larger file is rebuilt. Real facts average ~650 bytes (a
/// Sigstore signer's ~1.1 KB, an unsigned or OpenPGP commit's ~300): about 400,000 facts, a
/// history of 100,000 commits several times over (trust roots and key sets change).
pub const MAX_BYTES: u64 = 256 * 1024 * 1024;

/// A record's key: SHA-256 over what the fact is about and what it depended on.
pub type Key = [u8; 32];

const CHECKSUM_TAG: &[u8] = b"gitsign kept fact v2\0";

/// Where a record's parts lie in its line: checksum, key and value, a space between each.
const SUM_HEX: usize = 8;
const KEY_AT: usize = SUM_HEX + 1;
const VALUE_AT: usize = KEY_AT + 64 + 1;

fn checksum(key_hex: &[u8], value: &[u8]) -> [u8; 4] {
    let mut h = crc32fast::Hasher::new();
    h.update(CHECKSUM_TAG);
    h.update(key_hex);
    h.update(b" ");
    h.update(value);
    h.finalize().to_be_bytes()
}

/// One line of the file, newline included.
pub fn record(key: &Key, value: &str) -> Vec<u8> {
    let key_hex = crate::encoding::hex(key);
    let sum = crate::encoding::hex(&checksum(key_hex.as_bytes(), value.as_bytes()));
    let mut line = Vec::with_capacity(VALUE_AT + value.len() + 1);
    line.extend_from_slice(sum.as_bytes());
    line.push(b' ');
    line.extend_from_slice(key_hex.as_bytes());
    line.push(b' ');
    line.extend_from_slice(value.as_bytes());
    line.push(b'\n');
    line
}

/// The key's hex digits of a line laid out as a record (checked or not).
fn key_hex(line: &[u8]) -> Option<&[u8]> {
    line.get(KEY_AT..VALUE_AT - 1)
}

/// A complete line (without its newline) as (key, value); `None` when it is not a record.
/// The value is bytes: the file is checked as text once, whole ([`Store::open`]).
fn parse_line(line: &[u8]) -> Option<(Key, &[u8])> {
    let sum = line.get(..SUM_HEX)?;
    let key_hex = key_hex(line)?;
    if line.get(SUM_HEX) != Some(&b' ') || line.get(VALUE_AT - 1) != Some(&b' ') {
        return None;
    }
    let value = line.get(VALUE_AT..)?;
    let mut want = [0; 4];
    crate::encoding::unhex_lower_into(sum, &mut want)?;
    if checksum(key_hex, value) != want {
        return None;
    }
    let mut key: Key = [0; 32];
    crate::encoding::unhex_lower_into(key_hex, &mut key)?;
    Some((key, value))
}

/// Whether `line` is a record of the layout before this one (a 16-digit checksum): such a
/// file is dropped quietly, its facts verified again.
fn earlier_layout(line: &[u8]) -> bool {
    line.get(16) == Some(&b' ')
        && line.get(81) == Some(&b' ')
        && line
            .get(..16)
            .is_some_and(|s| s.iter().all(u8::is_ascii_hexdigit))
}

/// A record's key and where its value lies in the text read.
type Located = (Key, std::ops::Range<usize>);

/// Every line of `text` (complete lines, newlines between them) as its key and where its
/// value lies in `text`, on every core; `None` if one is not a record. A record of the
/// earlier layout (another version of gitsign appending to this file) is passed over
/// (`Some(None)`).
fn parse_lines(text: &[u8]) -> Option<Vec<Option<Located>>> {
    use rayon::prelude::*;
    let base = text.as_ptr() as usize;
    // Newlines found a word at a time: one thread splits megabytes before the lines go out.
    let mut lines: Vec<&[u8]> = Vec::with_capacity(text.len() / 256);
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', text) {
        lines.push(&text[start..end]);
        start = end + 1;
    }
    lines.push(&text[start..]);
    lines
        .par_iter()
        .map(|line| match parse_line(line) {
            Some((key, value)) => {
                let start = value.as_ptr() as usize - base;
                Some(Some((key, start..start + value.len())))
            }
            None if earlier_layout(line) => Some(None),
            None => None,
        })
        .collect()
}

/// The facts of one file, loaded.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    /// The file as read (complete lines, checked as text once): values are looked at where
    /// they lie, not copied out one by one.
    read: String,
    records: HashMap<Key, Value, KeyHash>,
    warning: Option<String>,
}

/// Keys are SHA-256 digests, evenly spread already: their first bytes are the hash.
type KeyHash = std::hash::BuildHasherDefault<KeyHasher>;

#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // A key hashes as its 32 bytes (after no length prefix: arrays have none); anything
        // else folds in byte by byte.
        for chunk in bytes.chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }
}

/// Where a record's value is: in the file as read, or added since.
#[derive(Debug, PartialEq, Eq)]
enum Value {
    Read(std::ops::Range<usize>),
    Added(String),
}

impl Store {
    fn value<'a>(&'a self, v: &'a Value) -> &'a str {
        match v {
            // A value lies between ASCII bytes (a space, a newline) of the text read.
            Value::Read(range) => self.read.get(range.clone()).unwrap_or_default(),
            Value::Added(s) => s,
        }
    }
}

impl Store {
    /// The store at `path` without reading it: to append to only.
    pub fn empty(path: &Path) -> Store {
        Store {
            path: path.to_owned(),
            read: String::new(),
            records: HashMap::default(),
            warning: None,
        }
    }

    /// Load the store at `path` (absent: empty). A damaged or oversized file is removed and
    /// the store starts empty, with [`Store::warning`] saying so.
    pub fn open(path: &Path) -> Store {
        let mut store = Store::empty(path);
        let bytes = match read_capped(path, MAX_BYTES) {
            Ok(Some(b)) => b,
            Ok(None) => return store,
            Err(why) => {
                store.discard(&why);
                return store;
            }
        };
        // Complete lines only: a last line without its newline is a write in progress,
        // skipped. The lines are checked on every core (a store of a long history is
        // megabytes of checksummed records), then kept in file order: the last of a key wins.
        let complete = match bytes.iter().rposition(|&b| b == b'\n') {
            Some(end) => &bytes[..end],
            None => return store,
        };
        let end = complete.len();
        // A file of the earlier layout: removed, to be written anew (not damage).
        if complete
            .split(|&b| b == b'\n')
            .next()
            .is_some_and(earlier_layout)
        {
            let _ = std::fs::remove_file(path);
            return store;
        }
        let Some(ranges) = parse_lines(complete) else {
            store.discard("a record does not match its checksum");
            return store;
        };
        let mut bytes = bytes;
        bytes.truncate(end);
        store.read = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => {
                store.discard("a record is not text");
                return store;
            }
        };
        store.records.reserve(ranges.len());
        for (key, range) in ranges.into_iter().flatten() {
            store.records.insert(key, Value::Read(range));
        }
        store
    }

    /// The value of the last record of any of `keys` in the store at `path`, found from the
    /// end without loading the rest: for a process that looks up one fact (git's `--verify`),
    /// whose cost must not grow with the store. A damaged record found is a warning (the
    /// store is removed).
    pub fn find(path: &Path, keys: &[Key]) -> (Option<(usize, String)>, Option<String>) {
        let mut quiet = Store::empty(path);
        let keys_hex: Vec<String> = keys.iter().map(|k| crate::encoding::hex(k)).collect();
        let wanted = |line: &[u8]| {
            key_hex(line).is_some_and(|key| keys_hex.iter().any(|k| k.as_bytes() == key))
        };
        let found = match crate::fsutil::open_capped(path, MAX_BYTES) {
            Ok((mut file, len)) => last_line(&mut file, len, wanted),
            Err(e) => Err(e),
        };
        let line = match found {
            Ok(Some(line)) => line,
            Ok(None) => return (None, None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (None, None),
            Err(e) => {
                quiet.discard(&e.to_string());
                return (None, quiet.warning);
            }
        };
        let Some((key, value)) = parse_line(&line) else {
            quiet.discard("a record does not match its checksum");
            return (None, quiet.warning);
        };
        let Ok(value) = std::str::from_utf8(value) else {
            quiet.discard("a record is not text");
            return (None, quiet.warning);
        };
        // The line was found by one of `keys`, and its checksum covers the key.
        let found = keys.iter().position(|k| *k == key);
        (found.map(|i| (i, value.to_owned())), None)
    }

    fn discard(&mut self, why: &str) {
        self.warning = Some(format!(
            "ignoring the kept facts in '{}' ({why}); they are verified again and kept anew",
            self.path.display()
        ));
        let _ = std::fs::remove_file(&self.path);
    }

    /// Why the store on disk was ignored, if it was (said once by the caller).
    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn get(&self, key: &Key) -> Option<&str> {
        self.records.get(key).map(|v| self.value(v))
    }

    /// Every record, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &str)> {
        self.records.iter().map(|(k, v)| (k, self.value(v)))
    }

    /// Append the records of `batch` this store does not hold in one write, without adding
    /// them to what it answers ([`Store::append`] does).
    pub fn write(&self, batch: &[(Key, String)]) -> std::io::Result<()> {
        let mut bytes = Vec::new();
        for (key, value) in batch {
            if value.contains('\n') || self.get(key) == Some(value.as_str()) {
                continue;
            }
            bytes.extend(record(key, value));
        }
        if bytes.is_empty() {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = open_append(&self.path)?;
        file.write_all(&bytes)
    }

    /// Append `batch` in one write (see the module documentation) and keep it in the map.
    /// Values holding a newline are left out (they would not read back as one record).
    pub fn append(&mut self, batch: &[(Key, String)]) -> std::io::Result<()> {
        self.write(batch)?;
        for (key, value) in batch {
            if !value.contains('\n') {
                self.records.insert(*key, Value::Added(value.clone()));
            }
        }
        Ok(())
    }

    /// Keep only the records `keep` accepts: the file is written anew beside the old one and
    /// renamed over it. Returns how many records were dropped.
    pub fn retain(&mut self, keep: impl Fn(&Key, &str) -> bool) -> std::io::Result<usize> {
        let before = self.records.len();
        let records = std::mem::take(&mut self.records);
        let kept: HashMap<Key, Value, KeyHash> = records
            .into_iter()
            .filter(|(k, v)| keep(k, self.value(v)))
            .collect();
        self.records = kept;
        let mut bytes = Vec::new();
        for (k, v) in &self.records {
            bytes.extend(record(k, self.value(v)));
        }
        replace(&self.path, &bytes)?;
        Ok(before - self.records.len())
    }
}

/// Remove the store at `path`; absent is fine.
pub fn clear(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn refused(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_owned())
}

/// `Ok(None)` when the file does not exist; `Err(why)` when it is not a regular file, cannot
/// be read, or is larger than `cap` ([`crate::fsutil::read_capped`]).
/// The last complete line (without its newline) of the first `len` bytes of `file` that
/// `wanted` accepts, read backwards a block at a time into one buffer: a look-up reads the
/// file only back to the line it finds. A last line without its newline (a write in progress)
/// is skipped.
fn last_line(
    file: &mut std::fs::File,
    len: u64,
    wanted: impl Fn(&[u8]) -> bool,
) -> std::io::Result<Option<Vec<u8>>> {
    last_line_in_blocks(file, len, 64 * 1024, wanted)
}

fn last_line_in_blocks(
    file: &mut std::fs::File,
    len: u64,
    block: u64,
    wanted: impl Fn(&[u8]) -> bool,
) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut buf = Vec::with_capacity(usize::try_from(block.min(len)).unwrap_or(0));
    // The bytes from `end` to the next newline (the rest of the line cut at `end`), or `None`
    // while no newline follows `end` (the last line, without its newline).
    let mut rest: Option<Vec<u8>> = None;
    let mut end = len;
    while end > 0 {
        let start = end.saturating_sub(block.max(1));
        buf.clear();
        file.seek(SeekFrom::Start(start))?;
        // Into the buffer's spare room, which is not zeroed first.
        (&mut *file).take(end - start).read_to_end(&mut buf)?;
        if (buf.len() as u64) < end - start {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let Some(first_nl) = memchr::memchr(b'\n', &buf) else {
            // No line ends in this block: it is all part of the line going on after it.
            rest = rest.map(|r| [&buf[..], &r].concat());
            if start == 0 {
                return Ok(rest.filter(|line| wanted(line)));
            }
            end = start;
            continue;
        };
        let last_nl = memchr::memrchr(b'\n', &buf).unwrap_or(first_nl);
        if let Some(r) = rest.take() {
            let line = [&buf[last_nl + 1..], &r].concat();
            if wanted(&line) {
                return Ok(Some(line));
            }
        }
        // The lines whole in this block, between its first newline and its last.
        if last_nl > first_nl {
            let between = buf.get(first_nl + 1..last_nl).unwrap_or_default();
            let mut line_end = between.len();
            for nl in memchr::memrchr_iter(b'\n', between) {
                let line = between.get(nl + 1..line_end).unwrap_or_default();
                if wanted(line) {
                    return Ok(Some(line.to_vec()));
                }
                line_end = nl;
            }
            let line = between.get(..line_end).unwrap_or_default();
            if wanted(line) {
                return Ok(Some(line.to_vec()));
            }
        }
        if start == 0 {
            let line = &buf[..first_nl];
            return Ok(wanted(line).then(|| line.to_vec()));
        }
        rest = Some(buf[..first_nl].to_vec());
        end = start;
    }
    Ok(None)
}

fn read_capped(path: &Path, cap: u64) -> Result<Option<Vec<u8>>, String> {
    match crate::fsutil::read_capped(path, cap) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Open for appending, created if missing, never through a symlink nor onto a FIFO.
#[cfg(unix)]
fn open_append(path: &Path) -> std::io::Result<std::fs::File> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::WRONLY
            | OFlags::APPEND
            | OFlags::CREATE
            | OFlags::NOFOLLOW
            | OFlags::NONBLOCK
            | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )?;
    let file = std::fs::File::from(fd);
    if !file.metadata()?.is_file() {
        return Err(refused("the kept facts are not a regular file"));
    }
    Ok(file)
}

#[cfg(not(unix))]
fn open_append(path: &Path) -> std::io::Result<std::fs::File> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.is_file() {
            return Err(refused("the kept facts are not a regular file"));
        }
    }
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
}

/// Write `bytes` to a new file beside `path` and rename it over `path`
/// ([`crate::fsutil::write_atomic`]).
fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::fsutil::write_atomic(
        path,
        bytes,
        crate::fsutil::Access::Shared,
        crate::fsutil::Durability::Cache,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Key {
        [n; 32]
    }

    #[test]
    fn records_round_trip_and_the_last_of_a_key_wins() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("facts");
        let mut s = Store::open(&path);
        assert!(
            s.is_empty() && s.warning().is_none(),
            "no file: empty, quiet"
        );
        s.append(&[(key(1), "{\"a\":1}".into()), (key(2), "two".into())])
            .expect("appended");
        s.append(&[(key(1), "{\"a\":2}".into())]).expect("appended");
        let again = Store::open(&path);
        assert_eq!(again.warning(), None);
        assert_eq!(again.len(), 2);
        assert_eq!(
            again.get(&key(1)),
            Some("{\"a\":2}"),
            "the later record wins"
        );
        assert_eq!(again.get(&key(2)), Some("two"));
    }

    #[test]
    fn one_fact_is_found_without_loading_the_store() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("facts");
        assert_eq!(Store::find(&path, &[key(1)]), (None, None), "no file");
        let mut s = Store::open(&path);
        s.append(&[(key(1), "old".into()), (key(2), "two".into())])
            .expect("appended");
        s.append(&[(key(1), "new".into())]).expect("appended");
        assert_eq!(
            Store::find(&path, &[key(1)]).0,
            Some((0, "new".to_owned())),
            "the last wins"
        );
        assert_eq!(
            Store::find(&path, &[key(3), key(2)]).0,
            Some((1, "two".to_owned())),
            "which of the keys"
        );
        assert_eq!(Store::find(&path, &[key(3)]), (None, None));
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, text.replace("two", "TWO")).expect("tamper");
        let (found, warning) = Store::find(&path, &[key(2)]);
        assert!(
            found.is_none() && warning.is_some(),
            "a damaged record is not used"
        );
    }

    #[test]
    fn the_last_line_found_backwards_is_the_same_whatever_the_block_size() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("lines");
        let lines: [&[u8]; 7] = [b"a1", b"", b"b22", b"a333333", b"ccccccccc", b"b4", b"a5"];
        for torn in [&b""[..], b"a-torn", b"zz"] {
            let mut bytes = lines.join(&b'\n');
            bytes.push(b'\n');
            bytes.extend_from_slice(torn);
            std::fs::write(&path, &bytes).expect("write");
            for block in 1..=bytes.len() as u64 + 1 {
                let mut file = std::fs::File::open(&path).expect("open");
                let len = bytes.len() as u64;
                for prefix in [&b"a"[..], b"b", b"c", b"d", b""] {
                    let got = last_line_in_blocks(&mut file, len, block, |l| l.starts_with(prefix))
                        .expect("read");
                    let want = lines.iter().rev().find(|l| l.starts_with(prefix));
                    assert_eq!(
                        got.as_deref(),
                        want.copied(),
                        "block {block}, prefix {prefix:?}, torn {torn:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_record_is_laid_out_with_its_crc32() {
        // The checksum from Python's zlib.crc32 over the tag, the key's hex, a space and the
        // value (CRC-32/ISO-HDLC, as zlib computes it).
        let line = record(&key(7), "{\"who\":\"alice\"}");
        let want = format!("f1cf4eeb {} {{\"who\":\"alice\"}}\n", "07".repeat(32));
        assert_eq!(String::from_utf8(line).expect("text"), want);
    }

    #[test]
    fn a_store_of_the_earlier_layout_is_dropped_without_a_warning() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("facts");
        // A record as the layout with SHA-256's first 8 bytes for a checksum wrote it.
        let old = format!("0123456789abcdef {} {{}}\n", "07".repeat(32));
        std::fs::write(&path, old).expect("write");
        let s = Store::open(&path);
        assert!(s.is_empty() && s.warning().is_none(), "{:?}", s.warning());
        assert!(!path.exists(), "the file is removed, to be written anew");
    }

    #[test]
    fn a_record_of_the_earlier_layout_appended_later_is_passed_over() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("facts");
        let mut s = Store::open(&path);
        s.append(&[(key(1), "one".into())]).expect("appended");
        let old = format!("0123456789abcdef {} {{}}\n", "07".repeat(32));
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(old.as_bytes()))
            .expect("appended by another version");
        s.append(&[(key(2), "two".into())]).expect("appended");
        let again = Store::open(&path);
        assert_eq!(again.warning(), None, "not damage");
        assert_eq!(
            (again.len(), again.get(&key(1)), again.get(&key(2))),
            (2, Some("one"), Some("two"))
        );
    }

    #[test]
    fn a_record_whose_value_is_not_text_discards_the_store_with_one_warning() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("facts");
        let key_hex = crate::encoding::hex(&key(1));
        let value = b"{\"who\":\"\xff\"}";
        let mut line = crate::encoding::hex(&checksum(key_hex.as_bytes(), value)).into_bytes();
        line.push(b' ');
        line.extend_from_slice(key_hex.as_bytes());
        line.push(b' ');
        line.extend_from_slice(value);
        line.push(b'\n');
        std::fs::write(&path, &line).expect("write");
        let (found, warning) = Store::find(&path, &[key(1)]);
        assert!(
            found.is_none() && warning.is_some_and(|w| w.contains("not text")),
            "the one-object lookup says so too"
        );
        std::fs::write(&path, line).expect("write again");
        let s = Store::open(&path);
        assert!(s.is_empty(), "nothing of it is used");
        assert!(
            s.warning().is_some_and(|w| w.contains("not text")),
            "{:?}",
            s.warning()
        );
        assert!(!path.exists(), "removed, to be written anew");
    }

    #[test]
    fn a_torn_last_line_is_skipped_quietly() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("facts");
        let mut s = Store::open(&path);
        s.append(&[(key(1), "one".into())]).expect("appended");
        let mut torn = record(&key(2), "two");
        torn.truncate(torn.len() - 3);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(&torn))
            .expect("torn write");
        let again = Store::open(&path);
        assert_eq!(again.warning(), None, "a write in progress is not damage");
        assert_eq!(again.get(&key(1)), Some("one"));
        assert_eq!(again.get(&key(2)), None, "the torn record is not read");
    }

    #[test]
    fn a_tampered_record_discards_the_store_with_one_warning() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("facts");
        let mut s = Store::open(&path);
        s.append(&[(key(1), "{\"who\":\"alice\"}".into()), (key(2), "x".into())])
            .expect("appended");
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, text.replace("alice", "mallo")).expect("tamper");
        let again = Store::open(&path);
        assert!(again.is_empty(), "nothing of a damaged store is used");
        let warning = again.warning().expect("a warning");
        assert!(warning.contains("checksum"), "{warning}");
        assert!(
            !path.exists(),
            "the damaged file is removed, to be written anew"
        );
        assert!(Store::open(&path).warning().is_none(), "said once");
    }

    #[test]
    fn retain_rewrites_and_clear_removes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("facts");
        let mut s = Store::open(&path);
        s.append(&[
            (key(1), "a".into()),
            (key(2), "b".into()),
            (key(3), "c".into()),
        ])
        .expect("appended");
        let dropped = s.retain(|k, _| k != &key(2)).expect("rewritten");
        assert_eq!(dropped, 1);
        let again = Store::open(&path);
        assert_eq!((again.len(), again.get(&key(2))), (2, None));
        clear(&path).expect("cleared");
        assert!(!path.exists());
        clear(&path).expect("clearing nothing is fine");
    }

    #[cfg(unix)] // the store is used on Unix only (check::Checker::with_facts)
    #[test]
    fn concurrent_writers_lose_no_record() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("facts");
        let writers: Vec<_> = (0..4u8)
            .map(|w| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for i in 0..50u8 {
                        let mut s = Store::open(&path);
                        let mut k = [w; 32];
                        k[31] = i;
                        // Long values make a torn or interleaved write show.
                        s.append(&[(k, format!("{w}-{i}-{}", "x".repeat(5000)))])
                            .expect("appended");
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().expect("writer");
        }
        let all = Store::open(&path);
        assert_eq!(all.warning(), None, "no record was torn");
        assert_eq!(all.len(), 200, "every writer's every record is there");
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_fifos_and_oversized_files_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, record(&key(1), "one")).expect("write");
        let link = dir.path().join("facts");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let mut s = Store::open(&link);
        assert!(s.is_empty(), "a symlink is not followed");
        assert!(s.warning().is_some());
        std::os::unix::fs::symlink(&target, &link).expect("symlink again");
        assert!(
            s.append(&[(key(2), "two".into())]).is_err(),
            "nor written through"
        );
        assert_eq!(
            std::fs::read(&target).expect("read"),
            record(&key(1), "one"),
            "the symlink's target is untouched"
        );
        let fifo = dir.path().join("fifo");
        // mkfifo(1): POSIX everywhere, where mknodat is not in every Unix's rustix.
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success(), "mkfifo made the FIFO");
        assert!(
            Store::open(&fifo).warning().is_some(),
            "a FIFO is refused, not waited on"
        );
    }
}
