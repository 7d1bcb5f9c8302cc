//! `runs/TASK/RUN_ID/`: where a run keeps its config, metrics, curves, checkpoints and final model, and
//! `runs/TASK/latest`, which points at the newest run.

use std::path::{Path, PathBuf};

use super::RunError;

/// A run's folder.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// A new run folder `root/TASK/YYYYMMDD-HHMMSS-seedS` (a suffix is added if it exists), made the target of
    /// `root/TASK/latest`.
    pub fn create(root: &Path, task: &str, seed: u64) -> Result<Self, RunError> {
        let task_dir = root.join(task);
        std::fs::create_dir_all(&task_dir).map_err(|e| RunError::io(&task_dir, e))?;
        let stamp = timestamp();
        let mut path = task_dir.join(format!("{stamp}-seed{seed}"));
        let mut n = 1;
        while path.exists() {
            n += 1;
            path = task_dir.join(format!("{stamp}-seed{seed}-{n}"));
        }
        std::fs::create_dir_all(&path).map_err(|e| RunError::io(&path, e))?;
        let run = Self { path };
        run.point_latest()?;
        Ok(run)
    }

    /// An existing run folder (e.g. to resume or evaluate it); `root/TASK/latest` is followed.
    pub fn open(path: &Path) -> Result<Self, RunError> {
        let path = std::fs::canonicalize(path).map_err(|e| RunError::io(path, e))?;
        if !path.is_dir() {
            return Err(RunError::invalid(&path, "not a run folder"));
        }
        Ok(Self { path })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A sub-run (e.g. one fold of a cross-validation), created if missing.
    pub fn child(&self, name: &str) -> Result<Self, RunError> {
        let path = self.path.join(name);
        std::fs::create_dir_all(&path).map_err(|e| RunError::io(&path, e))?;
        Ok(Self { path })
    }

    /// `root/TASK/latest` → this folder (a relative symbolic link, replaced atomically).
    fn point_latest(&self) -> Result<(), RunError> {
        let parent = self.path.parent().expect("a run folder has a task folder");
        let latest = parent.join("latest");
        let partial = parent.join("latest.partial");
        let _ = std::fs::remove_file(&partial);
        let name = self.path.file_name().expect("a run folder has a name");
        #[cfg(unix)]
        std::os::unix::fs::symlink(name, &partial).map_err(|e| RunError::io(&partial, e))?;
        #[cfg(not(unix))]
        std::fs::write(&partial, name.as_encoded_bytes()).map_err(|e| RunError::io(&partial, e))?;
        std::fs::rename(&partial, &latest).map_err(|e| RunError::io(&latest, e))
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename: a reader sees the old file or the new one.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    let partial = partial(path);
    std::fs::write(&partial, bytes).map_err(|e| RunError::io(&partial, e))?;
    std::fs::rename(&partial, path).map_err(|e| RunError::io(path, e))
}

/// `name.partial` beside `path`.
pub(crate) fn partial(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// UTC time as `YYYYMMDD-HHMMSS`, from the system clock (civil-from-days, Howard Hinnant's algorithm).
fn timestamp() -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = ((seconds / 86_400) as i64, seconds % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}-{:02}{:02}{:02}", rest / 3600, rest / 60 % 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_get_their_own_folders_and_latest_follows() {
        let root = tempfile::tempdir().unwrap();
        let first = RunDir::create(root.path(), "demo", 3).unwrap();
        let second = RunDir::create(root.path(), "demo", 3).unwrap();
        assert_ne!(first.path(), second.path());
        assert!(first.path().file_name().unwrap().to_str().unwrap().ends_with("-seed3"));
        let latest = RunDir::open(&root.path().join("demo/latest")).unwrap();
        assert_eq!(latest.path(), std::fs::canonicalize(second.path()).unwrap());
        assert_eq!(timestamp().len(), 15);
    }
}
