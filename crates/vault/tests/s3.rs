//! The S3-compatible blob store against a real server (SeaweedFS from `scripts/services`),
//! when `ATHAR_TEST_S3` names a bucket (`s3://athar`) and the AWS_* variables say where it is
//! and who we are. Each test works under its own random prefix. Without `ATHAR_TEST_S3`
//! the tests that need a server print that S3 was not tested.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use athar_vault::s3::{S3Settings, S3Store, S3Url};
use athar_vault::verify::{verify, VerifyOptions};
use athar_vault::{
    Access, BlobStore, Committed, EventDraft, InitOptions, SecretString, Vault, VaultError,
};
use serde_json::{json, Map};

/// A fresh `s3://bucket/prefix` for one test, or None (with a note) when S3 is not set up.
fn s3_prefix(test: &str) -> Option<String> {
    static N: AtomicU32 = AtomicU32::new(0);
    let Ok(base) = std::env::var("ATHAR_TEST_S3") else {
        // Straight to stderr, past the test harness's capture, so the gap is seen.
        let _ = writeln!(
            std::io::stderr(),
            "{test}: ATHAR_TEST_S3 is not set, so S3 was not tested (scripts/test sets it)"
        );
        return None;
    };
    let rnd: u32 = rand::random();
    Some(format!(
        "{}/test-{}-{}-{rnd:08x}",
        base.trim_end_matches('/'),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

fn pass() -> SecretString {
    SecretString::from("correct horse battery staple".to_string())
}

fn init_s3_vault(root: &Path, objects: &str) -> Vault {
    let opts = InitOptions {
        scrypt_log_n: 10,
        objects: Some(objects.to_string()),
        ..InitOptions::default()
    };
    Vault::init(root, &pass(), &opts).expect("init an S3 vault")
}

fn commit(store: &S3Store, key: &str, bytes: &[u8]) -> Committed {
    let mut p = store.create().unwrap();
    p.write_all(bytes).unwrap();
    p.commit(key).unwrap()
}

fn read(store: &dyn BlobStore, key: &str) -> Vec<u8> {
    let mut out = Vec::new();
    store.open(key).unwrap().read_to_end(&mut out).unwrap();
    out
}

#[test]
fn a_conditional_put_never_overwrites() {
    let Some(url) = s3_prefix("a_conditional_put_never_overwrites") else {
        return;
    };
    let store = S3Store::connect(&url).unwrap();
    assert!(store.is_empty().unwrap());
    assert!(!store.exists("log/000000000001").unwrap());

    assert_eq!(
        commit(&store, "log/000000000001", b"first writer"),
        Committed::New
    );
    assert_eq!(
        commit(
            &store,
            "log/000000000001",
            b"second writer, different bytes"
        ),
        Committed::AlreadyPresent
    );
    assert_eq!(read(&store, "log/000000000001"), b"first writer");
    assert!(store.exists("log/000000000001").unwrap());
    assert!(store.is_shared());
    assert_eq!(store.list("log/").unwrap(), vec!["log/000000000001"]);
    assert!(store
        .locate("log/000000000001")
        .ends_with("/log/000000000001"));

    let e = match store.open("log/000000000002") {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a missing blob opened"),
    };
    assert!(e.contains("no such blob"), "{e}");
    store.remove("log/000000000001").unwrap();
    assert!(!store.exists("log/000000000001").unwrap());
}

#[test]
fn listing_pages_past_a_thousand_keys() {
    let Some(url) = s3_prefix("listing_pages_past_a_thousand_keys") else {
        return;
    };
    let store = S3Store::connect(&url).unwrap();
    let keys: Vec<String> = (0..1050)
        .map(|i| format!("objects/{:02x}/{i:06}", i % 7))
        .collect();
    std::thread::scope(|s| {
        for chunk in keys.chunks(keys.len() / 8 + 1) {
            let store = store.clone();
            s.spawn(move || {
                for k in chunk {
                    assert_eq!(commit(&store, k, k.as_bytes()), Committed::New);
                }
            });
        }
    });
    let listed = store.list("objects/").unwrap();
    let mut expected = keys.clone();
    expected.sort();
    assert_eq!(listed, expected);
    // Only what sorts after a key, across a page boundary too.
    assert_eq!(
        store.list_after("objects/", &expected[10]).unwrap(),
        expected[11..]
    );
    assert!(store.list("log/").unwrap().is_empty());
}

#[test]
fn objects_and_log_round_trip_through_s3() {
    let Some(url) = s3_prefix("objects_and_log_round_trip_through_s3") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("vault");
    let mut vault = init_s3_vault(&root, &url);
    assert_eq!(vault.config().objects.as_deref(), Some(url.as_str()));

    // Objects of many sizes, some larger than one age chunk (64 KiB).
    let contents: Vec<Vec<u8>> = (0..60u32)
        .map(|i| {
            let len = (i as usize * 7919) % 200_000 + 1;
            (0..len)
                .map(|j| (j as u32 ^ i.wrapping_mul(2654435761)) as u8)
                .collect()
        })
        .collect();
    let objects = vault.objects();
    let mut digests = Vec::new();
    for (i, c) in contents.iter().enumerate() {
        let (sealed, committed) = objects.put(&mut &c[..]).unwrap();
        assert_eq!(committed, Committed::New, "object {i}");
        digests.push(hex::encode(sealed.sha256));
        if i % 10 == 9 {
            let drafts = digests[i - 9..=i]
                .iter()
                .map(|d| EventDraft {
                    kind: "ingestion".into(),
                    objects: vec![d.clone()],
                    details: Map::new(),
                })
                .collect();
            vault.append(drafts).unwrap();
        }
    }
    // The same content again is found, not stored twice.
    assert_eq!(
        objects.put(&mut &contents[3][..]).unwrap().1,
        Committed::AlreadyPresent
    );
    vault.checkpoint().unwrap();
    drop(vault);

    // Nothing but configuration and keys on the local disk.
    let mut local: Vec<String> = walk(&root);
    local.sort();
    assert_eq!(local, vec!["keys/secrets.age", "lock", "vault.json"]);
    let config = std::fs::read_to_string(root.join("vault.json")).unwrap();
    assert!(config.contains(&url), "{config}");
    assert!(
        !config.contains("catalog"),
        "absent settings are not written: {config}"
    );

    let vault = Vault::open(&root, &pass(), Access::Read).unwrap();
    assert_eq!(vault.tail().size, 60);
    for (c, d) in contents.iter().zip(&digests) {
        let mut back = Vec::new();
        vault
            .open_object(d)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert!(back == *c, "object {d} reads back different bytes");
    }
    // A digest the bucket does not hold is named as such, not as an I/O failure.
    let missing = "0".repeat(64);
    assert!(matches!(
        vault.open_object(&missing).map(|_| ()),
        Err(athar_vault::VaultError::NoSuchObject(d)) if d == missing
    ));
    let mut named = Vec::new();
    let n = vault
        .read_log(|ev| {
            named.extend(ev.event.objects.clone());
            Ok(())
        })
        .unwrap();
    assert_eq!(n, 60);
    assert_eq!(named, digests);
    let report = verify(&vault, &VerifyOptions::default(), &()).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(
        (report.events, report.objects_checked, report.checkpoints),
        (60, 60, 1)
    );
}

fn walk(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root).unwrap().flatten() {
        let p = e.path();
        let name = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
        if p.is_dir() {
            out.extend(walk(&p).into_iter().map(|n| format!("{name}/{n}")));
        } else {
            out.push(name);
        }
    }
    out
}

#[test]
fn init_refuses_a_prefix_that_holds_blobs() {
    let Some(url) = s3_prefix("init_refuses_a_prefix_that_holds_blobs") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut first = init_s3_vault(&dir.path().join("a"), &url);
    first.append_one("creation", vec![], Map::new()).unwrap();
    let opts = InitOptions {
        scrypt_log_n: 10,
        objects: Some(url.clone()),
        ..InitOptions::default()
    };
    let e = match Vault::init(&dir.path().join("b"), &pass(), &opts) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a second vault was created over the first one's blobs"),
    };
    assert!(e.contains("already holds blobs"), "{e}");
    assert!(!dir.path().join("b").join("vault.json").exists());
}

/// Four machines (four vault directories holding copies of one vault.json and keys), each
/// with its own writer's lock, appending to one S3 log at once.
#[test]
fn concurrent_appenders_lose_and_duplicate_nothing() {
    let Some(url) = s3_prefix("concurrent_appenders_lose_and_duplicate_nothing") else {
        return;
    };
    const WRITERS: usize = 4;
    const BATCHES: usize = 50;
    const PER_BATCH: usize = 3;
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("machine-0");
    drop(init_s3_vault(&first, &url));
    for m in 1..WRITERS {
        let other = dir.path().join(format!("machine-{m}"));
        std::fs::create_dir_all(other.join("keys")).unwrap();
        for f in ["vault.json", "keys/secrets.age"] {
            std::fs::copy(first.join(f), other.join(f)).unwrap();
        }
    }
    let started = Instant::now();
    std::thread::scope(|s| {
        for m in 0..WRITERS {
            let root = dir.path().join(format!("machine-{m}"));
            s.spawn(move || {
                let mut vault = Vault::open(&root, &pass(), Access::Write).unwrap();
                for b in 0..BATCHES {
                    let drafts = (0..PER_BATCH)
                        .map(|i| EventDraft {
                            kind: "metadata modification".into(),
                            objects: vec![],
                            details: json!({"writer": m, "batch": b, "item": i})
                                .as_object()
                                .unwrap()
                                .clone(),
                        })
                        .collect();
                    let signed = vault.append(drafts).unwrap();
                    // A batch is one segment: consecutive sequence numbers.
                    let seqs: Vec<u64> = signed.iter().map(|e| e.event.seq).collect();
                    assert_eq!(
                        seqs,
                        (seqs[0]..seqs[0] + PER_BATCH as u64).collect::<Vec<_>>()
                    );
                }
            });
        }
    });
    eprintln!(
        "{} events from {WRITERS} writers in {:.1} s",
        WRITERS * BATCHES * PER_BATCH,
        started.elapsed().as_secs_f64()
    );

    let vault = Vault::open(&first, &pass(), Access::Read).unwrap();
    let mut seen = BTreeSet::new();
    let n = vault
        .read_log(|ev| {
            let d = &ev.event.details;
            let id = (
                d["writer"].as_u64().unwrap(),
                d["batch"].as_u64().unwrap(),
                d["item"].as_u64().unwrap(),
            );
            assert!(seen.insert(id), "event {id:?} is logged twice");
            Ok(())
        })
        .unwrap();
    assert_eq!(n as usize, WRITERS * BATCHES * PER_BATCH);
    assert_eq!(seen.len(), WRITERS * BATCHES * PER_BATCH);
    assert_eq!(vault.store().list("log/").unwrap().len(), WRITERS * BATCHES);
    let report = verify(&vault, &VerifyOptions::default(), &()).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.events as usize, WRITERS * BATCHES * PER_BATCH);
}

