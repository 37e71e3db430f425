//! Response bodies and reading request bodies within the limit.

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;

use super::error::ApiError;

/// Any error a response body can fail with mid-stream.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What every route answers with: a whole body, a stream of events, or a `wasi:http`
/// component's body.
pub(crate) type Body = UnsyncBoxBody<Bytes, BoxError>;

/// A response of `status` with `body` as `content_type`.
pub(crate) fn full(
    status: StatusCode,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(
        Full::new(body.into())
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    response
}

/// `value` as a JSON response.
pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(bytes) => full(status, "application/json", bytes),
        Err(err) => ApiError::internal(format!("cannot encode the reply: {err}")).response(),
    }
}

/// The whole request body, refused past `limit` bytes (the declared length is checked
/// before anything is read).
pub(crate) async fn read_limited(
    body: Incoming,
    declared: Option<u64>,
    limit: usize,
) -> Result<Bytes, ApiError> {
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(ApiError::too_large(limit));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(ApiError::too_large(limit)),
        Err(err) => Err(ApiError::bad_request(
            "body",
            format!("cannot read the body: {err}"),
        )),
    }
}
