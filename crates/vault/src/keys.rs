//! The custodian's keys: an age identity (decrypts objects and the log), an Ed25519 signing key
//! (signs events and checkpoints) and a 32-byte vault key (names objects, keys the catalogue).
//! All three live in one file encrypted under the passphrase with age's scrypt recipient.

use std::io::{Read, Write};
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use base64::Engine;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use hmac::{KeyInit, Mac};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Result, VaultError};

const SECRETS_MAGIC: &str = "athar-secrets-v1";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Default scrypt work factor (log2 N) for the passphrase: about a second on a laptop.
pub const DEFAULT_SCRYPT_LOG_N: u8 = 18;

/// The decrypted secrets of a vault. Never written anywhere except re-encrypted.
pub struct Secrets {
    pub identity: age::x25519::Identity,
    signing: SigningKey,
    vault_key: Zeroizing<[u8; 32]>,
}

impl Secrets {
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        let mut vault_key = Zeroizing::new([0u8; 32]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut vault_key[..]);
        let signing = SigningKey::from_bytes(&seed);
        seed.zeroize();
        Secrets {
            identity: age::x25519::Identity::generate(),
            signing,
            vault_key,
        }
    }

    pub fn recipient(&self) -> age::x25519::Recipient {
        self.identity.to_public()
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.signing.sign(msg).to_bytes()
    }

    /// A purpose-bound subkey of the vault key, so that object names and the catalogue key
    /// never share key material.
    pub fn subkey(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.vault_key[..])
            .expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        let out = mac.finalize().into_bytes();
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&out);
        key
    }

    /// Encrypt under a passphrase (age scrypt recipient).
    pub fn seal(&self, passphrase: &SecretString, log_n: u8) -> Result<Vec<u8>> {
        let text = Zeroizing::new(format!(
            "{SECRETS_MAGIC}\nage {}\ned25519 {}\nvault-key {}\n",
            self.identity.to_string().expose_secret(),
            B64.encode(self.signing.to_bytes()),
            B64.encode(&self.vault_key[..]),
        ));
        seal_with_passphrase(text.as_bytes(), passphrase, log_n)
    }

    /// Decrypt with a passphrase. A wrong passphrase fails after one scrypt run.
    pub fn unseal(sealed: &[u8], passphrase: &SecretString) -> Result<Self> {
        let plain = open_with_passphrase(sealed, passphrase)?;
        let text = std::str::from_utf8(&plain)
            .map_err(|_| VaultError::BadKeys("secrets file is not text".into()))?;
        Self::parse(text)
    }

    fn parse(text: &str) -> Result<Self> {
        let bad = |what: &str| VaultError::BadKeys(format!("secrets file lacks a valid {what}"));
        let mut lines = text.lines();
        if lines.next() != Some(SECRETS_MAGIC) {
            return Err(bad("header"));
        }
        let (mut identity, mut signing, mut vault_key) = (None, None, None);
        for line in lines {
            let (k, v) = line.split_once(' ').ok_or_else(|| bad("line"))?;
            match k {
                "age" => identity = age::x25519::Identity::from_str(v).ok(),
                "ed25519" => {
                    let mut seed = Zeroizing::new([0u8; 32]);
                    let bytes = Zeroizing::new(B64.decode(v).map_err(|_| bad("signing key"))?);
                    if bytes.len() != 32 {
                        return Err(bad("signing key"));
                    }
                    seed.copy_from_slice(&bytes);
                    signing = Some(SigningKey::from_bytes(&seed));
                }
                "vault-key" => {
                    let bytes = Zeroizing::new(B64.decode(v).map_err(|_| bad("vault key"))?);
                    if bytes.len() != 32 {
                        return Err(bad("vault key"));
                    }
                    let mut key = Zeroizing::new([0u8; 32]);
                    key.copy_from_slice(&bytes);
                    vault_key = Some(key);
                }
                _ => {}
            }
        }
        Ok(Secrets {
            identity: identity.ok_or_else(|| bad("age identity"))?,
            signing: signing.ok_or_else(|| bad("signing key"))?,
            vault_key: vault_key.ok_or_else(|| bad("vault key"))?,
        })
    }
}

/// Encrypt `data` under a passphrase: an age file with one scrypt stanza (work factor 2^log_n).
pub fn seal_with_passphrase(data: &[u8], passphrase: &SecretString, log_n: u8) -> Result<Vec<u8>> {
    let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
    recipient.set_work_factor(log_n);
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .map_err(|e| VaultError::Encrypt(e.to_string()))?;
    let mut out = Vec::new();
    let mut w = encryptor
        .wrap_output(&mut out)
        .map_err(|e| VaultError::Encrypt(e.to_string()))?;
    w.write_all(data)
        .and_then(|_| w.finish().map(|_| ()))
        .map_err(|e| VaultError::Encrypt(e.to_string()))?;
    Ok(out)
}

/// Decrypt what [`seal_with_passphrase`] made. A wrong passphrase fails after one scrypt run
/// with [`VaultError::WrongPassphrase`]; anything else wrong is [`VaultError::BadKeys`].
pub fn open_with_passphrase(
    sealed: &[u8],
    passphrase: &SecretString,
) -> Result<Zeroizing<Vec<u8>>> {
    let decryptor =
        age::Decryptor::new_buffered(sealed).map_err(|e| VaultError::BadKeys(e.to_string()))?;
    let mut identity = age::scrypt::Identity::new(passphrase.clone());
    identity.set_max_work_factor(22);
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                VaultError::WrongPassphrase
            }
            other => VaultError::BadKeys(other.to_string()),
        })?;
    let mut plain = Zeroizing::new(Vec::new());
    reader
        .read_to_end(&mut plain)
        .map_err(|e| VaultError::BadKeys(e.to_string()))?;
    Ok(plain)
}

/// Read a passphrase file: the first line, without its line ending.
pub fn passphrase_from_file_contents(contents: &str) -> SecretString {
    let line = contents.lines().next().unwrap_or("");
    SecretString::from(line.to_owned())
}
