//! Where the vault's encrypted blobs live: objects, log segments and checkpoints.
//!
//! Everything the vault stores goes through [`BlobStore`], keyed by a slash-separated name
//! such as `objects/3f/3f9a…` or `log/000000000001`. Blobs are written once and never
//! overwritten, so a store can be a directory (the default, [`FsStore`]) or an S3-compatible
//! bucket with conditional puts, without callers knowing which.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{io_at, Result, VaultError};

/// The outcome of committing a new blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    New,
    /// A blob of that name already existed; it was left untouched.
    AlreadyPresent,
}

/// A blob being written. Dropping it without `commit` discards it.
pub trait PendingBlob: Write + Send {
    /// Make the blob visible under `key`, unless a blob of that name already exists.
    fn commit(self: Box<Self>, key: &str) -> Result<Committed>;
}

pub trait BlobStore: Send + Sync {
    /// Start writing a new blob; it becomes visible only on commit.
    fn create(&self) -> Result<Box<dyn PendingBlob>>;
    fn open(&self, key: &str) -> Result<Box<dyn Read + Send>>;
    fn exists(&self, key: &str) -> Result<bool>;
    /// All keys under `prefix` (e.g. `"log/"`), in byte order.
    fn list(&self, prefix: &str) -> Result<Vec<String>>;
    /// Keys under `prefix` that sort after `after`, in byte order. Stores that can ask the
    /// server for just those (S3's `start-after`) override this.
    fn list_after(&self, prefix: &str, after: &str) -> Result<Vec<String>> {
        let mut keys = self.list(prefix)?;
        keys.retain(|k| k.as_str() > after);
        Ok(keys)
    }
    /// Durability barrier: once this returns, every committed blob survives power loss.
    fn sync(&self) -> Result<()>;
    /// Delete a blob. Only for undoing what the current writer committed and never logged
    /// (a failed import rolls back); nothing the log names is ever removed.
    fn remove(&self, key: &str) -> Result<()>;
    /// Where a key lives, for messages.
    fn locate(&self, key: &str) -> String;
    /// Whether writers on other machines share this store (S3). A shared store's blobs are
    /// never removed on rollback: another writer may have logged an event naming the same
    /// content-addressed object meanwhile. Orphans are harmless ciphertext, reused by a retry.
    fn is_shared(&self) -> bool {
        false
    }
}

/// Blobs as files under a directory, committed by hard link (atomic and never overwriting).
pub struct FsStore {
    root: PathBuf,
    tmp: PathBuf,
}

impl FsStore {
    pub fn open(root: &Path) -> Result<Self> {
        let tmp = root.join("tmp");
        fs::create_dir_all(&tmp).map_err(io_at(&tmp))?;
        let store = FsStore {
            root: root.to_path_buf(),
            tmp,
        };
        store.clear_tmp();
        Ok(store)
    }

    /// Leftovers of an interrupted write are ciphertext; remove them so they don't pile up.
    /// Files still being written by a live process are younger than a minute, so keep those.
    fn clear_tmp(&self) {
        let Ok(entries) = fs::read_dir(&self.tmp) else {
            return;
        };
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 60);
            if old {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }
}

struct FsPending {
    file: Option<File>,
    tmp_path: PathBuf,
    root: PathBuf,
}

impl Write for FsPending {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("open until commit").write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file
            .as_mut()
            .expect("open until commit")
            .write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl PendingBlob for FsPending {
    fn commit(mut self: Box<Self>, key: &str) -> Result<Committed> {
        drop(self.file.take());
        let target = self.root.join(key);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(io_at(parent))?;
        }
        match move_no_replace(&self.tmp_path, &target) {
            Ok(()) => Ok(Committed::New),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let _ = fs::remove_file(&self.tmp_path);
                Ok(Committed::AlreadyPresent)
            }
            Err(e) => {
                let _ = fs::remove_file(&self.tmp_path);
                Err(io_at(&target)(e))
            }
        }
    }
}

/// Move `from` to `to` unless `to` exists (then `AlreadyExists`): no blob is ever
/// overwritten. One renameat2(RENAME_NOREPLACE) on Linux; link(2) then unlink elsewhere, or
/// where the filesystem does not support the flag.
fn move_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes());
        let (f, t) = (c(from)?, c(to)?);
        // SAFETY: both are valid NUL-terminated paths that outlive the call.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                f.as_ptr(),
                libc::AT_FDCWD,
                t.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) {
            return Err(e);
        }
    }
    fs::hard_link(from, to)?;
    let _ = fs::remove_file(from);
    Ok(())
}

impl Drop for FsPending {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp_path);
        }
    }
}

impl BlobStore for FsStore {
    fn create(&self) -> Result<Box<dyn PendingBlob>> {
        let mut rnd = [0u8; 12];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut rnd);
        let tmp_path = self.tmp.join(hex::encode(rnd));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&tmp_path)
            .map_err(io_at(&tmp_path))?;
        Ok(Box::new(FsPending {
            file: Some(file),
            tmp_path,
            root: self.root.clone(),
        }))
    }

    fn open(&self, key: &str) -> Result<Box<dyn Read + Send>> {
        let path = self.path(key);
        let file = File::open(&path).map_err(io_at(&path))?;
        Ok(Box::new(file))
    }

    fn exists(&self, key: &str) -> Result<bool> {
        let path = self.path(key);
        path.try_exists().map_err(io_at(&path))
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let (dir, _) = prefix.rsplit_once('/').unwrap_or(("", prefix));
        let base = self.path(dir);
        let mut keys = Vec::new();
        if !base.exists() {
            return Ok(keys);
        }
        for entry in walkdir::WalkDir::new(&base).follow_links(false) {
            let entry = entry.map_err(|e| VaultError::Io {
                path: base.clone(),
                source: e.into(),
            })?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(&self.root)
                .expect("walk stays under root");
            let key = rel.to_string_lossy().replace('\\', "/");
            if key.starts_with(prefix) {
                keys.push(key);
            }
        }
        keys.sort();
        Ok(keys)
    }

    fn sync(&self) -> Result<()> {
        let dir = File::open(&self.root).map_err(io_at(&self.root))?;
        // syncfs flushes every file and directory of the vault's filesystem in one call,
        // far cheaper than an fsync per object and per directory.
        let rc = unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&dir)) };
        if rc != 0 {
            return Err(io_at(&self.root)(io::Error::last_os_error()));
        }
        Ok(())
    }

    fn remove(&self, key: &str) -> Result<()> {
        let path = self.path(key);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_at(&path)(e)),
        }
    }

    fn locate(&self, key: &str) -> String {
        self.path(key).display().to_string()
    }
}
