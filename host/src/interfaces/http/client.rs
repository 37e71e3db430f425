//! The client every component of a host shares for `http.send`: its DNS resolver, its TLS
//! configuration, and connections to addresses the gate has vetted.
//!
//! Names are resolved in process (hickory), not by the C library on a blocking thread, so a
//! lookup is an ordinary future: the request's timeout ends it, and nothing is left running
//! when it does. The resolver and the TLS configuration (which reads the system's trust roots)
//! are made on first use, so a host that never sends pays for neither.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::OnceCell;
use tokio_rustls::TlsConnector;

use super::settings::HttpSettings;
use super::target::Target;
use crate::bindings::{guest_error as error, wit};
use crate::{Error, Result};

/// A connection to a server, in clear text or TLS.
pub(super) trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

/// The host-wide HTTP client: settings, the operator's extra roots, and the resolver and TLS
/// connector once made.
pub(crate) struct HttpClient {
    settings: HttpSettings,
    extra_roots: Vec<CertificateDer<'static>>,
    resolver: OnceCell<Result<TokioResolver, String>>,
    tls: OnceCell<Result<TlsConnector, String>>,
}

impl HttpClient {
    /// Reads the operator's extra roots now, so a missing or malformed file is an error when
    /// the host is built, not at a guest's first request.
    pub(crate) fn new(settings: HttpSettings) -> Result<Self> {
        if settings.loopback_only
            && let Some(far) = settings.nameservers.iter().find(|a| !a.ip().is_loopback())
        {
            return Err(Error::Config(format!(
                "http nameserver {far} is not a loopback address, so a loopback-only host could not use it; give a loopback nameserver, or none"
            )));
        }
        let mut extra_roots = Vec::new();
        for path in &settings.extra_roots {
            let config = |problem: String| {
                Error::Config(format!("http extra root `{}`: {problem}", path.display()))
            };
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(|err| config(err.to_string()))?;
            if certs.is_empty() {
                return Err(config("the file holds no PEM certificate".into()));
            }
            let mut check = RootCertStore::empty();
            for cert in &certs {
                check.add(cert.clone()).map_err(|err| {
                    config(format!("a certificate there cannot be a trust root: {err}"))
                })?;
            }
            extra_roots.extend(certs);
        }
        Ok(Self {
            settings,
            extra_roots,
            resolver: OnceCell::new(),
            tls: OnceCell::new(),
        })
    }

    /// Whether redirects from `https` to `http` are followed.
    pub(super) fn allows_downgrade(&self) -> bool {
        self.settings.allow_downgrade
    }

    /// Whether components may connect to loopback addresses only
    /// ([`HttpSettings::loopback_only`]).
    pub(crate) fn loopback_only(&self) -> bool {
        self.settings.loopback_only
    }

    /// Why `ip` may not be connected to (as `asked`), when the host is loopback-only.
    pub(crate) fn off_loopback(&self, asked: &str, ip: IpAddr) -> Option<String> {
        (self.settings.loopback_only && !ip.is_loopback()).then(|| {
            format!(
                "net `{asked}` is {ip}, off this loopback-only host (`HttpSettings::loopback_only`); connect to a loopback address"
            )
        })
    }

    /// The first address `name` resolves to. A loopback-only host without nameservers of its
    /// own asks nobody: only `localhost` resolves.
    pub(super) async fn resolve(&self, name: &str) -> Result<IpAddr, wit::Error> {
        if self.settings.loopback_only && self.settings.nameservers.is_empty() {
            return match name {
                "localhost" => Ok(IpAddr::from([127, 0, 0, 1])),
                _ => Err(unavailable(format!(
                    "cannot resolve `{name}`: this loopback-only host looks names up at no nameserver (`HttpSettings::nameserver`); use `localhost` or a loopback address"
                ))),
            };
        }
        let resolver = self
            .resolver
            .get_or_init(|| async { self.make_resolver() })
            .await
            .as_ref()
            .map_err(|problem| unavailable(format!("cannot resolve `{name}`: {problem}")))?;
        let found = resolver
            .lookup_ip(name)
            .await
            .map_err(|err| unavailable(format!("cannot resolve `{name}`: {err}")))?;
        found
            .iter()
            .next()
            .ok_or_else(|| unavailable(format!("`{name}` has no address")))
    }

