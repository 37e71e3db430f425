//! The `airssys:core/process` host interface: a granted program with granted arguments, run
//! with only the environment variables the guest passes and may pass (each checked against
//! `env`), a timeout within the call's deadline, and capped output.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use airssys_contract::{CapabilityKind, command_line};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use wasmtime::component::{HasData, Linker};

use crate::Limits;
use crate::bindings::airssys::core::process::{self, Command as GuestCommand, Output};
use crate::bindings::{guest_error as error, wit};
use crate::policy::{Denied, Gate};

/// What a process call sees: the gate, the limits and when the guest's call must end.
pub(crate) struct Processes<'a> {
    pub(crate) gate: &'a Gate,
    pub(crate) limits: &'a Limits,
    pub(crate) deadline: Instant,
}

struct HasProcesses;

impl HasData for HasProcesses {
    type Data<'a> = Processes<'a>;
}

/// Links `airssys:core/process`, projecting the store data to a [`Processes`] view.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> Processes<'_>,
) -> wasmtime::Result<()> {
    process::add_to_linker::<T, HasProcesses>(linker, get)
}

impl process::Host for Processes<'_> {
    async fn run(&mut self, command: GuestCommand) -> Result<Output, wit::Error> {
        let args: Vec<&str> = command.args.iter().map(String::as_str).collect();
        let line = command_line(&command.program, &args);
        self.gate.check_process(&command.program, &args, &line)?;
        for (key, _) in &command.env {
            self.check_env(key)?;
        }
        let program = resolve_program(&command.program).ok_or_else(|| {
            error(
                wit::ErrorKind::NotFound,
                format!(
                    "cannot start `{}`: not found on the host's PATH",
                    command.program
                ),
            )
        })?;
        // Never past the guest call's own deadline: the epoch cannot interrupt host code.
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let timeout = Duration::from_millis(command.timeout_ms.into()).min(remaining);
        let max = (command.max_output as usize).min(self.limits.max_payload);

        let mut child = Command::new(&program)
            .args(&command.args)
            .env_clear()
            .envs(command.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|err| {
                let kind = if err.kind() == std::io::ErrorKind::NotFound {
                    wit::ErrorKind::NotFound
                } else {
                    wit::ErrorKind::Internal
                };
                error(kind, format!("cannot start `{}`: {err}", command.program))
            })?;
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let input = command.stdin;
        let run = async move {
            let feed = async move {
                if let Some(mut stdin) = stdin {
                    // A child that exits without reading its input is not an error.
                    let _ = stdin.write_all(&input).await;
                }
            };
            let (_, out, err, status) = tokio::join!(
                feed,
                read_capped(stdout, max),
                read_capped(stderr, max),
                child.wait()
            );
            (out, err, status)
        };
        let Ok((out, err, status)) = tokio::time::timeout(timeout, run).await else {
            // Dropping the future drops the child, which `kill_on_drop` kills.
            return Err(error(
                wit::ErrorKind::Timeout,
                format!("`{line}` was killed after {timeout:?}"),
            ));
        };
        let status = status.map_err(|e| error(wit::ErrorKind::Internal, e.to_string()))?;
        let ((stdout, cut_out), (stderr, cut_err)) = (out, err);
        Ok(Output {
            status: status.code(),
            stdout,
            stderr,
            truncated: cut_out || cut_err,
        })
    }
}

/// Reads a stream to its end, keeping at most `max` bytes (so the child never blocks on a
/// full pipe); returns them and whether anything was dropped.
async fn read_capped(stream: Option<impl AsyncRead + Unpin>, max: usize) -> (Vec<u8>, bool) {
    let Some(mut stream) = stream else {
        return (Vec::new(), false);
    };
    let mut kept = Vec::new();
    let mut cut = false;
    let mut buf = [0u8; 8192];
    while let Ok(n @ 1..) = stream.read(&mut buf).await {
        let room = max.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
        cut |= n > room;
    }
    (kept, cut)
}

/// Where a granted program lives: an absolute path as given, a bare name on the host's own
/// PATH, never on one the guest passes in `env` (that would let it pick the executable).
fn resolve_program(program: &str) -> Option<PathBuf> {
    let path = Path::new(program);
    if path.is_absolute() {
        return Some(path.to_owned());
    }
    let search = std::env::var_os("PATH")?;
    std::env::split_paths(&search)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

impl Processes<'_> {
    /// The environment is an allow-list: a variable reaches the child only when `env` allows
    /// its name (declared and granted). Many variables make a program run other code
    /// (`GIT_SSH_COMMAND`, `BASH_ENV`, `PYTHONPATH`, ...); a name the grammar refuses
    /// (`LD_*`, `DYLD_*`, `GCONV_PATH`) can never be allowed, and the refusal (worded by the
    /// contract) says why.
    fn check_env(&self, key: &str) -> Result<(), Denied> {
        self.gate.check(CapabilityKind::Env, key)
    }
}
