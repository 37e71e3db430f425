//! The admin API's response shapes, on the server's one body type and error envelope: a
//! JSON value, an error (`{"error": {"kind", "message"}}`), or a stream of JSON lines (for
//! deploys, which report progress as they go).

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::channel::{Channel, Sender};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::Value;

use super::body::{self, Body, BoxError};
use super::error::ApiError;
use crate::Error;

/// Every response the admin routes send.
pub(super) type Reply = Response<Body>;

/// `value` as JSON with `status`.
pub(super) fn json(status: StatusCode, value: &Value) -> Reply {
    body::json(status, value)
}

/// A refusal of the admin API itself (a bad option, no token), with `status`.
pub(super) fn error(status: StatusCode, message: &str) -> Reply {
    let kind = match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "denied",
        StatusCode::NOT_FOUND => "no_route",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        _ => "invalid_input",
    };
    ApiError::new(status, kind, message).response()
}

/// A host error, with the status that says whose problem it is.
pub(super) fn failure(err: &Error) -> Reply {
    ApiError::from_ref(err).response()
}

/// A response of JSON lines, and the sender that writes them.
pub(super) fn lines() -> (Lines, Reply) {
    let (sender, body) = Channel::<Bytes, BoxError>::new(16);
    let mut reply = Response::new(body.boxed_unsync());
    reply.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    (Lines(sender), reply)
}

/// Writes one JSON value per line.
pub(super) struct Lines(Sender<Bytes, BoxError>);

impl Lines {
    /// Sends `value`; false once the client went away.
    pub(super) async fn send(&mut self, value: &Value) -> bool {
        let mut line = value.to_string();
        line.push('\n');
        self.0.send_data(Bytes::from(line)).await.is_ok()
    }
}
