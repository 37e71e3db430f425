//! The end-to-end tests, in one binary (every test binary links wasmtime; one links faster),
//! one module per area. Real guest components built from source, driven through the real host.

mod capabilities;
mod cluster;
mod components_remember;
mod dashboard;
mod deadlines;
mod deploy;
mod file_escapes;
mod host_limits;
mod https;
mod identity;
mod ingress;
mod lifecycle;
mod load_errors;
mod messaging;
mod network;
mod notes_example;
mod operator_input;
mod processes;
mod registry;
mod sandbox;
mod shop_example;
mod storage;
mod storage_nats;
mod testing;
mod wasi_http;
