//! `airssys::http` under the test host: every request and redirect checked as the host checks
//! it, then answered from the test's canned responses. Nothing reaches the network.
//!
//! Names are not resolved, so the host's refusal of a name that resolves to a private address
//! does not happen here; numeric hosts are decided as the address they are, as by the host.

use std::fmt;
use std::net::SocketAddr;

use airssys_contract::{CapabilityKind, parse_address};

use super::scope::{self, Scope};
use crate::http::{Request, Response};
use crate::{Error, Result};

/// A request as the component sent it, after its checks: to the first URL, or to where a
/// redirect led.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRequest {
    /// The method (`GET`, `POST`, ...).
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// The canned responses and what was sent.
#[derive(Default)]
pub(crate) struct Routes {
    routes: Vec<(String, String, Response)>,
    sent: Vec<SentRequest>,
}

impl Routes {
    pub(crate) fn add(&mut self, method: &str, url: &str, response: Response) {
        let url = Target::parse(url).map_or_else(|_| url.to_owned(), |t| t.to_string());
        self.routes.push((method.to_owned(), url, response));
    }

    pub(crate) fn sent(&self) -> &[SentRequest] {
        &self.sent
    }

    fn answer(&mut self, request: SentRequest) -> Option<Response> {
        let found = self
            .routes
            .iter()
            .find(|(method, url, _)| *method == request.method && *url == request.url)
            .map(|(_, _, response)| response.clone());
        self.sent.push(request);
        found
    }
}

/// Credentials that never follow a redirect to another origin.
const CREDENTIALS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

pub(crate) fn send(request: &Request) -> Result<Response> {
    let Some(scope) = scope::current() else {
        return Err(Error::unsupported(scope::no_host("airssys::http")));
    };
    if !is_token(&request.method) {
        return Err(Error::invalid_input(format!(
            "`{}` is not an HTTP method",
            request.method
        )));
    }
    let mut method = request.method.clone();
    let mut target = Target::parse(&request.url)?;
    let mut headers = request.headers.clone();
    let mut body = request.body.clone();
    let mut redirects = 0u8;
    loop {
        authorize(&scope, &target)?;
        let sent = SentRequest {
            method: method.clone(),
            url: target.to_string(),
            headers: headers.clone(),
            body: body.clone(),
        };
        let response = scope.host.routes.borrow_mut().answer(sent).ok_or_else(|| {
            Error::unavailable(format!(
                "the test host has no response for {method} {target}; give one with TestHost::respond"
            ))
        })?;
        let location = response.header("location").map(str::to_owned);
        if let (true, Some(location)) = ((300..400).contains(&response.status), location)
            && redirects < request.max_redirects
        {
            redirects += 1;
            let next = target.redirect(&location)?;
            refuse_downgrade(&target, &next)?;
            if !target.same_origin(&next) {
                headers
                    .retain(|(name, _)| !CREDENTIALS.iter().any(|c| name.eq_ignore_ascii_case(c)));
            }
            // 303, and 301/302 after a POST, continue as a GET without a body.
            if response.status == 303 || (method == "POST" && matches!(response.status, 301 | 302))
            {
                method = "GET".to_owned();
                body.clear();
            }
            target = next;
            continue;
        }
        if response.body.len() > request.max_response as usize {
            return Err(Error::internal(format!(
                "the response from {target} is over the {}-byte limit (max-response)",
                request.max_response
            )));
        }
        return Ok(response);
    }
}

fn authorize(scope: &Scope, target: &Target) -> Result<()> {
    let asked = target.asked();
    scope
        .guest
        .check(CapabilityKind::Net, &target.resource(), asked.as_deref())
        .map_err(|denial| Error::denied(denial.message))
}

/// The test host, like a host by default, refuses a redirect from `https` to `http`.
fn refuse_downgrade(from: &Target, to: &Target) -> Result<()> {
    if !from.tls || to.tls {
        return Ok(());
    }
    Err(Error::denied(format!(
        "{from} redirects to {to}, from https to plain http; the host refuses such downgrades unless its operator allows them (`[host.http] allow_downgrade = true`)"
    )))
}

/// An HTTP method is a token (RFC 9110).
fn is_token(method: &str) -> bool {
    !method.is_empty()
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// An absolute `http://` or `https://` URL without credentials, read as the host reads it.
#[derive(Debug, Clone)]
struct Target {
    tls: bool,
    /// As written.
    authority: String,
    /// As written, lowercased (an IPv6 literal keeps its brackets).
    host: String,
    port: u16,
    path: String,
}

impl Target {
    fn parse(url: &str) -> Result<Self> {
        let invalid = |why: String| Error::invalid_input(why);
        let (tls, rest) = if let Some(rest) = strip_prefix_ignore_case(url, "https://") {
            (true, rest)
        } else if let Some(rest) = strip_prefix_ignore_case(url, "http://") {
            (false, rest)
        } else {
            return Err(invalid(format!(
                "`{url}` is not an absolute http:// or https:// URL"
            )));
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        if authority.contains('@') {
            return Err(invalid(format!(
                "`{url}` has credentials in it, which are never sent; put them in an Authorization header"
            )));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| invalid(format!("`{url}` is not a URL: invalid port")))?;
                (host, Some(port))
            }
            _ => (authority, None),
        };
        if host.is_empty() {
            return Err(invalid(format!("`{url}` has no host")));
        }
        let path = path.split('#').next().unwrap_or_default();
        Ok(Self {
            tls,
            authority: authority.to_owned(),
            host: host.to_ascii_lowercase(),
            port: port.unwrap_or(if tls { 443 } else { 80 }),
            path: if path.is_empty() || path.starts_with('?') {
                format!("/{path}")
            } else {
                path.to_owned()
            },
        })
    }

    fn redirect(&self, location: &str) -> Result<Self> {
        if location.starts_with('/') && !location.starts_with("//") {
            Self::parse(&format!("{}://{}{location}", self.scheme(), self.authority))
        } else {
            Self::parse(location)
        }
        .map_err(|err| Error::invalid_input(format!("redirect to `{location}`: {}", err.message())))
    }

    fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    /// `host:port` as decided: a numeric host as the address it is, a name lowercased.
    fn resource(&self) -> String {
        match parse_address(&self.host) {
            Some(ip) => SocketAddr::new(ip, self.port).to_string(),
            None => format!("{}:{}", self.host, self.port),
        }
    }

    /// `host:port` as the URL spelled it, when that differs from the resource.
    fn asked(&self) -> Option<String> {
        let asked = format!("{}:{}", self.host, self.port);
        (asked != self.resource()).then_some(asked)
    }

    fn same_origin(&self, other: &Self) -> bool {
        self.tls == other.tls && self.resource() == other.resource()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme(), self.authority, self.path)
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}
