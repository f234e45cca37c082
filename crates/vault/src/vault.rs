//! A vault on disk: configuration, keys, the blob store, the log tail and the writer's lock.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use age::secrecy::SecretString;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Map;
use zeroize::Zeroizing;

use athar_tlog::{Checkpoint, Hash, Signer, Verifier};

use crate::envelope::{self, SealError, Sealed};
use crate::error::{io_at, Result, VaultError};
use crate::event::{actor_id, Event, EventDraft, SignedEvent};
use crate::keys::{Secrets, DEFAULT_SCRYPT_LOG_N};
use crate::log::{self, Tail};
use crate::s3::S3Store;
use crate::store::{BlobStore, Committed, FsStore};

pub const CONFIG_FILE: &str = "vault.json";
pub const SECRETS_FILE: &str = "keys/secrets.age";
pub const CHECKPOINT_PREFIX: &str = "checkpoints/";
const FORMAT: &str = "athar-vault";
const VERSION: u32 = 1;

/// The public part of a vault's identity, in `vault.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VaultConfig {
    pub format: String,
    pub version: u32,
    pub id: String,
    /// The checkpoint origin line: names this log to the world.
    pub origin: String,
    pub custodian: String,
    /// Ed25519 public key of the custodian, as a signed-note verifier key.
    pub verifier_key: String,
    /// The age recipient objects and log segments are encrypted to.
    pub recipient: String,
    pub created: String,
    /// `s3://BUCKET/PREFIX` when the blobs live in an S3-compatible store; absent for the
    /// vault directory itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects: Option<String>,
    /// The PostgreSQL catalogue's URL (never with a password); absent for SQLite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<String>,
}

pub struct InitOptions {
    pub custodian: String,
    pub origin: Option<String>,
    pub scrypt_log_n: u8,
    /// Keep blobs in `s3://BUCKET/PREFIX` (credentials from the environment).
    pub objects: Option<String>,
    /// Keep the catalogue in PostgreSQL at this URL (without a password).
    pub catalog: Option<String>,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            custodian: "archive".into(),
            origin: None,
            scrypt_log_n: DEFAULT_SCRYPT_LOG_N,
            objects: None,
            catalog: None,
        }
    }
}

/// Whether this process will change the vault (and so must hold its lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

pub struct Vault {
    root: PathBuf,
    config: VaultConfig,
    secrets: Secrets,
    store: Arc<dyn BlobStore>,
    objects: Objects,
    tail: Tail,
    _lock: Option<File>,
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("0 is a valid nanosecond")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("UTC times always format")
}

