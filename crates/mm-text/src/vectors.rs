//! Word vectors (the rows of word2vec's input matrix W) and the original word2vec text and binary formats, which
//! gensim's `KeyedVectors.load_word2vec_format` reads and `save_word2vec_format` writes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use crate::{Error, Result};

/// Words and their vectors, row `i` belonging to `words[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct WordVectors {
    words: Vec<String>,
    index: HashMap<String, u32>,
    dim: usize,
    data: Vec<f32>,
}

impl WordVectors {
    /// Vectors from words and a row-major `[words, dim]` matrix.
    pub fn new(words: Vec<String>, dim: usize, data: Vec<f32>) -> Self {
        assert_eq!(words.len() * dim, data.len(), "one row of `dim` values per word");
        let index = words.iter().enumerate().map(|(i, w)| (w.clone(), i as u32)).collect();
        Self { words, index, dim, data }
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether there are no words.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Dimension of the vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The words, in row order.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The row of `word`.
    pub fn id(&self, word: &str) -> Option<usize> {
        self.index.get(word).map(|&i| i as usize)
    }

    /// The vector of row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The vector of `word`.
    pub fn get(&self, word: &str) -> Option<&[f32]> {
        self.id(word).map(|i| self.row(i))
    }

    /// The whole matrix, row-major.
    pub fn matrix(&self) -> &[f32] {
        &self.data
    }

    /// Writes the word2vec text format: a `count dim` line, then `word v1 … vdim` per line.
    pub fn write_text(&self, path: impl AsRef<Path>) -> Result<()> {
        self.write_lines(path.as_ref(), |out, word, row| {
            write!(out, "{word}")?;
            for v in row {
                write!(out, " {v}")?;
            }
            writeln!(out)
        })
    }

    /// Writes the word2vec binary format: a `count dim` line, then per word `word `, `dim` little-endian f32 and a
    /// newline (as word2vec.c does; gensim reads it).
    pub fn write_binary(&self, path: impl AsRef<Path>) -> Result<()> {
        self.write_lines(path.as_ref(), |out, word, row| {
            write!(out, "{word} ")?;
            for v in row {
                out.write_all(&v.to_le_bytes())?;
            }
            writeln!(out)
        })
    }

    /// Writes the word2vec header and one line per word, through a temporary file renamed at the end.
    fn write_lines(&self, path: &Path, mut line: impl FnMut(&mut BufWriter<std::fs::File>, &str, &[f32]) -> std::io::Result<()>) -> Result<()> {
        self.write(path, |out| {
            writeln!(out, "{} {}", self.len(), self.dim)?;
            for (i, word) in self.words.iter().enumerate() {
                line(out, word, self.row(i))?;
            }
            Ok(())
        })
    }

    /// Writes `body` through [`write_atomically`]: a reader never sees half a file, a crash never loses the old one.
    fn write(&self, path: &Path, body: impl FnOnce(&mut BufWriter<std::fs::File>) -> std::io::Result<()>) -> Result<()> {
        write_atomically(path, body)
    }

    /// Writes a safetensors file: the matrix as the F32 tensor `vectors` `[count, dim]`, the words (in row
    /// order) as a JSON array in the metadata entry `words`.
    pub fn write_safetensors(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes: Vec<u8> = self.data.iter().flat_map(|v| v.to_le_bytes()).collect();
        let invalid = |problem: String| Error::Invalid { path: path.into(), problem };
        let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![self.len(), self.dim], &bytes).map_err(|e| invalid(e.to_string()))?;
        let words = serde_json::to_string(&self.words).map_err(|e| invalid(e.to_string()))?;
        let metadata = [(WORDS_KEY.to_string(), words)].into_iter().collect();
        let file = safetensors::tensor::serialize([(VECTORS_KEY, view)], Some(metadata)).map_err(|e| invalid(e.to_string()))?;
        self.write(path, |out| out.write_all(&file))
    }

