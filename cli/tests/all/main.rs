//! The CLI's integration tests, in one binary: each runs the real `airssys` binary.

mod cluster;
mod common;
mod deploy;
mod inspect_and_run;
mod new_and_build;
mod storage;
mod up;
