//! Files kept by gitsign (the proof cache, the hook's facts, the TUF cache, the credential
//! cache's socket directory): the one way to read them and the one way to write them.
//!
//! Reading ([`read_capped`]): the files are untrusted input that must not be able to stall or
//! exhaust a reader, so a file is read only if it is a regular file, opened without following
//! a final symlink and without blocking (a FIFO never hangs the reader), and at most `cap`
//! bytes of it.
//!
//! Writing ([`write_atomic`]): the bytes go to a temporary file created exclusively
//! (`O_CREAT|O_EXCL`, a random name, no symlink followed) in the destination's directory, are
//! flushed to disk, and the file is renamed over the destination, then the directory is
//! flushed: a reader sees the old file or the new one, never part of one, and a crash leaves
//! no torn file behind. Caches that check what they read may skip the two flushes
//! ([`Durability::Cache`]), which cost a hundred times the rename. The temporary file is removed when any step fails. A private file
//! ([`Access::Private`]) is created 0600 in a directory that must belong to us and be closed
//! to writes by others; a directory we create for it is 0700.
//!
//! Unix uses `rustix`; elsewhere a plain fallback keeps the same contract as far as the
//! platform lets (no `O_NOFOLLOW`: the type is checked before opening; no directory sync).

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

/// Whether [`write_atomic`] waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// The file and the rename are flushed to disk (`fsync` of the file, then of the
    /// directory) before returning: after a crash the new file is there, whole. About 6 ms a
    /// write on an ext4 virtual disk, where a rename alone takes 0.06 ms.
    Durable,
    /// A cache whose entries are checked when read and cheap to make again (proofs, facts):
    /// the rename alone makes the file visible whole to every reader; after a crash an entry
    /// may be missing or empty, which the reader takes as absent.
    Cache,
}

/// Who may read a file written with [`write_atomic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Readable as the umask allows (0666 before it), in directories made as the umask allows.
    Shared,
    /// Only us: the file 0600, a directory we create 0700, and an existing directory must be
    /// ours (or root's) and not writable by others, or nothing is written.
    Private,
    /// A program others run (a git hook): exactly 0755, set before the rename, so the file
    /// is never in place without its execute bits.
    Executable,
}

fn refused(why: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why)
}

/// The bytes of `path` if it is a regular file of at most `cap` bytes. A symlink is not
/// followed, a FIFO or device is not waited on nor read: each is an error, as is a file over
/// the cap (also one that grows past it while read).
pub fn read_capped(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let (file, len) = open_capped(path, cap)?;
    // Sized for the file as it is now, one byte more to see it grow.
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0).saturating_add(1));
    // The size may change after the check: read one byte past the cap at most.
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(refused(format!(
            "'{}' is larger than {cap} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

/// `path` opened for reading as [`read_capped`] reads it (a regular file, no symlink
/// followed, no FIFO waited on, at most `cap` bytes), and its length: for a reader that reads
/// only part of it.
pub fn open_capped(path: &Path, cap: u64) -> std::io::Result<(std::fs::File, u64)> {
    let file = open_no_follow(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(refused(format!(
            "'{}' is not a regular file",
            path.display()
        )));
    }
    if meta.len() > cap {
        return Err(refused(format!(
            "'{}' is larger than {cap} bytes",
            path.display()
        )));
    }
    Ok((file, meta.len()))
}

/// Open for reading without following a final symlink and without blocking on a FIFO.
#[cfg(unix)]
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(std::fs::File::from(fd))
}

/// Elsewhere: refuse anything `symlink_metadata` does not call a regular file before opening.
#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    if !std::fs::symlink_metadata(path)?.file_type().is_file() {
        return Err(refused(format!(
            "'{}' is not a regular file",
            path.display()
        )));
    }
    std::fs::File::open(path)
}

