//! MNIST in its original IDX format, gzipped or raw.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Reads a file whole, gunzipping it if it starts with the gzip magic bytes.
pub fn read_maybe_gzipped(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::io(path, std::io::Error::new(e.kind(), format!("corrupt gzip stream: {e}"))))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// An IDX array of unsigned bytes: its dimensions and its data, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// Dimensions, outermost first.
    pub dims: Vec<usize>,
    /// `dims.product()` bytes.
    pub data: Vec<u8>,
}

impl IdxArray {
    /// Reads an IDX file of unsigned bytes (type 0x08), gzipped or raw. A file whose data is shorter or longer
    /// than its header declares is an error.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = read_maybe_gzipped(path)?;
        if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
            return Err(Error::invalid(path, "not an IDX file: the magic number does not start with two zero bytes"));
        }
        if bytes[2] != 0x08 {
            return Err(Error::invalid(path, format!("IDX element type 0x{:02x} is not unsigned byte (0x08)", bytes[2])));
        }
        let n_dims = bytes[3] as usize;
        let header = 4 + 4 * n_dims;
        if bytes.len() < header {
            return Err(Error::invalid(path, "the IDX header is truncated"));
        }
        let dims: Vec<usize> = bytes[4..header].chunks_exact(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).collect();
        let expected: usize = dims.iter().product();
        let actual = bytes.len() - header;
        if actual != expected {
            return Err(Error::invalid(path, format!("the header declares {dims:?} = {expected} bytes of data but the file has {actual}")));
        }
        Ok(Self { dims, data: bytes[header..].to_vec() })
    }
}

/// One MNIST split: `count` images of `rows × cols` bytes (0 = background, 255 = ink) and their labels.
#[derive(Debug, Clone)]
pub struct MnistSplit {
    /// `count * rows * cols` pixels, image after image, row-major.
    pub pixels: Vec<u8>,
    /// `count` labels 0–9.
    pub labels: Vec<u8>,
    /// Image height.
    pub rows: usize,
    /// Image width.
    pub cols: usize,
}

impl MnistSplit {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let size = self.rows * self.cols;
        &self.pixels[i * size..(i + 1) * size]
    }
}

/// Which MNIST split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MnistPart {
    /// 60,000 training images.
    Train,
    /// 10,000 test images (`t10k`).
    Test,
}

impl MnistPart {
    fn prefix(self) -> &'static str {
        match self {
            MnistPart::Train => "train",
            MnistPart::Test => "t10k",
        }
    }
}

/// The path of an MNIST file in `dir`, under any of its usual names (`train-images-idx3-ubyte.gz`,
/// `train-images-idx3-ubyte`, `train-images.idx3-ubyte`).
pub fn find_mnist_file(dir: &Path, part: MnistPart, images: bool) -> Result<PathBuf> {
    let (kind, idx) = if images { ("images", "idx3-ubyte") } else { ("labels", "idx1-ubyte") };
    let prefix = part.prefix();
    let candidates = [format!("{prefix}-{kind}-{idx}.gz"), format!("{prefix}-{kind}-{idx}"), format!("{prefix}-{kind}.{idx}")];
    candidates
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::invalid(dir, format!("no MNIST {prefix} {kind} file here (looked for {})", candidates.join(", "))))
}

/// Reads one split from a folder holding the four MNIST files.
pub fn read_mnist(dir: impl AsRef<Path>, part: MnistPart) -> Result<MnistSplit> {
    let dir = dir.as_ref();
    let images_path = find_mnist_file(dir, part, true)?;
    let labels_path = find_mnist_file(dir, part, false)?;
    let images = IdxArray::read(&images_path)?;
    let labels = IdxArray::read(&labels_path)?;
    let [count, rows, cols] = images.dims[..] else {
        return Err(Error::invalid(&images_path, format!("expected 3 dimensions (count, rows, cols), got {:?}", images.dims)));
    };
    if labels.dims != [count] {
        return Err(Error::invalid(&labels_path, format!("{:?} labels for {count} images", labels.dims)));
    }
    if let Some(bad) = labels.data.iter().find(|&&l| l > 9) {
        return Err(Error::invalid(&labels_path, format!("label {bad} is not a digit")));
    }
    Ok(MnistSplit { pixels: images.data, labels: labels.data, rows, cols })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = vec![0, 0, 8, dims.len() as u8];
        dims.iter().for_each(|d| out.extend(d.to_be_bytes()));
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn reads_raw_and_gzipped_files_and_rejects_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t10k-images-idx3-ubyte"), idx(&[2, 2, 2], &[0, 1, 2, 3, 4, 5, 6, 7])).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&idx(&[2], &[3, 9])).unwrap();
        std::fs::write(dir.path().join("t10k-labels-idx1-ubyte.gz"), gz.finish().unwrap()).unwrap();
        let split = read_mnist(dir.path(), MnistPart::Test).unwrap();
        assert_eq!((split.len(), split.image(1), split.labels.as_slice()), (2, &[4u8, 5, 6, 7][..], &[3u8, 9][..]));

        let short = dir.path().join("short");
        std::fs::write(&short, idx(&[2, 2, 2], &[0; 7])).unwrap();
        assert!(IdxArray::read(&short).unwrap_err().to_string().contains("has 7"));
        let corrupt = dir.path().join("corrupt.gz");
        std::fs::write(&corrupt, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]).unwrap();
        let message = IdxArray::read(&corrupt).unwrap_err().to_string();
        assert!(message.contains("corrupt.gz") && message.contains("gzip"), "{message}");
        assert!(read_mnist(dir.path(), MnistPart::Train).unwrap_err().to_string().contains("train"));
    }
}
