//! `airssys:core/storage`: namespaces of the host's store, each opened and used through the
//! gate. `wasi:keyvalue` (`keyvalue.rs`) opens its buckets the same way, so both reach the
//! same namespaces under the same grants, quotas and limits.
//!
//! - **Open**: the host must have a store; the name must be a namespace (`app.cache`); the gate
//!   must allow `storage` on it (audited, a denial counted); and the component may have opened
//!   at most [`Limits::namespaces`] distinct namespaces, counted across its instances and
//!   restarts. The handle checks writes against the namespace's quota and the component's
//!   [`Limits::storage`], each limit the lower of the two.
//! - **Every call** on a handle asks the gate again, so every access is decided and audited.
//! - An instance holds at most [`MAX_HANDLES`] storage handles at once (namespaces, buckets,
//!   compare-and-swaps), so a guest cannot grow host memory by opening without end.
//!
//! Calls await the engine: writes wait for their group commit on the writer thread, reads are
//! answered from its cache or on the blocking pool, so no async worker waits on the disk.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use airssys_contract::CapabilityKind;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use crate::Limits;
use crate::bindings::airssys::core::storage::{
    self, Entry as WitEntry, Expect as WitExpect, KeyPage, QuotaExceeded, QuotaLimit as WitLimit,
    StorageError as WitError, Write,
};
use crate::policy::{Denied, Gate};
use crate::storage::{
    BatchOp, Cursor, Entry, Expect, Namespace, QuotaLimit, Revision, Storage, StorageError,
};

/// Most storage handles (namespaces, buckets, compare-and-swaps) one instance may hold.
pub(crate) const MAX_HANDLES: usize = 1024;

/// What one component's storage calls reach, shared by its instances and restarts: the host's
/// store (if it has one) and the namespaces the component has opened.
#[derive(Debug)]
pub(crate) struct ComponentStorage {
    storage: Option<Storage>,
    opened: Mutex<HashSet<String>>,
}

impl ComponentStorage {
    pub(crate) fn new(storage: Option<Storage>) -> Self {
        Self {
            storage,
            opened: Mutex::default(),
        }
    }
}

/// What one instance keeps: its component's storage and how many handles it holds.
pub(crate) struct StorageCtx {
    component: Arc<ComponentStorage>,
    handles: usize,
}

impl StorageCtx {
    pub(crate) fn new(component: Arc<ComponentStorage>) -> Self {
        Self {
            component,
            handles: 0,
        }
    }
}

/// What a storage call sees: the gate, the limits, the instance's storage context and the
/// resource table its handles live in. `wasi:keyvalue` calls see the same.
pub(crate) struct Stored<'a> {
    pub(crate) gate: &'a Gate,
    pub(crate) limits: &'a Limits,
    pub(crate) ctx: &'a mut StorageCtx,
    pub(crate) table: &'a mut ResourceTable,
}

struct HasStored;

impl HasData for HasStored {
    type Data<'a> = Stored<'a>;
}

/// Links `airssys:core/storage`, projecting the store data to a [`Stored`] view.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> Stored<'_>,
) -> wasmtime::Result<()> {
    storage::add_to_linker::<T, HasStored>(linker, get)
}

/// Why a namespace cannot be opened or used.
pub(crate) enum Refusal {
    /// The gate said no (audited and counted).
    Denied(Denied),
    /// The engine (or a limit) refused.
    Storage(StorageError),
    /// The host cannot serve storage: no store, or too many handles.
    Unavailable(String),
}

impl From<Denied> for Refusal {
    fn from(denied: Denied) -> Self {
        Self::Denied(denied)
    }
}

impl From<StorageError> for Refusal {
    fn from(err: StorageError) -> Self {
        Self::Storage(err)
    }
}

