//! `wasi:keyvalue@0.2.0-draft2` (`store`, `atomics`, `batch`), as Spin serves it, on the same
//! namespaces as `airssys:core/storage`: a bucket is a namespace, opened by its name through
//! the same checks ([`Stored::open_handle`]: the gate, the namespace count, the quotas), and
//! every later call asks the gate again.
//!
//! Where the standard leaves room, this host gives more:
//!
//! - `set-many` and `delete-many` are atomic (one batch), not merely best effort.
//! - A `cas` handle remembers the revision it read, so `swap` succeeds only if nobody wrote
//!   the key since, even with the same bytes; on `cas-failed` the new handle carries what the
//!   key holds now, read in the same step.
//! - `increment` stores decimal text, as `storage` does, so both interfaces share counters.
//! - `list-keys` returns keys in ascending order, up to 1000 a page, with an opaque cursor.
//!   Keys that are not UTF-8 (written through `storage`) are left out, because a `string`
//!   cannot name them.
//!
//! Errors: a denial is `access-denied`, a name that is not a namespace `no-such-store`, and
//! everything else `other` with the message `storage` would give.

use wasmtime::component::{HasData, Linker, Resource};

use super::storage::{Refusal, Stored, unavailable};
use crate::bindings::Cas;
use crate::bindings::wasi::keyvalue::atomics::{self, CasError};
use crate::bindings::wasi::keyvalue::batch;
use crate::bindings::wasi::keyvalue::store::{self, Error, KeyResponse};
use crate::storage::{BatchOp, Cursor, Entry, Expect, MAX_PAGE_SIZE, Namespace, StorageError};

struct HasStored;

impl HasData for HasStored {
    type Data<'a> = Stored<'a>;
}

/// Links `wasi:keyvalue/{store,atomics,batch}`, projecting the store data to the same view as
/// `storage`.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> Stored<'_>,
) -> wasmtime::Result<()> {
    store::add_to_linker::<T, HasStored>(linker, get)?;
    atomics::add_to_linker::<T, HasStored>(linker, get)?;
    batch::add_to_linker::<T, HasStored>(linker, get)
}

fn error(refusal: Refusal) -> Error {
    match refusal {
        Refusal::Denied(_) => Error::AccessDenied,
        Refusal::Unavailable(message) => Error::Other(message),
        Refusal::Storage(StorageError::InvalidNamespace { .. }) => Error::NoSuchStore,
        Refusal::Storage(err) => storage_error(err),
    }
}

fn storage_error(err: StorageError) -> Error {
    match err {
        StorageError::Io { .. } | StorageError::Unavailable { .. } | StorageError::Closed => {
            Error::Other(unavailable(&err))
        }
        err => Error::Other(err.to_string()),
    }
}

/// A new compare-and-swap on `key` that expects what `read` found.
fn cas(namespace: Namespace, key: Vec<u8>, read: Option<Entry>) -> Cas {
    let (expect, current) = match read {
        Some(entry) => (Expect::Revision(entry.revision), Some(entry.value)),
        None => (Expect::Absent, None),
    };
    Cas {
        namespace,
        key,
        expect,
        current,
    }
}

type Answer<T> = Result<T, Error>;

impl store::Host for Stored<'_> {
    async fn open(&mut self, identifier: String) -> Answer<Resource<Namespace>> {
        self.open_handle(&identifier).map_err(error)
    }
}

