//! Holding one instance's `Store` to its [`Limits`](crate::Limits): the resource limiter and
//! epoch callback, the per-call deadline and fuel, and classifying the trap when a guest goes
//! past them.
//!
//! The deadline is enforced twice over. The epoch callback interrupts wasm code that runs
//! past it. A guest can also wait past it without running any wasm: asleep on a WASI clock,
//! blocked on a socket or a file, or in a slow host call; epochs cannot reach it there
//! (wasmtime's docs on `Config::epoch_interruption` say as much), so [`bounded`] drops the
//! call one epoch tick after the deadline. wasmtime then unwinds the guest's fiber; the store
//! is not called again.

use std::future::Future;
use std::time::{Duration, Instant};

use wasmtime::{Store, UpdateDeadline};

use crate::error::{Trap, TrapKind};
use crate::interfaces::{MAX_LOG_LINES_PER_CALL, StoreData};
use crate::{Error, HostLimit, Result};

/// Installs the limiter and the epoch callback on a fresh store. Every epoch tick the guest
/// yields to the async runtime (so a busy instance cannot starve others on the same
/// threads); past the call's deadline the callback interrupts it. The yield is tokio's
/// `yield_now`, which lets the runtime run its timers and I/O before the guest resumes: a
/// plain re-wake would let a spinning guest hold timers back (on a current-thread runtime,
/// for 61 ticks), and with them every timeout waiting on it.
pub(crate) fn configure(store: &mut Store<StoreData>) {
    store.limiter(|data| &mut data.limiter);
    store.epoch_deadline_callback(|ctx| {
        if Instant::now() >= ctx.data().deadline {
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(tokio::task::yield_now()),
            ))
        }
    });
}

/// Arms the deadline and fuel budget for the next call into the guest, and forgets what the
/// last call left behind. Returns the deadline.
pub(crate) fn arm(store: &mut Store<StoreData>) -> Result<Instant> {
    let data = store.data_mut();
    let now = Instant::now();
    // `call_timeout` is validated to at most a day, so this always adds; were it not, the
    // call would end at once rather than never.
    let deadline = now.checked_add(data.limits.call_timeout).unwrap_or(now);
    data.deadline = deadline;
    // Only what happens during this call may explain a trap in it.
    data.core.panic = None;
    data.limiter.memory_refused = false;
    data.limiter.table_refused = false;
    data.limiter.host_refused = None;
    let suppressed = data.core.log.reset();
    if suppressed > 0 {
        let who = data.identity();
        tracing::warn!(
            target: "airssys::guest",
            address = %who.address,
            component = %who.label(),
            "{suppressed} log line(s) suppressed: over {MAX_LOG_LINES_PER_CALL} per call",
        );
    }
    let fuel = data.limiter.fuel_per_call;
    store.set_epoch_deadline(1);
    if let Some(fuel) = fuel {
        store
            .set_fuel(fuel)
            .map_err(|err| Error::Config(format!("cannot set fuel: {err}")))?;
    }
    Ok(deadline)
}

/// Runs `call`, armed with `deadline`, to its end, or cancels it one epoch `tick` after the
/// deadline (by then a guest running wasm has been interrupted; one still waiting is in the
/// host). `None` means it was cancelled: the store is unusable, [`overdue`] says why.
pub(crate) async fn bounded<F: Future>(
    deadline: Instant,
    tick: Duration,
    call: F,
) -> Option<F::Output> {
    tokio::time::timeout_at((deadline + tick).into(), call)
        .await
        .ok()
}

/// The trap of a call [`bounded`] cancelled while it waited in the host past its deadline.
pub(crate) fn overdue(store: &Store<StoreData>) -> Trap {
    let timeout = store.data().limits.call_timeout;
    Trap {
        kind: TrapKind::Deadline(timeout),
        detail: format!(
            "cancelled after waiting in a host call (a sleep, a socket, a file, ...) past its {timeout:?} deadline"
        ),
    }
}

/// Classifies a failed guest call, using what the store saw just before it.
pub(crate) fn classify(store: &mut Store<StoreData>, err: &wasmtime::Error) -> Trap {
    let data = store.data_mut();
    let panic = data.core.panic.take();
    let memory_refused = std::mem::take(&mut data.limiter.memory_refused);
    let table_refused = std::mem::take(&mut data.limiter.table_refused);
    let host_memory = match data.limiter.host_refused.take() {
        Some(HostLimit::Memory { max, .. }) => Some(max),
        _ => None,
    };
    let limits = &data.limits;
    // What the engine itself detected comes first, so a guest cannot relabel a deadline or
    // fuel trap by reporting a panic before it.
    let kind = match (err.downcast_ref::<wasmtime::Trap>(), panic, host_memory) {
        (Some(wasmtime::Trap::OutOfFuel), _, _) => TrapKind::OutOfFuel,
        (Some(wasmtime::Trap::Interrupt), _, _) => TrapKind::Deadline(limits.call_timeout),
        (Some(wasmtime::Trap::StackOverflow), _, _) => TrapKind::StackOverflow,
        (_, Some(panic), _) => TrapKind::Panic(panic),
        (_, None, _) if memory_refused => TrapKind::MemoryLimit(limits.memory),
        (_, None, Some(max)) => TrapKind::HostMemoryLimit(max),
        (_, None, None) if table_refused => TrapKind::TableLimit(limits.table_elements),
        (Some(wasmtime::Trap::UnreachableCodeReached), None, None) => TrapKind::Unreachable,
        _ => TrapKind::Other,
    };
    Trap {
        kind,
        detail: format!("{err:#}"),
    }
}
