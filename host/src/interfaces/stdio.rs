//! Guest stdout and stderr, routed line by line to the host's `tracing` log.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use super::core::{LogBudget, MAX_LINE};
use crate::Identity;
use crate::policy::escape_controls;

/// One of a guest's output streams; each line becomes a `tracing` event on target
/// `airssys::guest` with the component's address and `name@version`.
#[derive(Clone)]
pub(crate) struct GuestOutput {
    identity: Arc<Identity>,
    stream: &'static str,
    budget: Arc<LogBudget>,
}

impl GuestOutput {
    /// The guest's `stdout` and `stderr`, counted against `budget`.
    pub(crate) fn pair(identity: &Arc<Identity>, budget: &Arc<LogBudget>) -> (Self, Self) {
        let stream = |stream| Self {
            identity: identity.clone(),
            stream,
            budget: budget.clone(),
        };
        (stream("stdout"), stream("stderr"))
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineLog::new(self.clone()))
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(LineLog::new(self.clone()))
    }
}

/// Buffers bytes until a newline (or [`MAX_LINE`]) and logs each line. Synchronous, so lines
/// are logged in order before the guest's write returns.
struct LineLog {
    out: GuestOutput,
    line: Vec<u8>,
}

impl LineLog {
    fn new(out: GuestOutput) -> Self {
        Self {
            out,
            line: Vec::new(),
        }
    }

    fn push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let room = MAX_LINE - self.line.len();
            let take = bytes
                .iter()
                .take(room)
                .position(|&b| b == b'\n')
                .map_or(bytes.len().min(room), |i| i + 1);
            self.line.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.line.ends_with(b"\n") || self.line.len() == MAX_LINE {
                self.emit();
            }
        }
    }

    fn emit(&mut self) {
        if self.line.is_empty() {
            return;
        }
        if !self.out.budget.take() {
            self.line.clear();
            return;
        }
        let text = String::from_utf8_lossy(&self.line);
        let text = escape_controls(text.trim_end_matches(['\n', '\r']));
        tracing::info!(
            target: "airssys::guest",
            address = %self.out.identity.address,
            component = %self.out.identity.label(),
            stream = self.out.stream,
            "{text}"
        );
        self.line.clear();
    }
}

impl Drop for LineLog {
    fn drop(&mut self) {
        self.emit();
    }
}

impl OutputStream for LineLog {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(MAX_LINE)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LineLog {
    async fn ready(&mut self) {}
}

impl AsyncWrite for LineLog {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().emit();
        Poll::Ready(Ok(()))
    }
}
