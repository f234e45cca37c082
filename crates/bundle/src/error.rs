use std::io;
use std::path::PathBuf;

use athar_vault::VaultError;

/// Everything that can go wrong with bundles. Messages say what happened and what to do.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{0}")]
    Vault(#[from] VaultError),
    #[error("{0} is not a source profile (no profile.json); create one with `athar source init`")]
    NotAProfile(PathBuf),
    #[error("{0} already exists and is not empty; choose a new directory for the profile")]
    ProfileExists(PathBuf),
    #[error("wrong passphrase for this source profile's signing key")]
    WrongPassphrase,
    #[error(
        "not an age recipient: {0:?} (expected age1…; `athar keys VAULT` prints the archive's)"
    )]
    BadRecipient(String),
    #[error("not a signing key: {0:?} (expected NAME+hash+key, as `athar source init` or `athar keys` print it)")]
    BadKey(String),
    #[error("nothing to pack: {0}")]
    NothingToPack(String),
    #[error("bad option: {0}")]
    BadOption(String),
    #[error("{0}")]
    Refused(String),
    #[error("the source file {path} changed while it was being packed ({reason}); pack again")]
    SourceChanged { path: PathBuf, reason: String },
    #[error("encryption failed: {0}")]
    Encrypt(String),
    #[error("{0}")]
    Format(String),
}

pub type Result<T, E = BundleError> = std::result::Result<T, E>;

pub(crate) fn io_at(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> BundleError {
    let path = path.into();
    move |source| BundleError::Io { path, source }
}
