//! What a component may do and the record of what it did: effective capabilities, the one
//! gate every guarded host call asks, the audit log, and the escaping of guest text.

mod audit;
mod gate;
mod grants;
mod text;

pub(crate) use audit::AuditLog;
pub use audit::{AuditEvent, Outcome};
pub(crate) use gate::{Denied, Gate};
pub use grants::{EffectiveCapabilities, Mode};
pub(crate) use text::{escape_controls, truncate, truncate_str};