impl Stored<'_> {
    /// Opens namespace `name` for this instance (see the module docs for the checks) and
    /// returns the handle's value, to push as whichever resource type the interface uses.
    fn open(&mut self, name: &str) -> Result<Namespace, Refusal> {
        let Some(storage) = &self.ctx.component.storage else {
            return Err(Refusal::Unavailable(
                "this host has no storage; the operator sets one with `[storage]` in airssys.toml or `HostBuilder::storage`".into(),
            ));
        };
        let namespace = storage.namespace(name)?;
        self.gate.check(CapabilityKind::Storage, name)?;
        self.count_namespace(name)?;
        let meter = self.gate.metrics().clone();
        Ok(namespace.capped(self.limits.storage).metered(meter))
    }

    /// Counts `name` among the namespaces the component has opened, refusing one past
    /// [`Limits::namespaces`].
    fn count_namespace(&self, name: &str) -> Result<(), StorageError> {
        let mut opened = self
            .ctx
            .component
            .opened
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if opened.contains(name) {
            return Ok(());
        }
        let max = self.limits.namespaces;
        if opened.len() >= max {
            return Err(StorageError::QuotaExceeded {
                namespace: name.to_owned(),
                limit: QuotaLimit::Namespaces,
                max: max as u64,
                actual: opened.len() as u64 + 1,
            });
        }
        opened.insert(name.to_owned());
        Ok(())
    }

    /// Takes one of the instance's [`MAX_HANDLES`].
    fn reserve_handle(&mut self) -> Result<(), Refusal> {
        if self.ctx.handles >= MAX_HANDLES {
            return Err(Refusal::Unavailable(format!(
                "this instance holds {MAX_HANDLES} storage handles, the most it may; drop some first"
            )));
        }
        self.ctx.handles += 1;
        Ok(())
    }

    /// Gives back a handle taken with [`reserve_handle`](Self::reserve_handle).
    fn release_handle(&mut self) {
        self.ctx.handles = self.ctx.handles.saturating_sub(1);
    }

    /// Opens `name` and keeps the handle in the instance's table.
    pub(crate) fn open_handle(&mut self, name: &str) -> Result<Resource<Namespace>, Refusal> {
        let namespace = self.open(name)?;
        self.keep(namespace)
    }

    /// Keeps `value` in the instance's table as one of its [`MAX_HANDLES`].
    pub(crate) fn keep<T: Send + 'static>(&mut self, value: T) -> Result<Resource<T>, Refusal> {
        self.reserve_handle()?;
        self.table.push(value).map_err(|err| {
            self.release_handle();
            Refusal::Unavailable(format!("cannot keep the handle: {err}"))
        })
    }

    /// The namespace behind a handle, checked through the gate again: every call is decided
    /// and audited. A clone (two reference counts), so the call can await without holding the
    /// table.
    pub(crate) fn namespace(&self, handle: &Resource<Namespace>) -> Result<Namespace, Refusal> {
        let namespace = self
            .table
            .get(handle)
            .map_err(|err| Refusal::Unavailable(format!("unknown storage handle: {err}")))?
            .clone();
        self.check(&namespace)?;
        Ok(namespace)
    }

    /// Asks the gate whether this instance may still use `namespace`.
    pub(crate) fn check(&self, namespace: &Namespace) -> Result<(), Denied> {
        self.gate.check(CapabilityKind::Storage, namespace.name())
    }

    /// Drops a handle and gives its place back.
    pub(crate) fn close<T: 'static>(&mut self, handle: Resource<T>) -> wasmtime::Result<T> {
        let held = self.table.delete(handle)?;
        self.release_handle();
        Ok(held)
    }
}

/// The engine's failures as the guest sees them. I/O details (which name host paths) stay in
/// the host's log.
fn wit_error(refusal: Refusal) -> WitError {
    let err = match refusal {
        Refusal::Denied(denied) => return WitError::Denied(denied.message),
        Refusal::Unavailable(message) => return WitError::Unavailable(message),
        Refusal::Storage(err) => err,
    };
    let message = err.to_string();
    match err {
        StorageError::QuotaExceeded {
            limit, max, actual, ..
        } => WitError::QuotaExceeded(QuotaExceeded {
            limit: match limit {
                QuotaLimit::Keys => WitLimit::Keys,
                QuotaLimit::Bytes => WitLimit::Bytes,
                QuotaLimit::ValueSize => WitLimit::ValueSize,
                QuotaLimit::KeySize => WitLimit::KeySize,
                QuotaLimit::Namespaces => WitLimit::Namespaces,
            },
            max,
            actual,
            message,
        }),
        StorageError::Conflict { current, .. } => WitError::Conflict(current.map(wit_entry)),
        StorageError::NotAnInteger { .. } => WitError::NotAnInteger(message),
        StorageError::InvalidNamespace { .. }
        | StorageError::EmptyKey { .. }
        | StorageError::InvalidCursor
        | StorageError::Overflow { .. } => WitError::Invalid(message),
        other => WitError::Unavailable(unavailable(&other)),
    }
}

