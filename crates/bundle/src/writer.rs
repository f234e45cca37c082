//! Writing a bundle: payload bytes in, parts out.
//!
//! [`BundleWriter`] takes the payload as a byte stream (it is `Write`). Each full row goes
//! to a second thread that computes its Reed-Solomon parity, hashes every shard and appends
//! the shards to the parts, while the caller goes on producing the next row. Parts are
//! written under hidden temporary names and take their final names in [`Sealed::publish`],
//! so an interrupted pack leaves no file that looks like a finished part.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use base64::Engine;

use athar_tlog::Signer;

use crate::error::{io_at, BundleError, Result};
use crate::format::{self, Manifest, PartEntry, B64, HEADER_LEN, TRAILER_LEN};
use crate::layout::{shard_digest, Layout};

/// What the manifest says beyond the layout.
pub struct ManifestInfo<'a> {
    pub kind: &'a str,
    pub seq: u64,
    pub signer: &'a Signer,
}

pub struct BundleWriter {
    dir: PathBuf,
    layout: Layout,
    id: [u8; 16],
    names: Vec<String>,
    tmp_paths: Vec<PathBuf>,
    row: Vec<u8>,
    filled: usize,
    position: u64,
    to_rows: Option<SyncSender<Vec<u8>>>,
    spare: Receiver<Vec<u8>>,
    row_thread: Option<JoinHandle<io::Result<RowState>>>,
}

struct RowState {
    files: Vec<BufWriter<File>>,
    hashes: Vec<Vec<u8>>,
    rows: u64,
}

/// A bundle whose parts are complete under temporary names.
pub struct Sealed {
    pub manifest: Manifest,
    pub note: String,
    dir: PathBuf,
    tmp_paths: Vec<PathBuf>,
    published: bool,
}

fn tmp_name(name: &str) -> String {
    format!(".{name}.partial")
}

