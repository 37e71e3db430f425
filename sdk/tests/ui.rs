//! Compile-fail tests: each macro mistake gives a spanned error naming the fix.
//!
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test -p airssys --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
