//! The `airssys:core/http` host interface: outbound HTTP/1.1, in clear text or TLS, to granted
//! `host:port`s that lead to public addresses (or to addresses granted literally), every
//! redirect re-checked, all within one timeout capped by the call's deadline, DNS included.

mod client;
mod settings;
mod target;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use airssys_contract::{CapabilityKind, non_global_block};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming as Body};
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::task::JoinSet;
use wasmtime::component::{HasData, Linker};

pub(crate) use self::client::HttpClient;
pub use self::settings::HttpSettings;
use self::target::Target;
use crate::Limits;
use crate::bindings::airssys::core::http::{self, Incoming, Outgoing};
use crate::bindings::{guest_error as error, wit};
use crate::policy::Gate;

/// What an HTTP call sees: the gate, the limits, when the guest's call must end, and the
/// host's client.
pub(crate) struct Http<'a> {
    pub(crate) gate: &'a Gate,
    pub(crate) limits: &'a Limits,
    pub(crate) deadline: Instant,
    pub(crate) client: &'a HttpClient,
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

/// Request headers that carry credentials: never sent on to another origin by a redirect.
const CREDENTIALS: [header::HeaderName; 3] = [
    header::AUTHORIZATION,
    header::COOKIE,
    header::PROXY_AUTHORIZATION,
];

impl http::Host for Http<'_> {
    async fn send(&mut self, request: Outgoing) -> Result<Incoming, wit::Error> {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let timeout = Duration::from_millis(request.timeout_ms.into()).min(remaining);
        let url = request.url.clone();
        // One timeout over everything: lookups, connects, handshakes, every redirect and the
        // body. Dropping the exchange at the end of it drops its lookups and connections too.
        tokio::time::timeout(timeout, self.exchange(request))
            .await
            .unwrap_or_else(|_| {
                Err(error(
                    wit::ErrorKind::Timeout,
                    format!("request to {url} took longer than {timeout:?}"),
                ))
            })
    }
}

