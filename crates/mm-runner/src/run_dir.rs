//! `runs/TASK/RUN_ID/`: where a run keeps its config, metrics, curves, checkpoints and final model, and
//! `runs/TASK/latest`, which points at the newest run.

use std::path::{Path, PathBuf};

use super::RunError;

/// A run's folder.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
    /// The run this one is a part of (a fold of a cross-validation), when it was made by [`RunDir::child`].
    owner: Option<Box<RunDir>>,
}

impl RunDir {
    /// A new run folder `root/TASK/YYYYMMDD-HHMMSS-seedS` (a suffix is added if it exists). `root/TASK/latest`
    /// moves to it only when [`RunDir::publish`] says the run has started (its config is written), so that a
    /// start that fails does not hide the last good run.
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
        Ok(Self { path, owner: None })
    }

    /// An existing run folder (e.g. to resume or evaluate it); `root/TASK/latest` is followed.
    pub fn open(path: &Path) -> Result<Self, RunError> {
        let path = std::fs::canonicalize(path).map_err(|e| RunError::io(path, e))?;
        if !path.is_dir() {
            return Err(RunError::invalid(&path, "not a run folder"));
        }
        Ok(Self { path, owner: None })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A sub-run (e.g. one fold of a cross-validation), created if missing.
    pub fn child(&self, name: &str) -> Result<Self, RunError> {
        let path = self.path.join(name);
        std::fs::create_dir_all(&path).map_err(|e| RunError::io(&path, e))?;
        Ok(Self { path, owner: Some(Box::new(self.clone())) })
    }

    /// Takes the run's lock until the guard is dropped: an exclusive `flock` on `run.lock`, which the kernel
    /// releases when the holder exits, however it exits (killed included), so a dead holder never blocks a run
    /// and two live processes can never both hold it. The file names the holder, for the error another process
    /// gets; it stays in the folder, since removing it would let a process that opened it just before lock a file
    /// no one else sees.
    pub fn lock(&self) -> Result<RunLock, RunError> {
        use std::io::{Seek, Write};
        let path = self.path.join(LOCK_FILE);
        let mut file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(|e| RunError::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                let holder = if holder.trim().is_empty() { "another process".to_string() } else { holder.trim().to_string() };
                return Err(RunError::invalid(&path, format!("the run is in use by {holder}; two processes cannot write one run")));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(RunError::io(&path, e)),
        }
        let me = format!("pid {} on {}", std::process::id(), hostname());
        file.set_len(0).and_then(|()| file.rewind()).and_then(|()| file.write_all(me.as_bytes())).map_err(|e| RunError::io(&path, e))?;
        Ok(RunLock { file })
    }

    /// `root/TASK/latest` → this folder (a relative symbolic link, replaced atomically). A part of a run (a fold,
    /// made by [`RunDir::child`]) publishes the run it belongs to instead, so that a run of parts becomes the
    /// latest once its first part has started; a sub-run opened on its own leaves `latest` alone.
    pub fn publish(&self) -> Result<(), RunError> {
        if let Some(owner) = &self.owner {
            return owner.publish();
        }
        let parent = self.path.parent().expect("a run folder has a task folder");
        if parent.join(LOCK_FILE).exists() || parent.join(CONFIG_FILE).exists() {
            return Ok(());
        }
        let latest = parent.join("latest");
        let partial = parent.join("latest.partial");
        let _ = std::fs::remove_file(&partial);
        let name = self.path.file_name().expect("a run folder has a name");
        if std::fs::read_link(&latest).is_ok_and(|target| target == Path::new(name)) {
            return Ok(());
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(name, &partial).map_err(|e| RunError::io(&partial, e))?;
        #[cfg(not(unix))]
        std::fs::write(&partial, name.as_encoded_bytes()).map_err(|e| RunError::io(&partial, e))?;
        std::fs::rename(&partial, &latest).map_err(|e| RunError::io(&latest, e))?;
        sync_dir(parent)
    }
}

/// The config a run was trained with (and its pinned inputs), saved beside its weights.
pub const CONFIG_FILE: &str = "config.json";
/// The final weights: the best epoch's by the task's validation score.
pub const MODEL_FILE: &str = "model.safetensors";
/// Per-epoch metrics.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// The learning-curve picture.
pub const CURVES_FILE: &str = "curves.png";
/// The test split's report, written when a run finishes.
pub const EVALUATION_FILE: &str = "evaluation.json";
/// The lock file in a run folder.
pub const LOCK_FILE: &str = "run.lock";

/// Holds a run's lock; dropping it (or the process ending) releases the lock.
#[derive(Debug)]
pub struct RunLock {
    file: std::fs::File,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // The holder's name goes, so that the file reads as free; the kernel releases the lock with the file.
        let _ = self.file.set_len(0);
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "this machine".into())
}

