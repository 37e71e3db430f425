//! The shapes of the server's responses: a JSON value, a JSON error, or a stream of JSON
//! lines (for deploys, which report progress as they go).

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::channel::{Channel, Sender};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::{Response, StatusCode, header};
use serde_json::{Value, json};

use crate::Error;

/// Every response the server sends.
pub(super) type Reply = Response<BoxBody<Bytes, Infallible>>;

/// `value` as JSON with `status`.
pub(super) fn json(status: StatusCode, value: &Value) -> Reply {
    let mut body = value.to_string();
    body.push('\n');
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)).boxed())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

/// `{"error": message}` with `status`.
pub(super) fn error(status: StatusCode, message: &str) -> Reply {
    json(status, &json!({ "error": message }))
}

/// A host error, with the status that says whose problem it is.
pub(super) fn failure(err: &Error) -> Reply {
    let status = match err {
        Error::UnknownAddress { .. } | Error::UnknownVersion { .. } => StatusCode::NOT_FOUND,
        Error::DeployInProgress { .. }
        | Error::NoDeploy { .. }
        | Error::NothingToRollBack { .. }
        | Error::VersionInUse { .. }
        | Error::Stopped { .. } => StatusCode::CONFLICT,
        Error::Config(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    error(status, &err.to_string())
}

/// A response of JSON lines, and the sender that writes them.
pub(super) fn lines() -> (Lines, Reply) {
    let (sender, body) = Channel::<Bytes, Infallible>::new(16);
    let reply = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(body.boxed())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()));
    (Lines(sender), reply)
}

/// Writes one JSON value per line.
pub(super) struct Lines(Sender<Bytes, Infallible>);

impl Lines {
    /// Sends `value`; false once the client went away.
    pub(super) async fn send(&mut self, value: &Value) -> bool {
        let mut line = value.to_string();
        line.push('\n');
        self.0.send_data(Bytes::from(line)).await.is_ok()
    }
}