    /// Reads a file written by [`WordVectors::write_safetensors`].
    pub fn read_safetensors(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.into(), source })?;
        let invalid = |problem: String| Error::Invalid { path: path.into(), problem };
        let (_, metadata) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| invalid(e.to_string()))?;
        let words = metadata.metadata().as_ref().and_then(|m| m.get(WORDS_KEY));
        let words: Vec<String> = serde_json::from_str(words.ok_or_else(|| invalid(format!("no '{WORDS_KEY}' metadata")))?)
            .map_err(|e| invalid(format!("metadata '{WORDS_KEY}': {e}")))?;
        let tensors = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| invalid(e.to_string()))?;
        let tensor = tensors.tensor(VECTORS_KEY).map_err(|e| invalid(e.to_string()))?;
        match (tensor.dtype(), tensor.shape()) {
            (safetensors::Dtype::F32, &[count, dim]) if count == words.len() && dim > 0 => {
                let data = tensor.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
                Ok(Self::new(words, dim, data))
            }
            (dtype, shape) => {
                Err(invalid(format!("'{VECTORS_KEY}' is {dtype:?} {shape:?}; expected F32 [{}, dim] for the {} words", words.len(), words.len())))
            }
        }
    }

    /// Writes in the format the extension names: `.txt` or `.vec` → word2vec text, `.safetensors` →
    /// safetensors, anything else → word2vec binary.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        match Format::of(path) {
            Format::Text => self.write_text(path),
            Format::Safetensors => self.write_safetensors(path),
            Format::Binary => self.write_binary(path),
        }
    }

    /// Reads the format the extension names, as [`WordVectors::save`] writes it.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        match Format::of(path) {
            Format::Text => Self::read_text(path),
            Format::Safetensors => Self::read_safetensors(path),
            Format::Binary => Self::read_binary(path),
        }
    }

    /// Reads the word2vec text format.
    pub fn read_text(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let mut reader = open(path)?;
        // Each value takes at least two bytes in text: a digit and a separator.
        let (count, dim) = header(path, &mut reader, 2)?;
        let mut words = Vec::with_capacity(count);
        let mut data = Vec::with_capacity(count * dim);
        let mut line = String::new();
        for number in 2..count + 2 {
            let bad = |problem: String| Error::Line { path: path.into(), line: number, problem };
            line.clear();
            if reader.read_line(&mut line).map_err(|source| Error::Io { path: path.into(), source })? == 0 {
                return Err(bad(format!("the header promises {count} words but the file ends")));
            }
            let mut fields = line.split_ascii_whitespace();
            let word = fields.next().ok_or_else(|| bad("empty line".into()))?;
            let before = data.len();
            for field in fields {
                data.push(field.parse::<f32>().map_err(|_| bad(format!("{field:?} is not a number")))?);
            }
            if data.len() - before != dim {
                return Err(bad(format!("{} values for {word:?}, expected {dim}", data.len() - before)));
            }
            words.push(word.to_string());
        }
        Ok(Self::new(words, dim, data))
    }

    /// Reads the word2vec binary format (with or without a newline after each vector).
    pub fn read_binary(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let mut reader = open(path)?;
        let (count, dim) = header(path, &mut reader, 4)?;
        let truncated = |i: usize| Error::Invalid { path: path.into(), problem: format!("the file ends in word {} of {count}", i + 1) };
        let mut words = Vec::with_capacity(count);
        let mut data = vec![0f32; count * dim];
        let mut bytes = vec![0u8; dim * 4];
        let mut word = Vec::new();
        for i in 0..count {
            word.clear();
            reader.read_until(b' ', &mut word).map_err(|source| Error::Io { path: path.into(), source })?;
            if word.last() != Some(&b' ') {
                return Err(truncated(i));
            }
            word.pop();
            let text = std::str::from_utf8(&word).map_err(|_| Error::Invalid { path: path.into(), problem: format!("word {} is not UTF-8", i + 1) })?;
            words.push(text.trim_start_matches('\n').to_string());
            reader.read_exact(&mut bytes).map_err(|_| truncated(i))?;
            for (v, chunk) in data[i * dim..(i + 1) * dim].iter_mut().zip(bytes.chunks_exact(4)) {
                *v = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            }
        }
        Ok(Self::new(words, dim, data))
    }
}

const VECTORS_KEY: &str = "vectors";
const WORDS_KEY: &str = "words";

/// The file formats, told apart by extension.
enum Format {
    Text,
    Binary,
    Safetensors,
}

impl Format {
    fn of(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("txt" | "vec") => Self::Text,
            Some("safetensors") => Self::Safetensors,
            _ => Self::Binary,
        }
    }
}

fn open(path: &Path) -> Result<BufReader<std::fs::File>> {
    Ok(BufReader::new(std::fs::File::open(path).map_err(|source| Error::Io { path: path.into(), source })?))
}

