//! What a component may do and the record of what it did: the one gate every guarded host
//! call asks, the audit log, and the cutting of guest text. What is allowed and the wording
//! of a refusal are the contract's ([`EffectiveCapabilities`], [`Mode`]), shared with the
//! SDK's test host.

mod audit;
mod gate;
mod text;

pub(crate) use airssys_contract::escape_controls;
pub use airssys_contract::{EffectiveCapabilities, Mode};
pub(crate) use audit::AuditLog;
pub use audit::{AuditEvent, Outcome};
pub(crate) use gate::{Denied, Gate};
pub(crate) use text::{truncate, truncate_str};