/// Raise the open-files limit: a bundle keeps every part open while it is written or read.
pub fn raise_file_limit() {
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max.min(65_536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

impl BundleWriter {
    /// Start a bundle in `dir` (created if needed) with fresh random part names.
    pub fn create(dir: &Path, layout: Layout) -> Result<BundleWriter> {
        layout.check().map_err(BundleError::Format)?;
        raise_file_limit();
        fs::create_dir_all(dir).map_err(io_at(dir))?;
        let mut id = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut id);
        let mut names: Vec<String> = Vec::with_capacity(layout.parts as usize);
        while names.len() < layout.parts as usize {
            let name = format::random_part_name();
            let taken = names.contains(&name)
                || dir.join(&name).exists()
                || dir.join(tmp_name(&name)).exists();
            if !taken {
                names.push(name);
            }
        }
        let mut files = Vec::with_capacity(names.len());
        let mut tmp_paths = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let path = dir.join(tmp_name(name));
            let file = File::options()
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(io_at(&path))?;
            tmp_paths.push(path.clone());
            let mut w = BufWriter::with_capacity(64 << 10, file);
            w.write_all(&format::part_header(&id, i as u32, layout.parts))
                .map_err(io_at(&path))?;
            files.push(w);
        }
        let row_len = layout.row_payload() as usize;
        let (to_rows, rows_rx) = sync_channel::<Vec<u8>>(1);
        let (spare_tx, spare) = sync_channel::<Vec<u8>>(2);
        let state = RowState {
            hashes: vec![Vec::new(); files.len()],
            files,
            rows: 0,
        };
        let row_thread = std::thread::Builder::new()
            .name("bundle rows".into())
            .spawn(move || row_worker(layout, state, rows_rx, spare_tx))
            .map_err(|e| BundleError::Io {
                path: dir.to_path_buf(),
                source: e,
            })?;
        Ok(BundleWriter {
            dir: dir.to_path_buf(),
            layout,
            id,
            names,
            tmp_paths,
            row: vec![0u8; row_len],
            filled: 0,
            position: 0,
            to_rows: Some(to_rows),
            spare,
            row_thread: Some(row_thread),
        })
    }

    pub fn id_hex(&self) -> String {
        hex::encode(self.id)
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Payload bytes written so far.
    pub fn position(&self) -> u64 {
        self.position
    }

    fn send_row(&mut self) -> io::Result<()> {
        let next = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| vec![0u8; self.layout.row_payload() as usize]);
        let full = std::mem::replace(&mut self.row, next);
        self.filled = 0;
        let sent = self.to_rows.as_ref().expect("open until finish").send(full);
        if sent.is_err() {
            // The row thread stopped: its error is reported by `finish`.
            return Err(io::Error::other(self.row_error()));
        }
        Ok(())
    }

    fn row_error(&mut self) -> String {
        self.to_rows = None;
        match self.row_thread.take().map(|h| h.join()) {
            Some(Ok(Err(e))) => e.to_string(),
            Some(Err(_)) => "the shard writer crashed".into(),
            _ => "the shard writer stopped".into(),
        }
    }

    /// Close the payload (appending the index trailer), finish the parts and sign the
    /// manifest. The parts keep their temporary names until [`Sealed::publish`].
    pub fn finish(
        mut self,
        index_offset: u64,
        index_len: u64,
        info: ManifestInfo<'_>,
        part_size_limit: Option<u64>,
    ) -> Result<Sealed> {
        let trailer = format::payload_trailer(index_offset, index_len);
        self.write_all(&trailer).map_err(io_at(&self.dir))?;
        if self.filled > 0 || self.position == 0 {
            self.row[self.filled..].fill(0);
            self.send_row().map_err(io_at(&self.dir))?;
        }
        drop(self.to_rows.take());
        let state = match self.row_thread.take().expect("running").join() {
            Ok(Ok(state)) => state,
            Ok(Err(e)) => return Err(io_at(&self.dir)(e)),
            Err(_) => return Err(BundleError::Format("the shard writer crashed".into())),
        };
        let RowState {
            mut files,
            hashes,
            rows,
        } = state;
        let mut manifest = Manifest {
            format: format::MANIFEST_FORMAT.into(),
            version: format::VERSION,
            kind: info.kind.into(),
            bundle: hex::encode(self.id),
            signer: info.signer.verifier().to_vkey_string(),
            seq: info.seq,
            created: athar_vault::now_rfc3339(),
            payload: self.position,
            shard_size: self.layout.shard,
            data_shards: self.layout.data,
            parity_shards: self.layout.parity,
            rows,
            part_size: 0,
            parts: self
                .names
                .iter()
                .zip(&hashes)
                .map(|(name, h)| PartEntry {
                    name: name.clone(),
                    shards: B64.encode(h),
                })
                .collect(),
        };
        // Every part holds the same manifest, whose length counts in the part's size.
        let data_len = self.layout.part_data_len(rows);
        let mut note;
        loop {
            note = format::sign_manifest(&manifest, info.signer).map_err(BundleError::Format)?;
            let size = HEADER_LEN + data_len + note.len() as u64 + TRAILER_LEN;
            if size == manifest.part_size {
                break;
            }
            manifest.part_size = size;
        }
        if let Some(limit) = part_size_limit {
            if manifest.part_size > limit {
                return Err(BundleError::Refused(format!(
                    "parts would be {} bytes, over the limit of {limit}: files grew while they were packed; pack again",
                    manifest.part_size
                )));
            }
        }
        let trailer = format::part_trailer(note.len() as u64);
        for (w, path) in files.iter_mut().zip(&self.tmp_paths) {
            w.write_all(note.as_bytes())
                .and_then(|_| w.write_all(&trailer))
                .and_then(|_| w.flush())
                .and_then(|_| w.get_ref().sync_all())
                .map_err(io_at(path))?;
        }
        drop(files);
        let tmp_paths = std::mem::take(&mut self.tmp_paths);
        Ok(Sealed {
            manifest,
            note,
            dir: self.dir.clone(),
            tmp_paths,
            published: false,
        })
    }
}

