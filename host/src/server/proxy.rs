//! `wasi:http` components on their routes: a request whose path a `route` covers goes, whole
//! (method, path, headers, streamed body), to the component at the route's address, through
//! the registry like any delivery, and its response streams back as the guest writes it.

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, HOST};
use hyper::{Request, Response};
use wasmtime_wasi_http::Error as HttpError;

use super::State;
use super::body::{Body, BoxError};
use super::error::ApiError;
use crate::Error;

/// Serves `request` with the `wasi:http` component at `address`.
pub(crate) async fn serve(
    server: &State,
    address: &str,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let limit = server.settings.max_body;
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(ApiError::too_large(limit));
    }
    if !request.headers().contains_key(HOST) && request.uri().authority().is_none() {
        return Err(ApiError::bad_request(
            "no_host",
            "the request names no host (`Host` header); wasi:http components need one",
        ));
    }
    let component = server
        .host
        .component(address)
        .ok_or_else(|| Error::UnknownAddress {
            address: address.to_owned(),
        })?;
    // A body longer than it said, or than the limit, fails in the guest's read.
    let request = request.map(|body| {
        Limited::new(body, limit)
            .map_err(move |err: BoxError| match err.downcast::<hyper::Error>() {
                Ok(err) => HttpError::from(*err),
                Err(err) if err.is::<LengthLimitError>() => {
                    HttpError::HttpRequestBodySize(Some(limit as u64))
                }
                Err(err) => HttpError::InternalError(Some(err.to_string())),
            })
            .boxed_unsync()
    });
    let timeout = server.settings.request_timeout;
    let response = tokio::time::timeout(timeout, component.http(request))
        .await
        .map_err(|_| Error::Timeout {
            component: component.identity().to_string(),
            waited: timeout,
        })??;
    Ok(response.map(|body| body.map_err(|err| Box::new(err) as BoxError).boxed_unsync()))
}
