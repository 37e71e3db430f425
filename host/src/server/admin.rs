//! The admin API's routing: `/v1/...` (JSON, bearer token), answered to loopback clients
//! only, whatever address the server listens on, since it deploys code. Its route groups are
//! `status.rs` and `deploy.rs`; the token is `auth.rs`.
//!
//! - `GET /v1/components`, `GET /v1/components/{address}`: what runs, with its versions.
//! - `POST /v1/components/{address}/deploy|rollback|promote|abort`,
//!   `POST /v1/components/{address}/versions/{id}/retire`.

use std::net::SocketAddr;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};

use super::respond::{Reply, error};
use super::{State, deploy, status};

/// Answers one `/v1/...` request from `peer`.
pub(super) async fn route(server: &State, peer: SocketAddr, request: Request<Incoming>) -> Reply {
    let Some(token) = &server.settings.admin else {
        return error(
            StatusCode::NOT_FOUND,
            "this server has no admin API (`ServerSettings::admin` gives it one)",
        );
    };
    if !peer.ip().is_loopback() {
        return error(
            StatusCode::FORBIDDEN,
            "the admin API answers loopback clients only; reach it through an SSH tunnel",
        );
    }
    if let Some(refused) = token.refusal(&request) {
        return refused;
    }
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let host = &server.host;
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
            StatusCode::NOT_FOUND,
            &format!("no route for {} {path}", request.method()),
        ),
    }
}
