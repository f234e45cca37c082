//! Where S3 credentials come from. One test in its own binary, because it changes the
//! process environment.

use std::io::Write;

use athar_vault::S3Store;

#[test]
fn credentials_come_from_the_environment_or_a_profile_file() {
    let env_key = std::env::var("AWS_ACCESS_KEY_ID").ok();
    let env_secret = std::env::var("AWS_SECRET_ACCESS_KEY").ok();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    for v in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
    ] {
        std::env::remove_var(v);
    }
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", &file);

    // Nothing anywhere: the message names every place it looked.
    let e = match S3Store::connect("s3://athar/creds") {
        Err(e) => e.to_string(),
        Ok(_) => panic!("connected without credentials"),
    };
    for needle in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_PROFILE",
        "[default]",
    ] {
        assert!(e.contains(needle), "{needle} missing from: {e}");
    }
    assert!(e.contains(&file.display().to_string()), "{e}");

    // A file whose profile is not the one asked for is no better.
    let (key, secret) = match (env_key, env_secret) {
        (Some(k), Some(s)) => (k, s),
        _ => ("AKIAEXAMPLE".to_string(), "example-secret".to_string()),
    };
    let mut f = std::fs::File::create(&file).unwrap();
    writeln!(f, "[default]\naws_access_key_id = wrong\n\n[archive]").unwrap();
    writeln!(
        f,
        "aws_access_key_id = {key}\naws_secret_access_key = {secret}"
    )
    .unwrap();
    drop(f);
    std::env::set_var("AWS_PROFILE", "elsewhere");
    let e = S3Store::connect("s3://athar/creds")
        .err()
        .expect("no such profile");
    assert!(e.to_string().contains("[elsewhere]"), "{e}");

    // The named profile is used; against a real server it must be accepted.
    std::env::set_var("AWS_PROFILE", "archive");
    match std::env::var("ATHAR_TEST_S3") {
        Ok(base) => {
            let url = format!(
                "{}/creds-{}",
                base.trim_end_matches('/'),
                std::process::id()
            );
            S3Store::connect(&url).expect("the profile's keys are accepted");
        }
        Err(_) => {
            let _ = writeln!(
                std::io::stderr(),
                "ATHAR_TEST_S3 is not set, so the profile's keys were not tried on a server"
            );
        }
    }
}
