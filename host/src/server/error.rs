//! Error responses: a status that fits and a JSON body `{"error": {"kind", "message"}}`, the
//! kind being [`Error::code`] or one of the server's own.

use hyper::header::{ALLOW, HeaderValue, RETRY_AFTER};
use hyper::{Response, StatusCode};
use serde::Serialize;

use super::body::{Body, json};
use crate::{Error, ErrorKind};

/// A refusal or failure, as the client will read it.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) kind: &'static str,
    pub(crate) message: String,
    /// The methods a `405` names in its `Allow` header.
    pub(crate) allow: Option<&'static str>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    kind: &'a str,
    message: &'a str,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            allow: None,
        }
    }

    pub(crate) fn method_not_allowed(allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("this route takes {allow}"),
            )
        }
    }

    pub(crate) fn bad_request(kind: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, kind, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "no_route", message)
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "denied", message)
    }

    pub(crate) fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "the request body is over the ingress limit of {limit} bytes (`max_body` in [ingress])"
            ),
        )
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    pub(crate) fn response(&self) -> Response<Body> {
        let mut response = json(
            self.status,
            &Envelope {
                error: Detail {
                    kind: self.kind,
                    message: &self.message,
                },
            },
        );
        if let Some(allow) = self.allow {
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // Full mailboxes, restarts and host limits pass; a client may try again.
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        Self::from_ref(&err)
    }
}

impl ApiError {
    /// `err` as the client reads it: its [`Error::code`], its message, and the status that
    /// says whose problem it is.
    pub(crate) fn from_ref(err: &Error) -> Self {
        let status = match err {
            Error::UnknownAddress { .. } | Error::UnknownVersion { .. } => StatusCode::NOT_FOUND,
            Error::DeployInProgress { .. }
            | Error::NoDeploy { .. }
            | Error::NothingToRollBack { .. }
            | Error::VersionInUse { .. } => StatusCode::CONFLICT,
            Error::Config(_) => StatusCode::BAD_REQUEST,
            // A version that cannot take over: refused, unsigned, unhealthy, failing.
            Error::Deploy { .. }
            | Error::Signature { .. }
            | Error::Unhealthy { .. }
            | Error::CanaryFailed { .. }
            | Error::Aborted
            | Error::NotWasm { .. }
            | Error::CoreModule { .. }
            | Error::Malformed { .. }
            | Error::WrongWorld { .. }
            | Error::ContractVersion { .. }
            | Error::MissingExport { .. }
            | Error::MissingManifest { .. }
            | Error::CorruptManifest { .. }
            | Error::Link { .. }
            | Error::Compile { .. }
            | Error::NotGranted { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::InvalidAddress { .. } | Error::InvalidTopic { .. } => StatusCode::BAD_REQUEST,
            Error::Guest { error, .. } => match error.kind() {
                ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
                ErrorKind::NotFound => StatusCode::NOT_FOUND,
                ErrorKind::Denied => StatusCode::FORBIDDEN,
                ErrorKind::Unsupported => StatusCode::NOT_IMPLEMENTED,
                ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Error::PayloadTooLarge { direction, .. } if *direction != "reply" => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            // The component failed: it trapped, could not start, or answered too much or
            // nothing.
            Error::Trap { .. }
            | Error::Init { .. }
            | Error::PayloadTooLarge { .. }
            | Error::NoResponse { .. } => StatusCode::BAD_GATEWAY,
            Error::NotServed { .. } => StatusCode::NOT_IMPLEMENTED,
            Error::Denied { .. } => StatusCode::FORBIDDEN,
            Error::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Error::MailboxFull { .. }
            | Error::Restarting { .. }
            | Error::Stopped { .. }
            | Error::Unavailable { .. }
            | Error::HostLimit { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, err.code(), err.to_string())
    }
}
