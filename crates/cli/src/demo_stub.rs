use std::path::{Path, PathBuf};
use std::process::ExitCode;
pub fn corpus(_: &Path, _: usize, _: u64, _: u32, _: u32) -> anyhow::Result<ExitCode> {
    anyhow::bail!("wip")
}
pub fn run(_: Option<PathBuf>, _: usize, _: u64) -> anyhow::Result<ExitCode> {
    anyhow::bail!("wip")
}
