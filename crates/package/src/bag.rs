//! Writing one BagIt (RFC 8493) bag: payload files hashed as they are written, tag files,
//! the manifests, `bag-info.txt`, and the detached signature over the tag manifest.

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{io_at, PackageError, Result};

pub const BAGIT_TXT: &str = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
pub const MANIFEST: &str = "manifest-sha256.txt";
pub const TAG_MANIFEST: &str = "tagmanifest-sha256.txt";
pub const SIGNATURE: &str = "tagmanifest-sha256.txt.sig";
/// Domain separation for the package signature (docs/formats/package.md).
pub const SIGNING_PREFIX: &[u8] = b"athar package v1\n";
pub const SIGNATURE_HEADER: &str = "athar.package-signature@v1";

/// A bag being written. Paths are relative to the bag, with `/` separators.
pub struct BagWriter {
    root: PathBuf,
    payload: Vec<(String, String)>,
    payload_bytes: u64,
    tags: Vec<(String, String)>,
}

impl BagWriter {
    pub fn create(root: &Path) -> Result<BagWriter> {
        fs::create_dir_all(root.join("data")).map_err(io_at(root))?;
        Ok(BagWriter {
            root: root.to_path_buf(),
            payload: Vec::new(),
            payload_bytes: 0,
            tags: Vec::new(),
        })
    }

    /// Copy `input` to `data/…`, hashing it on the way. Returns the SHA-256 (hex) written.
    pub fn payload(
        &mut self,
        rel: &str,
        input: &mut dyn Read,
        on_bytes: &mut dyn FnMut(u64),
    ) -> Result<String> {
        debug_assert!(rel.starts_with("data/"));
        let path = self.path_of(rel)?;
        let mut out = BufWriter::new(File::create(&path).map_err(io_at(&path))?);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0u64;
        loop {
            let n = input.read(&mut buf).map_err(|e| PackageError::Read {
                what: rel.to_string(),
                source: e,
            })?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(io_at(&path))?;
            total += n as u64;
            on_bytes(n as u64);
        }
        // Made durable all at once before the package is renamed into place (`sync_dir`).
        out.flush().map_err(io_at(&path))?;
        let sha = hex::encode(hasher.finalize());
        self.payload.push((sha.clone(), rel.to_string()));
        self.payload_bytes += total;
        Ok(sha)
    }

    /// A tag file (anything outside `data/`), listed in the tag manifest.
    pub fn tag(&mut self, rel: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path_of(rel)?;
        fs::write(&path, bytes).map_err(io_at(&path))?;
        self.tags
            .push((hex::encode(Sha256::digest(bytes)), rel.to_string()));
        Ok(())
    }

    /// `octets.files` of the payload, as Payload-Oxum wants it.
    pub fn oxum(&self) -> String {
        format!("{}.{}", self.payload_bytes, self.payload.len())
    }

    pub fn payload_bytes(&self) -> u64 {
        self.payload_bytes
    }

    /// Write `bagit.txt`, `bag-info.txt` (with Payload-Oxum added), the payload manifest, the
    /// tag manifest over every tag file, and the detached signature over the tag manifest.
    pub fn finish(
        mut self,
        info: &[(String, String)],
        vkey: &str,
        sign: &dyn Fn(&[u8]) -> [u8; 64],
    ) -> Result<()> {
        self.tag("bagit.txt", BAGIT_TXT.as_bytes())?;
        let mut bag_info = String::new();
        for (label, value) in info {
            bag_info.push_str(&format!("{label}: {}\n", one_line(value)));
        }
        bag_info.push_str(&format!("Payload-Oxum: {}\n", self.oxum()));
        self.tag("bag-info.txt", bag_info.as_bytes())?;
        let manifest = manifest_text(&mut self.payload);
        self.tag(MANIFEST, manifest.as_bytes())?;
        let tag_manifest = manifest_text(&mut self.tags);
        let path = self.root.join(TAG_MANIFEST);
        fs::write(&path, &tag_manifest).map_err(io_at(&path))?;

        let mut msg = SIGNING_PREFIX.to_vec();
        msg.extend_from_slice(tag_manifest.as_bytes());
        let sig = sign(&msg);
        use base64::Engine;
        let text = format!(
            "{SIGNATURE_HEADER}\n{vkey}\n{}\n",
            base64::engine::general_purpose::STANDARD.encode(sig)
        );
        let path = self.root.join(SIGNATURE);
        fs::write(&path, text).map_err(io_at(&path))?;
        Ok(())
    }

    fn path_of(&self, rel: &str) -> Result<PathBuf> {
        let path = self.root.join(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io_at(dir))?;
        }
        Ok(path)
    }
}

/// `<sha256> <path>` lines sorted by path. Our paths never need RFC 8493's percent-encoding
/// (they are built from hex digests and sanitised case ids), which `safe_name` guarantees.
fn manifest_text(entries: &mut [(String, String)]) -> String {
    entries.sort_by(|a, b| a.1.cmp(&b.1));
    entries
        .iter()
        .map(|(sha, path)| format!("{sha}  {path}\n"))
        .collect()
}

/// A bag-info value must be one line: fold any line breaks into spaces.
fn one_line(s: &str) -> String {
    s.split(['\r', '\n'])
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A file-name component made of `[A-Za-z0-9._-]` only, never `.` or `..`.
pub fn safe_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.chars().all(|c| c == '.') {
        out = format!("_{out}");
    }
    out
}

/// Flush every file and directory on `dir`'s filesystem in one call (`syncfs`): far cheaper
/// than an fsync per file for a package of thousands of files.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let d = File::open(dir).map_err(io_at(dir))?;
    // SAFETY: syncfs only reads the descriptor, which `d` keeps open for the call.
    let rc = unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&d)) };
    if rc != 0 {
        return Err(io_at(dir)(std::io::Error::last_os_error()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names() {
        assert_eq!(safe_name("215-4512"), "215-4512");
        assert_eq!(safe_name("../x y"), ".._x_y");
        assert_eq!(safe_name(".."), "_..");
        assert_eq!(safe_name("فرع"), "___");
    }

    #[test]
    fn bag_info_values_stay_on_one_line() {
        assert_eq!(one_line("a\r\nb\nc"), "a b c");
    }
}
