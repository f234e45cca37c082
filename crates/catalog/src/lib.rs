//! The catalogue: a queryable projection of the custody log. The vault is the truth; this is
//! an index that `rebuild` recreates from the log alone.
//!
//! Queries go through the [`Catalog`] trait; [`SqlCatalog`] runs the same SQL on the
//! embedded SQLCipher database or on PostgreSQL (see `athar_sql`).

pub mod grouping;
pub mod matching;
pub mod observations;
mod photos;
mod projection;
pub mod records;
pub mod similar;
mod sql;

use serde::Serialize;

pub use observations::{
    candidate_event, identification_event, informed_event, merge_event, observation_event,
    split_event, CaseObservations, Observations,
};
pub use photos::{
    exif_time, CaseFilter, CaseRow, Pending, PhotoRow, Photos, Stats, GROUPING, METADATA_EXTRACTION,
};
pub use projection::{catch_up, rebuild};
pub use records::{
    open_contact, record_digest, record_event, seal_contact, search_records, MissingPerson,
    PersonNames, RecordChange, Records, SealedContact, Sex,
};
pub use sql::{Location, SqlCatalog, CATALOG_FILE, PG_SCHEMA};

use athar_vault::SignedEvent;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalogue database error: {0}; `athar catalog rebuild` recreates it from the log")]
    Sql(athar_sql::SqlError),
    #[error("the catalogue's PostgreSQL server cannot be reached ({0}); check that it is running and run the same command again (nothing reported done is lost)")]
    Unavailable(athar_sql::SqlError),
    #[error("the vault's disk is full while updating the catalogue; free some space and run the same command again (nothing reported done is lost)")]
    DiskFull,
    #[error("the catalogue cannot be opened with this vault's key (it belongs to another vault or is damaged); run `athar catalog rebuild`")]
    WrongKey,
    #[error("the catalogue has events up to {have} but was offered event {next}; run `athar catalog rebuild`")]
    Gap { have: u64, next: u64 },
    #[error("no missing-person record {0}; `athar record list` shows the records")]
    NoRecord(String),
    #[error("invalid missing-person record: {0}")]
    InvalidRecord(String),
    #[error(transparent)]
    Vault(#[from] athar_vault::VaultError),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

impl From<athar_sql::SqlError> for CatalogError {
    fn from(e: athar_sql::SqlError) -> Self {
        match e {
            athar_sql::SqlError::DiskFull => CatalogError::DiskFull,
            athar_sql::SqlError::WrongKey => CatalogError::WrongKey,
            e if e.is_unavailable() => CatalogError::Unavailable(e),
            e => CatalogError::Sql(e),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectRow {
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
    pub first_seq: u64,
    pub first_time: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SightingRow {
    pub seq: u64,
    pub time: String,
    pub source_path: String,
    pub size: u64,
    pub mtime: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRow {
    pub seq: u64,
    pub time: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub actor: String,
    pub objects: Vec<String>,
    pub details: serde_json::Value,
}

/// Which events `athar log` lists. Times are RFC 3339 in UTC and compare as text.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub object: Option<String>,
    pub kind: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub limit: Option<u64>,
}

pub trait Catalog {
    /// The last log event applied.
    fn last_seq(&self) -> Result<u64>;
    /// The last log event applied and its leaf hash (zeros if none), read together, to
    /// continue the chain from there.
    fn position(&self) -> Result<(u64, [u8; 32])>;
    /// Apply a batch of consecutive events in one transaction.
    fn apply(&mut self, events: &[SignedEvent]) -> Result<()>;
    fn object(&self, sha256: &str) -> Result<Option<ObjectRow>>;
    fn sightings(&self, sha256: &str) -> Result<Vec<SightingRow>>;
    /// The object already recorded for this exact file (path bytes, size, mtime), if any:
    /// lets an interrupted ingest resume without re-reading what it has done.
    fn recorded_file(&self, path: &[u8], size: u64, mtime: &str) -> Result<Option<String>>;
    fn events(&self, filter: &EventFilter) -> Result<Vec<EventRow>>;
    /// Counts for summaries: objects and their total bytes.
    fn totals(&self) -> Result<(u64, u64)>;
    /// The whole content in a canonical text form, to compare two catalogues.
    fn dump(&self) -> Result<String>;
}
