//! The HTTP server `airssys up` runs beside its components.
//!
//! Today it serves the admin API (`/v1/...`, JSON, bearer token): status, versions, deploy,
//! promote, abort, rollback, retire. It is built to take more: `mod.rs` holds only the
//! listener, the connection loop and the routing table, `auth.rs` the token, `respond.rs`
//! the response shapes, and each route group is a file of its own (`status.rs`,
//! `deploy.rs`). Ingress, `/metrics` and a dashboard are further route groups and lines in
//! [`route`].

mod auth;
mod deploy;
mod respond;
mod status;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use auth::Token;
use respond::{Reply, error};

use crate::{Error, Host, Result};

/// The running server: where it listens, until [`shutdown`](Self::shutdown) or drop.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

/// What every request handler reads.
struct Shared {
    host: Host,
    token: Token,
}

impl Server {
    /// Listens on `listen` (a loopback address: the admin API deploys code) and serves the
    /// admin API for `host` to requests bearing `token`.
    ///
    /// ```no_run
    /// # async fn run(host: airssys_host::Host) -> airssys_host::Result<()> {
    /// use airssys_host::server::{Server, Token};
    /// let token = Token::load_or_create(".airssys/admin.token")?;
    /// let server = Server::bind("127.0.0.1:7070".parse().unwrap(), token, host).await?;
    /// println!("admin API on http://{}", server.local_addr());
    /// # Ok(()) }
    /// ```
    pub async fn bind(listen: SocketAddr, token: Token, host: Host) -> Result<Self> {
        if !listen.ip().is_loopback() {
            return Err(Error::Config(format!(
                "the admin API listens on loopback addresses only, not {listen}; reach it from elsewhere through an SSH tunnel"
            )));
        }
        let cannot = |err: std::io::Error| {
            Error::Config(format!(
                "cannot listen on {listen} for the admin API ({err}); choose another `[admin] listen` port, or 0 for a free one"
            ))
        };
        let listener = TcpListener::bind(listen).await.map_err(cannot)?;
        let local_addr = listener.local_addr().map_err(cannot)?;
        let shared = Arc::new(Shared { host, token });
        let task = tokio::spawn(accept(listener, shared));
        Ok(Self { local_addr, task })
    }

    /// The address it listens on (with the port chosen, when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections; requests under way finish.
    pub fn shutdown(self) {
        self.task.abort();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(route(&shared, request).await) }
            });
            // A connection that fails (the peer went away) concerns only itself.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The routing table: every request is authenticated, then handed to its route group.
async fn route(shared: &Shared, request: Request<Incoming>) -> Reply {
    if let Some(refused) = shared.token.refusal(&request) {
        return refused;
    }
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let host = &shared.host;
    match (request.method().clone(), segments.as_slice()) {
        (Method::GET, ["v1", "components"]) => status::components(host),
        (Method::GET, ["v1", "components", address]) => status::component(host, address),
        (Method::POST, ["v1", "components", address, "deploy"]) => {
            deploy::deploy(host, address, request).await
        }
        (Method::POST, ["v1", "components", address, "rollback"]) => {
            deploy::rollback(host, address).await
        }
        (Method::POST, ["v1", "components", address, "promote"]) => deploy::promote(host, address),
        (Method::POST, ["v1", "components", address, "abort"]) => deploy::abort(host, address),
        (Method::POST, ["v1", "components", address, "versions", id, "retire"]) => {
            deploy::retire(host, address, id)
        }
        _ => error(
            hyper::StatusCode::NOT_FOUND,
            &format!("no route for {} {path}", request.method()),
        ),
    }
}
