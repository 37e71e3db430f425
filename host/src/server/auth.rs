//! The admin API's bearer token: read from the operator's file, or made there (0600) on
//! first use. Every request must carry it (`Authorization: Bearer TOKEN`).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hyper::{Request, StatusCode};

use super::respond::{Reply, error};
use crate::{Error, Result};

/// A secret that admits requests.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Reads the token from `path`, or makes a random one there (the file `0600`, its folder
    /// made `0700` if missing). A file others may read is refused.
    pub fn load_or_create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io)?;
        }
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(mut file) => {
                let mut secret = [0u8; 32];
                getrandom::fill(&mut secret)
                    .map_err(|err| Error::Config(format!("no random source for a token: {err}")))?;
                let token = hex::encode(secret);
                writeln!(file, "{token}").map_err(io)?;
                return Ok(Self(token));
            }
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(io(err)),
        }
        Self::read(path.to_owned())
    }

    /// Reads the token from `path` (what the CLI does).
    pub fn read(path: PathBuf) -> Result<Self> {
        let meta = fs::metadata(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(Error::Config(format!(
                "the admin token {} may be read by others; `chmod 600` it",
                path.display()
            )));
        }
        let text = crate::source::read_limited(&path, 1024)?;
        let token = String::from_utf8_lossy(&text).trim().to_owned();
        if token.len() < 16 {
            return Err(Error::Config(format!(
                "the admin token in {} is too short; delete the file and a new one is made",
                path.display()
            )));
        }
        Ok(Self(token))
    }

    /// The token, for an `Authorization: Bearer` header.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// The 401 for a request that does not bear the token; `None` admits it.
    pub(super) fn refusal<B>(&self, request: &Request<B>) -> Option<Reply> {
        let given = request
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        match given {
            Some(given) if same(given.as_bytes(), self.0.as_bytes()) => None,
            Some(_) => Some(error(StatusCode::UNAUTHORIZED, "the bearer token is wrong")),
            None => Some(error(
                StatusCode::UNAUTHORIZED,
                "send `Authorization: Bearer TOKEN` with the token from the admin token file ([admin] token_file)",
            )),
        }
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

/// Compares in time that depends on the length only, not on where the bytes differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}
