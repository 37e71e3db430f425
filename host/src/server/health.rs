//! `GET /health`: whether the host serves every component it runs. `200` when each one is
//! running, `503` when one is restarting, failed or stopped; the body lists them either way.

use hyper::{Response, StatusCode};
use serde_json::json;

use super::State;
use super::body::{Body, json};
use crate::State as Lifecycle;

pub(crate) fn get(server: &State) -> Response<Body> {
    let components = server.host.components();
    let healthy = components.iter().all(|c| c.state == Lifecycle::Running);
    let usage = server.host.usage();
    let body = json!({
        "status": if healthy { "ok" } else { "degraded" },
        "components": components.iter().map(|c| json!({
            "address": c.identity.address,
            "version": c.identity.version,
            "state": c.state.to_string(),
        })).collect::<Vec<_>>(),
        "instances": usage.instances,
        "memory": usage.memory,
    });
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(status, &body)
}
