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
        Ok(Self { path })
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

    /// Takes the run's lock (`run.lock`, naming the holding process) until the guard is dropped. A lock left by
    /// a process that no longer exists (killed) is taken over; one held by a live process is an error naming it.
    pub fn lock(&self) -> Result<RunLock, RunError> {
        let path = self.path.join(LOCK_FILE);
        let me = format!("pid {} on {}", std::process::id(), hostname());
        for _ in 0..2 {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    use std::io::Write;
                    file.write_all(me.as_bytes()).map_err(|e| RunError::io(&path, e))?;
                    return Ok(RunLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    if holder_alive(&holder) {
                        return Err(RunError::invalid(&path, format!("the run is in use by {holder}; two processes cannot write one run")));
                    }
                    eprintln!("warning: {} was left by {holder}, which no longer runs; taking it over", path.display());
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) => return Err(RunError::io(&path, e)),
            }
        }
        Err(RunError::invalid(&path, "could not take the lock"))
    }

    /// `root/TASK/latest` → this folder (a relative symbolic link, replaced atomically). A sub-run (a fold)
    /// leaves `latest` alone.
    pub fn publish(&self) -> Result<(), RunError> {
        let parent = self.path.parent().expect("a run folder has a task folder");
        if parent.join(LOCK_FILE).exists() || parent.join(super::fit::CONFIG_FILE).exists() {
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

/// The lock file in a run folder.
pub const LOCK_FILE: &str = "run.lock";

/// Holds a run's lock; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "this machine".into())
}

/// Whether the process a lock names ("pid N on HOST") still runs; a lock from another machine counts as held.
fn holder_alive(holder: &str) -> bool {
    let mut words = holder.split_whitespace();
    let (Some("pid"), Some(pid), Some("on"), Some(host)) = (words.next(), words.next(), words.next(), words.next()) else { return false };
    if host != hostname() {
        return true;
    }
    if pid == std::process::id().to_string() {
        return false;
    }
    Path::new("/proc").join(pid).exists() || !Path::new("/proc/self").exists()
}

/// Writes `bytes` to `path` through a temporary file, fsync and a rename, then fsyncs the folder: after a crash
/// a reader sees the old file or the new one, never a part.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    use std::io::Write;
    let partial = partial(path);
    let mut file = std::fs::File::create(&partial).map_err(|e| RunError::io(&partial, e))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| RunError::io(&partial, e))?;
    drop(file);
    std::fs::rename(&partial, path).map_err(|e| RunError::io(path, e))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// fsyncs a folder, so that renames and new files in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), RunError> {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    std::fs::File::open(dir).and_then(|f| f.sync_all()).map_err(|e| RunError::io(dir, e))
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
    fn a_lock_is_held_once_and_a_dead_holder_is_replaced() {
        let root = tempfile::tempdir().unwrap();
        let run = RunDir::create(root.path(), "demo", 0).unwrap();
        let lock = run.lock().unwrap();
        std::fs::write(run.path().join(LOCK_FILE), format!("pid 1 on {}", hostname())).unwrap();
        let message = run.lock().unwrap_err().to_string();
        assert!(message.contains("run.lock") && message.contains("pid 1"), "{message}");
        std::fs::write(run.path().join(LOCK_FILE), format!("pid 4000000000 on {}", hostname())).unwrap();
        drop(lock);
        std::fs::write(run.path().join(LOCK_FILE), format!("pid 4000000000 on {}", hostname())).unwrap();
        let _taken = run.lock().unwrap();
    }
}
