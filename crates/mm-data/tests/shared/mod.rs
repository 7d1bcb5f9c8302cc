//! What the tests of every crate that reads the real data share (mm-tasks' tests include this file).

use std::path::PathBuf;

use mm_data::DataRoot;

/// The project's real data (`../shared/data`, beside the checkout); `None` (the test then passes, saying so)
/// where it is absent outside CI. In CI its absence fails the test.
#[allow(dead_code)]
pub fn shared_data() -> Option<DataRoot> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.is_dir() {
        return Some(DataRoot::at(dir));
    }
    assert!(std::env::var_os("CI").is_none(), "{} is missing in CI", dir.display());
    eprintln!("skipping: {} not found", dir.display());
    None
}