impl Write for BundleWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.row.len() - self.filled;
        let n = room.min(buf.len());
        self.row[self.filled..self.filled + n].copy_from_slice(&buf[..n]);
        self.filled += n;
        self.position += n as u64;
        if self.filled == self.row.len() {
            self.send_row()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for BundleWriter {
    fn drop(&mut self) {
        drop(self.to_rows.take());
        if let Some(h) = self.row_thread.take() {
            let _ = h.join();
        }
        for p in &self.tmp_paths {
            let _ = fs::remove_file(p);
        }
    }
}

impl Sealed {
    /// Give the parts their final names (the commit point on the drive).
    pub fn publish(mut self) -> Result<Sealed> {
        for (path, part) in self.tmp_paths.iter().zip(&self.manifest.parts) {
            let target = self.dir.join(&part.name);
            fs::rename(path, &target).map_err(io_at(&target))?;
        }
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io_at(&self.dir))?;
        self.published = true;
        Ok(self)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Sealed {
    fn drop(&mut self) {
        if !self.published {
            for p in &self.tmp_paths {
                let _ = fs::remove_file(p);
            }
        }
    }
}

fn row_worker(
    layout: Layout,
    mut state: RowState,
    rows: Receiver<Vec<u8>>,
    spare: SyncSender<Vec<u8>>,
) -> io::Result<RowState> {
    use rayon::prelude::*;
    let mut coder = RowCoder::new(layout);
    let mut digests = vec![[0u8; 32]; layout.columns() as usize];
    for row in rows {
        coder.encode(&row)?;
        // Hashing is the row's main cost: spread it over the cores.
        digests.par_iter_mut().enumerate().for_each(|(col, d)| {
            *d = shard_digest(coder.shard(&row, col as u32));
        });
        for p in 0..layout.parts as usize {
            for j in 0..layout.cpp() {
                let col = j * layout.parts + p as u32;
                state.hashes[p].extend_from_slice(&digests[col as usize]);
                state.files[p].write_all(coder.shard(&row, col))?;
            }
        }
        state.rows += 1;
        let _ = spare.try_send(row);
    }
    Ok(state)
}

/// Reed-Solomon parity of one row at a time.
pub struct RowCoder {
    layout: Layout,
    encoder: Option<reed_solomon_simd::ReedSolomonEncoder>,
    parity: Vec<u8>,
}

impl RowCoder {
    pub fn new(layout: Layout) -> RowCoder {
        let encoder = (layout.parity > 0).then(|| {
            reed_solomon_simd::ReedSolomonEncoder::new(
                layout.data as usize,
                layout.parity as usize,
                layout.shard as usize,
            )
            .expect("layout was checked")
        });
        RowCoder {
            layout,
            encoder,
            parity: vec![0u8; layout.parity as usize * layout.shard as usize],
        }
    }

    /// Compute the parity shards of `data` (all data shards of a row, concatenated).
    pub fn encode(&mut self, data: &[u8]) -> io::Result<()> {
        let Some(enc) = self.encoder.as_mut() else {
            return Ok(());
        };
        let s = self.layout.shard as usize;
        for shard in data.chunks_exact(s) {
            enc.add_original_shard(shard).map_err(io::Error::other)?;
        }
        let result = enc.encode().map_err(io::Error::other)?;
        for (i, rec) in result.recovery_iter().enumerate() {
            self.parity[i * s..(i + 1) * s].copy_from_slice(rec);
        }
        Ok(())
    }

    /// Column `col` of the row last encoded from `data`.
    pub fn shard<'a>(&'a self, data: &'a [u8], col: u32) -> &'a [u8] {
        let s = self.layout.shard as usize;
        let col = col as usize;
        let k = self.layout.data as usize;
        if col < k {
            &data[col * s..(col + 1) * s]
        } else {
            &self.parity[(col - k) * s..(col - k + 1) * s]
        }
    }
}