impl store::HostBucket for Stored<'_> {
    async fn get(&mut self, bucket: Resource<Namespace>, key: String) -> Answer<Option<Vec<u8>>> {
        let ns = self.namespace(&bucket).map_err(error)?;
        let value = ns.get(key).await.map_err(storage_error)?;
        Ok(value.map(|value| value.to_vec()))
    }

    async fn set(
        &mut self,
        bucket: Resource<Namespace>,
        key: String,
        value: Vec<u8>,
    ) -> Answer<()> {
        let ns = self.namespace(&bucket).map_err(error)?;
        ns.set(key, value).await.map_err(storage_error)?;
        Ok(())
    }

    async fn delete(&mut self, bucket: Resource<Namespace>, key: String) -> Answer<()> {
        let ns = self.namespace(&bucket).map_err(error)?;
        ns.delete(key).await.map_err(storage_error)
    }

    async fn exists(&mut self, bucket: Resource<Namespace>, key: String) -> Answer<bool> {
        let ns = self.namespace(&bucket).map_err(error)?;
        ns.exists(key).await.map_err(storage_error)
    }

    async fn list_keys(
        &mut self,
        bucket: Resource<Namespace>,
        cursor: Option<String>,
    ) -> Answer<KeyResponse> {
        let ns = self.namespace(&bucket).map_err(error)?;
        let cursor = cursor
            .map(|text| text.parse::<Cursor>())
            .transpose()
            .map_err(storage_error)?;
        let page = ns
            .list("", cursor.as_ref(), MAX_PAGE_SIZE)
            .await
            .map_err(storage_error)?;
        Ok(KeyResponse {
            keys: page
                .keys
                .into_iter()
                .filter_map(|key| String::from_utf8(key).ok())
                .collect(),
            cursor: page.cursor.map(|cursor| cursor.to_string()),
        })
    }

    async fn drop(&mut self, bucket: Resource<Namespace>) -> wasmtime::Result<()> {
        self.close(bucket).map(drop)
    }
}

impl atomics::Host for Stored<'_> {
    async fn increment(
        &mut self,
        bucket: Resource<Namespace>,
        key: String,
        delta: i64,
    ) -> Answer<i64> {
        let ns = self.namespace(&bucket).map_err(error)?;
        ns.increment(key, delta).await.map_err(storage_error)
    }

    async fn swap(&mut self, handle: Resource<Cas>, value: Vec<u8>) -> Result<(), CasError> {
        let Cas {
            namespace,
            key,
            expect,
            ..
        } = self.close(handle).map_err(|err| {
            CasError::StoreError(Error::Other(format!("unknown cas handle: {err}")))
        })?;
        self.check(&namespace)
            .map_err(|denied| CasError::StoreError(error(denied.into())))?;
        let swapped = namespace
            .compare_and_swap(key.clone(), expect, Some(value.into()))
            .await;
        match swapped {
            Ok(_) => Ok(()),
            Err(StorageError::Conflict { current, .. }) => {
                let retry = self
                    .keep(cas(namespace, key, current))
                    .map_err(|refusal| CasError::StoreError(error(refusal)))?;
                Err(CasError::CasFailed(retry))
            }
            Err(err) => Err(CasError::StoreError(storage_error(err))),
        }
    }
}

impl atomics::HostCas for Stored<'_> {
    async fn new(&mut self, bucket: Resource<Namespace>, key: String) -> Answer<Resource<Cas>> {
        let ns = self.namespace(&bucket).map_err(error)?;
        let key = key.into_bytes();
        let read = ns.entry(key.as_slice()).await.map_err(storage_error)?;
        self.keep(cas(ns, key, read)).map_err(error)
    }

    async fn current(&mut self, handle: Resource<Cas>) -> Answer<Option<Vec<u8>>> {
        let cas = self
            .table
            .get(&handle)
            .map_err(|err| Error::Other(format!("unknown cas handle: {err}")))?;
        self.check(&cas.namespace)
            .map_err(|denied| error(denied.into()))?;
        Ok(cas.current.as_ref().map(|value| value.to_vec()))
    }

    async fn drop(&mut self, handle: Resource<Cas>) -> wasmtime::Result<()> {
        self.close(handle).map(drop)
    }
}

impl batch::Host for Stored<'_> {
    async fn get_many(
        &mut self,
        bucket: Resource<Namespace>,
        keys: Vec<String>,
    ) -> Answer<Vec<(String, Option<Vec<u8>>)>> {
        let ns = self.namespace(&bucket).map_err(error)?;
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            let value = ns.get(key.as_bytes()).await.map_err(storage_error)?;
            found.push((key, value.map(|value| value.to_vec())));
        }
        Ok(found)
    }

    async fn set_many(
        &mut self,
        bucket: Resource<Namespace>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Answer<()> {
        let ns = self.namespace(&bucket).map_err(error)?;
        let ops = key_values
            .into_iter()
            .map(|(key, value)| BatchOp::set(key, value));
        ns.batch(ops).await.map_err(storage_error)
    }

    async fn delete_many(&mut self, bucket: Resource<Namespace>, keys: Vec<String>) -> Answer<()> {
        let ns = self.namespace(&bucket).map_err(error)?;
        ns.batch(keys.into_iter().map(BatchOp::delete))
            .await
            .map_err(storage_error)
    }
}