/// Replace `path` with `bytes` atomically (see the module documentation), creating missing
/// directories. A reader never sees a part of the file, and a failure leaves the old file (if
/// any) in place and no temporary file behind.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    access: Access,
    durability: Durability,
) -> std::io::Result<()> {
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("'{}' names no file", path.display()),
        )
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    ensure_dir(dir, access)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        random_suffix()?
    ));
    let written = (|| {
        let mut file = create_new(&tmp, access)?;
        #[cfg(unix)]
        if access == Access::Executable {
            // Whatever the umask took: the mode is exact before the file is in place.
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(std::fs::Permissions::from_mode(0o755))?;
        }
        file.write_all(bytes)?;
        if durability == Durability::Durable {
            file.sync_all()?;
        }
        drop(file);
        std::fs::rename(&tmp, path)?;
        match durability {
            Durability::Durable => sync_dir(dir),
            Durability::Cache => Ok(()),
        }
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Make `dir` (and its missing parents) exist; for [`Access::Private`], check it is ours and
/// closed to others ([`private_dir`]).
pub fn ensure_dir(dir: &Path, access: Access) -> std::io::Result<()> {
    match access {
        Access::Shared | Access::Executable => std::fs::create_dir_all(dir),
        Access::Private => private_dir(dir).map(|_| ()).map_err(std::io::Error::from),
    }
}

/// What [`private_dir`] found wrong with an existing directory.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    #[error("'{path}' cannot be made or read")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("'{path}' is not a directory")]
    NotADirectory { path: PathBuf },
    #[error("'{path}' belongs to user {owner}, not to us")]
    Foreign { path: PathBuf, owner: u32 },
    #[error("others may write to '{path}' (mode {mode:o})")]
    Open { path: PathBuf, mode: u32 },
}

impl From<DirError> for std::io::Error {
    fn from(e: DirError) -> std::io::Error {
        match e {
            DirError::Io { source, .. } => source,
            other => std::io::Error::new(std::io::ErrorKind::PermissionDenied, other.to_string()),
        }
    }
}

/// Whether [`private_dir`] made the directory or found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    Created,
    Existing,
}

/// Make sure `dir` exists and nobody else can replace what is in it.
///
/// A directory we create (with its missing parents) is exactly 0700, whatever the umask. One
/// that exists keeps its mode and owner — it may be shared with the sticky bit, as /tmp is,
/// and chmodding it would take that bit from everyone — but is refused when it is not a
/// directory (a symlink is followed, as for any path the user names), belongs to another user
/// (root excepted), or others may write to it without the sticky bit.
#[cfg(unix)]
pub fn private_dir(dir: &Path) -> Result<Made, DirError> {
    use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
    let io = |source| DirError::Io {
        path: dir.to_owned(),
        source,
    };
    let made = if std::fs::symlink_metadata(dir).is_ok() {
        Made::Existing
    } else {
        match std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
        {
            Ok(()) => Made::Created,
            // Another process made it between the look and the create: judge it as found.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Made::Existing,
            Err(e) => return Err(io(e)),
        }
    };
    let meta = std::fs::metadata(dir).map_err(io)?;
    if !meta.is_dir() {
        return Err(DirError::NotADirectory {
            path: dir.to_owned(),
        });
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me && meta.uid() != 0 {
        return Err(DirError::Foreign {
            path: dir.to_owned(),
            owner: meta.uid(),
        });
    }
    if made == Made::Created {
        // The umask may have taken bits from 0700; a directory we made is exactly ours.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
        return Ok(made);
    }
    let mode = meta.mode();
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Err(DirError::Open {
            path: dir.to_owned(),
            mode: mode & 0o7777,
        });
    }
    Ok(made)
}

/// Elsewhere there are no owners and modes to check: the directory is made if missing.
#[cfg(not(unix))]
pub fn private_dir(dir: &Path) -> Result<Made, DirError> {
    let io = |source| DirError::Io {
        path: dir.to_owned(),
        source,
    };
    if std::fs::symlink_metadata(dir).is_ok() {
        if !std::fs::metadata(dir).map_err(io)?.is_dir() {
            return Err(DirError::NotADirectory {
                path: dir.to_owned(),
            });
        }
        return Ok(Made::Existing);
    }
    std::fs::create_dir_all(dir).map_err(io)?;
    Ok(Made::Created)
}

/// 16 random hex digits, so concurrent writers (threads or processes) never share a
/// temporary file and nobody can predict its name.
fn random_suffix() -> std::io::Result<String> {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 8];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| std::io::Error::other("no randomness for a temporary file name"))?;
    Ok(format!("{:016x}", u64::from_be_bytes(b)))
}

/// A new file at `path` (never an existing one, never through a symlink), 0600 when private.
fn create_new(path: &Path, access: Access) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(match access {
            Access::Shared => 0o666,
            Access::Private => 0o600,
            Access::Executable => 0o755,
        });
        o.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    #[cfg(not(unix))]
    let _ = access;
    o.open(path)
}

