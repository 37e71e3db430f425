//! Holding one instance's `Store` to its [`Limits`](crate::Limits): the resource limiter and
//! epoch callback, the per-call deadline and fuel, and classifying the trap when a guest goes
//! past them.

use std::time::Instant;

use wasmtime::{Store, UpdateDeadline};

use crate::error::{Trap, TrapKind};
use crate::interfaces::{MAX_LOG_LINES_PER_CALL, StoreData};
use crate::{Error, Result};

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
/// last call left behind.
pub(crate) fn arm(store: &mut Store<StoreData>) -> Result<()> {
    let data = store.data_mut();
    data.deadline = Instant::now() + data.limits.call_timeout;
    // Only what happens during this call may explain a trap in it.
    data.core.panic = None;
    data.limiter.memory_refused = false;
    data.limiter.table_refused = false;
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
    Ok(())
}

/// Classifies a failed guest call, using what the store saw just before it.
pub(crate) fn classify(store: &mut Store<StoreData>, err: &wasmtime::Error) -> Trap {
    let data = store.data_mut();
    let panic = data.core.panic.take();
    let memory_refused = std::mem::take(&mut data.limiter.memory_refused);
    let table_refused = std::mem::take(&mut data.limiter.table_refused);
    let limits = &data.limits;
    // What the engine itself detected comes first, so a guest cannot relabel a deadline or
    // fuel trap by reporting a panic before it.
    let kind = match (err.downcast_ref::<wasmtime::Trap>(), panic) {
        (Some(wasmtime::Trap::OutOfFuel), _) => TrapKind::OutOfFuel,
        (Some(wasmtime::Trap::Interrupt), _) => TrapKind::Deadline(limits.call_timeout),
        (Some(wasmtime::Trap::StackOverflow), _) => TrapKind::StackOverflow,
        (_, Some(panic)) => TrapKind::Panic(panic),
        (_, None) if memory_refused => TrapKind::MemoryLimit(limits.memory),
        (_, None) if table_refused => TrapKind::TableLimit(limits.table_elements),
        (Some(wasmtime::Trap::UnreachableCodeReached), None) => TrapKind::Unreachable,
        (_, None) => TrapKind::Other,
    };
    Trap {
        kind,
        detail: format!("{err:#}"),
    }
}
