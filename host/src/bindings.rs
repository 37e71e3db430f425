//! wasmtime bindings of the `airssys:core/component` world, generated from `wit/`, and the
//! host types behind its resources.

use bytes::Bytes;

use crate::storage::{Expect, Namespace};

wasmtime::component::bindgen!({
    world: "component",
    path: "../wit",
    imports: {
        "airssys:core/filesystem": async,
        "airssys:core/process.run": async,
        "airssys:core/http.send": async,
        "airssys:core/messaging.send": async,
        "airssys:core/messaging.request": async,
        "airssys:core/messaging.publish": async,
        "airssys:core/storage": async,
        "wasi:keyvalue": async,
    },
    with: {
        "airssys:core/storage.namespace": crate::storage::Namespace,
        "wasi:keyvalue/store.bucket": crate::storage::Namespace,
        "wasi:keyvalue/atomics.cas": crate::bindings::Cas,
    },
    exports: { default: async },
});

/// A `wasi:keyvalue` compare-and-swap in progress: the key, and what it held when the handle
/// was made, which the swap expects it still holds. (`pub` because the generated bindings
/// re-export it; the module is private.)
#[allow(unreachable_pub)]
pub struct Cas {
    pub(crate) namespace: Namespace,
    pub(crate) key: Vec<u8>,
    /// `Absent`, or the revision read.
    pub(crate) expect: Expect,
    /// The value read, for `current`.
    pub(crate) current: Option<Bytes>,
}

pub(crate) use airssys::core::types as wit;

/// A domain error for the guest: a value of the `error` record, never a trap.
pub(crate) fn guest_error(kind: wit::ErrorKind, message: String) -> wit::Error {
    wit::Error { kind, message }
}

/// The contract's form of a domain error the guest returned.
pub(crate) fn domain_error(error: wit::Error) -> crate::GuestError {
    use airssys_contract::ErrorKind as K;
    let kind = match error.kind {
        wit::ErrorKind::InvalidInput => K::InvalidInput,
        wit::ErrorKind::NotFound => K::NotFound,
        wit::ErrorKind::Denied => K::Denied,
        wit::ErrorKind::Unsupported => K::Unsupported,
        wit::ErrorKind::Unavailable => K::Unavailable,
        wit::ErrorKind::Timeout => K::Timeout,
        wit::ErrorKind::Internal => K::Internal,
    };
    crate::GuestError::new(kind, error.message)
}

/// The WIT form of a domain error, to pass a component's own error on to another.
pub(crate) fn guest_error_value(error: &crate::GuestError) -> wit::Error {
    use airssys_contract::ErrorKind as K;
    let kind = match error.kind() {
        K::InvalidInput => wit::ErrorKind::InvalidInput,
        K::NotFound => wit::ErrorKind::NotFound,
        K::Denied => wit::ErrorKind::Denied,
        K::Unsupported => wit::ErrorKind::Unsupported,
        K::Unavailable => wit::ErrorKind::Unavailable,
        K::Timeout => wit::ErrorKind::Timeout,
        K::Internal => wit::ErrorKind::Internal,
    };
    guest_error(kind, error.message().to_owned())
}

/// A wall-clock time as WIT's `datetime` (before the epoch reads as the epoch).
pub(crate) fn datetime(time: std::time::SystemTime) -> wit::Datetime {
    let since = time
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    wit::Datetime {
        seconds: since.as_secs(),
        nanoseconds: since.subsec_nanos(),
    }
}