impl Http<'_> {
    async fn exchange(&self, request: Outgoing) -> Result<Incoming, wit::Error> {
        let mut method = Method::from_bytes(request.method.as_bytes())
            .map_err(|_| invalid(format!("`{}` is not an HTTP method", request.method)))?;
        let mut target = Target::parse(&request.url)?;
        let mut headers = request.headers;
        let mut body = request.body;
        let mut redirects = 0u8;
        loop {
            self.authorize(&target)?;
            let addr = self.vet(&target).await?;
            // The connection lives as long as this task set: until the body is read, or the
            // exchange is dropped.
            let mut connection = JoinSet::new();
            let response = self
                .round_trip(&target, addr, &method, &headers, &body, &mut connection)
                .await?;
            let status = response.status();
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok());
            if let (true, Some(location)) = (status.is_redirection(), location)
                && redirects < request.max_redirects
            {
                redirects += 1;
                let next = target.redirect(location)?;
                self.refuse_downgrade(&target, &next)?;
                if !target.same_origin(&next) {
                    headers.retain(|(name, _)| {
                        !CREDENTIALS
                            .iter()
                            .any(|c| name.eq_ignore_ascii_case(c.as_str()))
                    });
                }
                // 303, and 301/302 after a POST, continue as a GET without a body.
                if status == StatusCode::SEE_OTHER
                    || (method == Method::POST
                        && matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND))
                {
                    method = Method::GET;
                    body.clear();
                }
                target = next;
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
            let body = read_capped(response.into_body(), max, &target).await?;
            return Ok(Incoming {
                status: status.as_u16(),
                headers,
                body,
            });
        }
    }

    /// Checks and audits `net` for the target's `host:port`, a numeric host as the address it
    /// is (and audited with the spelling asked for), before any lookup or connection.
    fn authorize(&self, target: &Target) -> Result<(), wit::Error> {
        let asked = target.asked();
        Ok(self
            .gate
            .check_asked(CapabilityKind::Net, &target.resource(), asked.as_deref())?)
    }

    /// The address to connect to: the numeric host, or the first address the name resolves
    /// to. An address that is not globally reachable (`is_global`, after the IANA registries:
    /// loopback, private, shared, link-local, reserved, IPv4 embedded in IPv6 forms, ...) is
    /// refused unless that address itself is allowed, however the name is spelled
    /// (`localhost`, a rebinding DNS record). Connecting to the vetted address means a second
    /// lookup cannot change it.
    async fn vet(&self, target: &Target) -> Result<SocketAddr, wit::Error> {
        let ip = match target.ip() {
            Some(ip) => ip,
            None => self.client.resolve(target.host()).await?,
        };
        let addr = SocketAddr::new(ip, target.port());
        let asked = format!("{}:{}", target.host(), target.port());
        if let Some(why) = self.client.off_loopback(&asked, ip) {
            let resolved = addr.to_string();
            return Err(self
                .gate
                .deny_asked(CapabilityKind::Net, &resolved, Some(&asked), why)
                .into());
        }
        let Some(block) = non_global_block(ip) else {
            return Ok(addr);
        };
        let resolved = addr.to_string();
        if self
            .gate
            .capabilities()
            .allows(CapabilityKind::Net, &resolved)
        {
            return Ok(addr);
        }
        let why = format!(
            "net `{asked}` resolves to {ip}, which is not a public address ({block}); only a grant of `{resolved}` itself allows it"
        );
        Err(self
            .gate
            .deny_asked(CapabilityKind::Net, &resolved, Some(&asked), why)
            .into())
    }

    /// Refuses (denied, audited) a redirect from `https` to `http` unless the operator allows
    /// downgrades.
    fn refuse_downgrade(&self, from: &Target, to: &Target) -> Result<(), wit::Error> {
        if !from.tls() || to.tls() || self.client.allows_downgrade() {
            return Ok(());
        }
        let why = format!(
            "{from} redirects to {to}, from https to plain http; the host refuses such downgrades unless its operator allows them (`[host.http] allow_downgrade = true`)"
        );
        let asked = to.asked();
        Err(self
            .gate
            .deny_asked(CapabilityKind::Net, &to.resource(), asked.as_deref(), why)
            .into())
    }

    /// Connects to `addr` and sends one request for `target`: the guest's headers except
    /// `Host`, which is the URL's host and port (never its credentials).
    async fn round_trip(
        &self,
        target: &Target,
        addr: SocketAddr,
        method: &Method,
        headers: &[(String, String)],
        body: &[u8],
        connection: &mut JoinSet<()>,
    ) -> Result<Response<Body>, wit::Error> {
        let mut builder = Request::builder().method(method.clone()).uri(target.path());
        for (name, value) in headers {
            if !name.eq_ignore_ascii_case(header::HOST.as_str()) {
                builder = builder.header(name.as_str(), value.as_str());
            }
        }
        let request = builder
            .header(header::HOST, target.host_header())
            .body(Full::new(Bytes::copy_from_slice(body)))
            .map_err(|err| invalid(format!("invalid request: {err}")))?;
        let stream = self.client.connect(target, addr).await?;
        let failed = |err: hyper::Error| {
            error(
                wit::ErrorKind::Unavailable,
                format!("request to {target} failed: {err}"),
            )
        };
        let (mut sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(failed)?;
        connection.spawn(async move {
            let _ = driver.await;
        });
        sender.send_request(request).await.map_err(failed)
    }
}

async fn read_capped(mut body: Body, max: usize, target: &Target) -> Result<Vec<u8>, wit::Error> {
    let mut kept = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| {
            error(
                wit::ErrorKind::Unavailable,
                format!("reading {target} failed: {err}"),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            if kept.len() + data.len() > max {
                return Err(error(
                    wit::ErrorKind::Internal,
                    format!(
                        "the response from {target} is over the {max}-byte limit (max-response)"
                    ),
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
