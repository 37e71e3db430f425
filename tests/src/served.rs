//! A [`Server`] of a host on a free loopback port, serving in a task until stopped: what the
//! ingress and dashboard tests talk to over real HTTP.

use std::net::SocketAddr;

use airssys_host::{Host, Server, ServerSettings};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::http::{Client, Reply, post_json};

/// A host being served.
pub struct Served {
    /// The host behind the server.
    pub host: Host,
    /// Where the server listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<JoinHandle<airssys_host::Result<()>>>,
}

impl Served {
    /// Serves `host` with `settings`, on `127.0.0.1` and a port the system picks.
    pub async fn start(host: Host, settings: ServerSettings) -> Self {
        let settings = settings.address("127.0.0.1:0".parse().unwrap());
        let server = Server::bind(&host, settings).await.unwrap();
        let addr = server.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));
        Self {
            host,
            addr,
            stop: Some(stop),
            serving: Some(serving),
        }
    }

    /// `http://ADDR/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A new keep-alive connection.
    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await.unwrap()
    }

    /// POSTs `body` as JSON on a connection of its own.
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        post_json(self.addr, path, &body).await
    }

    /// The text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let reply = self.client().await.get("/metrics").await;
        assert_eq!(reply.status, 200);
        reply.text()
    }

    /// Stops the server, letting requests under way finish, and checks it ended cleanly.
    pub async fn stop(mut self) {
        let _ = self.stop.take().expect("stopped once").send(());
        self.serving
            .take()
            .expect("stopped once")
            .await
            .unwrap()
            .unwrap();
    }
}
