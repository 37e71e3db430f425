//! wasmtime bindings of the `airssys:core/component` world, generated from `wit/`.

wasmtime::component::bindgen!({
    world: "component",
    path: "../wit",
    exports: { default: async },
});

pub(crate) use airssys::core::types as wit;