impl Vault {
    /// Create a new vault in an empty or absent directory (and, with `opts.objects`, an
    /// empty S3 prefix).
    pub fn init(root: &Path, passphrase: &SecretString, opts: &InitOptions) -> Result<Vault> {
        if root.exists() && fs::read_dir(root).map_err(io_at(root))?.next().is_some() {
            return Err(VaultError::AlreadyExists(root.to_path_buf()));
        }
        if let Some(url) = &opts.catalog {
            check_catalog_url(url)?;
        }
        if let Some(url) = &opts.objects {
            let store = S3Store::connect(url)?;
            if !store.is_empty()? {
                return Err(VaultError::Invalid(format!(
                    "{} already holds blobs (another vault's?); choose an empty prefix, or, to \
                     work on that vault from this machine, copy its vault.json and keys/ here",
                    store.url()
                )));
            }
        }
        fs::create_dir_all(root.join("keys")).map_err(io_at(root))?;
        restrict(root);
        let secrets = Secrets::generate();
        let mut id = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut id);
        let id = hex::encode(id);
        let origin = opts
            .origin
            .clone()
            .unwrap_or_else(|| format!("athar.vault/{id}"));
        let config = VaultConfig {
            format: FORMAT.into(),
            version: VERSION,
            id,
            verifier_key: Verifier::new(&origin, secrets.verifying_key())
                .map_err(|e| VaultError::Invalid(format!("origin {origin:?}: {e}")))?
                .to_vkey_string(),
            origin,
            custodian: opts.custodian.clone(),
            recipient: secrets.recipient().to_string(),
            created: now_rfc3339(),
            objects: opts.objects.clone(),
            catalog: opts.catalog.clone(),
        };
        let sealed = secrets.seal(passphrase, opts.scrypt_log_n)?;
        write_durably(&root.join(SECRETS_FILE), &sealed)?;
        let json = serde_json::to_vec_pretty(&config).expect("config serialises");
        // vault.json last: its presence marks a complete vault.
        write_durably(&root.join(CONFIG_FILE), &json)?;
        Vault::open(root, passphrase, Access::Write)
    }

    /// Open a vault, checking the passphrase first so a wrong one fails at once.
    pub fn open(root: &Path, passphrase: &SecretString, access: Access) -> Result<Vault> {
        let config = read_config(root)?;
        let sealed = fs::read(root.join(SECRETS_FILE)).map_err(io_at(root.join(SECRETS_FILE)))?;
        let secrets = Secrets::unseal(&sealed, passphrase)?;
        let lock = match access {
            Access::Write => Some(acquire_lock(root)?),
            Access::Read => None,
        };
        let store = open_store(root, &config)?;
        let tail = log::read_tail(store.as_ref(), &secrets.identity)?;
        let objects = Objects {
            store: store.clone(),
            recipient: secrets.recipient(),
            naming_key: Arc::new(secrets.subkey("athar object names v1")),
        };
        Ok(Vault {
            root: root.to_path_buf(),
            config,
            secrets,
            store,
            objects,
            tail,
            _lock: lock,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn config(&self) -> &VaultConfig {
        &self.config
    }
    pub fn store(&self) -> &dyn BlobStore {
        self.store.as_ref()
    }
    pub fn identity(&self) -> &age::x25519::Identity {
        &self.secrets.identity
    }
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }
    pub fn tail(&self) -> Tail {
        self.tail
    }
    pub fn actor(&self) -> String {
        actor_id(&self.secrets.verifying_key())
    }
    pub fn verifier(&self) -> Verifier {
        Verifier::new(&self.config.origin, self.secrets.verifying_key())
            .expect("origin was checked at init")
    }
    /// Key for the catalogue's at-rest encryption, bound to this vault.
    pub fn catalog_key(&self) -> Zeroizing<[u8; 32]> {
        self.secrets.subkey("athar catalogue v1")
    }

    /// Blob key of an object (see [`Objects::key`]).
    pub fn object_key(&self, sha256: &[u8; 32]) -> String {
        self.objects.key(sha256)
    }

    /// A handle for storing objects from several threads while this `Vault` appends events.
    pub fn objects(&self) -> Objects {
        self.objects.clone()
    }

    pub fn has_object(&self, sha256: &[u8; 32]) -> Result<bool> {
        self.objects.has(sha256)
    }

    /// A reader of an object's original bytes.
    pub fn open_object(&self, sha256_hex: &str) -> Result<impl Read + '_> {
        open_object(&self.objects, &self.secrets.identity, sha256_hex)
    }

    /// A handle for reading objects from several threads while this `Vault` appends events.
    pub fn reader(&self) -> Reader {
        Reader {
            objects: self.objects.clone(),
            identity: Arc::new(self.secrets.identity.clone()),
        }
    }

    /// Sign and durably log a batch of events. Objects they name are made durable first, so a
    /// logged event never points at an object a power cut could lose.
    pub fn append(&mut self, drafts: Vec<EventDraft>) -> Result<Vec<SignedEvent>> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        self.store.sync()?;
        let mut conflicts = 0;
        loop {
            let key = log::segment_key(self.tail.size + 1);
            let (sealed, signed, tail) = self.sign_batch(&drafts)?;
            let mut pending = self.store.create()?;
            pending
                .write_all(&sealed)
                .map_err(io_at(self.store.locate(&key)))?;
            match pending.commit(&key)? {
                Committed::New => {
                    self.store.sync()?;
                    self.tail = tail;
                    return Ok(signed);
                }
                // On a shared store the conditional put is what serialises writers: another
                // machine took this segment, so chain onto its tail and try again.
                Committed::AlreadyPresent
                    if self.store.is_shared() && conflicts < MAX_APPEND_CONFLICTS =>
                {
                    conflicts += 1;
                    backoff(conflicts);
                    self.tail = log::read_tail_since(
                        self.store.as_ref(),
                        &self.secrets.identity,
                        self.tail,
                    )?;
                }
                Committed::AlreadyPresent => {
                    return Err(VaultError::BadLog(format!(
                        "{key} already exists: another writer appended to this log"
                    )))
                }
            }
        }
    }

    /// Sign `drafts` as the events after the current tail; returns the sealed segment, the
    /// events and the tail they lead to.
    fn sign_batch(&self, drafts: &[EventDraft]) -> Result<(Vec<u8>, Vec<SignedEvent>, Tail)> {
        let time = now_rfc3339();
        let actor = self.actor();
        let mut tail = self.tail;
        let mut signed = Vec::with_capacity(drafts.len());
        let mut text = String::new();
        for draft in drafts.iter().cloned() {
            let ev = Event {
                v: 1,
                seq: tail.size + 1,
                time: time.clone(),
                actor: actor.clone(),
                kind: draft.kind,
                objects: draft.objects,
                details: draft.details,
                prev: hex::encode(tail.last_leaf),
            }
            .sign(|m| self.secrets.sign(m));
            tail = Tail {
                size: ev.event.seq,
                last_leaf: ev.leaf,
            };
            text.push_str(&ev.line);
            text.push('\n');
            signed.push(ev);
        }
        let recipient = self.secrets.recipient();
        let sealed = envelope::seal_bytes(text.as_bytes(), &[&recipient])?;
        Ok((sealed, signed, tail))
    }

    /// For a long-lived reader (the portal): take the writer's lock for one batch only, so
    /// that `ingest` and other writers can run the rest of the time. The tail is read again
    /// under the lock, since another writer may have appended meanwhile. Fails with
    /// [`VaultError::Locked`] while another process writes; the caller may retry.
    /// On a shared (S3) store the local lock serialises nothing across machines and is not
    /// taken: `append` itself chains onto whatever tail the bucket holds.
    pub fn append_with_lock(&mut self, drafts: Vec<EventDraft>) -> Result<Vec<SignedEvent>> {
        if self._lock.is_some() {
            return self.append(drafts);
        }
        if self.store.is_shared() {
            self.tail =
                log::read_tail_since(self.store.as_ref(), &self.secrets.identity, self.tail)?;
            return self.append(drafts);
        }
        let lock = acquire_lock(&self.root)?;
        self.tail = log::read_tail(self.store.as_ref(), &self.secrets.identity)?;
        let appended = self.append(drafts);
        drop(lock);
        appended
    }

    /// Re-read the log's tail (another process may have appended).
    pub fn refresh_tail(&mut self) -> Result<()> {
        self.tail = log::read_tail(self.store.as_ref(), &self.secrets.identity)?;
        Ok(())
    }

    /// Convenience for a single event.
    pub fn append_one(
        &mut self,
        kind: &str,
        objects: Vec<String>,
        details: Map<String, serde_json::Value>,
    ) -> Result<SignedEvent> {
        let mut v = self.append(vec![EventDraft {
            kind: kind.to_string(),
            objects,
            details,
        }])?;
        Ok(v.remove(0))
    }

    /// Every event, in order, checked for signature and chain.
    pub fn read_log(&self, each: impl FnMut(SignedEvent) -> Result<()>) -> Result<u64> {
        log::read_all(self.store.as_ref(), &self.secrets.identity, each)
    }

    /// Events from `from_seq` on; `prev` is the leaf hash of the event before it.
    pub fn read_log_from(
        &self,
        from_seq: u64,
        prev: Hash,
        each: impl FnMut(SignedEvent) -> Result<()>,
    ) -> Result<u64> {
        log::read_from(
            self.store.as_ref(),
            &self.secrets.identity,
            from_seq,
            prev,
            each,
        )
    }

    /// One event by sequence number.
    pub fn event(&self, seq: u64) -> Result<SignedEvent> {
        log::read_event(self.store.as_ref(), &self.secrets.identity, seq)
    }

    /// Leaf hashes of the whole log.
    pub fn leaves(&self) -> Result<Vec<Hash>> {
        let mut leaves = Vec::with_capacity(self.tail.size as usize);
        self.read_log(|ev| {
            leaves.push(ev.leaf);
            Ok(())
        })?;
        Ok(leaves)
    }

    /// Sign the current tree head. Returns the signed note; an unchanged log returns the
    /// checkpoint already stored for its size.
    pub fn checkpoint(&self) -> Result<String> {
        let leaves = self.leaves()?;
        let key = checkpoint_key(leaves.len() as u64);
        if self.store.exists(&key)? {
            return self.read_checkpoint(&key);
        }
        let cp = Checkpoint {
            origin: self.config.origin.clone(),
            size: leaves.len() as u64,
            root: athar_tlog::root(&leaves),
            extensions: Vec::new(),
        };
        let signer = Signer::new(&self.config.origin, self.secrets.signing_key().clone())
            .map_err(|e| VaultError::Checkpoint(e.to_string()))?;
        let note = athar_tlog::sign_checkpoint(&cp, &signer)
            .map_err(|e| VaultError::Checkpoint(e.to_string()))?;
        let mut pending = self.store.create()?;
        pending
            .write_all(note.as_bytes())
            .map_err(io_at(self.store.locate(&key)))?;
        if pending.commit(&key)? == Committed::AlreadyPresent {
            // Another writer signed the same tree head a moment ago: keep one note per size.
            return self.read_checkpoint(&key);
        }
        self.store.sync()?;
        Ok(note)
    }

    /// Stored checkpoint keys, oldest first.
    pub fn checkpoint_keys(&self) -> Result<Vec<String>> {
        self.store.list(CHECKPOINT_PREFIX)
    }

    pub fn read_checkpoint(&self, key: &str) -> Result<String> {
        let mut note = String::new();
        self.store
            .open(key)?
            .read_to_string(&mut note)
            .map_err(io_at(self.store.locate(key)))?;
        Ok(note)
    }

    /// The newest checkpoint, opened and checked against this vault's key.
    pub fn latest_checkpoint(&self) -> Result<Option<(String, Checkpoint)>> {
        let Some(key) = self.checkpoint_keys()?.pop() else {
            return Ok(None);
        };
        let note = self.read_checkpoint(&key)?;
        let cp = athar_tlog::open_checkpoint(&note, &self.verifier())
            .map_err(|e| VaultError::Checkpoint(format!("{key}: {e}")))?;
        Ok(Some((note, cp)))
    }
}

