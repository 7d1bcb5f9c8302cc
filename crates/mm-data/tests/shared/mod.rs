//! What the tests of every crate that reads the real data share (mm-tasks' tests include this file).

use std::io::Write as _;
use std::path::PathBuf;

use mm_data::DataRoot;

/// The project's real data: `MM_DATA_DIR` where it is set, else `../shared/data` beside the checkout; `None`
/// (the test then passes, saying so on stderr past the harness's capture) where it is absent outside CI. In CI
/// its absence fails the test.
#[allow(dead_code)]
pub fn shared_data() -> Option<DataRoot> {
    let dir = std::env::var_os("MM_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if dir.is_dir() {
        return Some(DataRoot::at(dir));
    }
    assert!(std::env::var_os("CI").is_none(), "{} is missing in CI", dir.display());
    let test = std::thread::current().name().unwrap_or("test").to_string();
    let _ = writeln!(std::io::stderr(), "{test}: skipping: {} not found (the real data sets: README.md, Data)", dir.display());
    None
}
