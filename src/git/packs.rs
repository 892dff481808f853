//! Objects read straight from the repository's packs by a walk over many commits, every
//! object a read resolves kept by its place in the pack.
//!
//! Why: a pack stores most commits as deltas of other commits, chains up to fifty deep. The
//! object database's reader rebuilds a delta from its base and never keeps an undeltified
//! base, so every commit of a chain inflated its whole chain again: verifying malcontent's
//! 5,440 commits inflated 11,538 zlib streams, the largest cost outside ECDSA. Here each
//! object, base or delta, is inflated once while it stays kept; reading every commit of a
//! history inflates each stream once.
//!
//! Anything this does not find or cannot read (loose objects, alternates, packs added since,
//! a base outside its pack, a malformed entry) is left to the object database, which reads
//! or reports it as before, and so is every object of a repository with replaced objects
//! (`refs/replace/`, which the database applies): this only ever answers with the bytes the
//! database would.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gix::objs::Kind;
use gix::odb::pack::{data, Bundle, FileData};

/// At most this many bytes of resolved objects are kept (cleared when full).
const KEPT_MAX_BYTES: usize = 32 << 20;
/// Objects larger than this are left to the object database (a commit is a few KB).
const OBJECT_MAX_BYTES: u64 = 16 << 20;
/// Delta chains longer than this are left to the object database (git's default depth is 50).
const CHAIN_MAX: usize = 4096;

/// The packs of one repository and the objects resolved from them.
pub struct Packs {
    bundles: Vec<Bundle>,
    kept: Mutex<Kept>,
}

/// An object's kind and bytes, shared by its readers.
pub type Object = (Kind, Arc<Vec<u8>>);

/// Resolved objects by pack and offset, and their total size.
#[derive(Default)]
struct Kept {
    objects: HashMap<(usize, u64), Object>,
    bytes: usize,
}

thread_local! {
    /// One libdeflate decompressor per thread (it keeps nothing from one stream to the next).
    static WHOLE: RefCell<libdeflater::Decompressor> = RefCell::new(libdeflater::Decompressor::new());
    /// One zlib state per thread (it is reset before each stream).
    static INFLATE: RefCell<gix::zlib::Inflate> = RefCell::new(gix::zlib::Inflate::default());
}