/// Stores encrypted objects; cheap to clone and safe to share between threads.
#[derive(Clone)]
pub struct Objects {
    store: Arc<dyn BlobStore>,
    recipient: age::x25519::Recipient,
    naming_key: Arc<Zeroizing<[u8; 32]>>,
}

impl Objects {
    /// Blob key of an object: a keyed hash of its SHA-256, so that someone holding a photo
    /// cannot learn from the file names whether the vault holds it.
    pub fn key(&self, sha256: &[u8; 32]) -> String {
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.naming_key[..])
            .expect("HMAC takes any key length");
        mac.update(sha256);
        let name = hex::encode(mac.finalize().into_bytes());
        format!("objects/{}/{}", &name[..2], name)
    }

    /// Encrypt a stream into the vault. The object is committed (never overwriting) but not
    /// yet durable: [`Vault::append`] syncs before it logs the event that names it.
    pub fn put(&self, input: &mut dyn Read) -> Result<(Sealed, Committed), SealError> {
        let mut pending = self.store.create().map_err(SealError::Write)?;
        let sealed = envelope::seal(input, &mut pending, &[&self.recipient])?;
        let committed = pending
            .commit(&self.key(&sealed.sha256))
            .map_err(SealError::Write)?;
        Ok((sealed, committed))
    }

    pub fn has(&self, sha256: &[u8; 32]) -> Result<bool> {
        self.store.exists(&self.key(sha256))
    }
}

