//! An independent checkpoint verifier, written from the C2SP specs without
//! using athar_tlog's parsing or verification code. A bug shared by writer
//! and reader would go unnoticed if both came from one code base; here only
//! the *writer* is athar_tlog, the checking below is separate.

use athar_tlog::{sign_checkpoint, Checkpoint, Signer};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

/// A trusted log key: name, 4-byte key ID and Ed25519 public key.
struct LogKey {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

#[derive(Debug, PartialEq)]
struct TreeHead {
    origin: String,
    size: u64,
    root: [u8; 32],
}

fn key_id(name: &str, pubkey: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0a, 0x01]);
    h.update(pubkey);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

fn log_key(name: &str, key: VerifyingKey) -> LogKey {
    LogKey {
        id: key_id(name, key.as_bytes()),
        name: name.to_string(),
        key,
    }
}

/// `<name>+<8 hex>+<base64(0x01 || key)>`.
fn parse_vkey(vkey: &str) -> Result<LogKey, &'static str> {
    let parts: Vec<&str> = vkey.splitn(3, '+').collect();
    let [name, hex, b64] = parts[..] else {
        return Err("vkey: need three parts");
    };
    let raw = STANDARD.decode(b64).map_err(|_| "vkey: base64")?;
    if raw.len() != 33 || raw[0] != 0x01 {
        return Err("vkey: not an Ed25519 key");
    }
    let pk: [u8; 32] = raw[1..].try_into().unwrap();
    let key = VerifyingKey::from_bytes(&pk).map_err(|_| "vkey: bad point")?;
    let k = log_key(name, key);
    let want: String = k.id.iter().map(|b| format!("{b:02x}")).collect();
    if hex != want {
        return Err("vkey: key ID mismatch");
    }
    Ok(k)
}

/// Checks the signed-note envelope; returns the signed text.
fn verify_note<'a>(note: &'a [u8], k: &LogKey) -> Result<&'a str, &'static str> {
    let note = std::str::from_utf8(note).map_err(|_| "not UTF-8")?;
    if note.bytes().any(|b| b < 0x20 && b != b'\n') {
        return Err("control character");
    }
    let sep = note.rfind("\n\n").ok_or("no blank line")?;
    let text = &note[..=sep];
    let block = &note[sep + 2..];
    if block.is_empty() || !block.ends_with('\n') {
        return Err("signature block must end in newline");
    }
    let mut ok = false;
    for line in block[..block.len() - 1].split('\n') {
        let rest = line.strip_prefix("\u{2014} ").ok_or("bad signature line")?;
        let (name, b64) = rest.split_once(' ').ok_or("bad signature line")?;
        let blob = STANDARD.decode(b64).map_err(|_| "signature base64")?;
        if blob.len() < 5 {
            return Err("signature too short");
        }
        if name != k.name || blob[..4] != k.id {
            continue; // someone else's signature
        }
        let sig: [u8; 64] = blob[4..].try_into().map_err(|_| "bad signature length")?;
        k.key
            .verify_strict(text.as_bytes(), &Signature::from_bytes(&sig))
            .map_err(|_| "signature does not verify")?;
        ok = true;
    }
    if ok {
        Ok(text)
    } else {
        Err("no signature from the log key")
    }
}

/// Checks the envelope, then parses the three mandatory body lines.
fn verify_checkpoint(note: &[u8], k: &LogKey) -> Result<TreeHead, &'static str> {
    let text = verify_note(note, k)?;
    let lines: Vec<&str> = text.split('\n').collect();
    // text ends in '\n', so the last split piece is empty.
    if lines.len() < 4 || lines.last() != Some(&"") {
        return Err("body too short");
    }
    if lines[..lines.len() - 1].iter().any(|l| l.is_empty()) {
        return Err("empty body line");
    }
    let (origin, size, root) = (lines[0], lines[1], lines[2]);
    if origin != k.name {
        return Err("origin is not the key name");
    }
    let digits = !size.is_empty() && size.bytes().all(|b| b.is_ascii_digit());
    if !digits || (size.len() > 1 && size.starts_with('0')) {
        return Err("bad size");
    }
    let size: u64 = size.parse().map_err(|_| "size overflow")?;
    let root = STANDARD.decode(root).map_err(|_| "root base64")?;
    let root: [u8; 32] = root.try_into().map_err(|_| "root length")?;
    Ok(TreeHead {
        origin: origin.to_string(),
        size,
        root,
    })
}

