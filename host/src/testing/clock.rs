//! A clock the test moves.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

/// The instant a [`TestClock`] starts at: 2025-01-01T00:00:00Z (as `airssys::testing`'s).
pub const START_TIME: Duration = Duration::from_secs(1_735_689_600);

/// A clock that moves only when the test says: give it to
/// [`HostBuilder::clock`](crate::HostBuilder::clock) and components' wall clock
/// (`airssys::now`, `std::time::SystemTime`), monotonic clock (`std::time::Instant`) and the
/// timestamps of messages follow it. Clones share the clock.
///
/// Time the host itself keeps (call deadlines, supervision backoff, mailbox waits) stays real.
///
/// ```
/// use std::time::Duration;
/// use airssys_host::testing::{START_TIME, TestClock};
/// let clock = TestClock::new();
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.now(), std::time::UNIX_EPOCH + START_TIME + Duration::from_secs(60));
/// ```
#[derive(Debug, Clone)]
pub struct TestClock(Arc<Mutex<Times>>);

#[derive(Debug)]
struct Times {
    wall: SystemTime,
    /// Since the clock was made: WASI's monotonic clock.
    elapsed: Duration,
}

impl Default for TestClock {
    fn default() -> Self {
        Self::at(UNIX_EPOCH + START_TIME)
    }
}

impl TestClock {
    /// A clock at [`START_TIME`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock at `time`.
    pub fn at(time: SystemTime) -> Self {
        Self(Arc::new(Mutex::new(Times {
            wall: time,
            elapsed: Duration::ZERO,
        })))
    }

    fn times(&self) -> std::sync::MutexGuard<'_, Times> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The wall-clock time.
    pub fn now(&self) -> SystemTime {
        self.times().wall
    }

    /// Moves the wall and the monotonic clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut times = self.times();
        times.wall += by;
        times.elapsed += by;
    }

    /// Sets the wall clock to `time`, backwards too, as a system clock can be set; the
    /// monotonic clock does not move.
    pub fn set(&self, time: SystemTime) {
        self.times().wall = time;
    }
}

impl HostWallClock for TestClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        TestClock::now(self)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    }
}

impl HostMonotonicClock for TestClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        u64::try_from(self.times().elapsed.as_nanos()).unwrap_or(u64::MAX)
    }
}
