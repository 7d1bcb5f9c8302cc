use std::io::Write as _;
// A Python for the tests that compare with torchvision, shared by crates/mm-vision/tests/torchvision_parity.rs and
// xtask/tests/import_torchvision.rs (each `include!`s this file).

/// A Python that imports torch and torchvision: MM_PYTHON, else ~/.cache/mm/pyref. Without one the caller
/// skips, saying so, except under CI, where .ci/run provides it.
fn python_with_torchvision() -> Option<std::path::PathBuf> {
    let home = std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache/mm/pyref/bin/python"));
    let found = std::env::var_os("MM_PYTHON").map(std::path::PathBuf::from).into_iter().chain(home).find(|python| {
        std::process::Command::new(python).args(["-c", "import torch, torchvision"]).output().is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "CI must provide a Python with torch and torchvision (MM_PYTHON)");
        let _ = writeln!(std::io::stderr(), "{}: skipped: no Python with torch and torchvision (set MM_PYTHON)", std::thread::current().name().unwrap_or("test"));
    }
    found
}
