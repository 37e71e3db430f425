//! Running host programs the component declared (`process`) and the operator granted.
//! The host checks the program and every argument; a refusal is an
//! [`ErrorKind::Denied`](crate::ErrorKind::Denied) error, never a trap.
//!
//! A `*` or `**` in a `process` pattern never stands for an option (an argument starting with
//! `-`), so spell the options you pass: with `process("git log --oneline -n *")` and
//! `env("TZ")` declared and granted,
//!
//! ```no_run
//! # fn run() -> airssys::Result<()> {
//! use std::time::Duration;
//! let out = airssys::process::Command::new("git")
//!     .args(["log", "--oneline", "-n", "5"])
//!     .env("TZ", "UTC")
//!     .timeout(Duration::from_secs(2))
//!     .run()?;
//! airssys::info!("{}", out.stdout_text()?);
//! # Ok(()) }
//! ```

use std::time::Duration;

use crate::Result;

/// A program to run, built up like `std::process::Command`. The child gets no environment
/// but what [`env`](Self::env) adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub(crate) program: String,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) stdin: Vec<u8>,
    timeout: Duration,
    pub(crate) max_output: u32,
}

/// What a finished program produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The exit code; `None` when a signal ended it.
    pub status: Option<i32>,
    /// Standard output, up to the command's `max_output`.
    pub stdout: Vec<u8>,
    /// Standard error, up to the command's `max_output`.
    pub stderr: Vec<u8>,
    /// True when stdout or stderr was cut.
    pub truncated: bool,
}

impl Output {
    /// True for exit code 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    /// Standard output as UTF-8.
    pub fn stdout_text(&self) -> Result<&str> {
        Ok(std::str::from_utf8(&self.stdout)?)
    }
}

impl Command {
    /// `program` (a bare name found on the host's own PATH, or an absolute path), with no
    /// arguments, no environment, a 5 s timeout and 1 MiB of output kept per stream.
    pub fn new(program: impl Into<String>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            stdin: Vec::new(),
            timeout: Duration::from_secs(5),
            max_output: 1 << 20,
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable for the child. Its name must be declared with `env(...)`
    /// in `capabilities` and granted, or the run is refused; loader variables (`LD_*`,
    /// `DYLD_*`, `GCONV_PATH`) can never be.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Bytes written to the child's standard input.
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = input.into();
        self
    }

    /// Kills the child after this long (the host also stops at the call's deadline).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Most bytes kept of stdout and of stderr each.
    pub fn max_output(mut self, bytes: u32) -> Self {
        self.max_output = bytes;
        self
    }

    /// Runs it to completion.
    pub fn run(&self) -> Result<Output> {
        imp::run(self)
    }
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::{Command, Output};
    use crate::__private::bindings::airssys::core::process as host;
    use crate::__private::from_wit_error;
    use crate::Result;

    pub(super) fn run(cmd: &Command) -> Result<Output> {
        let out = host::run(&host::Command {
            program: cmd.program.clone(),
            args: cmd.args.clone(),
            env: cmd.env.clone(),
            stdin: cmd.stdin.clone(),
            timeout_ms: u32::try_from(cmd.timeout.as_millis()).unwrap_or(u32::MAX),
            max_output: cmd.max_output,
        })
        .map_err(from_wit_error)?;
        Ok(Output {
            status: out.status,
            stdout: out.stdout,
            stderr: out.stderr,
            truncated: out.truncated,
        })
    }
}

/// Off wasm, the test host of the current call answers (`airssys::testing`).
#[cfg(not(target_arch = "wasm32"))]
use crate::testing::process as imp;
