//! The athar vault: encrypted, content-addressed evidence objects and a signed,
//! tamper-evident custody log with Merkle checkpoints. Knows nothing of images or SQL.

pub mod envelope;
pub mod error;
pub mod event;
pub mod feed;
pub mod keys;
pub mod log;
pub mod s3;
pub mod sniff;
pub mod source;
pub mod store;
pub mod vault;
pub mod verify;

pub use age::secrecy::SecretString;
pub use error::{Result, VaultError};
pub use event::{kind, Event, EventDraft, SignedEvent};
pub use s3::{S3Store, S3Url};
pub use store::{BlobStore, Committed};
pub use vault::{
    now_rfc3339, parse_sha256, Access, InitOptions, Objects, Reader, Vault, VaultConfig,
};
