//! Where the passphrase comes from: a file (for scripts) or the terminal.

use std::io::IsTerminal;

use anyhow::{bail, Context, Result};
use athar_vault::SecretString;

use crate::PassArgs;

/// The passphrase to open an existing vault.
pub fn get(pass: &PassArgs) -> Result<SecretString> {
    if let Some(file) = &pass.passphrase_file {
        return from_file(file);
    }
    require_terminal()?;
    let p = rpassword::prompt_password("Vault passphrase: ").context("reading the passphrase")?;
    Ok(SecretString::from(p))
}

/// A new passphrase, typed twice when it comes from the terminal.
pub fn new(pass: &PassArgs) -> Result<SecretString> {
    if let Some(file) = &pass.passphrase_file {
        return from_file(file);
    }
    require_terminal()?;
    let p =
        rpassword::prompt_password("New vault passphrase: ").context("reading the passphrase")?;
    if p.chars().count() < 8 {
        bail!("the passphrase is too short: use at least 8 characters (a few words is best)");
    }
    let again = rpassword::prompt_password("Repeat it: ").context("reading the passphrase")?;
    if again != p {
        bail!("the two passphrases differ; nothing was created");
    }
    Ok(SecretString::from(p))
}

fn from_file(file: &std::path::Path) -> Result<SecretString> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the passphrase file {}", file.display()))?;
    if text.lines().next().unwrap_or("").is_empty() {
        bail!("the passphrase file {} is empty", file.display());
    }
    Ok(athar_vault::keys::passphrase_from_file_contents(&text))
}

fn require_terminal() -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("no passphrase: give --passphrase-file FILE or set ATHAR_PASSPHRASE_FILE");
    }
    Ok(())
}