/// Writes `bytes` to `path` through mm-files' atomic writer (temporary file, fsync, rename, fsync of the folder):
/// after a crash a reader sees the old file or the new one, never a part.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    mm_files::write_bytes(path, bytes).map_err(|e| RunError::io(path, e))
}

/// fsyncs a folder, so that renames and new files in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), RunError> {
    mm_files::sync_dir(dir).map_err(|e| RunError::io(dir, e))
}

/// fsyncs every file in a folder, then the folder.
pub(crate) fn sync_tree(dir: &Path) -> Result<(), RunError> {
    for entry in std::fs::read_dir(dir).map_err(|e| RunError::io(dir, e))? {
        let path = entry.map_err(|e| RunError::io(dir, e))?.path();
        if path.is_file() {
            std::fs::File::open(&path).and_then(|f| f.sync_all()).map_err(|e| RunError::io(&path, e))?;
        }
    }
    sync_dir(dir)
}

/// `name.partial` beside the folder `path` (a checkpoint being written).
pub(crate) fn partial_folder(path: &Path) -> PathBuf {
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
        first.publish().unwrap();
        let second = RunDir::create(root.path(), "demo", 3).unwrap();
        let latest = RunDir::open(&root.path().join("demo/latest")).unwrap();
        assert_eq!(latest.path(), std::fs::canonicalize(first.path()).unwrap(), "latest moves only on publish");
        second.publish().unwrap();
        assert_ne!(first.path(), second.path());
        assert!(first.path().file_name().unwrap().to_str().unwrap().ends_with("-seed3"));
        let latest = RunDir::open(&root.path().join("demo/latest")).unwrap();
        assert_eq!(latest.path(), std::fs::canonicalize(second.path()).unwrap());
        assert_eq!(timestamp().len(), 15);
    }

    #[test]
    fn a_lock_is_held_once_and_a_stale_lock_file_is_free() {
        let root = tempfile::tempdir().unwrap();
        let run = RunDir::create(root.path(), "demo", 0).unwrap();
        let lock = run.lock().unwrap();
        let message = run.lock().unwrap_err().to_string();
        assert!(message.contains("run.lock") && message.contains(&format!("pid {}", std::process::id())), "{message}");
        drop(lock);
        // A file left by a process that died names it, but holds no lock.
        std::fs::write(run.path().join(LOCK_FILE), format!("pid 4000000000 on {}", hostname())).unwrap();
        let _taken = run.lock().unwrap();
    }

    #[test]
    fn threads_racing_for_a_lock_get_it_once() {
        let root = tempfile::tempdir().unwrap();
        let run = RunDir::create(root.path(), "demo", 0).unwrap();
        for _ in 0..20 {
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
            let winners: Vec<_> = (0..8)
                .map(|_| {
                    let (run, barrier) = (run.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        let held = run.lock().ok();
                        barrier.wait();
                        held.is_some()
                    })
                })
                .collect();
            let held = winners.into_iter().map(|w| w.join().unwrap()).filter(|&held| held).count();
            assert_eq!(held, 1, "exactly one of eight racing takers holds the lock");
        }
    }
}
