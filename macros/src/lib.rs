//! The `#[airssys::component]` attribute. Use it through the `airssys` crate, which re-exports
//! it and documents it; this crate has no other public API.

mod attr;
mod expand;

use proc_macro::TokenStream;

/// Exports an `impl Component for T` block as an airssys WebAssembly component.
///
/// See the `airssys` crate documentation for the arguments and an example.
#[proc_macro_attribute]
pub fn component(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::component(attr.into(), item.into()).into()
}
