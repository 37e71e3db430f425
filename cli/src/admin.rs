//! The client side of the admin API `airssys up` serves: where it listens, its token, and
//! requests to it. `status`, `deploy`, `promote`, `abort` and `rollback` use it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use airssys_host::AppManifest;
use airssys_host::server::Token;
use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, header};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// Where `airssys up` writes the address its admin API listens on, in its state folder.
pub const ADDRESS_FILE: &str = "admin.addr";

/// How to reach an admin API; shared by every command that uses one.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// The operator's file of the running `airssys up`: its `[admin]` table (and the address
    /// `up` wrote beside it) say where to connect and which token to send.
    #[arg(long, short, default_value = "airssys.toml")]
    pub file: PathBuf,
    /// Connect here instead (host:port), e.g. through an SSH tunnel.
    #[arg(long, value_name = "HOST:PORT")]
    pub admin: Option<SocketAddr>,
}

/// A connection's worth of what a request needs.
pub struct Admin {
    address: SocketAddr,
    token: Token,
}

impl Admin {
    /// Finds the admin API of the `airssys up` that runs `target.file`.
    pub fn find(target: &Target) -> anyhow::Result<Self> {
        let app = AppManifest::from_file(&target.file)?;
        let token = Token::read(app.admin().token_file.clone())
            .context("cannot read the admin token; is `airssys up` running with this file?")?;
        let address = match target.admin {
            Some(address) => address,
            None => written_address(app.state_dir()).unwrap_or(app.admin().listen),
        };
        Ok(Self { address, token })
    }

    /// Sends a request and returns the response, whatever its status.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        headers: &[(&str, String)],
    ) -> anyhow::Result<Response<Incoming>> {
        let stream = tokio::net::TcpStream::connect(self.address)
            .await
            .with_context(|| {
                format!(
                    "cannot reach the admin API at {}; is `airssys up` running?",
                    self.address
                )
            })?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.address.to_string())
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", self.token.secret()),
            );
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        Ok(sender
            .send_request(request.body(Full::new(Bytes::from(body)))?)
            .await?)
    }

    /// Sends a request and reads one JSON value back; an error status is an error naming it.
    pub async fn json(&self, method: Method, path: &str) -> anyhow::Result<Value> {
        let response = self.send(method, path, Vec::new(), &[]).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        let value: Value = serde_json::from_slice(&body).with_context(|| {
            format!("the admin API answered {status} with something other than JSON")
        })?;
        if !status.is_success() {
            bail!("{}", refusal(&value));
        }
        Ok(value)
    }
}

/// Reads a response of JSON lines, handing each to `each` as it arrives.
pub async fn each_line(
    response: Response<Incoming>,
    mut each: impl FnMut(Value) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let status = response.status();
    let mut body = response.into_body();
    let mut pending = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        let Some(data) = frame.data_ref() else {
            continue;
        };
        pending.extend_from_slice(data);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let value: Value = serde_json::from_slice(&line).context("a line that is not JSON")?;
            if !status.is_success() {
                bail!("{}", refusal(&value));
            }
            each(value)?;
        }
    }
    Ok(())
}

/// What an error body says: `{"error": {"kind", "message"}}`.
fn refusal(value: &Value) -> &str {
    value["error"]["message"]
        .as_str()
        .unwrap_or("the admin API refused")
}

/// The address a running `airssys up` wrote in `state_dir`, if any.
fn written_address(state_dir: &Path) -> Option<SocketAddr> {
    std::fs::read_to_string(state_dir.join(ADDRESS_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
}
