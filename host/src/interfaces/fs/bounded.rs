//! Reading and writing what may never end or never be ready (a device, a FIFO, a file that
//! keeps growing) within the instance's payload limit and the call's deadline.
//!
//! Files are opened non-blocking (`walk::Walk::open`), so a FIFO or device that has nothing
//! to give, or no room to take, answers `EAGAIN` at once; these loops then wait with `poll`
//! for at most what is left of the deadline. The blocking thread doing the I/O is therefore
//! never held past the call's deadline by a file a guest chose.

use std::fs::File;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

/// Why a bounded read or write stopped.
pub(super) enum Failure {
    /// More than the limit was there.
    TooLarge,
    /// The call's deadline passed while waiting for the file.
    Deadline,
    /// The operating system said no.
    Io(io::Error),
}

/// Reads to the end, reading at most `limit + 1` bytes whatever size the file reports, and
/// refuses a file that has more than `limit`.
pub(super) fn read(file: &mut File, limit: usize, deadline: Instant) -> Result<Vec<u8>, Failure> {
    let most = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut data = Vec::new();
    loop {
        let left = most.saturating_sub(data.len() as u64);
        match Read::by_ref(file).take(left).read_to_end(&mut data) {
            Ok(_) => break,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                wait(file, PollFlags::IN, deadline)?;
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(Failure::Io(err)),
        }
    }
    if data.len() > limit {
        return Err(Failure::TooLarge);
    }
    Ok(data)
}

/// Writes all of `data`, waiting for room no longer than the deadline.
pub(super) fn write_all(
    file: &mut File,
    mut data: &[u8],
    deadline: Instant,
) -> Result<(), Failure> {
    while !data.is_empty() {
        match file.write(data) {
            Ok(0) => return Err(Failure::Io(io::ErrorKind::WriteZero.into())),
            Ok(n) => data = &data[n..],
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                wait(file, PollFlags::OUT, deadline)?;
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(Failure::Io(err)),
        }
    }
    Ok(())
}

/// Waits until `file` is ready for `events` or the deadline passes.
fn wait(file: &File, events: PollFlags, deadline: Instant) -> Result<(), Failure> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Failure::Deadline);
    }
    // Under a day per wait: any `Timespec` holds it, and the loop waits again if needed.
    let left =
        Timespec::try_from(left.min(Duration::from_secs(86_400))).map_err(|_| Failure::Deadline)?;
    let mut fds = [PollFd::new(file, events)];
    match rustix::event::poll(&mut fds, Some(&left)) {
        Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
        Err(err) => Err(Failure::Io(err.into())),
    }
}
