//! # mm-files
//!
//! Files a user keeps: one atomic writer for every crate of mm (a temporary file beside the target, fsync,
//! rename, fsync of the folder; the temporary file removed when the write fails), and size checks of file
//! headers before a reader allocates what they declare.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let target = dir.path().join("scores.json");
//! mm_files::write_bytes(&target, b"{}")?;
//! assert_eq!(std::fs::read(&target)?, b"{}");
//! # Ok::<(), std::io::Error>(())
//! ```

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The README's examples, compiled as doctests so that they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The temporary name a file is written under before it is renamed over `target`: `out.png` → `out.partial.png`
/// (encoders that choose the format by the extension still see it). A target without an extension gets
/// `format` as the temporary file's (`heat` → `heat.partial.png`), or none.
pub fn partial_path(target: &Path, format: Option<&str>) -> PathBuf {
    let mut extension = OsString::from("partial");
    if let Some(original) = target.extension().or(format.map(std::ffi::OsStr::new)) {
        extension.push(".");
        extension.push(original);
    }
    target.with_extension(extension)
}

/// A file being written under its temporary name ([`partial_path`]): [`Partial::commit`] flushes it to the
/// disk and renames it over the target; dropped without a commit (a write that failed), it is removed.
#[derive(Debug)]
pub struct Partial {
    target: PathBuf,
    temporary: PathBuf,
    committed: bool,
}

impl Partial {
    /// A temporary file for `target`, whose format is not chosen by its extension.
    pub fn new(target: &Path) -> Self {
        Self { target: target.to_path_buf(), temporary: partial_path(target, None), committed: false }
    }

    /// A temporary file for `target` that a writer choosing its format by the extension writes as `format`
    /// (`png`) when the target has no extension.
    pub fn with_format(target: &Path, format: &str) -> Self {
        Self { target: target.to_path_buf(), temporary: partial_path(target, Some(format)), committed: false }
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.temporary
    }

    /// fsyncs the written file, renames it over the target and fsyncs the folder, so that after a crash the
    /// target is the old file or the new one, whole.
    pub fn commit(mut self) -> io::Result<()> {
        File::open(&self.temporary)?.sync_all()?;
        std::fs::rename(&self.temporary, &self.target)?;
        self.committed = true;
        sync_dir(self.target.parent().unwrap_or(Path::new(".")))
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

/// Writes `target` through `body` (buffered) atomically: see [`Partial`].
pub fn write_with(target: &Path, body: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>) -> io::Result<()> {
    let partial = Partial::new(target);
    let mut out = BufWriter::new(File::create(partial.path())?);
    body(&mut out)?;
    // Flushed and closed here; `commit` fsyncs it.
    out.into_inner().map_err(|e| e.into_error())?;
    partial.commit()
}

/// Writes `bytes` to `target` atomically: see [`Partial`].
pub fn write_bytes(target: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(target, |out| out.write_all(bytes))
}

/// fsyncs a folder, so that renames and new files in it survive a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    File::open(dir)?.sync_all()
}

/// What a `.npy` header declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// The dtype, as numpy writes it (`<f8`, `<f4` …).
    pub descr: String,
    /// The array's shape.
    pub shape: Vec<u64>,
    /// Bytes before the data.
    pub data_offset: u64,
}

