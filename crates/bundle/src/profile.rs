//! A source profile: what a documenter's computer holds to pack bundles.
//!
//! ```text
//! PROFILE/
//!   profile.json   public: the archive's age recipients and this source's verifier key
//!   key.age        the source's Ed25519 signing key, age-encrypted under a passphrase (scrypt)
//!   state.json     bare counters: bundles packed, last feed event number and its leaf hash
//! ```
//!
//! No identity that could decrypt a bundle is ever here: the source cannot read what it
//! packed, and neither can whoever seizes its computer. `state.json` holds no names, no
//! digests of files, no sizes: only how many bundles and events there were, and the hash of
//! the last event line (which chains the next bundle's events onto this one's).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::SecretString;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use athar_tlog::{Signer, Verifier};

use crate::error::{io_at, BundleError, Result};
use base64::Engine;

use crate::format::B64;

const FORMAT: &str = "athar-source";
const KEY_MAGIC: &str = "athar-source-key-v1";
pub const CONFIG_FILE: &str = "profile.json";
pub const KEY_FILE: &str = "key.age";
pub const STATE_FILE: &str = "state.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileConfig {
    pub format: String,
    pub version: u32,
    /// The source's verifier key (`athar.source/<id>+<hash>+<key>`): give it to the archive.
    pub key: String,
    /// The archive team's age recipients: every bundle is encrypted to all of them.
    pub recipients: Vec<String>,
    pub created: String,
}

/// Where this source's feed stands. Counters only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedState {
    /// Bundles packed so far (the next bundle is number `bundles + 1`).
    pub bundles: u64,
    /// Events in the source's feed so far.
    pub events: u64,
    /// Leaf hash (hex) of the last event; empty before the first.
    pub head: String,
}

impl FeedState {
    pub fn head_hash(&self) -> [u8; 32] {
        hex::decode(&self.head)
            .ok()
            .and_then(|b| b.try_into().ok())
            .unwrap_or([0; 32])
    }
}

pub struct Profile {
    root: PathBuf,
    pub config: ProfileConfig,
    pub state: FeedState,
}

/// The unlocked signing key of a source.
pub struct SourceKey {
    pub signer: Signer,
    pub signing: SigningKey,
}

impl SourceKey {
    pub fn actor(&self) -> String {
        athar_vault::event::actor_id(&self.signing.verifying_key())
    }
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        ed25519_dalek::Signer::sign(&self.signing, msg).to_bytes()
    }
}

/// Parse and check age X25519 recipients.
pub fn parse_recipients(list: &[String]) -> Result<Vec<age::x25519::Recipient>> {
    if list.is_empty() {
        return Err(BundleError::BadOption(
            "give at least one recipient with --to (the archive's `athar keys` prints it)".into(),
        ));
    }
    list.iter()
        .map(|r| {
            age::x25519::Recipient::from_str(r.trim())
                .map_err(|_| BundleError::BadRecipient(r.clone()))
        })
        .collect()
}

