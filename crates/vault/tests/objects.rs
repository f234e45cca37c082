//! Reading objects back from a vault on local files.

use std::io::Read;

use athar_vault::{Access, InitOptions, SecretString, Vault, VaultError};

#[test]
fn objects_read_back_and_a_missing_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("vault");
    let pass = SecretString::from("correct horse battery staple".to_string());
    let opts = InitOptions {
        scrypt_log_n: 10,
        ..InitOptions::default()
    };
    let vault = Vault::init(&root, &pass, &opts).unwrap();
    let (sealed, _) = vault.objects().put(&mut &b"a photo"[..]).unwrap();
    drop(vault);
    let vault = Vault::open(&root, &pass, Access::Read).unwrap();
    let mut back = Vec::new();
    vault
        .open_object(&hex::encode(sealed.sha256))
        .unwrap()
        .read_to_end(&mut back)
        .unwrap();
    assert_eq!(back, b"a photo");
    // From the thread-shareable reader too.
    back.clear();
    vault
        .reader()
        .open(&hex::encode(sealed.sha256))
        .unwrap()
        .read_to_end(&mut back)
        .unwrap();
    assert_eq!(back, b"a photo");
    let missing = "ab".repeat(32);
    match vault.open_object(&missing).map(|_| ()) {
        Err(VaultError::NoSuchObject(d)) => assert_eq!(d, missing),
        other => panic!("expected NoSuchObject, got {other:?}"),
    }
}
