//! Code generation for `#[airssys::component]`.

use airssys_contract::{MANIFEST_SECTION, Manifest};
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{ImplItem, Item, ItemImpl, LitByteStr, Type};

use crate::attr::{self, Errors};

const PLACEMENT: &str =
    "#[airssys::component] goes on an `impl Component for YourType { ... }` block";

/// Expands the attribute. On errors, re-emits the item beside them so IDEs keep working.
pub(crate) fn component(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let manifest = attr::parse(args, &mut errors);
    let item_impl = match syn::parse2::<ItemImpl>(item.clone()) {
        Ok(item_impl) => check_impl(item_impl, &mut errors),
        Err(_) => {
            wrong_item(item.clone(), &mut errors);
            None
        }
    };
    if let Err(err) = errors.into_result() {
        let err = err.into_compile_error();
        let item = reemit(item);
        return quote! { #item #err };
    }
    let (Some(manifest), Some(item_impl)) = (manifest, item_impl) else {
        return item;
    };
    generate(&manifest, item_impl)
}

/// The item as written, except that an `impl Component for ...` also gets the default `init`,
/// so the real errors are not followed by a spurious "missing `init`".
fn reemit(item: TokenStream) -> TokenStream {
    match syn::parse2::<ItemImpl>(item.clone()) {
        Ok(mut item_impl) if implements_component(&item_impl) => {
            add_default_init(&mut item_impl);
            item_impl.into_token_stream()
        }
        _ => item,
    }
}

fn implements_component(item: &ItemImpl) -> bool {
    item.trait_
        .as_ref()
        .and_then(|(_, path, _)| path.segments.last())
        .is_some_and(|s| s.ident == "Component")
}

/// Reports an attribute placed on something other than an impl block, naming what it is.
fn wrong_item(item: TokenStream, errors: &mut Errors) {
    let (tokens, what, ident) = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Struct(s)) => (
            keyword_and_name(s.struct_token, &s.ident),
            "a struct",
            Some(s.ident),
        ),
        Ok(Item::Enum(e)) => (
            keyword_and_name(e.enum_token, &e.ident),
            "an enum",
            Some(e.ident),
        ),
        Ok(Item::Fn(f)) => (
            keyword_and_name(f.sig.fn_token, &f.sig.ident),
            "a function",
            None,
        ),
        _ => return errors.push(item.span(), PLACEMENT),
    };
    let fix = match ident {
        Some(ident) => format!("move it to `impl Component for {ident} {{ ... }}`"),
        None => {
            "make this a method of `impl Component for YourType { ... }` (e.g. `fn on_request`) \
                 and put the attribute on that block"
                .to_owned()
        }
    };
    errors.push_spanned(tokens, format!("{PLACEMENT}, not on {what}; {fix}"));
}

