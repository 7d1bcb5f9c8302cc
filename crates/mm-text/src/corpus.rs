//! Streaming text corpora, plain or gzipped, read line by line without loading the file whole.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// A corpus file: one sentence or document per line, or one long line (text8). Gzip is detected from the
/// content, not the name.
#[derive(Debug, Clone)]
pub struct Corpus {
    path: PathBuf,
}

impl Corpus {
    /// Checks that the file exists and can be opened.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        File::open(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
        Ok(Self { path })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A fresh reader over the lines of the file.
    pub fn lines(&self) -> Result<Lines> {
        let io = |source| Error::Io { path: self.path.clone(), source };
        let mut file = BufReader::with_capacity(1 << 20, File::open(&self.path).map_err(io)?);
        let gzipped = file.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
        let inner: Box<dyn BufRead + Send> =
            if gzipped { Box::new(BufReader::with_capacity(1 << 20, flate2::bufread::MultiGzDecoder::new(file))) } else { Box::new(file) };
        Ok(Lines { path: self.path.clone(), inner, buffer: Vec::new(), line: 0 })
    }

    /// Calls `each` with every whitespace-separated token, in order, and returns how many there were.
    pub fn for_each_token(&self, mut each: impl FnMut(&str)) -> Result<u64> {
        let mut lines = self.lines()?;
        let mut count = 0;
        while let Some(line) = lines.next_line()? {
            for token in line.split_ascii_whitespace() {
                each(token);
                count += 1;
            }
        }
        Ok(count)
    }
}

/// Lines of a corpus, each checked to be UTF-8. Use [`Lines::next_line`] to reuse one buffer, or iterate to
/// get owned strings.
pub struct Lines {
    path: PathBuf,
    inner: Box<dyn BufRead + Send>,
    buffer: Vec<u8>,
    line: usize,
}

impl Lines {
    /// The next line without its line ending, borrowed from an internal buffer; None at the end of the file.
    pub fn next_line(&mut self) -> Result<Option<&str>> {
        self.buffer.clear();
        let read = self.inner.read_until(b'\n', &mut self.buffer).map_err(|e| self.io_error(e))?;
        if read == 0 {
            return Ok(None);
        }
        self.line += 1;
        while matches!(self.buffer.last(), Some(b'\n' | b'\r')) {
            self.buffer.pop();
        }
        match std::str::from_utf8(&self.buffer) {
            Ok(text) => Ok(Some(text)),
            Err(e) => Err(Error::Line { path: self.path.clone(), line: self.line, problem: format!("invalid UTF-8 at byte {} of the line", e.valid_up_to()) }),
        }
    }

    /// 1-based number of the line last returned.
    pub fn line_number(&self) -> usize {
        self.line
    }

    fn io_error(&self, e: std::io::Error) -> Error {
        let problem = if self.line == 0 { e.to_string() } else { format!("{e} (after line {})", self.line) };
        Error::Io { path: self.path.clone(), source: std::io::Error::new(e.kind(), problem) }
    }
}

impl Iterator for Lines {
    type Item = Result<String>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_line().map(|line| line.map(str::to_owned)).transpose()
    }
}

/// Reads a whole (small) file as text, gunzipping if needed.
pub(crate) fn read_small_text(path: &Path) -> Result<Vec<String>> {
    Corpus::open(path)?.lines()?.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_plain_and_gzipped_lines_and_counts_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("c.txt");
        std::fs::write(&plain, "the cat sat\r\non the mat\nlast").unwrap();
        let gz = dir.path().join("c.gz");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(b"the cat sat\r\non the mat\nlast").unwrap();
        std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
        for path in [plain, gz] {
            let corpus = Corpus::open(&path).unwrap();
            let lines: Vec<String> = corpus.lines().unwrap().collect::<Result<_>>().unwrap();
            assert_eq!(lines, ["the cat sat", "on the mat", "last"]);
            let mut tokens = Vec::new();
            assert_eq!(corpus.for_each_token(|t| tokens.push(t.to_string())).unwrap(), 7);
            assert_eq!(tokens[3], "on");
        }
    }

    #[test]
    fn rejects_invalid_utf8_and_corrupt_gzip_naming_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let latin1 = dir.path().join("latin1.txt");
        std::fs::write(&latin1, b"fine\ncosts \xa3 5\n").unwrap();
        let message = Corpus::open(&latin1).unwrap().for_each_token(|_| {}).unwrap_err().to_string();
        assert!(message.contains("latin1.txt:2") && message.contains("UTF-8"), "{message}");

        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&b"some words here\n".repeat(5000)).unwrap();
        let mut bytes = encoder.finish().unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        bytes.truncate(bytes.len() - 3);
        let broken = dir.path().join("broken.txt.gz");
        std::fs::write(&broken, bytes).unwrap();
        let message = Corpus::open(&broken).unwrap().for_each_token(|_| {}).unwrap_err().to_string();
        assert!(message.contains("broken.txt.gz"), "{message}");
        assert!(Corpus::open(dir.path().join("absent.txt")).unwrap_err().to_string().contains("absent.txt"));
    }
}
