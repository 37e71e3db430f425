//! The `airssys:core/http` host interface: outbound HTTP/1.1 to granted `host:port`s, every
//! redirect re-checked, within a timeout capped by the call's deadline and a response cap.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use airssys_contract::CapabilityKind;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use wasmtime::component::{HasData, Linker};

use crate::Limits;
use crate::bindings::airssys::core::http::{self, Incoming, Outgoing};
use crate::bindings::{guest_error as error, wit};
use crate::policy::Gate;

/// What an HTTP call sees: the gate, the limits and when the guest's call must end.
pub(crate) struct Http<'a> {
    pub(crate) gate: &'a Gate,
    pub(crate) limits: &'a Limits,
    pub(crate) deadline: Instant,
}

struct HasHttp;

impl HasData for HasHttp {
    type Data<'a> = Http<'a>;
}

/// Links `airssys:core/http`, projecting the store data to an [`Http`] view.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> Http<'_>,
) -> wasmtime::Result<()> {
    http::add_to_linker::<T, HasHttp>(linker, get)
}

impl http::Host for Http<'_> {
    async fn send(&mut self, request: Outgoing) -> Result<Incoming, wit::Error> {
        let started = Instant::now();
        let remaining = self.deadline.saturating_duration_since(started);
        let timeout = Duration::from_millis(request.timeout_ms.into()).min(remaining);
        let mut method = Method::from_bytes(request.method.as_bytes())
            .map_err(|_| invalid(format!("`{}` is not an HTTP method", request.method)))?;
        let mut url: Uri = request
            .url
            .parse()
            .map_err(|err| invalid(format!("`{}` is not a URL: {err}", request.url)))?;
        let mut body = request.body;
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let mut redirects = 0u8;
        loop {
            self.authorize(&url)?;
            let addr = self.vet(&url).await?;
            // Connect to the vetted address; the server still sees the name it was asked for.
            let path = url.path_and_query().map_or("/", |p| p.as_str());
            let target: Uri = format!("http://{addr}{path}")
                .parse()
                .map_err(|err| invalid(format!("`{url}`: {err}")))?;
            let mut builder = Request::builder().method(method.clone()).uri(target);
            for (name, value) in &request.headers {
                if !name.eq_ignore_ascii_case("host") {
                    builder = builder.header(name.as_str(), value.as_str());
                }
            }
            if let Some(authority) = url.authority() {
                builder = builder.header(hyper::header::HOST, authority.as_str());
            }
            let outgoing = builder
                .body(Full::new(Bytes::from(body.clone())))
                .map_err(|err| invalid(format!("invalid request: {err}")))?;
            let left = timeout.saturating_sub(started.elapsed());
            let response = tokio::time::timeout(left, client.request(outgoing))
                .await
                .map_err(|_| timed_out(&url, timeout))?
                .map_err(|err| {
                    error(
                        wit::ErrorKind::Unavailable,
                        format!("request to {url} failed: {err}"),
                    )
                })?;
            let status = response.status();
            let location = response
                .headers()
                .get(hyper::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(str::to_owned);
            if let (true, Some(location)) = (status.is_redirection(), location)
                && redirects < request.max_redirects
            {
                redirects += 1;
                url = resolve(&url, &location)?;
                // 303, and 301/302 after a POST, continue as a GET without a body.
                if status == StatusCode::SEE_OTHER
                    || (method == Method::POST
                        && matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND))
                {
                    method = Method::GET;
                    body.clear();
                }
                continue;
            }
            let headers = response
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            // The guest chooses the cap, but never past what a reply could carry anyway.
            let max = (request.max_response as usize).min(self.limits.max_payload);
            let left = timeout.saturating_sub(started.elapsed());
            let body = tokio::time::timeout(left, read_capped(response.into_body(), max, &url))
                .await
                .map_err(|_| timed_out(&url, timeout))??;
            return Ok(Incoming {
                status: status.as_u16(),
                headers,
                body,
            });
        }
    }
}

impl Http<'_> {
    /// Checks and audits `net` for the URL's `host:port`; only `http` is supported.
    fn authorize(&self, url: &Uri) -> Result<(), wit::Error> {
        match url.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(error(
                    wit::ErrorKind::Unsupported,
                    format!("{url}: https is not supported by this host yet; use http"),
                ));
            }
            _ => return Err(invalid(format!("`{url}` is not an absolute http:// URL"))),
        }
        let host = url
            .host()
            .ok_or_else(|| invalid(format!("`{url}` has no host")))?
            .to_ascii_lowercase();
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host
        };
        let resource = format!("{host}:{}", url.port_u16().unwrap_or(80));
        Ok(self.gate.check(CapabilityKind::Net, &resource)?)
    }

    /// Resolves the URL's host and returns the address to connect to. A name that resolves
    /// to a loopback, private, link-local or unspecified address is refused unless that
    /// address itself is granted: such addresses are reachable only when granted literally,
    /// however the name is spelled (`localhost`, `0x7f000001`, a rebinding DNS record).
    /// Connecting to the vetted address means a second lookup cannot change it.
    async fn vet(&self, url: &Uri) -> Result<SocketAddr, wit::Error> {
        let host = url.host().unwrap_or_default();
        let port = url.port_u16().unwrap_or(80);
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = literal.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, port));
        }
        let addr = tokio::net::lookup_host((host, port))
            .await
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| {
                error(
                    wit::ErrorKind::Unavailable,
                    format!("cannot resolve `{host}`"),
                )
            })?;
        let resolved = addr.to_string();
        if !is_public(addr.ip())
            && !self
                .gate
                .capabilities()
                .allows(CapabilityKind::Net, &resolved)
        {
            let why = format!(
                "net `{host}:{port}` resolves to {addr}, a loopback or private address; grant `{addr}` to allow it"
            );
            return Err(self.gate.deny(CapabilityKind::Net, &resolved, why).into());
        }
        Ok(addr)
    }
}

/// True for addresses on the public internet: not loopback, private, link-local, unique
/// local, unspecified, broadcast or multicast.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.octets()[0] == 0)
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local())
            }
        },
    }
}

/// The target of a redirect: an absolute URL, or an absolute path on the same origin.
fn resolve(base: &Uri, location: &str) -> Result<Uri, wit::Error> {
    let target = if location.starts_with('/') && !location.starts_with("//") {
        let authority = base.authority().map(|a| a.as_str()).unwrap_or_default();
        format!(
            "{}://{authority}{location}",
            base.scheme_str().unwrap_or("http")
        )
    } else {
        location.to_owned()
    };
    target
        .parse()
        .map_err(|err| invalid(format!("redirect to `{location}` is not a URL: {err}")))
}

async fn read_capped(
    mut body: hyper::body::Incoming,
    max: usize,
    url: &Uri,
) -> Result<Vec<u8>, wit::Error> {
    let mut kept = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| {
            error(
                wit::ErrorKind::Unavailable,
                format!("reading {url} failed: {err}"),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            if kept.len() + data.len() > max {
                return Err(error(
                    wit::ErrorKind::Internal,
                    format!("the response from {url} is over the {max}-byte limit (max-response)"),
                ));
            }
            kept.extend_from_slice(&data);
        }
    }
    Ok(kept)
}

fn invalid(message: String) -> wit::Error {
    error(wit::ErrorKind::InvalidInput, message)
}

fn timed_out(url: &Uri, timeout: Duration) -> wit::Error {
    error(
        wit::ErrorKind::Timeout,
        format!("request to {url} took longer than {timeout:?}"),
    )
}