/// Flush the directory entry of a rename to disk.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn small_regular_files_are_read_and_oversize_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let small = dir.path().join("small");
        std::fs::write(&small, b"{}").expect("write");
        assert_eq!(
            read_capped(&small, 16).expect("a small file"),
            b"{}",
            "a small regular file is read whole"
        );
        let exact = dir.path().join("exact");
        std::fs::write(&exact, vec![b' '; 16]).expect("write");
        assert_eq!(
            read_capped(&exact, 16).expect("at the cap").len(),
            16,
            "a file of exactly the cap is read"
        );
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b' '; 17]).expect("write");
        assert!(read_capped(&big, 16).is_err(), "one byte over the cap");
        assert!(read_capped(dir.path(), 16).is_err(), "a directory");
        assert!(read_capped(&dir.path().join("none"), 16).is_err(), "absent");
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let real = dir.path().join("real");
        std::fs::write(&real, b"{}").expect("write");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        assert!(
            read_capped(&link, 16).is_err(),
            "a symlink to a good small file is not followed"
        );
        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).expect("symlink");
        assert!(
            read_capped(&zero, 16).is_err(),
            "a symlink to /dev/zero is not followed"
        );
    }

    #[cfg(unix)]
    #[test]
    fn fifos_and_devices_are_refused_without_blocking() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fifo = dir.path().join("fifo");
        // mkfifo(1): POSIX everywhere, where mknodat is not in every Unix's rustix.
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success(), "mkfifo made the FIFO");
        // Opening a FIFO with no writer blocks forever unless O_NONBLOCK is set: run the read
        // on a thread and give it a deadline, so a regression fails instead of hanging.
        let (tx, rx) = std::sync::mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || {
            let _ = tx.send(read_capped(&path, 16).is_err());
        });
        let refused = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("reading a FIFO returns instead of waiting for a writer");
        assert!(refused, "a FIFO is not a regular file");
        assert!(
            read_capped(Path::new("/dev/zero"), 16).is_err(),
            "a device is not read"
        );
    }

    #[test]
    fn an_atomic_write_replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("a").join("b").join("f.json");
        write_atomic(&path, b"one", Access::Shared, Durability::Durable).expect("first write");
        write_atomic(&path, b"two", Access::Shared, Durability::Durable).expect("second write");
        assert_eq!(
            std::fs::read(&path).expect("read"),
            b"two",
            "the second write replaced the first"
        );
        assert!(
            leftovers(path.parent().expect("parent")).is_empty(),
            "no temporary file is left"
        );
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_removes_the_temporary_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A non-empty directory where the file should go: the rename fails.
        let path = dir.path().join("f");
        std::fs::create_dir(&path).expect("dir");
        std::fs::write(path.join("inside"), b"x").expect("write");
        assert!(
            write_atomic(&path, b"new", Access::Shared, Durability::Durable).is_err(),
            "a rename over a non-empty directory fails"
        );
        assert!(leftovers(dir.path()).is_empty(), "the temporary is removed");
        assert_eq!(
            std::fs::read(path.join("inside")).expect("read"),
            b"x",
            "what was there is untouched"
        );
    }

    #[test]
    fn a_torn_write_is_never_visible() {
        // Writers replace the file with one of two large contents, over and over, while a
        // reader reads it: every read must be one content whole, never a mix or a prefix.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        let a = vec![b'a'; 256 * 1024];
        let b = vec![b'b'; 256 * 1024];
        write_atomic(&path, &a, Access::Shared, Durability::Durable).expect("first write");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers: Vec<_> = [a.clone(), b.clone()]
            .into_iter()
            .map(|content| {
                let path = path.clone();
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut n = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 200 {
                        // One writer waits for the disk, the other does not: both are atomic.
                        let durability = if content[0] == b'a' {
                            Durability::Durable
                        } else {
                            Durability::Cache
                        };
                        write_atomic(&path, &content, Access::Shared, durability).expect("write");
                        n += 1;
                    }
                })
            })
            .collect();
        let mut reads = 0;
        while writers.iter().any(|w| !w.is_finished()) || reads < 50 {
            let got = read_capped(&path, 1 << 20).expect("the file is always there");
            assert!(
                got == a || got == b,
                "a read saw a torn file of {} bytes",
                got.len()
            );
            reads += 1;
            if reads > 20_000 {
                break;
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for w in writers {
            w.join().expect("writer");
        }
        assert!(
            leftovers(dir.path()).is_empty(),
            "no temporary file is left"
        );
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_0600_in_a_0700_directory_and_open_directories_are_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("mine").join("secret");
        write_atomic(&path, b"s", Access::Private, Durability::Durable).expect("write");
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o7777;
        assert_eq!(mode(&path), 0o600, "the file is ours alone");
        assert_eq!(
            mode(path.parent().expect("parent")),
            0o700,
            "the directory we made is ours alone"
        );
        let open = dir.path().join("open");
        std::fs::create_dir(&open).expect("dir");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        assert!(
            write_atomic(
                &open.join("secret"),
                b"s",
                Access::Private,
                Durability::Durable
            )
            .is_err(),
            "a directory anyone may write is refused for a private file"
        );
        assert!(
            !open.join("secret").exists(),
            "nothing is written into an open directory"
        );
        let hook = dir.path().join("hooks").join("pre-receive");
        write_atomic(
            &hook,
            b"#!/bin/sh\n",
            Access::Executable,
            Durability::Durable,
        )
        .expect("write");
        assert_eq!(mode(&hook), 0o755, "a program is exactly 0755");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
        assert!(
            matches!(private_dir(&open), Ok(Made::Existing)),
            "a sticky shared directory (as /tmp) is accepted"
        );
    }
}