#[test]
fn an_unreachable_server_is_named_quickly() {
    // A port nobody listens on.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let settings =
        S3Settings::new(&format!("http://127.0.0.1:{port}"), "us-east-1", "k", "s").unwrap();
    let mut store =
        S3Store::with_settings(S3Url::parse("s3://athar/x").unwrap(), settings).unwrap();
    store.set_retry_for(Duration::from_secs(2));
    let started = Instant::now();
    let e = store.check().unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(e, VaultError::S3Unreachable { .. }), "{e:?}");
    assert!(e.is_unavailable());
    let msg = e.to_string();
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    assert!(
        msg.contains("unreachable") && msg.contains("run the same command again"),
        "{msg}"
    );
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert!(
        elapsed >= Duration::from_millis(500),
        "gave up without retrying: {elapsed:?}"
    );
}

#[test]
fn wrong_credentials_and_a_missing_bucket_say_what_to_do() {
    let Some(url) = s3_prefix("wrong_credentials_and_a_missing_bucket_say_what_to_do") else {
        return;
    };
    let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .expect("AWS_ENDPOINT_URL is set with ATHAR_TEST_S3");
    let key = std::env::var("AWS_ACCESS_KEY_ID").unwrap();
    let wrong = S3Settings::new(&endpoint, "us-east-1", &key, "not-the-secret").unwrap();
    let e = S3Store::with_settings(S3Url::parse(&url).unwrap(), wrong)
        .unwrap()
        .check()
        .unwrap_err();
    assert!(matches!(e, VaultError::S3Denied { .. }), "{e:?}");
    assert!(e.to_string().contains("AWS_SECRET_ACCESS_KEY"), "{e}");

    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap();
    let right = S3Settings::new(&endpoint, "us-east-1", &key, &secret).unwrap();
    let missing = format!("s3://athar-missing-{:08x}/p", rand::random::<u32>());
    let e = S3Store::with_settings(S3Url::parse(&missing).unwrap(), right)
        .unwrap()
        .check()
        .unwrap_err();
    assert!(matches!(e, VaultError::S3NoBucket { .. }), "{e:?}");
    assert!(e.to_string().contains("create it"), "{e}");
}

