//! Where a passphrase comes from: a file (for scripts) or the terminal.

use std::io::IsTerminal;

use anyhow::{bail, Context, Result};
use athar_vault::SecretString;

use crate::PassArgs;

/// The passphrase to open an existing vault.
pub fn get(pass: &PassArgs) -> Result<SecretString> {
    ask(pass, "Vault passphrase", false)
}

/// A new vault passphrase.
pub fn new(pass: &PassArgs) -> Result<SecretString> {
    ask(pass, "New vault passphrase", true)
}

/// From the passphrase file if one is given, else from the terminal, prompting with `label`.
/// A new passphrase is typed twice and must be at least 8 characters.
pub fn ask(pass: &PassArgs, label: &str, new: bool) -> Result<SecretString> {
    if let Some(file) = &pass.passphrase_file {
        return from_file(file);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no passphrase: give --passphrase-file FILE or set ATHAR_PASSPHRASE_FILE");
    }
    let p = rpassword::prompt_password(format!("{label}: ")).context("reading the passphrase")?;
    if new {
        if p.chars().count() < 8 {
            bail!("the passphrase is too short: use at least 8 characters (a few words is best)");
        }
        let again = rpassword::prompt_password("Repeat it: ").context("reading the passphrase")?;
        if again != p {
            bail!("the two passphrases differ; nothing was created");
        }
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
