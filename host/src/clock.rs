//! The time components see: the system's clocks, or a [`TestClock`] a test moves.

use std::time::SystemTime;

use wasmtime_wasi::WasiCtxBuilder;

use crate::testing::TestClock;

/// What a host tells its components the time is: WASI's wall and monotonic clocks,
/// `airssys::now`, and the timestamps of the messages it delivers. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct Clock(Option<TestClock>);

impl Clock {
    /// Time as `clock` says, instead of the system's.
    pub(crate) fn from_test(clock: TestClock) -> Self {
        Self(Some(clock))
    }

    /// The wall-clock time.
    pub(crate) fn now(&self) -> SystemTime {
        self.0.as_ref().map_or_else(SystemTime::now, TestClock::now)
    }

    /// Gives WASI's clocks this time (the system's are WASI's default).
    pub(crate) fn install(&self, wasi: &mut WasiCtxBuilder) {
        if let Some(clock) = &self.0 {
            wasi.wall_clock(clock.clone())
                .monotonic_clock(clock.clone());
        }
    }
}