#[test]
fn old_vault_json_reads_unchanged() {
    let old = r#"{"format":"athar-vault","version":1,"id":"ab","origin":"o","custodian":"c",
        "verifier_key":"k","recipient":"r","created":"2026-01-01T00:00:00Z"}"#;
    let config: athar_vault::VaultConfig = serde_json::from_str(old).unwrap();
    assert_eq!((config.objects, config.catalog), (None, None));
    let config: athar_vault::VaultConfig = serde_json::from_str(old).unwrap();
    let json = serde_json::to_string(&config).unwrap();
    assert!(
        !json.contains("objects") && !json.contains("catalog"),
        "{json}"
    );
}

#[test]
fn init_refuses_secrets_in_urls() {
    let dir = tempfile::tempdir().unwrap();
    for (objects, catalog) in [
        (Some("s3://AKIA:secret@bucket/p"), None),
        (None, Some("postgres://athar:hunter2@127.0.0.1:5432/athar")),
        (
            None,
            Some("postgres://athar@127.0.0.1/athar?password=hunter2"),
        ),
    ] {
        let opts = InitOptions {
            scrypt_log_n: 10,
            objects: objects.map(str::to_string),
            catalog: catalog.map(str::to_string),
            ..InitOptions::default()
        };
        let root = dir.path().join("v");
        let e = match Vault::init(&root, &pass(), &opts) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{objects:?} {catalog:?} was accepted"),
        };
        assert!(
            e.contains("AWS_ACCESS_KEY_ID") || e.contains("PGPASSWORD"),
            "{e}"
        );
        assert!(!root.join("vault.json").exists());
    }
    athar_vault::vault::check_catalog_url("postgres://athar@127.0.0.1:55432/postgres").unwrap();
}