/// Reads a `.npy` header and checks that the file holds every value it declares, so that a reader can
/// allocate the array without trusting a number the file makes up. The error says what is wrong (the caller
/// names the file).
pub fn check_npy(path: &Path) -> Result<NpyHeader, String> {
    let mut file = File::open(path).map_err(|e| e.to_string())?;
    let file_len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut start = [0u8; 12];
    file.read_exact(&mut start).map_err(|_| "too short for a .npy header".to_string())?;
    if &start[..6] != b"\x93NUMPY" {
        return Err("not a .npy file (no \\x93NUMPY magic)".into());
    }
    let (header_len, prefix) = match start[6] {
        1 => (u64::from(u16::from_le_bytes([start[8], start[9]])), 10),
        2 | 3 => (u64::from(u32::from_le_bytes([start[8], start[9], start[10], start[11]])), 12),
        version => return Err(format!(".npy version {version} is not one numpy writes")),
    };
    if prefix + header_len > file_len || header_len > 1 << 20 {
        return Err(format!("the header declares {header_len} bytes, more than the {file_len}-byte file holds"));
    }
    let mut header = vec![0u8; header_len as usize];
    file.seek(SeekFrom::Start(prefix)).and_then(|_| file.read_exact(&mut header)).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&header);
    let field = |name: &str| -> Option<&str> {
        let at = text.find(&format!("'{name}'"))? + name.len() + 2;
        Some(text[at..].trim_start().strip_prefix(':')?.trim_start())
    };
    let descr = field("descr").and_then(|v| v.strip_prefix('\'')).and_then(|v| v.split('\'').next()).ok_or("the header has no 'descr'")?;
    let shape_text = field("shape").and_then(|v| v.strip_prefix('(')).and_then(|v| v.split(')').next()).ok_or("the header has no 'shape'")?;
    let shape: Vec<u64> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<u64>().map_err(|_| format!("shape ({shape_text}) is not a list of whole numbers")))
        .collect::<Result<_, _>>()?;
    let item_size: u64 = descr.trim_start_matches(['<', '>', '|', '=']).get(1..).and_then(|n| n.parse().ok()).ok_or(format!("dtype {descr:?} has no size"))?;
    let data_offset = prefix + header_len;
    let needed = shape.iter().try_fold(item_size, |bytes, &n| bytes.checked_mul(n));
    if needed.is_none_or(|needed| needed > file_len - data_offset) {
        return Err(format!("the header declares shape {shape:?} of {descr}, more than the {file_len}-byte file holds"));
    }
    Ok(NpyHeader { descr: descr.to_string(), shape, data_offset })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_names_keep_the_extension_or_take_the_format() {
        assert_eq!(partial_path(Path::new("a/out.png"), None), Path::new("a/out.partial.png"));
        assert_eq!(partial_path(Path::new("heat"), Some("png")), Path::new("heat.partial.png"));
        assert_eq!(partial_path(Path::new("heat"), None), Path::new("heat.partial"));
        assert_eq!(partial_path(Path::new("x.npy"), Some("png")), Path::new("x.partial.npy"));
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("kept.json");
        write_bytes(&target, b"old").unwrap();
        let error = write_with(&target, |out| {
            out.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(error.to_string(), "disk full");
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "the temporary file is removed");
        let partial = Partial::with_format(&dir.path().join("picture"), "png");
        std::fs::write(partial.path(), b"x").unwrap();
        drop(partial);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    fn npy(header: &str, data_bytes: usize) -> Vec<u8> {
        let mut dict = header.to_string();
        while !(10 + dict.len() + 1).is_multiple_of(64) {
            dict.push(' ');
        }
        dict.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        bytes.extend_from_slice(dict.as_bytes());
        bytes.extend(std::iter::repeat_n(0u8, data_bytes));
        bytes
    }

    #[test]
    fn npy_headers_are_checked_against_the_file_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        std::fs::write(&path, npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 8), }", 3 * 8 * 8)).unwrap();
        let header = check_npy(&path).unwrap();
        assert_eq!((header.descr.as_str(), header.shape), ("<f8", vec![3, 8]));
        std::fs::write(&path, npy("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 8), }", 64)).unwrap();
        let message = check_npy(&path).unwrap_err();
        assert!(message.contains("100000000000") && message.contains("more than"), "{message}");
        std::fs::write(&path, npy("{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551615, 2), }", 64)).unwrap();
        assert!(check_npy(&path).is_err(), "an overflowing product is refused");
        std::fs::write(&path, b"\x93NUMPY\x01\x00\xff\xff").unwrap();
        assert!(check_npy(&path).is_err());
        std::fs::write(&path, b"not npy at all").unwrap();
        assert!(check_npy(&path).unwrap_err().contains("magic"));
    }
}