impl Profile {
    /// Create a profile with a fresh signing key under `passphrase`.
    pub fn init(
        root: &Path,
        recipients: &[String],
        passphrase: &SecretString,
        scrypt_log_n: u8,
    ) -> Result<Profile> {
        let parsed = parse_recipients(recipients)?;
        if root.exists() && fs::read_dir(root).map_err(io_at(root))?.next().is_some() {
            return Err(BundleError::ProfileExists(root.to_path_buf()));
        }
        fs::create_dir_all(root).map_err(io_at(root))?;
        restrict(root);
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed[..]);
        let mut id = [0u8; 4];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut id);
        let name = format!("athar.source/{}", hex::encode(id));
        let signing = SigningKey::from_bytes(&seed);
        let verifier = Verifier::new(&name, signing.verifying_key())
            .map_err(|e| BundleError::Format(e.to_string()))?;
        let text = Zeroizing::new(format!(
            "{KEY_MAGIC}\nname {name}\ned25519 {}\n",
            B64.encode(&seed[..])
        ));
        let sealed = seal_with_passphrase(text.as_bytes(), passphrase, scrypt_log_n)?;
        write_atomically(&root.join(KEY_FILE), &sealed)?;
        let config = ProfileConfig {
            format: FORMAT.into(),
            version: 1,
            key: verifier.to_vkey_string(),
            recipients: parsed.iter().map(|r| r.to_string()).collect(),
            created: athar_vault::now_rfc3339(),
        };
        let state = FeedState::default();
        write_atomically(
            &root.join(STATE_FILE),
            &serde_json::to_vec_pretty(&state).expect("serialises"),
        )?;
        write_atomically(
            &root.join(CONFIG_FILE),
            &serde_json::to_vec_pretty(&config).expect("serialises"),
        )?;
        Ok(Profile {
            root: root.to_path_buf(),
            config,
            state,
        })
    }

    pub fn open(root: &Path) -> Result<Profile> {
        let path = root.join(CONFIG_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BundleError::NotAProfile(root.to_path_buf()))
            }
            Err(e) => return Err(io_at(&path)(e)),
        };
        let config: ProfileConfig = serde_json::from_slice(&bytes)
            .map_err(|e| BundleError::Format(format!("{}: {e}", path.display())))?;
        if config.format != FORMAT {
            return Err(BundleError::NotAProfile(root.to_path_buf()));
        }
        let spath = root.join(STATE_FILE);
        let state = match fs::read(&spath) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| BundleError::Format(format!("{}: {e}", spath.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FeedState::default(),
            Err(e) => return Err(io_at(&spath)(e)),
        };
        Ok(Profile {
            root: root.to_path_buf(),
            config,
            state,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn recipients(&self) -> Result<Vec<age::x25519::Recipient>> {
        parse_recipients(&self.config.recipients)
    }

    /// Decrypt the signing key. A wrong passphrase fails at once.
    pub fn unlock(&self, passphrase: &SecretString) -> Result<SourceKey> {
        let path = self.root.join(KEY_FILE);
        let sealed = fs::read(&path).map_err(io_at(&path))?;
        let plain =
            athar_vault::keys::open_with_passphrase(&sealed, passphrase).map_err(|e| match e {
                athar_vault::VaultError::WrongPassphrase => BundleError::WrongPassphrase,
                other => BundleError::Format(format!("{}: {other}", path.display())),
            })?;
        let text = std::str::from_utf8(&plain)
            .map_err(|_| BundleError::Format(format!("{} is not text", path.display())))?;
        let bad = || BundleError::Format(format!("{} is damaged", path.display()));
        let mut lines = text.lines();
        if lines.next() != Some(KEY_MAGIC) {
            return Err(bad());
        }
        let (mut name, mut seed) = (None, None);
        for line in lines {
            match line.split_once(' ') {
                Some(("name", v)) => name = Some(v.to_string()),
                Some(("ed25519", v)) => {
                    let bytes = Zeroizing::new(B64.decode(v).map_err(|_| bad())?);
                    let arr: [u8; 32] = bytes[..].try_into().map_err(|_| bad())?;
                    seed = Some(Zeroizing::new(arr));
                }
                _ => {}
            }
        }
        let (name, seed) = (name.ok_or_else(bad)?, seed.ok_or_else(bad)?);
        let signing = SigningKey::from_bytes(&seed);
        let signer = Signer::new(&name, signing.clone()).map_err(|_| bad())?;
        if signer.verifier().to_vkey_string() != self.config.key {
            return Err(BundleError::Format(format!(
                "{} does not hold the key named in {CONFIG_FILE}",
                path.display()
            )));
        }
        Ok(SourceKey { signer, signing })
    }

    /// Record where the feed stands after a bundle (written atomically).
    pub fn save_state(&mut self, state: FeedState) -> Result<()> {
        write_atomically(
            &self.root.join(STATE_FILE),
            &serde_json::to_vec_pretty(&state).expect("serialises"),
        )?;
        self.state = state;
        Ok(())
    }
}

fn seal_with_passphrase(data: &[u8], passphrase: &SecretString, log_n: u8) -> Result<Vec<u8>> {
    athar_vault::keys::seal_with_passphrase(data, passphrase, log_n)
        .map_err(|e| BundleError::Encrypt(e.to_string()))
}

fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o700));
}

/// Write a small file so that it is either the old or the new content after a crash.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(io_at(&tmp))?;
    f.write_all(bytes).map_err(io_at(&tmp))?;
    f.sync_all().map_err(io_at(&tmp))?;
    fs::rename(&tmp, path).map_err(io_at(path))?;
    if let Some(dir) = path.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_at(dir))?;
    }
    Ok(())
}
