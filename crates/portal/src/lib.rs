//! The families' and investigators' web portal: an axum server whose pages are HTML rendered
//! here (maud), with no JavaScript at all, so that they work on a poor phone connection and
//! with scripts off.
//!
//! Reading order: [`routes`] (the one table of every route and who may use it, and the
//! dispatcher that enforces it), then the pages by user: [`public`], [`family`],
//! [`review`] (investigators), [`admin`]; [`view`] is the graded viewing of a case shared by
//! families and investigators. [`store`] holds the portal's own tables, [`auth`] passwords,
//! sessions and the sign-in limit, [`i18n`] the Fluent bundles, [`page`] the layout.

pub mod admin;
pub mod app;
pub mod auth;
pub mod family;
pub mod i18n;
pub mod images;
pub mod page;
pub mod public;
pub mod review;
pub mod routes;
pub mod server;
pub mod store;
pub mod view;

pub use app::{App, Options};
pub use routes::{Method, Route, ROUTES};
pub use server::serve;
pub use store::Role;

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error("portal database: {0}")]
    Sql(#[from] athar_sql::SqlError),
    #[error(transparent)]
    Catalog(#[from] athar_catalog::CatalogError),
    #[error(transparent)]
    Vault(#[from] athar_vault::VaultError),
    #[error("{0}")]
    Setup(String),
    #[error("that e-mail address already has an account")]
    Taken,
    #[error("not found")]
    NotFound,
    /// A form the user must correct; the message id says what to do.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("the archive is busy (another program holds the vault's writer lock)")]
    Busy,
}

pub type Result<T, E = PortalError> = std::result::Result<T, E>;
