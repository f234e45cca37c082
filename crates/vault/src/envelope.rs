//! The object envelope: a plain age v1 file (binary, X25519 recipients), so that the standard
//! `age` tool decrypts any object with the vault's identity.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

use crate::error::{Result, VaultError};

/// Plaintext is read and encrypted in pieces of this size: memory stays flat for any file size.
/// age's own chunk size: larger buys nothing, and the buffer is zeroed for every object
/// (analysis seals three small derivatives per photo).
const CHUNK: usize = 64 * 1024;

/// What sealing learned about the plaintext on the way through.
#[derive(Debug, Clone, Copy)]
pub struct Sealed {
    pub sha256: [u8; 32],
    pub size: u64,
    /// The first bytes, for sniffing the media type by content.
    pub head: [u8; 64],
    pub head_len: usize,
}

/// Encrypt `input` to `recipients`, hashing the plaintext as it passes. The read errors are
/// returned as `io::Error` so callers can tell a bad source file from a bad destination.
pub fn seal(
    input: &mut dyn Read,
    output: &mut dyn Write,
    recipients: &[&dyn age::Recipient],
) -> Result<Sealed, SealError> {
    let encryptor = age::Encryptor::with_recipients(recipients.iter().copied())
        .map_err(|e| SealError::Write(VaultError::Encrypt(e.to_string())))?;
    let mut writer = encryptor.wrap_output(output).map_err(SealError::write)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut size = 0u64;
    let mut head = [0u8; 64];
    let mut head_len = 0;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(SealError::Read(e)),
        };
        if head_len < head.len() {
            let take = (head.len() - head_len).min(n);
            head[head_len..head_len + take].copy_from_slice(&buf[..take]);
            head_len += take;
        }
        hasher.update(&buf[..n]);
        writer.write_all(&buf[..n]).map_err(SealError::write)?;
        size += n as u64;
    }
    writer.finish().map_err(SealError::write)?;
    Ok(Sealed {
        sha256: hasher.finalize().into(),
        size,
        head,
        head_len,
    })
}

#[derive(Debug)]
pub enum SealError {
    /// The source could not be read.
    Read(io::Error),
    /// The destination could not be written.
    Write(VaultError),
}

impl SealError {
    fn write(e: io::Error) -> Self {
        SealError::Write(crate::error::io_at("vault object")(e))
    }
}

/// Decrypt an age envelope with the vault's identity.
pub fn open<'a, R: Read + 'a>(
    input: R,
    identity: &'a age::x25519::Identity,
    what: &str,
) -> Result<impl Read + 'a> {
    let decryptor = age::Decryptor::new(input).map_err(|e| VaultError::Decrypt {
        what: what.to_string(),
        reason: e.to_string(),
    })?;
    decryptor
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .map_err(|e| VaultError::Decrypt {
            what: what.to_string(),
            reason: e.to_string(),
        })
}

/// Encrypt a small in-memory payload (log segments).
pub fn seal_bytes(data: &[u8], recipients: &[&dyn age::Recipient]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() + 256);
    seal(&mut &data[..], &mut out, recipients).map_err(|e| match e {
        SealError::Read(e) => VaultError::Encrypt(e.to_string()),
        SealError::Write(e) => e,
    })?;
    Ok(out)
}
