//! wasmtime bindings of the `airssys:core/component` world, generated from `wit/`.

wasmtime::component::bindgen!({
    world: "component",
    path: "../wit",
    imports: {
        "airssys:core/filesystem": async,
        "airssys:core/process.run": async,
        "airssys:core/http.send": async,
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
