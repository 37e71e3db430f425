//! Compile-fail tests: each macro mistake gives a spanned error naming the fix.
//!
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test -p airssys-tests --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
    t.pass("ui/pass/*.rs");
}
