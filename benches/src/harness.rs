//! What every bench shares: the thread count the references get, the median of timed calls, the Python that
//! runs the reference tools, and the one error type.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde::de::DeserializeOwned;

/// Why a bench could not be run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A reference script failed.
    #[error("{}: {stderr}", script.display())]
    Reference {
        /// The script.
        script: PathBuf,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A reference tool could not be installed or built.
    #[error("{0}")]
    Setup(String),
    /// A setting cannot work.
    #[error("{name} = {value}: {why}")]
    BadSetting {
        /// The flag.
        name: &'static str,
        /// Its value.
        value: String,
        /// Why.
        why: String,
    },
    /// A file or a process could not be had.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A reference printed something other than the JSON it should.
    #[error("a reference's output: {0}")]
    Output(#[from] serde_json::Error),
    /// mm-audio refused the input or a setting.
    #[error(transparent)]
    Audio(#[from] mm_audio::Error),
    /// mm-text refused the corpus, the benchmarks or a setting.
    #[error(transparent)]
    Text(#[from] mm_text::Error),
    /// The device could not be had.
    #[error(transparent)]
    Device(#[from] mm_tasks::device::DeviceError),
}

/// The thread count to give the references: `flag` when given, else flex's (rayon's pool: RAYON_NUM_THREADS,
/// else every core).
pub fn flex_threads(flag: Option<usize>) -> usize {
    flag.unwrap_or_else(|| {
        std::env::var("RAYON_NUM_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    })
}

/// Median wall time of `repeats` calls in milliseconds, after two warm-up calls.
pub fn median_ms<T>(repeats: usize, mut call: impl FnMut() -> T) -> f64 {
    for _ in 0..2 {
        std::hint::black_box(call());
    }
    let mut times: Vec<f64> = (0..repeats.max(1))
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(call());
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// A Python that imports `modules`: `explicit`, else MM_PYTHON, else a virtual environment in ~/.cache/mm/pyref
/// (created, and filled with `packages` by pip, when it cannot import them).
pub fn python_with(explicit: Option<PathBuf>, modules: &str, packages: &[&str]) -> Result<PathBuf, BenchError> {
    if let Some(python) = explicit.or_else(|| std::env::var_os("MM_PYTHON").map(PathBuf::from)) {
        return Ok(python);
    }
    let home = std::env::var_os("HOME").ok_or_else(|| BenchError::Setup("HOME is not set: pass --python".into()))?;
    let venv = Path::new(&home).join(".cache/mm/pyref");
    let python = venv.join("bin/python");
    let ready = python.exists() && Command::new(&python).args(["-c", &format!("import {modules}")]).status()?.success();
    if !ready {
        eprintln!("installing {} with pip into {} (once) …", packages.join(", "), venv.display());
        let status = Command::new("python3").arg("-m").arg("venv").arg(&venv).status()?;
        if !status.success() {
            return Err(BenchError::Setup("python3 -m venv failed (apt-get install python3-venv?)".into()));
        }
        if !Command::new(&python).args(["-m", "pip", "install", "--quiet"]).args(packages).status()?.success() {
            return Err(BenchError::Setup("pip install of the reference tools failed".into()));
        }
    }
    Ok(python)
}

/// A script of `benches/reference/`.
pub fn reference_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("reference").join(name)
}

/// Runs `script` (a reference) by `command` and reads the JSON it prints.
pub fn reference_output<T: DeserializeOwned>(script: &Path, command: &mut Command) -> Result<T, BenchError> {
    let output = command.output()?;
    if !output.status.success() {
        return Err(BenchError::Reference { script: script.to_path_buf(), stderr: String::from_utf8_lossy(&output.stderr).into_owned() });
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}
