//! A run's inputs pinned by content: every model, vector file or teacher a run starts from is recorded in its
//! `config.json` with its resolved path and an MD5 of its bytes, and `eval` and `--resume` refuse to go on
//! when one has changed since.

use std::io::Read;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use super::RunError;

/// One input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    /// The path as the config gave it.
    pub path: PathBuf,
    /// The file it resolved to when the run started (links followed).
    pub resolved: PathBuf,
    /// MD5 of its bytes, hex.
    pub md5: String,
}

impl Pin {
    /// Pins `path` as it is now.
    pub fn of(path: &Path) -> Result<Self, RunError> {
        let missing = |e: std::io::Error| RunError::MissingInput { path: path.into(), problem: e.to_string() };
        let resolved = std::fs::canonicalize(path).map_err(missing)?;
        Ok(Self { path: path.to_path_buf(), md5: md5_file(&resolved)?, resolved })
    }

    /// An error naming the file if it is no longer what the run started from.
    pub fn verify(&self) -> Result<(), RunError> {
        let now = md5_file(&self.resolved)
            .map_err(|e| RunError::invalid(&self.resolved, format!("an input of this run ({}) cannot be read any more: {e}", self.path.display())))?;
        if now != self.md5 {
            return Err(RunError::invalid(
                &self.resolved,
                format!("an input of this run ({}) changed since the run started (MD5 {} then, {now} now)", self.path.display(), self.md5),
            ));
        }
        Ok(())
    }
}

/// Pins every file in `paths`.
pub fn pin_all(paths: &[PathBuf]) -> Result<Vec<Pin>, RunError> {
    paths.iter().map(|p| Pin::of(p)).collect()
}

fn md5_file(path: &Path) -> Result<String, RunError> {
    let mut file = std::fs::File::open(path).map_err(|e| RunError::io(path, e))?;
    let mut hasher = Md5::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).map_err(|e| RunError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_input_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vectors.bin");
        std::fs::write(&file, b"abc").unwrap();
        let pin = Pin::of(&file).unwrap();
        assert_eq!(pin.md5, "900150983cd24fb0d6963f7d28e17f72");
        pin.verify().unwrap();
        std::fs::write(&file, b"abd").unwrap();
        let message = pin.verify().unwrap_err().to_string();
        assert!(message.contains("vectors.bin") && message.contains("changed"), "{message}");
    }
}