// ---------------------------------------------------------------------------

const LOG: &str = "athar.example/custody-log";

fn writer() -> Signer {
    Signer::from_seed(LOG, &[0x5a; 32]).unwrap()
}

fn written(size: u64, root: [u8; 32]) -> Vec<u8> {
    let cp = Checkpoint::new(LOG, size, root);
    sign_checkpoint(&cp, &writer()).unwrap().into_bytes()
}

fn trusted() -> LogKey {
    log_key(LOG, *writer().verifier().verifying_key())
}

#[test]
fn go_sumdb_note_vector() {
    // Checks this verifier itself against golang.org/x/mod/sumdb/note.
    let k =
        parse_vkey("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").unwrap();
    let note = "If you think cryptography is the answer to your problem,\n\
                then you don't know what your problem is.\n\n\
                \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    let text = verify_note(note.as_bytes(), &k).unwrap();
    assert!(text.ends_with("your problem is.\n"));
    assert!(verify_note(note.replace("think", "thinK").as_bytes(), &k).is_err());
}

#[test]
fn accepts_writer_checkpoints() {
    let k = trusted();
    for (size, root) in [(0, [0xe3; 32]), (1, [1; 32]), (20852163, [0xff; 32])] {
        let head = verify_checkpoint(&written(size, root), &k).unwrap();
        assert_eq!(
            head,
            TreeHead {
                origin: LOG.into(),
                size,
                root
            }
        );
    }
    // The writer's vkey string parses here to the same key and ID.
    let vk = parse_vkey(&writer().verifier().to_vkey_string()).unwrap();
    assert_eq!((vk.name.as_str(), vk.id, vk.key), (LOG, k.id, k.key));
    assert_eq!(u32::from_be_bytes(k.id), writer().key_hash());
}

#[test]
fn accepts_with_extra_cosignature() {
    let k = trusted();
    let body = Checkpoint::new(LOG, 7, [3; 32]).to_body().unwrap();
    let w = Signer::from_seed("witness.example", &[9; 32]).unwrap();
    let note = athar_tlog::sign_note(&body, &[&w, &writer()]).unwrap();
    assert_eq!(verify_checkpoint(note.as_bytes(), &k).unwrap().size, 7);
}

#[test]
fn rejects_flipped_body_bytes() {
    let k = trusted();
    let note = written(1234, [0x42; 32]);
    let body_len = note.windows(2).rposition(|w| w == b"\n\n").unwrap() + 1;
    for i in 0..body_len {
        let mut bad = note.clone();
        bad[i] ^= 0x01;
        assert!(verify_checkpoint(&bad, &k).is_err(), "flip at {i}");
    }
}

#[test]
fn rejects_wrong_key() {
    let note = written(10, [1; 32]);
    let other = Signer::from_seed(LOG, &[0x5b; 32]).unwrap();
    let k = log_key(LOG, *other.verifier().verifying_key());
    assert_eq!(
        verify_checkpoint(&note, &k),
        Err("no signature from the log key")
    );
    // Right key bytes, but presented under another name: ID differs.
    let renamed = log_key("athar.example/other", trusted().key);
    assert!(verify_checkpoint(&note, &renamed).is_err());
}

#[test]
fn rejects_truncated_or_altered_signature() {
    let k = trusted();
    let note = String::from_utf8(written(10, [1; 32])).unwrap();
    let (head, sig_line) = note.trim_end_matches('\n').rsplit_once('\n').unwrap();
    let (prefix, b64) = sig_line.rsplit_once(' ').unwrap();
    let mut blob = STANDARD.decode(b64).unwrap();

    let mut cut = blob.clone();
    cut.truncate(blob.len() - 1);
    let truncated = format!("{head}\n{prefix} {}\n", STANDARD.encode(&cut));
    assert!(verify_checkpoint(truncated.as_bytes(), &k).is_err());

    // Truncated text of the note itself (signature line cut off).
    assert!(verify_checkpoint(&note.as_bytes()[..note.len() - 10], &k).is_err());

    blob[40] ^= 0x80;
    let altered = format!("{head}\n{prefix} {}\n", STANDARD.encode(&blob));
    assert_eq!(
        verify_checkpoint(altered.as_bytes(), &k),
        Err("signature does not verify")
    );

    // No signature at all.
    let unsigned = format!("{head}\n");
    assert!(verify_checkpoint(unsigned.as_bytes(), &k).is_err());
}
