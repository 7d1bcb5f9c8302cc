//! What the command-line tests share: running the built `xtask` binary and reading what it said.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs `cargo xtask ARGS` (the built binary) in the test's folder.
pub fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().unwrap()
}

/// Runs `cargo xtask ARGS` in the folder `cwd`.
pub fn xtask_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask")).current_dir(cwd).args(args).output().unwrap()
}

/// Everything the command printed, standard output then standard error.
pub fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}
