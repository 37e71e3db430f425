//! The ingress: `POST /components/{address}` sends the JSON body as a request to the
//! component at that address and answers with its reply; `POST /topics/{topic}` publishes
//! the body and answers how many subscribers it reached. Both go through the registry, so a
//! deploy's blue-green switch and canary split apply, and through the host's limits.

use hyper::body::Incoming;
use hyper::header::CONTENT_LENGTH;
use hyper::{Request, Response, StatusCode};
use serde_json::json;

use super::State;
use super::body::{Body, full, json, read_limited};
use super::error::ApiError;
use airssys_contract::{validate_name, validate_topic};

use crate::{CONTENT_TYPE_JSON, CapabilityKind, Error, Payload};

/// `POST /components/{address}`.
pub(crate) async fn request(
    server: &State,
    address: &str,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    validate_name(address).map_err(|err| Error::InvalidAddress {
        address: address.to_owned(),
        reason: err.to_string(),
    })?;
    if !server.settings.exposes(CapabilityKind::Message, address) {
        return Err(ApiError::forbidden(format!(
            "the ingress may not call `{address}`: add it to `message` in [ingress] grants"
        )));
    }
    let payload = json_body(server, request).await?;
    let reply = server
        .host
        .request(address, payload, server.settings.request_timeout)
        .await?;
    let (content_type, body) = reply.into_parts();
    let content_type = if content_type.is_empty() {
        CONTENT_TYPE_JSON
    } else {
        &content_type
    };
    Ok(full(StatusCode::OK, content_type, body))
}

/// `POST /topics/{topic}`.
pub(crate) async fn publish(
    server: &State,
    topic: &str,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    validate_topic(topic).map_err(|err| Error::InvalidTopic {
        topic: err.topic().to_owned(),
        role: "published on",
        reason: err.reason().to_owned(),
    })?;
    if !server.settings.exposes(CapabilityKind::Publish, topic) {
        return Err(ApiError::forbidden(format!(
            "the ingress may not publish on `{topic}`: add it to `publish` in [ingress] grants"
        )));
    }
    let payload = json_body(server, request).await?;
    let published = server.host.publish(topic, payload).await?;
    Ok(json(
        StatusCode::ACCEPTED,
        &json!({ "delivered": published.delivered, "missed": published.missed }),
    ))
}

/// The body, read within the limit and checked to be JSON.
async fn json_body(server: &State, request: Request<Incoming>) -> Result<Payload, ApiError> {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = read_limited(request.into_body(), declared, server.settings.max_body).await?;
    let body = if body.is_empty() { "null".into() } else { body };
    if let Err(err) = serde_json::from_slice::<serde::de::IgnoredAny>(&body) {
        return Err(ApiError::bad_request(
            "invalid_json",
            format!("the body is not JSON: {err}"),
        ));
    }
    Ok(Payload::new(CONTENT_TYPE_JSON, body.to_vec()))
}
