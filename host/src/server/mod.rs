//! The one HTTP server `airssys up` runs, which embedders can run too: the ingress to
//! components and topics (`ingress.rs`), `wasi:http` components on their routes
//! (`proxy.rs`), `/metrics`, `/health`, and the dashboard. One file per group of routes; [`State::route`] is the only place that knows
//! them all.
//!
//! hyper serves each connection (HTTP/1.1, keep-alive) in a task of its own, so a slow
//! component holds only the requests waiting on it. The limits are hyper's and ours: request
//! heads up to [`ServerSettings::max_header`] (hyper answers `431` past it) read within
//! [`HEADER_TIMEOUT`], bodies up to [`ServerSettings::max_body`] (`413`), and at most
//! [`ServerSettings::max_connections`] connections at once (a semaphore: the next client waits
//! in the listen backlog until one closes).

mod admin;
mod auth;
mod body;
mod dashboard;
mod deploy;
mod error;
mod health;
mod ingress;
mod metrics;
mod proxy;
mod respond;
mod settings;
mod status;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

pub use auth::Token;
use body::Body;
use dashboard::Board;
use error::ApiError;
pub use settings::{
    DEFAULT_MAX_BODY, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER, DEFAULT_REQUEST_TIMEOUT,
    ServerSettings,
};

use crate::{Error, Host, Result};

/// How long a client may take to send a request head.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stop waits for requests under way before it closes their connections.
const DRAIN: Duration = Duration::from_secs(10);

/// A bound server, ready to [`serve`](Self::serve).
///
/// ```no_run
/// # async fn run() -> airssys_host::Result<()> {
/// use airssys_host::{Host, Server, ServerSettings};
/// let host = Host::new()?;
/// host.load("greeter.wasm").await?;
/// let server = Server::bind(&host, ServerSettings::new()).await?;
/// println!("serving http://{}", server.local_addr());
/// server.serve(async { tokio::signal::ctrl_c().await.ok(); }).await?;
/// # Ok(()) }
/// ```
pub struct Server {
    listener: TcpListener,
    state: Arc<State>,
    closing: watch::Sender<bool>,
}

/// What every route reads: the host, the settings, and whether the server is stopping.
pub(crate) struct State {
    pub(crate) host: Host,
    pub(crate) settings: ServerSettings,
    /// Turns true when the server stops: endless responses (event streams) end then.
    pub(crate) closing: watch::Receiver<bool>,
    /// The dashboard's snapshots.
    pub(crate) board: Board,
}

impl Server {
    /// Checks `settings` and listens on their address. Fails with [`Error::Config`] for a
    /// setting the server cannot run with, and [`Error::Listen`] when the address is taken
    /// or not this machine's.
    pub async fn bind(host: &Host, settings: ServerSettings) -> Result<Self> {
        settings.validate()?;
        let address = settings.address;
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| Error::Listen { address, source })?;
        let (closing, watching) = watch::channel(false);
        Ok(Self {
            listener,
            state: Arc::new(State {
                host: host.clone(),
                settings,
                closing: watching,
                board: Board::new(),
            }),
            closing,
        })
    }

    /// The address it listens on (with the port chosen, when the settings asked for 0).
    pub fn local_addr(&self) -> SocketAddr {
        // A bound socket always has an address; fall back to the configured one.
        self.listener
            .local_addr()
            .unwrap_or(self.state.settings.address)
    }

    /// Serves until `shutdown` completes, then stops accepting, ends event streams, and waits
    /// up to ten seconds for the requests under way.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<()> {
        let Self {
            listener,
            state,
            closing,
        } = self;
        let board = tokio::spawn(Board::run(state.clone()));
        let connections = Arc::new(Semaphore::new(state.settings.max_connections));
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                permit = connections.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
                () = &mut shutdown => break,
            };
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of file descriptors, say: back off instead of spinning.
                        tracing::warn!(target: "airssys::server", "cannot accept a connection: {err}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            // Replies are small and written whole: send them at once.
            let _ = stream.set_nodelay(true);
            let served = state.clone();
            let service = service_fn(move |request| {
                let served = served.clone();
                async move { Ok::<_, Infallible>(served.handle(peer, request).await) }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(state.settings.max_header)
                .serve_connection(TokioIo::new(stream), service);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(err) = connection.await {
                    tracing::debug!(target: "airssys::server", "connection ended: {err}");
                }
                drop(permit);
            });
        }
        drop(listener);
        let _ = closing.send(true);
        let _ = board.await;
        if tokio::time::timeout(DRAIN, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(target: "airssys::server", "requests still under way after {DRAIN:?}; closing their connections");
        }
        Ok(())
    }
}

impl State {
    /// Answers one request and counts it by route and status.
    async fn handle(
        self: &Arc<Self>,
        peer: SocketAddr,
        request: Request<Incoming>,
    ) -> Response<Body> {
        let started = Instant::now();
        let (route, response) = self.route(peer, request).await;
        let response = response.unwrap_or_else(|err| err.response());
        self.host
            .observed()
            .ingress(route, response.status().as_u16(), started.elapsed());
        response
    }

    /// Which route a request is for, and its answer.
    async fn route(
        self: &Arc<Self>,
        peer: SocketAddr,
        request: Request<Incoming>,
    ) -> (&'static str, Result<Response<Body>, ApiError>) {
        let path = request.uri().path().to_owned();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let method = request.method().clone();
        if let Some(address) = self.settings.route_for(&path) {
            return ("wasi_http", proxy::serve(self, address, request).await);
        }
        match (&method, segments.as_slice()) {
            (_, ["v1", ..]) => ("admin", Ok(admin::route(self, peer, request).await)),
            (&Method::POST, ["components", address]) => {
                ("component", ingress::request(self, address, request).await)
            }
            (&Method::POST, ["topics", topic]) => {
                ("topic", ingress::publish(self, topic, request).await)
            }
            (&Method::GET, ["metrics"]) => ("metrics", Ok(metrics::get(self))),
            (&Method::GET, ["health"]) => ("health", Ok(health::get(self))),
            (&Method::GET, [""]) => ("dashboard", Ok(dashboard::page())),
            (&Method::GET, ["api", "state"]) => ("dashboard", Ok(dashboard::state(self))),
            (&Method::GET, ["api", "events"]) => ("dashboard", Ok(dashboard::events(self))),
            (_, ["components" | "topics", _]) => {
                ("component", Err(ApiError::method_not_allowed("POST")))
            }
            (_, ["metrics" | "health" | ""] | ["api", "state" | "events"]) => {
                ("unknown", Err(ApiError::method_not_allowed("GET")))
            }
            _ => (
                "unknown",
                Err(ApiError::not_found(format!(
                    "nothing is served at {method} {path}; try POST /components/ADDRESS, POST /topics/TOPIC, GET /metrics, GET /health or GET /"
                ))),
            ),
        }
    }
}
