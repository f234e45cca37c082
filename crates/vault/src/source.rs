//! A file being taken in (by `ingest` at the archive or `pack` at the source): what is
//! recorded about where it came from, in the same form in every event that records it.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use serde_json::{json, Map, Value};

/// A regular file found by a walk, with the facts its custody event records.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub size: u64,
    /// RFC 3339 modification and birth times, where the file system keeps them.
    pub mtime: Option<String>,
    pub btime: Option<String>,
}

fn rfc3339(t: io::Result<std::time::SystemTime>) -> Option<String> {
    time::OffsetDateTime::from(t.ok()?)
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

impl SourceFile {
    pub fn new(path: PathBuf, meta: &std::fs::Metadata) -> SourceFile {
        SourceFile {
            size: meta.len(),
            mtime: rfc3339(meta.modified()),
            btime: rfc3339(meta.created()),
            path,
        }
    }

    /// The path as text for people (lossy when the name is not UTF-8).
    pub fn display(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }

    /// Add `source_path` (and `source_path_hex` for names that are not UTF-8, so the exact
    /// bytes survive), `mtime` and `btime` to an event's details (docs/formats/events.md).
    pub fn describe(&self, details: &mut Map<String, Value>) {
        let raw = self.path.as_os_str().as_bytes();
        details.insert("source_path".into(), json!(self.display()));
        if std::str::from_utf8(raw).is_err() {
            details.insert("source_path_hex".into(), json!(hex::encode(raw)));
        }
        if let Some(m) = &self.mtime {
            details.insert("mtime".into(), json!(m));
        }
        if let Some(b) = &self.btime {
            details.insert("btime".into(), json!(b));
        }
    }
}

/// Why a file could not be taken in, in words: `what` says which step failed.
pub fn io_reason(e: &io::Error, what: &str) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => {
            "vanished before it could be read (deleted or the drive was removed)".into()
        }
        io::ErrorKind::PermissionDenied => format!("{what}: permission denied"),
        _ => format!("{what}: {e}"),
    }
}
