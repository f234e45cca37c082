use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in the vault. Messages say what to do next.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the vault's disk is full while writing {path}; free some space and run the same command again (nothing reported done is lost)")]
    DiskFull { path: PathBuf },
    #[error("{0} is not an athar vault (no vault.json); create one with `athar init`")]
    NotAVault(PathBuf),
    #[error("{0} already exists and is not empty; choose a new directory for the vault")]
    AlreadyExists(PathBuf),
    #[error("wrong passphrase for this vault's keys")]
    WrongPassphrase,
    #[error("the vault is busy: another athar process ({holder}) is using it; wait for it to finish, then try again")]
    Locked { holder: String },
    #[error("vault keys are damaged: {0}")]
    BadKeys(String),
    #[error("unsupported vault format version {0}; upgrade athar")]
    UnsupportedVersion(u32),
    #[error("encryption failed: {0}")]
    Encrypt(String),
    #[error("decryption failed for {what}: {reason}")]
    Decrypt { what: String, reason: String },
    #[error("no object with SHA-256 {0} in this vault")]
    NoSuchObject(String),
    #[error("not a SHA-256 digest: {0:?} (expected 64 hexadecimal characters)")]
    BadDigest(String),
    #[error("custody log is damaged: {0}; run `athar verify` for the full report")]
    BadLog(String),
    #[error("checkpoint problem: {0}")]
    Checkpoint(String),
    #[error("{0}")]
    Invalid(String),
    #[error("S3 at {endpoint} ({url}) is unreachable ({reason}); once it is back, run the same command again (nothing reported done is lost)")]
    S3Unreachable {
        url: String,
        endpoint: String,
        reason: String,
    },
    #[error("S3 refused access to {url} ({reason}); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE and the credentials file) and the bucket's permissions")]
    S3Denied { url: String, reason: String },
    #[error("the S3 bucket {bucket} does not exist at {endpoint}; create it (e.g. `aws s3 mb s3://{bucket}` or your server's own tool), then run the same command again")]
    S3NoBucket { bucket: String, endpoint: String },
    #[error("S3 at {url} failed to {what}: {reason}")]
    S3 {
        url: String,
        what: String,
        reason: String,
    },
}

impl VaultError {
    /// The storage server could not be reached: the same command, run again later, may work.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, VaultError::S3Unreachable { .. })
    }
}

pub type Result<T, E = VaultError> = std::result::Result<T, E>;

/// Attach a path to an I/O error, turning "no space left" into its own, actionable error.
pub(crate) fn io_at(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> VaultError {
    let path = path.into();
    move |source| {
        if source.raw_os_error() == Some(libc::ENOSPC)
            || source.kind() == io::ErrorKind::StorageFull
        {
            VaultError::DiskFull { path }
        } else {
            VaultError::Io { path, source }
        }
    }
}