/// Reads the `count dim` header and checks it against the file's size (each value takes at least
/// `bytes_per_value` bytes), so that a corrupt header is an error rather than an enormous allocation.
fn header(path: &Path, reader: &mut BufReader<std::fs::File>, bytes_per_value: u64) -> Result<(usize, usize)> {
    let io = |source| Error::Io { path: path.into(), source };
    let file_bytes = reader.get_ref().metadata().map_err(io)?.len();
    let mut line = String::new();
    reader.read_line(&mut line).map_err(io)?;
    let bad = |problem: String| Error::Line { path: path.into(), line: 1, problem };
    let mut fields = line.split_ascii_whitespace().map(str::parse::<usize>);
    let (count, dim) = match (fields.next(), fields.next(), fields.next()) {
        (Some(Ok(count)), Some(Ok(dim)), None) if dim > 0 => (count, dim),
        _ => return Err(bad(format!("expected a 'count dim' header, got {:?}", line.trim()))),
    };
    let needed = (count as u64).checked_mul(dim as u64).and_then(|v| v.checked_mul(bytes_per_value));
    if needed.is_none_or(|needed| needed > file_bytes) {
        return Err(bad(format!("the header declares {count} vectors of {dim} values, more than the {file_bytes}-byte file holds")));
    }
    Ok((count, dim))
}

/// Writes `body` to `path` through mm-files' atomic writer (temporary file, fsync, rename).
pub(crate) fn write_atomically(path: &Path, body: impl FnOnce(&mut BufWriter<std::fs::File>) -> std::io::Result<()>) -> Result<()> {
    mm_files::write_with(path, body).map_err(|source| Error::Io { path: path.into(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> WordVectors {
        WordVectors::new(vec!["the".into(), "café".into()], 3, vec![0.5, -1.25, 3.0e-7, 1.0, 2.0, -0.0078125])
    }

    #[test]
    fn round_trips_through_both_formats() {
        let dir = tempfile::tempdir().unwrap();
        let (text, binary) = (dir.path().join("v.txt"), dir.path().join("v.bin"));
        sample().write_text(&text).unwrap();
        sample().write_binary(&binary).unwrap();
        assert_eq!(WordVectors::read_text(&text).unwrap(), sample());
        assert_eq!(WordVectors::read_binary(&binary).unwrap(), sample());
        assert!(std::fs::read_to_string(&text).unwrap().starts_with("2 3\nthe 0.5 -1.25 0.0000003\n"));
    }

    #[test]
    fn round_trips_through_safetensors_and_picks_the_format_by_extension() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["v.safetensors", "v.vec", "v.txt", "v.bin"] {
            let path = dir.path().join(name);
            sample().save(&path).unwrap();
            assert_eq!(WordVectors::load(&path).unwrap(), sample(), "{name}");
        }
        assert!(std::fs::read(dir.path().join("v.vec")).unwrap().starts_with(b"2 3\nthe 0.5"));
        let text_as_safetensors = dir.path().join("text.safetensors");
        std::fs::copy(dir.path().join("v.txt"), &text_as_safetensors).unwrap();
        assert!(WordVectors::load(&text_as_safetensors).unwrap_err().to_string().contains("text.safetensors"));
    }

    #[test]
    fn malformed_files_are_errors_naming_file_and_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.txt");
        std::fs::write(&path, "2 3\nthe 1 2 3\ncat 1 2\n").unwrap();
        assert!(WordVectors::read_text(&path).unwrap_err().to_string().contains("bad.txt:3"));
        std::fs::write(&path, "two 3\n").unwrap();
        assert!(WordVectors::read_text(&path).unwrap_err().to_string().contains("bad.txt:1"));
        std::fs::write(&path, "99999999999 300\nthe 1 2 3\n").unwrap();
        assert!(WordVectors::read_text(&path).unwrap_err().to_string().contains("more than the"));
        std::fs::write(&path, "18446744073709551615 300\n").unwrap();
        assert!(WordVectors::read_binary(&path).unwrap_err().to_string().contains("more than the"));
        let binary = dir.path().join("cut.bin");
        sample().write_binary(&binary).unwrap();
        let bytes = std::fs::read(&binary).unwrap();
        std::fs::write(&binary, &bytes[..bytes.len() - 6]).unwrap();
        assert!(WordVectors::read_binary(&binary).unwrap_err().to_string().contains("ends in word 2 of 2"));
    }
}
