//! athar-bundle: the flash-drive route.
//!
//! A *bundle* carries evidence from a source's computer to the archive (or from one archive
//! to a partner) on media that may be seized, damaged or partly lost. It is a set of *parts*
//! (files with random, innocuous names) holding:
//!
//! - a *payload*: each object as its own age file encrypted to the archive's recipients,
//!   padded, then the encrypted *index* (where each object lies, and the signer's custody
//!   events for them);
//! - Reed-Solomon parity over the payload, striped across the parts, so that lost parts
//!   and damaged bytes within the parity budget are rebuilt;
//! - in every part, a copy of the clear *manifest* signed by the source (a C2SP signed
//!   note): bundle id, signer, sequence number, layout and the SHA-256 of every shard.
//!
//! Modules, in the order data flows: [`profile`] (a source's keys), [`pack`] (files to
//! parts, via [`writer`] and [`layout`]), [`scan`] and [`check`] (find parts, verify shards,
//! repair), [`receive`] (the courier), [`payload`] and [`import`] (into a vault), [`export`]
//! (vault to partner). The byte format is in docs/formats/bundle.md.

pub mod check;
pub mod error;
pub mod export;
pub mod format;
pub mod import;
pub mod layout;
pub mod pack;
pub mod payload;
pub mod profile;
pub mod receive;
pub mod scan;
pub mod writer;

pub use error::{BundleError, Result};
