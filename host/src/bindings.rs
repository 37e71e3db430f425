//! wasmtime bindings of the `airssys:core/component` world, generated from `wit/`.

wasmtime::component::bindgen!({
    world: "component",
    path: "../wit",
    imports: {
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