fn keyword_and_name(keyword: impl ToTokens, name: &syn::Ident) -> TokenStream {
    quote!(#keyword #name)
}

/// Checks the item is `impl Component for ConcreteType`.
fn check_impl(item: ItemImpl, errors: &mut Errors) -> Option<ItemImpl> {
    let Some((_, path, _)) = &item.trait_ else {
        errors.push(
            item.self_ty.span(),
            format!(
                "{PLACEMENT}; this is an inherent impl, write `impl Component for {}`",
                item.self_ty.to_token_stream()
            ),
        );
        return None;
    };
    if !implements_component(&item) {
        let trait_name = path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        errors.push_spanned(
            path,
            format!("{PLACEMENT}; this implements `{trait_name}`, not `Component`"),
        );
        return None;
    }
    if !item.generics.params.is_empty() {
        errors.push_spanned(
            &item.generics,
            "a component must be a concrete type; remove the generic parameters",
        );
        return None;
    }
    if item.unsafety.is_some() || item.trait_.as_ref().is_some_and(|t| t.0.is_some()) {
        errors.push(item.span(), PLACEMENT);
        return None;
    }
    Some(item)
}

fn generate(manifest: &Manifest, mut item: ItemImpl) -> TokenStream {
    add_default_init(&mut item);
    let ty: &Type = &item.self_ty;
    let bytes = manifest.to_bytes();
    let len = bytes.len();
    let bytes = LitByteStr::new(&bytes, Span::call_site());
    let section = MANIFEST_SECTION;
    quote! {
        #item

        const _: () = {
            #[cfg_attr(target_arch = "wasm32", unsafe(link_section = #section))]
            #[used]
            static __AIRSSYS_MANIFEST: [u8; #len] = *#bytes;

            ::std::thread_local! {
                static __AIRSSYS_STATE: ::core::cell::RefCell<::core::option::Option<#ty>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }

            impl ::airssys::__private::Registered for #ty {
                const MANIFEST: &'static [u8] = #bytes;

                fn with_state<__R>(
                    __f: impl ::core::ops::FnOnce(&::core::cell::RefCell<::core::option::Option<Self>>) -> __R,
                ) -> __R {
                    __AIRSSYS_STATE.with(__f)
                }
            }

            // Only a wasm build exports the lifecycle: natively (`airssys::testing`) the glue is
            // called directly, and several components can link into one test binary. A native
            // build still holds on to the glue, so its code counts as used, as when exported.
            #[cfg(not(target_arch = "wasm32"))]
            #[used]
            static __AIRSSYS_LIFECYCLE: ::airssys::__private::Lifecycle =
                ::airssys::__private::Lifecycle::of::<#ty>();
            #[cfg(target_arch = "wasm32")]
            type __AirssysExport = ::airssys::__private::Export<#ty>;
            #[cfg(target_arch = "wasm32")]
            ::airssys::__private::bindings::export!(
                __AirssysExport with_types_in ::airssys::__private::bindings
            );
        };
    }
}

/// Writes `init` from `Default` when the author left it out, so a stateless or
/// default-initialised component needs no boilerplate. The span points at the type, so a
/// missing `Default` is reported there.
fn add_default_init(item: &mut ItemImpl) {
    let has_init = item
        .items
        .iter()
        .any(|i| matches!(i, ImplItem::Fn(f) if f.sig.ident == "init"));
    if has_init {
        return;
    }
    let span = item.self_ty.span();
    let init: ImplItem = syn::parse_quote_spanned! {span=>
        fn init(_config: &::airssys::Config) -> ::airssys::Result<Self> {
            ::core::result::Result::Ok(<Self as ::airssys::__private::DefaultInit>::default_init())
        }
    };
    item.items.insert(0, init);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pretty(tokens: TokenStream) -> String {
        prettyplease::unparse(&syn::parse2(tokens).expect("expansion parses as a file"))
    }

    #[test]
    fn expands_with_default_init_and_manifest() {
        let out = component(
            quote!(
                name = "greeter",
                version = "0.1.0",
                capabilities(net("api.example.com:443"))
            ),
            quote! {
                impl Component for Greeter {
                    fn on_request(&mut self, req: Request) -> Result<Payload> { todo!() }
                }
            },
        );
        insta::assert_snapshot!(pretty(out));
    }

    #[test]
    fn keeps_a_written_init() {
        let out = component(
            quote!(name = "counter", version = "1.0.0"),
            quote! {
                impl airssys::Component for Counter {
                    fn init(config: &Config) -> Result<Self> { Ok(Counter) }
                }
            },
        );
        insta::assert_snapshot!(pretty(out));
    }

    #[test]
    fn reports_every_error_and_keeps_the_item() {
        let out = component(
            quote!(name = "Bad Name", version = "one", colour = "red"),
            quote!(impl Component for X {}),
        )
        .to_string();
        assert_eq!(out.matches("compile_error").count(), 3, "{out}");
        assert!(out.contains("impl Component for X"), "{out}");
    }
}