/// What the guest is told about a failure of the store itself; the details go to the log.
pub(crate) fn unavailable(err: &StorageError) -> String {
    if matches!(err, StorageError::Closed) {
        return err.to_string();
    }
    tracing::error!(target: "airssys::host", "storage failed: {err}");
    "the host's storage failed; the operator's log says why".into()
}

fn wit_entry(entry: Entry) -> WitEntry {
    WitEntry {
        value: entry.value.to_vec(),
        revision: entry.revision.get(),
    }
}

type Answer<T> = Result<T, WitError>;

impl storage::Host for Stored<'_> {}

impl storage::HostNamespace for Stored<'_> {
    async fn open(&mut self, name: String) -> Answer<Resource<Namespace>> {
        self.open_handle(&name).map_err(wit_error)
    }

    async fn get(&mut self, ns: Resource<Namespace>, key: Vec<u8>) -> Answer<Option<WitEntry>> {
        let ns = self.namespace(&ns).map_err(wit_error)?;
        let entry = ns.entry(key).await.map_err(|e| wit_error(e.into()))?;
        Ok(entry.map(wit_entry))
    }

    async fn exists(&mut self, ns: Resource<Namespace>, key: Vec<u8>) -> Answer<bool> {
        let ns = self.namespace(&ns).map_err(wit_error)?;
        ns.exists(key).await.map_err(|e| wit_error(e.into()))
    }

    async fn set(&mut self, ns: Resource<Namespace>, key: Vec<u8>, value: Vec<u8>) -> Answer<u64> {
        let ns = self.namespace(&ns).map_err(wit_error)?;
        let revision = ns.set(key, value).await.map_err(|e| wit_error(e.into()))?;
        Ok(revision.get())
    }

    async fn delete(&mut self, ns: Resource<Namespace>, key: Vec<u8>) -> Answer<()> {
        let ns = self.namespace(&ns).map_err(wit_error)?;
        ns.delete(key).await.map_err(|e| wit_error(e.into()))
    }

    async fn list_keys(
        &mut self,
        ns: Resource<Namespace>,
        prefix: Vec<u8>,
        cursor: Option<String>,
        limit: u32,
    ) -> Answer<KeyPage> {
        let ns = self.namespace(&ns).map_err(wit_error)?;
        let cursor = cursor
            .map(|text| text.parse::<Cursor>())
            .transpose()
            .map_err(|e| wit_error(e.into()))?;
        let page = ns
            .list(prefix, cursor.as_ref(), limit as usize)
            .await
            .map_err(|e| wit_error(e.into()))?;
        Ok(KeyPage {
            keys: page.keys,
            cursor: page.cursor.map(|cursor| cursor.to_string()),
        })
    }

    async fn compare_and_swap(
        &mut self,
        ns: Resource<Namespace>,
        key: Vec<u8>,
        expect: WitExpect,
        value: Option<Vec<u8>>,
    ) -> Answer<Option<u64>> {
        let ns = self.namespace(&ns).map_err(wit_error)?;
        let expect = match expect {
            WitExpect::Absent => Expect::Absent,
            WitExpect::Revision(revision) => Expect::Revision(Revision::new(revision)),
            WitExpect::Value(value) => Expect::Value(value.into()),
        };
        let revision = ns
            .compare_and_swap(key, expect, value.map(Into::into))
            .await
            .map_err(|e| wit_error(e.into()))?;
        Ok(revision.map(Revision::get))
    }

    async fn increment(
        &mut self,
        ns: Resource<Namespace>,
        key: Vec<u8>,
        delta: i64,
    ) -> Answer<i64> {
        let ns = self.namespace(&ns).map_err(wit_error)?;
        ns.increment(key, delta)
            .await
            .map_err(|e| wit_error(e.into()))
    }

    async fn batch(&mut self, ns: Resource<Namespace>, writes: Vec<Write>) -> Answer<()> {
        let ns = self.namespace(&ns).map_err(wit_error)?;
        let ops = writes.into_iter().map(|write| match write {
            Write::Set((key, value)) => BatchOp::set(key, value),
            Write::Delete(key) => BatchOp::delete(key),
        });
        ns.batch(ops).await.map_err(|e| wit_error(e.into()))
    }

    async fn drop(&mut self, ns: Resource<Namespace>) -> wasmtime::Result<()> {
        self.close(ns).map(drop)
    }
}
