//! `GET /metrics`: [`Host::metrics`](crate::Host::metrics) for Prometheus to scrape.

use hyper::{Response, StatusCode};

use super::State;
use super::body::{Body, full};

/// The OpenMetrics text format, which Prometheus reads.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub(crate) fn get(server: &State) -> Response<Body> {
    full(StatusCode::OK, CONTENT_TYPE, server.host.metrics())
}
