//! `wasi:http`, through wasmtime's own implementation (`wasmtime-wasi-http`): the types and
//! the outgoing handler for any component that imports them, and the incoming requests the
//! server hands a `wasi:http/proxy` component (see `Instance::http`). What this unit adds is
//! the gate: an outgoing request needs `net` on its `host:port`, decided, audited and
//! counted like every other connect.

use std::future::Future;
use std::sync::Arc;

use airssys_contract::CapabilityKind;
use hyper::http::uri::Scheme;
use wasmtime::component::Linker;
use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpHooks, WasiHttpView,
};

use crate::policy::Gate;

/// What one instance keeps for `wasi:http`.
pub(crate) struct WasiHttpState {
    pub(crate) ctx: WasiHttpCtx,
    pub(crate) hooks: Outgoing,
}

impl WasiHttpState {
    pub(crate) fn new(gate: Arc<Gate>) -> Self {
        Self {
            ctx: WasiHttpCtx::new(),
            hooks: Outgoing { gate },
        }
    }
}

/// Sends a component's outgoing requests, each through the gate first.
pub(crate) struct Outgoing {
    gate: Arc<Gate>,
}

type Response = (
    hyper::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
);

impl WasiHttpHooks for Outgoing {
    fn send_request(
        &mut self,
        request: hyper::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<dyn Future<Output = Result<Response, HttpError>> + Send> {
        let Some(target) = target(request.uri()) else {
            return Box::new(async { Err(HttpError::HttpRequestUriInvalid) });
        };
        if self.gate.check(CapabilityKind::Net, &target).is_err() {
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        // wasmtime-wasi-http's own sender does the rest (DNS, TLS, HTTP/1.1).
        wasmtime_wasi_http::default_hooks().send_request(request, options, fut)
    }
}

/// `host:port` of an absolute URI, the port made explicit from the scheme.
fn target(uri: &hyper::Uri) -> Option<String> {
    let host = uri.host()?;
    let port = uri.port_u16().or(match uri.scheme() {
        Some(scheme) if *scheme == Scheme::HTTPS => Some(443),
        Some(scheme) if *scheme == Scheme::HTTP => Some(80),
        _ => None,
    })?;
    Some(format!("{host}:{port}"))
}

/// Links `wasi:http/types` and `wasi:http/outgoing-handler`; the rest of what a proxy
/// imports (clocks, random, I/O, stdio) comes with WASI p2.
pub(crate) fn add_to_linker<T: WasiHttpView + 'static>(
    linker: &mut Linker<T>,
) -> wasmtime::Result<()> {
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_host_and_port() {
        let at = |uri: &str| target(&uri.parse().unwrap());
        assert_eq!(
            at("http://example.com/x").as_deref(),
            Some("example.com:80")
        );
        assert_eq!(
            at("https://example.com/").as_deref(),
            Some("example.com:443")
        );
        assert_eq!(
            at("http://127.0.0.1:8080/").as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(at("/relative"), None);
    }
}