impl Packs {
    /// The packs of `repo`'s object directory as they are now (none when it cannot be read,
    /// and none when objects are replaced, `refs/replace/`: the object database reads those).
    pub fn open(repo: &gix::Repository) -> Packs {
        let store = repo.objects.store_ref();
        if store.replacements().next().is_some() {
            return Packs::none();
        }
        let dir = store.path().join("pack");
        let hash = repo.object_hash();
        let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "idx"))
                    .collect()
            })
            .unwrap_or_default();
        paths.sort();
        Packs {
            bundles: paths
                .iter()
                .filter_map(|p| Bundle::at(p, hash).ok())
                .collect(),
            kept: Mutex::new(Kept::default()),
        }
    }

    /// No packs: every object is left to the object database.
    pub fn none() -> Packs {
        Packs {
            bundles: Vec::new(),
            kept: Mutex::new(Kept::default()),
        }
    }

    /// Object `id` with its kind, if it is in these packs and reads.
    pub fn find(&self, id: &gix::oid) -> Option<Object> {
        self.bundles.iter().enumerate().find_map(|(b, bundle)| {
            let i = bundle.index.lookup(id)?;
            self.at(b, bundle.index.pack_offset_at_index(i))
        })
    }

    /// The kind of object `id`, if it is in these packs: read from the headers down its delta
    /// chain (a delta is of its base's kind), nothing inflated. For telling a ref's commit from
    /// a tag without the object database's header read, which inflates the start of a delta.
    pub fn kind(&self, id: &gix::oid) -> Option<Kind> {
        self.bundles.iter().find_map(|bundle| {
            let i = bundle.index.lookup(id)?;
            let mut offset = bundle.index.pack_offset_at_index(i);
            for _ in 0..=CHAIN_MAX {
                let entry = bundle.pack.entry(offset).ok()?;
                offset = match base_of(bundle, &entry) {
                    Base::Delta(base) => base?,
                    Base::Whole(kind) => return kind,
                };
            }
            None
        })
    }

    fn kept(&self, b: usize, offset: u64) -> Option<Object> {
        let kept = self.kept.lock().ok()?;
        kept.objects.get(&(b, offset)).cloned()
    }

    fn keep(&self, b: usize, offset: u64, kind: Kind, bytes: &Arc<Vec<u8>>) {
        if let Ok(mut kept) = self.kept.lock() {
            if kept.bytes + bytes.len() > KEPT_MAX_BYTES {
                kept.objects.clear();
                kept.bytes = 0;
            }
            kept.bytes += bytes.len();
            if let Some((_, old)) = kept.objects.insert((b, offset), (kind, Arc::clone(bytes))) {
                kept.bytes -= old.len();
            }
        }
    }

    /// The object at `offset` in pack `b`: down its delta chain to an object kept or stored
    /// whole, then each delta applied on the way back, every result kept.
    fn at(&self, b: usize, offset: u64) -> Option<Object> {
        let bundle = self.bundles.get(b)?;
        let pack = &bundle.pack;
        let mut chain: Vec<data::Entry> = Vec::new();
        let mut cursor = offset;
        let (kind, mut bytes) = loop {
            if let Some(hit) = self.kept(b, cursor) {
                break hit;
            }
            let entry = pack.entry(cursor).ok()?;
            let base = match base_of(bundle, &entry) {
                Base::Delta(base) => base?,
                Base::Whole(kind) => {
                    let kind = kind?;
                    // Kept as inflated (an Arc of the Vec: no copy).
                    let whole = Arc::new(inflate(pack, &entry)?);
                    self.keep(b, cursor, kind, &whole);
                    break (kind, whole);
                }
            };
            if chain.len() >= CHAIN_MAX {
                return None;
            }
            chain.push(entry);
            cursor = base;
        };
        while let Some(entry) = chain.pop() {
            let delta = inflate(pack, &entry)?;
            bytes = Arc::new(apply(&bytes, &delta)?);
            self.keep(b, entry.pack_offset(), kind, &bytes);
        }
        Some((kind, bytes))
    }
}

/// What an entry's header says of where its object's bytes start.
enum Base {
    /// A delta on the object at this offset of the same pack (`None`: a base outside it, or an
    /// offset out of the pack).
    Delta(Option<u64>),
    /// The object stored whole, of this kind (`None`: not an object kind).
    Whole(Option<Kind>),
}

/// Where `entry`'s delta base lies in `bundle`'s pack, or the kind it is stored whole as.
fn base_of(bundle: &Bundle, entry: &data::Entry) -> Base {
    match &entry.header {
        data::entry::Header::OfsDelta { base_distance } => {
            Base::Delta(entry.checked_base_pack_offset(*base_distance))
        }
        data::entry::Header::RefDelta { base_id } => Base::Delta(
            bundle
                .index
                .lookup(base_id)
                .map(|i| bundle.index.pack_offset_at_index(i)),
        ),
        header => Base::Whole(header.as_kind()),
    }
}

/// The stream of `entry` inflated, exactly as long as its header says: by libdeflate in one
/// call, or by gix's zlib when libdeflate refuses it (which then reports what is wrong).
fn inflate<T: FileData>(pack: &data::File<T>, entry: &data::Entry) -> Option<Vec<u8>> {
    if entry.decompressed_size > OBJECT_MAX_BYTES {
        return None;
    }
    let mut out = vec![0; usize::try_from(entry.decompressed_size).ok()?];
    let rest = pack.entry_slice(entry.data_offset..u64::try_from(pack.data_len()).ok()?);
    if rest.is_some_and(|rest| inflate_whole(rest, &mut out)) {
        return Some(out);
    }
    INFLATE
        .with(|inflate| {
            let mut inflate = inflate.try_borrow_mut().ok()?;
            pack.decompress_entry(entry, &mut inflate, &mut out).ok()
        })
        .map(|_| out)
}

