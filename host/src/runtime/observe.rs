//! What every call into a guest leaves behind: a `tracing` span (address, version, kind,
//! outcome) around it, and its count and duration in the version's metrics.

use std::future::Future;
use std::time::Instant;

use tracing::Instrument;

use super::Shared;
use crate::Result;
use crate::metrics::{CallKind, outcome};

/// Runs `call` of `kind` on `shared`'s instance inside its span, then records it.
pub(crate) async fn observe<T>(
    shared: &Shared,
    kind: CallKind,
    call: impl Future<Output = Result<T>>,
) -> Result<T> {
    let who = shared.identity();
    let span = tracing::info_span!(
        target: "airssys::call",
        "call",
        address = %who.address,
        version = %who.version,
        kind = kind.name(),
        outcome = tracing::field::Empty,
    );
    let started = Instant::now();
    let result = call.instrument(span.clone()).await;
    span.record("outcome", outcome(&result));
    shared.gate.metrics().call(kind, started.elapsed(), &result);
    result
}
