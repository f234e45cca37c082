//! Reading the payload of a checked (or repaired) bundle: byte ranges mapped onto data
//! shards, the index at its end, and each object's age file.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::error::{io_at, BundleError, Result};
use crate::format::{self, Index, Manifest, PAYLOAD_TRAILER_LEN};
use crate::layout::Layout;
use crate::pack::read_at;

pub struct Payload {
    layout: Layout,
    len: u64,
    files: Vec<File>,
}

impl Payload {
    /// Open the parts in `dir`, which must all be there and intact (as `check` left them).
    pub fn open_dir(dir: &Path, m: &Manifest) -> Result<Payload> {
        let files = m
            .parts
            .iter()
            .map(|p| {
                let path = dir.join(&p.name);
                File::open(&path).map_err(io_at(&path))
            })
            .collect::<Result<_>>()?;
        Ok(Payload {
            layout: m.layout(),
            len: m.payload,
            files,
        })
    }

    /// Open parts wherever they were found (all present and intact).
    pub fn open_files(paths: &[Option<std::path::PathBuf>], m: &Manifest) -> Result<Payload> {
        let files = paths
            .iter()
            .map(|p| {
                let p = p.as_ref().ok_or_else(|| {
                    BundleError::Format("a part is missing; repair the bundle first".into())
                })?;
                File::open(p).map_err(io_at(p))
            })
            .collect::<Result<_>>()?;
        Ok(Payload {
            layout: m.layout(),
            len: m.payload,
            files,
        })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Fill `buf` from payload offset `off`.
    pub fn read_exact_at(&self, mut off: u64, mut buf: &mut [u8]) -> io::Result<()> {
        if off + buf.len() as u64 > self.len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end of the payload",
            ));
        }
        let s = self.layout.shard;
        let k = self.layout.data as u64;
        while !buf.is_empty() {
            let d = off / s;
            let within = off % s;
            let (p, at) = self.layout.locate(d / k, (d % k) as u32);
            let take = ((s - within) as usize).min(buf.len());
            let got = read_at(&self.files[p], at + within, &mut buf[..take])?;
            if got < take {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "a part is shorter than its manifest says",
                ));
            }
            off += take as u64;
            buf = &mut buf[take..];
        }
        Ok(())
    }

    pub fn range(&self, offset: u64, len: u64) -> Range<'_> {
        Range {
            payload: self,
            pos: offset,
            end: offset.saturating_add(len).min(self.len),
        }
    }

    /// Decrypt the index with `identity`. Fails if the bundle was not encrypted to it.
    pub fn index(&self, identity: &dyn age::Identity) -> Result<Index> {
        let mut t = [0u8; PAYLOAD_TRAILER_LEN as usize];
        self.read_exact_at(self.len - PAYLOAD_TRAILER_LEN, &mut t)
            .map_err(|e| BundleError::Format(e.to_string()))?;
        let (off, len) =
            format::parse_payload_trailer(&t, self.len).map_err(BundleError::Format)?;
        let decryptor = age::Decryptor::new(self.range(off, len)).map_err(|e| {
            BundleError::Format(format!("the bundle's index is not an age file: {e}"))
        })?;
        let mut reader = decryptor
            .decrypt(std::iter::once(identity))
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => BundleError::Refused(
                    "this bundle is not encrypted to this vault's key: it was packed for another archive (check the source profile's --to recipients)".into(),
                ),
                other => BundleError::Format(format!("the bundle's index cannot be decrypted: {other}")),
            })?;
        let mut json = Vec::new();
        reader.read_to_end(&mut json).map_err(|e| {
            BundleError::Format(format!("the bundle's index cannot be decrypted: {e}"))
        })?;
        let index: Index = serde_json::from_slice(&json)
            .map_err(|e| BundleError::Format(format!("the bundle's index is malformed: {e}")))?;
        if index.format != format::INDEX_FORMAT || index.version != format::VERSION {
            return Err(BundleError::Format(
                "the bundle's index has an unknown format".into(),
            ));
        }
        Ok(index)
    }
}

/// A byte range of the payload, as a reader.
pub struct Range<'a> {
    payload: &'a Payload,
    pos: u64,
    end: u64,
}

impl Read for Range<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = ((self.end - self.pos) as usize).min(buf.len());
        if n == 0 {
            return Ok(0);
        }
        self.payload.read_exact_at(self.pos, &mut buf[..n])?;
        self.pos += n as u64;
        Ok(n)
    }
}