/// A loopback proxy to the S3 server that forwards the first connection's request but drops
/// its answer, like a connection lost just after the server stored the blob.
fn answer_losing_proxy(upstream: String) -> u16 {
    use std::net::{Shutdown, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for (n, client) in listener.incoming().take(50).enumerate() {
            let Ok(client) = client else { return };
            let server = TcpStream::connect(&upstream).unwrap();
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_in, &mut s_out);
            });
            let (mut s_in, mut c_out) = (server, client);
            std::thread::spawn(move || {
                if n == 0 {
                    // Wait until the server has answered (so the PUT is done), then hang up.
                    let mut buf = [0u8; 1];
                    let _ = s_in.read(&mut buf);
                    let _ = c_out.shutdown(Shutdown::Both);
                } else {
                    let _ = std::io::copy(&mut s_in, &mut c_out);
                }
            });
        }
    });
    port
}

#[test]
fn a_put_whose_answer_was_lost_is_recognised_as_ours() {
    let Some(url) = s3_prefix("a_put_whose_answer_was_lost_is_recognised_as_ours") else {
        return;
    };
    let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .unwrap();
    let upstream = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let port = answer_losing_proxy(upstream);
    let settings = S3Settings::new(
        &format!("http://127.0.0.1:{port}"),
        "us-east-1",
        &std::env::var("AWS_ACCESS_KEY_ID").unwrap(),
        &std::env::var("AWS_SECRET_ACCESS_KEY").unwrap(),
    )
    .unwrap();
    let store = S3Store::with_settings(S3Url::parse(&url).unwrap(), settings).unwrap();
    // The first request of this store is the PUT; its answer is lost, the retry finds the
    // name taken by the very bytes it sent.
    assert_eq!(
        commit(&store, "log/000000000001", b"our segment"),
        Committed::New
    );
    assert_eq!(read(&store, "log/000000000001"), b"our segment");
    // Someone else's bytes under a taken name are still refused.
    assert_eq!(
        commit(&store, "log/000000000001", b"theirs"),
        Committed::AlreadyPresent
    );
}