/// Whether the zlib stream at the start of `rest` (the pack from the entry's data on: a
/// stream's compressed length is not in its entry, and libdeflate stops at its end) inflates
/// to exactly `out.len()` bytes with a matching Adler-32, written to `out`. libdeflate inflates
/// a small stream whole faster than zlib's streaming state machine, most of whose time on a
/// commit goes to building its Huffman tables.
fn inflate_whole(rest: &[u8], out: &mut [u8]) -> bool {
    WHOLE.with(|whole| {
        whole.try_borrow_mut().is_ok_and(|mut whole| {
            whole
                .zlib_decompress(rest, out)
                .is_ok_and(|n| n == out.len())
        })
    })
}

/// A size at the start of a git delta (7 bits a byte, least significant first), and the rest.
fn delta_size(d: &[u8]) -> Option<(u64, &[u8])> {
    let mut size = 0u64;
    for (i, byte) in d.iter().enumerate().take(10) {
        size |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((size, d.get(i + 1..)?));
        }
    }
    None
}

/// `base` with git delta `delta` applied (git's `patch_delta`); `None` when the delta does not
/// fit the base or is malformed. Written here because gix-pack keeps its own delta application
/// crate-private; `tests/it/real_history.rs` holds every object of the real histories' packs,
/// read through this, to what `git cat-file` gives.
fn apply(base: &[u8], delta: &[u8]) -> Option<Vec<u8>> {
    let (base_size, rest) = delta_size(delta)?;
    let (result_size, mut d) = delta_size(rest)?;
    if base_size != base.len() as u64 || result_size > OBJECT_MAX_BYTES {
        return None;
    }
    let result_size = usize::try_from(result_size).ok()?;
    let mut out = Vec::with_capacity(result_size);
    while let Some((&cmd, rest)) = d.split_first() {
        d = rest;
        if cmd & 0x80 != 0 {
            // Copy from the base: offset and size bytes present as the low bits say.
            let mut field = |bits: &[(u8, u32)]| -> Option<usize> {
                let mut value = 0usize;
                for &(bit, shift) in bits {
                    if cmd & bit != 0 {
                        let (&byte, rest) = d.split_first()?;
                        d = rest;
                        value |= usize::from(byte) << shift;
                    }
                }
                Some(value)
            };
            let offset = field(&[(0x01, 0), (0x02, 8), (0x04, 16), (0x08, 24)])?;
            let size = match field(&[(0x10, 0), (0x20, 8), (0x40, 16)])? {
                0 => 0x10000,
                n => n,
            };
            out.extend_from_slice(base.get(offset..offset.checked_add(size)?)?);
        } else if cmd != 0 {
            // Insert the next `cmd` bytes of the delta.
            let (insert, rest) = d.split_at_checked(usize::from(cmd))?;
            out.extend_from_slice(insert);
            d = rest;
        } else {
            return None;
        }
        if out.len() > result_size {
            return None;
        }
    }
    (out.len() == result_size).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A commit's worth of text (about 1.5 KB, as a signed commit is).
    fn commit_text() -> Vec<u8> {
        let mut text = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 1c2d\n".to_vec();
        for i in 0..40 {
            text.extend_from_slice(
                format!(" line {i} of a signature block, MIIC{i:04x}\n").as_bytes(),
            );
        }
        text
    }

    /// A one-commit pack holding `stream` as the entry of a `size`-byte commit, and the offset
    /// of the stream in it.
    fn pack_of(stream: &[u8], size: usize) -> (data::File<Vec<u8>>, usize) {
        let mut pack = b"PACK\0\0\0\x02\0\0\0\x01".to_vec();
        // Type 1 (commit) and the size, 4 bits then 7 a byte, least significant first.
        let mut byte = 0x10 | (size & 0x0f) as u8;
        let mut rest = size >> 4;
        while rest != 0 {
            pack.push(byte | 0x80);
            byte = (rest & 0x7f) as u8;
            rest >>= 7;
        }
        pack.push(byte);
        let at = pack.len();
        pack.extend_from_slice(stream);
        pack.extend_from_slice(&[0; 20]);
        let file = data::File::from_data(pack, "test.pack".into(), gix::hash::Kind::Sha1);
        (file.expect("a pack header"), at)
    }

    #[test]
    fn inflates_a_stream_followed_by_more_pack_and_refuses_a_damaged_one() {
        let text = commit_text();
        let mut compressor = libdeflater::Compressor::new(libdeflater::CompressionLvl::default());
        let mut stream = vec![0; compressor.zlib_compress_bound(text.len())];
        let n = compressor.zlib_compress(&text, &mut stream).expect("room");
        stream.truncate(n);

        let (pack, at) = pack_of(&stream, text.len());
        let entry = pack.entry(12).expect("an entry");
        assert_eq!(entry.data_offset, at as u64);
        assert_eq!(inflate(&pack, &entry).as_deref(), Some(&text[..]));
        let mut out = vec![0; text.len()];
        let rest = pack.entry_slice(entry.data_offset..pack.data_len() as u64);
        assert!(inflate_whole(rest.expect("in the pack"), &mut out));
        assert_eq!(out, text);

        let rest = |stream: &[u8]| [stream, &[0xa5; 20]].concat();
        for (what, i) in [
            ("inside the stream", stream.len() / 2),
            ("inside the Adler-32", stream.len() - 2),
        ] {
            let mut damaged = stream.clone();
            damaged[i] ^= 0x01;
            let mut out = vec![0; text.len()];
            assert!(!inflate_whole(&rest(&damaged), &mut out), "{what}");
            let (pack, _) = pack_of(&damaged, text.len());
            let entry = pack.entry(12).expect("an entry");
            assert_eq!(inflate(&pack, &entry), None, "{what}");
        }
        for size in [text.len() - 1, text.len() + 1] {
            let mut out = vec![0; size];
            assert!(!inflate_whole(&rest(&stream), &mut out), "{size} bytes");
            let (pack, _) = pack_of(&stream, size);
            let entry = pack.entry(12).expect("an entry");
            assert_eq!(inflate(&pack, &entry), None, "{size} bytes");
        }
    }

    #[test]
    fn applies_copies_and_inserts_and_refuses_what_does_not_fit() {
        let base = b"tree 1\nparent 2\n\nmessage\n";
        // base size 25, result size 28; copy 16 bytes from 0, insert "\nnew", copy 8 from 17.
        let mut delta = vec![25, 28, 0x90, 16, 4];
        delta.extend_from_slice(b"\nnew");
        delta.extend_from_slice(&[0x91, 17, 8]);
        assert_eq!(
            apply(base, &delta).as_deref(),
            Some(&b"tree 1\nparent 2\n\nnewmessage\n"[..])
        );
        let mut wrong_base = delta.clone();
        wrong_base[0] = 24;
        assert_eq!(apply(base, &wrong_base), None, "the base size must match");
        let mut long_copy = delta.clone();
        long_copy[11] = 9;
        assert_eq!(apply(base, &long_copy), None, "a copy past the base's end");
        assert_eq!(apply(base, &delta[..7]), None, "a truncated insert");
        assert_eq!(apply(base, &[25, 1, 0]), None, "the reserved command 0");
        assert_eq!(apply(base, &[25, 0x80]), None, "a truncated size");
        assert_eq!(
            apply(base, &[25, 2, 0x90, 16]),
            None,
            "longer than announced"
        );
    }
}