    /// Connects to `addr`, which the gate vetted for `target`, and for `https` runs the TLS
    /// handshake, verifying the certificate for the URL's host (also sent as SNI), never for
    /// the address.
    pub(super) async fn connect(
        &self,
        target: &Target,
        addr: SocketAddr,
    ) -> Result<Box<dyn Connection>, wit::Error> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|err| unavailable(format!("cannot connect to {target} ({addr}): {err}")))?;
        if !target.tls() {
            return Ok(Box::new(tcp));
        }
        let connector = self
            .tls
            .get_or_init(|| async {
                let roots = self.extra_roots.clone();
                // Reading the system's roots is blocking file I/O.
                tokio::task::spawn_blocking(move || tls_connector(roots))
                    .await
                    .unwrap_or_else(|err| Err(format!("the TLS setup task failed: {err}")))
            })
            .await
            .as_ref()
            .map_err(|problem| unavailable(format!("cannot use TLS for {target}: {problem}")))?;
        let name = match target.ip() {
            Some(ip) => ServerName::IpAddress(ip.into()),
            None => ServerName::try_from(target.host().to_owned())
                .map_err(|err| super::invalid(format!("{target}: {err}")))?,
        };
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|err| tls_error(target, err))?;
        Ok(Box::new(tls))
    }

    fn make_resolver(&self) -> Result<TokioResolver, String> {
        let provider = TokioRuntimeProvider::default();
        let builder = if self.settings.nameservers.is_empty() {
            TokioResolver::builder(provider)
                .map_err(|err| format!("cannot read the system's DNS configuration: {err}"))?
        } else {
            let servers = self
                .settings
                .nameservers
                .iter()
                .map(|addr| {
                    let mut server = NameServerConfig::udp_and_tcp(addr.ip());
                    for connection in &mut server.connections {
                        connection.port = addr.port();
                    }
                    server
                })
                .collect();
            TokioResolver::builder_with_config(ResolverConfig::from_name_servers(servers), provider)
        };
        builder
            .build()
            .map_err(|err| format!("cannot set up DNS resolution: {err}"))
    }
}

/// rustls with the ring provider, verifying against the system's roots plus the operator's.
fn tls_connector(extra_roots: Vec<CertificateDer<'static>>) -> Result<TlsConnector, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra_roots, provider.clone())
            .map_err(|err| format!("no trust roots: {err}"))?;
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?
        .dangerous() // Only to plug in the platform verifier, which verifies fully.
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// A failed handshake as the guest sees it: a certificate that does not verify is `denied`
/// (trying again cannot help, and it may be an attack), naming the host and the reason;
/// anything else is `unavailable`.
fn tls_error(target: &Target, err: std::io::Error) -> wit::Error {
    let host = target.host();
    let Some(rustls::Error::InvalidCertificate(problem)) = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return unavailable(format!("TLS handshake with {target} failed: {err}"));
    };
    let reason = match problem {
        CertificateError::UnknownIssuer => "it is signed by an unknown issuer (not one of the system's trust roots or the host's extra roots)".to_owned(),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("it has expired ({problem})")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("it is not valid yet ({problem})")
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("the name does not match ({problem})")
        }
        other => other.to_string(),
    };
    error(
        wit::ErrorKind::Denied,
        format!("the TLS certificate of `{host}` is not trusted: {reason}"),
    )
}

fn unavailable(message: String) -> wit::Error {
    error(wit::ErrorKind::Unavailable, message)
}
