//! `examples/app` as `airssys up` runs it, for tests: its real `airssys.toml` (grants,
//! limits, storage, ingress), its crates built from source, one server with the admin API,
//! all in a fresh folder (its store, audit log and admin token) and on a free loopback port.

use std::path::PathBuf;

use airssys_host::AppManifest;
use airssys_host::server::Token;
use tempfile::TempDir;

use crate::served::Served;
use crate::{guest, workspace_root};

/// The example application, running and served.
pub struct ExampleApp {
    /// Its host and server.
    pub served: Served,
    /// The admin API's token.
    pub token: Token,
    _dir: TempDir,
}

impl ExampleApp {
    /// Builds `web`, `store` and `feed`, starts them as `examples/app/airssys.toml` says,
    /// and serves them.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(workspace_root().join("examples/app/airssys.toml"))
            .expect("examples/app/airssys.toml");
        // Its relative paths (store, audit log, token) land in `dir`.
        let app = AppManifest::from_toml(&text, dir.path()).unwrap();
        let host = app.host_builder().unwrap().build().unwrap();
        for (name, component) in app.components() {
            let wasm = guest(&format!("examples/app/{name}"));
            host.load_with(wasm, component.options.clone())
                .await
                .unwrap_or_else(|err| panic!("starting {name}: {err}"));
        }
        let token = Token::load_or_create(&app.admin().token_file).unwrap();
        let settings = app
            .server()
            .cloned()
            .expect("the example has [ingress]")
            .admin(token.clone());
        Self {
            served: Served::start(host, settings).await,
            token,
            _dir: dir,
        }
    }

    /// The component of the app's next release of `web` (`examples/app/web-next`).
    pub fn web_next() -> PathBuf {
        guest("examples/app/web-next")
    }

    /// `Authorization: Bearer TOKEN`, for the admin API.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token.secret())
    }

    /// Stops the server (letting requests under way finish), then the components, then
    /// closes the store.
    pub async fn stop(self) {
        let host = self.served.host.clone();
        self.served.stop().await;
        for component in host.components() {
            if let Some(handle) = host.component(&component.identity.address) {
                let _ = handle.shutdown().await;
            }
        }
        if let Some(storage) = host.storage() {
            storage.close().await.unwrap();
        }
    }
}
