//! Durable key-value storage in namespaces: the engine behind the `storage` host interface.
//!
//! A [`Storage`] holds namespaces (`app.cache`: dot-separated tokens, the `storage` capability
//! grammar). A [`Namespace`] handle reaches only its own keys, whatever bytes they hold: every
//! backend keeps each namespace in a structure of its own, so collisions are impossible rather
//! than unlikely. Keys and values are bytes; every stored value has a [`Revision`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), airssys_host::storage::StorageError> {
//! use airssys_host::storage::{BatchOp, Expect, Quota, Storage};
//!
//! let storage = Storage::open("app.redb")?.quota(Quota::new().max_keys(10_000));
//! let cart = storage.namespace("shop.cart")?;
//! cart.set("alice", "3 apples").await?;
//! let visits = cart.increment("visits", 1).await?;
//! let entry = cart.entry("alice").await?.expect("just written");
//! cart.compare_and_swap("alice", Expect::Revision(entry.revision), Some("4 apples".into()))
//!     .await?;
//! cart.batch([BatchOp::set("bob", "1 pear"), BatchOp::delete("alice")]).await?;
//! let page = cart.list("", None, 100).await?;
//! # Ok(()) }
//! ```
//!
//! # Durability and group commit
//!
//! [`Storage::open`] stores everything in one redb file. A write is acknowledged only after
//! the transaction holding it has committed with redb's `Durability::Immediate`, so
//! acknowledged writes survive the process being killed. One writer thread takes every write
//! queued while it was committing and commits them together: under load many writes share one
//! disk sync, at the price of each write waiting for its whole group's commit (a lone writer
//! waits about one sync). Each write is still checked on its own: a write refused by its quota
//! or by a compare-and-swap does not affect the others in its group, and a batch is applied
//! whole or not at all. Reads see every acknowledged write: the writer keeps a cache of
//! committed values current before it acknowledges, so most reads answer from memory on the
//! caller's task, and the others run in their own read transaction on tokio's blocking pool. No
//! storage call waits on the disk on an async worker.
//!
//! # Guests
//!
//! Components reach a host's store ([`HostBuilder::storage`](crate::HostBuilder::storage))
//! through `airssys:core/storage` and `wasi:keyvalue`, in the namespaces they declared and
//! were granted; [`Host::storage`](crate::Host::storage) gives the embedder the same store.
//!
//! # Backends
//!
//! [`Backend`] is the trait an engine implements; [`Storage::in_memory`] gives the in-memory
//! backend, with the same semantics, for tests, and [`Storage::nats`] keeps each namespace in
//! a NATS JetStream key-value bucket shared by every host of an application: revisions are
//! stream sequences, and each write is checked by the same rules against the namespace's
//! shared counts and committed as one atomic batch (`docs/architecture.md` says how).
//!
//! What a write checks and does (quotas, revisions, compare-and-swap, increments, batches),
//! namespace names, keys and paging are the rules of `airssys_contract::storage`, written once
//! and applied by every backend here and by the SDK's test host (`airssys::testing`), so a
//! component's native tests see the outcomes it gets under the host.

mod backend;
mod cache;
mod commit;
mod handle;
mod memory;
mod nats;
mod quota;
mod redb;

pub use airssys_contract::storage::{
    BatchOp, Bytes, Cursor, Entry, Expect, KeyPage, MAX_NAMESPACE_LEN, MAX_PAGE_SIZE, Quota,
    QuotaLimit, Revision, StorageError, Usage,
};
pub use backend::Backend;
pub use cache::DEFAULT_CACHE_SIZE;
pub(crate) use handle::Meter;
pub use handle::{Namespace, Storage};
