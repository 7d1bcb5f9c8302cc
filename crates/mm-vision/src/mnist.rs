//! MNIST in its original IDX format, gzipped or raw.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Reads a file whole, gunzipping it if it starts with the gzip magic bytes.
pub fn read_maybe_gzipped(path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    open_maybe_gzipped(path)?.0.read_to_end(&mut out).map_err(|e| gzip_error(path, e))?;
    Ok(out)
}

/// A reader of the file's bytes, gunzipped if it starts with the gzip magic bytes, and whether it was.
fn open_maybe_gzipped(path: &Path) -> Result<(Box<dyn Read>, bool)> {
    let mut file = std::io::BufReader::new(std::fs::File::open(path).map_err(|e| Error::io(path, e))?);
    let gzipped = std::io::BufRead::fill_buf(&mut file).map_err(|e| Error::io(path, e))?.starts_with(&[0x1f, 0x8b]);
    Ok((if gzipped { Box::new(flate2::read::MultiGzDecoder::new(file)) } else { Box::new(file) }, gzipped))
}

fn gzip_error(path: &Path, e: std::io::Error) -> Error {
    Error::io(path, std::io::Error::new(e.kind(), format!("corrupt gzip stream: {e}")))
}

/// The largest IDX payload read: 16 GiB, far above any real data set, so that a header (or a gzip bomb behind
/// one) cannot make the reader allocate without bound.
pub const MAX_IDX_BYTES: u64 = 1 << 34;

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
    /// than its header declares is an error, and so is a header declaring more than [`MAX_IDX_BYTES`]; the
    /// data is decompressed only up to the declared size, so a gzip bomb costs no more memory than its header
    /// claims.
    pub fn read(path: &Path) -> Result<Self> {
        let (mut reader, gzipped) = open_maybe_gzipped(path)?;
        // A raw file that ends early is short; a gzip stream that does may be short or corrupt.
        let ended = |what: &'static str| {
            move |e: std::io::Error| match (e.kind(), gzipped) {
                (std::io::ErrorKind::UnexpectedEof, false) => Error::invalid(path, what),
                _ => gzip_error(path, e),
            }
        };
        let mut magic = [0u8; 4];
        reader.read_exact(&mut magic).map_err(ended("not an IDX file: shorter than its 4-byte magic number"))?;
        if magic[0] != 0 || magic[1] != 0 {
            return Err(Error::invalid(path, "not an IDX file: the magic number does not start with two zero bytes"));
        }
        if magic[2] != 0x08 {
            return Err(Error::invalid(path, format!("IDX element type 0x{:02x} is not unsigned byte (0x08)", magic[2])));
        }
        let mut header = vec![0u8; 4 * magic[3] as usize];
        reader.read_exact(&mut header).map_err(ended("the IDX header is truncated"))?;
        let dims: Vec<usize> = header.chunks_exact(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).collect();
        let expected = dims.iter().try_fold(1u64, |size, &d| size.checked_mul(d as u64)).filter(|&size| size <= MAX_IDX_BYTES);
        let Some(expected) = expected else {
            return Err(Error::invalid(path, format!("the header declares dimensions {dims:?}, more than {MAX_IDX_BYTES} bytes of data")));
        };
        // One byte more than declared, to tell a longer file from an exact one; memory grows with what is read.
        let mut data = Vec::with_capacity(expected.min(1 << 26) as usize);
        reader.take(expected + 1).read_to_end(&mut data).map_err(|e| gzip_error(path, e))?;
        if data.len() as u64 != expected {
            let actual = if data.len() as u64 > expected { "more".to_string() } else { data.len().to_string() };
            return Err(Error::invalid(path, format!("the header declares {dims:?} = {expected} bytes of data but the file has {actual}")));
        }
        Ok(Self { dims, data })
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
    if (rows, cols) != (28, 28) {
        return Err(Error::invalid(&images_path, format!("MNIST pictures are 28×28; this file holds {rows}×{cols}")));
    }
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
        let pixels: Vec<u8> = (0..2 * 784).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.path().join("t10k-images-idx3-ubyte"), idx(&[2, 28, 28], &pixels)).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&idx(&[2], &[3, 9])).unwrap();
        std::fs::write(dir.path().join("t10k-labels-idx1-ubyte.gz"), gz.finish().unwrap()).unwrap();
        let split = read_mnist(dir.path(), MnistPart::Test).unwrap();
        assert_eq!((split.len(), split.image(1), split.labels.as_slice()), (2, &pixels[784..], &[3u8, 9][..]));

        let short = dir.path().join("short");
        std::fs::write(&short, idx(&[2, 2, 2], &[0; 7])).unwrap();
        assert!(IdxArray::read(&short).unwrap_err().to_string().contains("has 7"));
        let corrupt = dir.path().join("corrupt.gz");
        std::fs::write(&corrupt, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]).unwrap();
        let message = IdxArray::read(&corrupt).unwrap_err().to_string();
        assert!(message.contains("corrupt.gz") && message.contains("gzip"), "{message}");
        assert!(read_mnist(dir.path(), MnistPart::Train).unwrap_err().to_string().contains("train"));
    }

    #[test]
    fn absurd_headers_and_gzip_bombs_are_errors_not_allocations() {
        let dir = tempfile::tempdir().unwrap();
        let overflow = dir.path().join("overflow");
        std::fs::write(&overflow, idx(&[u32::MAX, u32::MAX, u32::MAX], &[])).unwrap();
        assert!(IdxArray::read(&overflow).unwrap_err().to_string().contains("more than"));
        // 1 GiB of zeros behind a header that declares 4 bytes: gzipped to about 1 MB, never decompressed whole.
        let bomb = dir.path().join("bomb.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&idx(&[4], &[])).unwrap();
        let zeros = vec![0u8; 1 << 20];
        (0..1024).for_each(|_| gz.write_all(&zeros).unwrap());
        std::fs::write(&bomb, gz.finish().unwrap()).unwrap();
        let message = IdxArray::read(&bomb).unwrap_err().to_string();
        assert!(message.contains("bomb.gz") && message.contains("more"), "{message}");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, []).unwrap();
        assert!(IdxArray::read(&empty).unwrap_err().to_string().contains("magic"));
        let truncated = dir.path().join("truncated");
        std::fs::write(&truncated, [0, 0, 8, 3, 0, 0]).unwrap();
        assert!(IdxArray::read(&truncated).unwrap_err().to_string().contains("truncated"));
    }

    #[test]
    fn mnist_pictures_must_be_28_by_28() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t10k-images-idx3-ubyte"), idx(&[1, 2, 2], &[0; 4])).unwrap();
        std::fs::write(dir.path().join("t10k-labels-idx1-ubyte"), idx(&[1], &[3])).unwrap();
        let message = read_mnist(dir.path(), MnistPart::Test).unwrap_err().to_string();
        assert!(message.contains("t10k-images") && message.contains("2×2"), "{message}");
    }
}