/// Decrypts objects; cheap to clone and safe to share between threads.
#[derive(Clone)]
pub struct Reader {
    objects: Objects,
    identity: Arc<age::x25519::Identity>,
}

impl Reader {
    /// A decrypting reader of the object with this SHA-256 (hex), as [`Vault::open_object`].
    pub fn open(&self, sha256_hex: &str) -> Result<impl Read + '_> {
        open_object(&self.objects, &self.identity, sha256_hex)
    }
}

fn open_object<'a>(
    objects: &Objects,
    identity: &'a age::x25519::Identity,
    sha256_hex: &str,
) -> Result<impl Read + 'a> {
    let sha = parse_sha256(sha256_hex)?;
    // Both stores report a missing blob from `open` itself: no separate existence check
    // (on S3 that was a HEAD request before every GET).
    let reader = match objects.store.open(&objects.key(&sha)) {
        Err(VaultError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(VaultError::NoSuchObject(sha256_hex.to_string()))
        }
        r => r?,
    };
    envelope::open(reader, identity, &format!("object {sha256_hex}"))
}

/// How often `append` chains onto another writer's segment before giving up: with a handful
/// of busy writers a batch rarely loses more than a few races.
const MAX_APPEND_CONFLICTS: u32 = 200;

/// Sleep a little, more after each lost race, with jitter so racing writers spread out.
fn backoff(conflicts: u32) {
    let cap_ms = (2u64 << conflicts.min(8)).min(200);
    let ms = rand::Rng::gen_range(&mut rand::thread_rng(), 0..=cap_ms);
    std::thread::sleep(std::time::Duration::from_millis(ms));
}

