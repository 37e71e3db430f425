//! Parsing and validating the arguments of `#[airssys::component(...)]`.
//!
//! Every mistake is collected, so one compile shows them all, each spanned at the token to fix.

use airssys_contract::{Capabilities, CapabilityKind, Manifest};
use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, Token};

/// Accumulates errors so the user sees every mistake of one invocation at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        let err = syn::Error::new(span, message);
        match &mut self.0 {
            Some(all) => all.combine(err),
            None => self.0 = Some(err),
        }
    }

    /// Like [`push`](Self::push), but the error covers every token of `tokens`, not only the
    /// first (a joined span is unavailable to proc macros on stable).
    pub(crate) fn push_spanned(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.push_error(syn::Error::new_spanned(tokens, message));
    }

    pub(crate) fn push_error(&mut self, err: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(err),
            None => self.0 = Some(err),
        }
    }

    pub(crate) fn into_result(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

const ARGUMENTS: &str = "expected `name = \"...\"`, `version = \"...\"` or `capabilities(...)`";

/// Parses the attribute arguments into a validated manifest.
///
/// `name` and `version` default to the package's (`CARGO_PKG_NAME`, `CARGO_PKG_VERSION`).
pub(crate) fn parse(args: TokenStream, errors: &mut Errors) -> Option<Manifest> {
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args) {
        Ok(metas) => metas,
        Err(err) => {
            errors.push_error(err);
            return None;
        }
    };
    let mut name: Option<LitStr> = None;
    let mut version: Option<LitStr> = None;
    let mut capabilities = Capabilities::default();
    let mut seen_capabilities = false;

    for meta in metas {
        let Some(key) = meta.path().get_ident().map(ToString::to_string) else {
            errors.push_spanned(meta.path(), format!("unknown argument; {ARGUMENTS}"));
            continue;
        };
        match key.as_str() {
            "name" | "version" => {
                let slot = if key == "name" {
                    &mut name
                } else {
                    &mut version
                };
                let Some(lit) = string_value(&meta, &key, errors) else {
                    continue;
                };
                if slot.is_some() {
                    errors.push_spanned(&meta, format!("`{key}` is given twice; keep one"));
                } else {
                    *slot = Some(lit);
                }
            }
            "capabilities" => {
                if seen_capabilities {
                    errors.push(
                        meta.path().span(),
                        "duplicate `capabilities(...)`; list every capability in one",
                    );
                }
                seen_capabilities = true;
                parse_capabilities(&meta, &mut capabilities, errors);
            }
            other => errors.push(
                meta.path().span(),
                format!("unknown argument `{other}`; {ARGUMENTS}"),
            ),
        }
    }

    let name_value = match &name {
        Some(lit) => lit.value(),
        None => std::env::var("CARGO_PKG_NAME")
            .unwrap_or_default()
            .replace('_', "-"),
    };
    let version_value = match &version {
        Some(lit) => lit.value(),
        None => std::env::var("CARGO_PKG_VERSION").unwrap_or_default(),
    };
    let mut ok = true;
    if let Err(err) = airssys_contract::validate_name(&name_value) {
        ok = false;
        match &name {
            Some(lit) => {
                let fixed = name_value.to_ascii_lowercase().replace(['_', ' '], "-");
                match airssys_contract::validate_name(&fixed) {
                    Ok(()) => errors.push(lit.span(), format!("{err}; write `name = \"{fixed}\"`")),
                    Err(_) => errors.push(lit.span(), err),
                }
            }
            None => errors.push(
                Span::call_site(),
                format!("{err}; the package name is used when `name` is not given, so add `name = \"...\"`"),
            ),
        }
    }
    if let Err(err) = semver::Version::parse(&version_value) {
        ok = false;
        let message = format!(
            "`{version_value}` is not a semantic version: {err}; write e.g. `version = \"0.1.0\"`"
        );
        errors.push(
            version.as_ref().map_or(Span::call_site(), LitStr::span),
            message,
        );
    }
    if !ok {
        return None;
    }
    match Manifest::new(&name_value, &version_value, capabilities) {
        Ok(manifest) => Some(manifest),
        Err(err) => {
            errors.push(Span::call_site(), err);
            None
        }
    }
}

fn string_value(meta: &Meta, key: &str, errors: &mut Errors) -> Option<LitStr> {
    if let Meta::NameValue(nv) = meta
        && let Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) = &nv.value
    {
        return Some(lit.clone());
    }
    let message = format!("`{key}` takes a string literal: `{key} = \"...\"`");
    match meta {
        Meta::NameValue(nv) => errors.push_spanned(&nv.value, message),
        _ => errors.push_spanned(meta, message),
    }
    None
}

fn parse_capabilities(meta: &Meta, capabilities: &mut Capabilities, errors: &mut Errors) {
    let Meta::List(list) = meta else {
        errors.push_spanned(
            meta,
            "`capabilities` takes a list: `capabilities(fs_read(\"/data/**\"), net(\"api.example.com:443\"), ...)`",
        );
        return;
    };
    let entries = match list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) {
        Ok(entries) => entries,
        Err(err) => return errors.push_error(err),
    };
    let mut seen = Vec::new();
    for entry in entries {
        let key = entry.path().get_ident().map(ToString::to_string);
        let Some(kind) = key.as_deref().and_then(CapabilityKind::from_key) else {
            errors.push(
                entry.path().span(),
                format!(
                    "unknown capability `{}`; expected one of {}",
                    key.unwrap_or_else(|| "?".into()),
                    CapabilityKind::expected_keys()
                ),
            );
            continue;
        };
        if seen.contains(&kind) {
            errors.push(
                entry.path().span(),
                format!("`{kind}` is given twice; list all its patterns in one `{kind}(...)`"),
            );
        }
        seen.push(kind);
        let Meta::List(patterns) = &entry else {
            errors.push_spanned(&entry, format!("write `{kind}(\"{}\")`", kind.example()));
            continue;
        };
        let lits = match patterns.parse_args_with(Punctuated::<LitStr, Token![,]>::parse_terminated)
        {
            Ok(lits) => lits,
            Err(err) => {
                errors.push(
                    err.span(),
                    format!(
                        "`{kind}` takes string patterns, e.g. `{kind}(\"{}\")`",
                        kind.example()
                    ),
                );
                continue;
            }
        };
        if lits.is_empty() {
            errors.push_spanned(
                &entry,
                format!(
                    "`{kind}()` is empty; give a pattern such as `\"{}\"` or remove it",
                    kind.example()
                ),
            );
        }
        for lit in lits {
            if capabilities.get(kind).contains(&lit.value()) {
                errors.push(
                    lit.span(),
                    format!("this `{kind}` pattern is already listed; remove the duplicate"),
                );
            } else if let Err(err) = capabilities.add(kind, &lit.value()) {
                errors.push(
                    lit.span(),
                    format!("invalid `{kind}` pattern: {}", err.reason()),
                );
            }
        }
    }
}
