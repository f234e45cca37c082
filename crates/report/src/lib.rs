//! athar-report: what athar shows to people outside the archive — statistics and charts now,
//! evidence packages later. No I/O; callers pass data in and write the output.

pub mod chart;
pub mod csv;
