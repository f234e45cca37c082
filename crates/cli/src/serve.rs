//! `athar serve`: the families' and investigators' web portal on a vault.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use athar_portal::{App, Options};
use athar_vault::SecretString;

use crate::{passphrase, PassArgs};

pub fn run(vault: &Path, listen: &str, connections: usize, pass: &PassArgs) -> Result<ExitCode> {
    let passphrase = passphrase::get(pass)?;
    let app = open(vault, &passphrase, connections)?;
    if let Some(link) = athar_portal::admin::first_admin_invitation(&app)? {
        println!("No administrator yet. Create the first one at: http://{listen}{link}");
    }
    serve(app, listen, |addr| {
        println!("athar portal on http://{addr}/ (Ctrl-C to stop)");
    })
}

pub fn open(vault: &Path, passphrase: &SecretString, connections: usize) -> Result<App> {
    App::open(
        vault,
        passphrase,
        Options {
            connections,
            ..Options::default()
        },
    )
    .with_context(|| format!("opening the portal on {}", vault.display()))
}

/// Bind and serve until killed; `ready` runs once the socket listens.
pub fn serve(app: App, listen: &str, ready: impl FnOnce(SocketAddr)) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the server's runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen} (is another server using it?)"))?;
        ready(listener.local_addr()?);
        athar_portal::serve(Arc::new(app), listener)
            .await
            .context("serving")?;
        Ok(ExitCode::SUCCESS)
    })
}
