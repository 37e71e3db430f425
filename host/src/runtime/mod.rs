//! Running instances: the store under its limits ([`sandbox`]), the one call path into the
//! guest ([`call`]), live instances and what they are made from ([`instance`]), the actor
//! that serves and supervises each one ([`actor`]), the mailbox its calls wait in and where
//! it parks when idle ([`mailbox`]), the record it shares ([`shared`]), and the span and
//! metrics around each call ([`observe`]).

mod actor;
mod call;
mod instance;
mod mailbox;
mod observe;
mod sandbox;
mod shared;

pub(crate) use actor::Actor;
pub(crate) use instance::{Blueprint, Instance, Pre};
pub(crate) use mailbox::{Closed, Inbox, Mailbox, Parked};
pub(crate) use shared::Shared;
pub use shared::Stats;
