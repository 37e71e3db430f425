//! The rules of key-value storage, written once for every store: namespace names, keys,
//! quotas, revisions, compare-and-swap, increments, batches and paging, with the errors that
//! name each refusal. The host's engine (`airssys_host::storage`, on redb or in memory) and the
//! SDK's test host (`airssys::testing`) both apply them, so a component sees the same
//! outcomes under either.
//!
//! A store keeps each namespace's keys in a [`Table`] and its counters in a [`Meta`], and
//! applies each write (a [`Mutation`]: [`Set`], [`Delete`], [`Swap`], [`Increment`],
//! [`Batch`]) to them inside whatever makes it atomic. [`MemoryStore`] is the in-memory one.

mod error;
mod key;
mod memory;
mod quota;
mod value;
mod write;

pub use bytes::Bytes;
pub use error::{QuotaLimit, Result, StorageError};
pub use key::{Cursor, KeyPage, MAX_NAMESPACE_LEN, MAX_PAGE_SIZE, list_start, validate_namespace};
pub use memory::MemoryStore;
pub use quota::{Quota, Usage, entry_size};
pub use value::{BatchOp, Entry, Expect, Revision};
pub use write::{Batch, Delete, Increment, Meta, Mutation, Set, Swap, Table, Target};