/// The blob store a vault's configuration names: S3 when `objects` is set, else the vault
/// directory itself.
fn open_store(root: &Path, config: &VaultConfig) -> Result<Arc<dyn BlobStore>> {
    match &config.objects {
        Some(url) => Ok(Arc::new(S3Store::connect(url)?)),
        None => Ok(Arc::new(FsStore::open(root)?)),
    }
}

/// A catalogue URL is stored in `vault.json`, so it must not carry a password (PGPASSWORD,
/// ~/.pgpass or a service file hold that).
pub fn check_catalog_url(url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .ok_or_else(|| {
            VaultError::Invalid(format!(
                "{url:?} is not a PostgreSQL URL (expected postgres://USER@HOST:PORT/DATABASE)"
            ))
        })?;
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let has_password = authority
        .rsplit_once('@')
        .is_some_and(|(user, _)| user.contains(':'))
        || url.to_ascii_lowercase().contains("password=");
    if has_password {
        return Err(VaultError::Invalid(
            "the catalogue URL holds a password; leave it out and set PGPASSWORD (or use \
             ~/.pgpass) instead, so it is never stored in vault.json or shell history"
                .into(),
        ));
    }
    Ok(())
}

pub fn checkpoint_key(size: u64) -> String {
    format!("{CHECKPOINT_PREFIX}{size:012}")
}

pub fn read_config(root: &Path) -> Result<VaultConfig> {
    let path = root.join(CONFIG_FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(VaultError::NotAVault(root.to_path_buf()))
        }
        Err(e) => return Err(io_at(&path)(e)),
    };
    let config: VaultConfig = serde_json::from_slice(&bytes)
        .map_err(|e| VaultError::Invalid(format!("{}: {e}", path.display())))?;
    if config.format != FORMAT {
        return Err(VaultError::NotAVault(root.to_path_buf()));
    }
    if config.version != VERSION {
        return Err(VaultError::UnsupportedVersion(config.version));
    }
    Ok(config)
}

pub fn parse_sha256(s: &str) -> Result<[u8; 32]> {
    let bytes = hex::decode(s.trim()).map_err(|_| VaultError::BadDigest(s.to_string()))?;
    bytes
        .try_into()
        .map_err(|_| VaultError::BadDigest(s.to_string()))
}

fn acquire_lock(root: &Path) -> Result<File> {
    let path = root.join("lock");
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_at(&path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(VaultError::Locked {
                holder: if holder.is_empty() {
                    "unknown".into()
                } else {
                    holder.to_string()
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io_at(&path)(e)),
    }
    file.set_len(0).map_err(io_at(&path))?;
    let _ = write!(file, "pid {}", std::process::id());
    Ok(file)
}

fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o700));
}

/// Write a small file so that it is either absent or complete after a crash.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
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
