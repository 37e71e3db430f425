//! wasmtime bindings of the `airssys:core/component` world, generated from `wit/`.

wasmtime::component::bindgen!({
    world: "component",
    path: "../wit",
    imports: {
        "airssys:core/process.run": async,
        "airssys:core/http.send": async,
        "airssys:core/messaging.send": async,
        "airssys:core/messaging.request": async,
        "airssys:core/messaging.publish": async,
    },
    exports: { default: async },
});

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
