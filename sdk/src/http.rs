//! Outbound HTTP and HTTPS to the `host:port`s the component declared (`net`) and the operator
//! granted. The host checks every request and every redirect; a refusal is an
//! [`ErrorKind::Denied`](crate::ErrorKind::Denied) error, never a trap.
//!
//! `https://` is verified against the host's trust roots (the system's, plus any the operator
//! added) for the URL's host. A certificate that does not verify is a `Denied` error naming
//! the host and the reason (unknown issuer, expired, name mismatch), and nothing is sent; a
//! redirect from `https` to `http` is `Denied` unless the operator allows it. Credentials go
//! in an `Authorization` header: a URL with `user:pass@` is refused, and `Authorization` and
//! `Cookie` headers are not sent on to another origin. The timeout covers the whole exchange,
//! DNS lookups included.
//!
//! ```no_run
//! # fn run() -> airssys::Result<()> {
//! use std::time::Duration;
//! let response = airssys::http::Request::get("https://api.example.com/v1/status")
//!     .header("accept", "application/json")
//!     .timeout(Duration::from_secs(2))
//!     .send()?;
//! let status: serde_json::Value = response.json()?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, Result};

/// An HTTP request, built up and then [`send`](Self::send)-ed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub(crate) method: String,
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    timeout: Duration,
    pub(crate) max_response: u32,
    pub(crate) max_redirects: u8,
}

/// The final response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// A `method` request to `url` (an absolute `http://` or `https://` URL), with a 10 s timeout, up to
    /// 4 MiB of response body and up to 5 redirects.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: Duration::from_secs(10),
            max_response: 4 << 20,
            max_redirects: 5,
        }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// A `POST` request.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a JSON body and its content type.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<Self> {
        let body = serde_json::to_vec(value)
            .map_err(|err| Error::internal(format!("cannot encode JSON: {err}")))?;
        Ok(self.header("content-type", "application/json").body(body))
    }

    /// Limit for the whole exchange, DNS lookups and redirects included (the host also stops
    /// at the call's deadline).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Largest response body accepted.
    pub fn max_response(mut self, bytes: u32) -> Self {
        self.max_response = bytes;
        self
    }

    /// How many redirects to follow; 0 returns the redirect itself.
    pub fn max_redirects(mut self, redirects: u8) -> Self {
        self.max_redirects = redirects;
        self
    }

    /// Sends it and waits for the final response.
    pub fn send(&self) -> Result<Response> {
        imp::send(self)
    }
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<&str> {
        Ok(std::str::from_utf8(&self.body)?)
    }

    /// The body decoded from JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        Ok(serde_json::from_slice(&self.body)?)
    }
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::{Request, Response};
    use crate::__private::bindings::airssys::core::http as host;
    use crate::__private::from_wit_error;
    use crate::Result;

    pub(super) fn send(req: &Request) -> Result<Response> {
        let res = host::send(&host::Outgoing {
            method: req.method.clone(),
            url: req.url.clone(),
            headers: req.headers.clone(),
            body: req.body.clone(),
            timeout_ms: u32::try_from(req.timeout.as_millis()).unwrap_or(u32::MAX),
            max_response: req.max_response,
            max_redirects: req.max_redirects,
        })
        .map_err(from_wit_error)?;
        Ok(Response {
            status: res.status,
            headers: res.headers,
            body: res.body,
        })
    }
}

/// Off wasm, the test host of the current call answers (`airssys::testing`).
#[cfg(not(target_arch = "wasm32"))]
use crate::testing::http as imp;
