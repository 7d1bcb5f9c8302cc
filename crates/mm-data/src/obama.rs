//! ObamaNet's speech with the speaker's mouth shape every video frame (`obama/` in the data root; its README,
//! section 7): 65 segments of one weekly address, 16 kHz WAV, and 8 PCA coefficients of the mouth landmarks at
//! four rows per video frame (29.97 fps; rows 4k are the frames, the three rows between interpolate, the last
//! three rows of every file are padding).

use std::path::{Path, PathBuf};

use mm_audio::Audio;
use ndarray::Array2;
use ndarray_npy::read_npy;

use crate::DataError;

/// The video's frame rate, 30000/1001.
pub const VIDEO_FPS: f64 = 30_000.0 / 1001.0;
/// Rows of the mouth files per video frame.
pub const ROWS_PER_FRAME: usize = 4;
/// Mouth coefficients per row.
pub const MOUTH_COEFFICIENTS: usize = 8;

/// One segment of the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObamaSegment {
    /// `00002-NNN`.
    pub name: String,
    /// The data set's own split (`train` or `test`).
    pub split: String,
    /// The WAV file.
    pub audio: PathBuf,
    /// The mouth coefficients (`.npy`, `[rows, 8]` float64).
    pub mouth: PathBuf,
}

impl ObamaSegment {
    /// The segment's speech.
    pub fn load_audio(&self) -> Result<Audio, DataError> {
        Ok(mm_audio::read_wav(&self.audio)?)
    }

    /// The mouth coefficients of each video frame, `[frames, 8]` (rows 0, 4, 8 … of the file).
    pub fn load_mouth_frames(&self) -> Result<Array2<f32>, DataError> {
        mouth_frames(&self.mouth)
    }
}

/// Reads a mouth-coefficient file in the data set's layout (`[4 × frames, 8]` float64, or float32) and keeps one
/// row per video frame: `[frames, 8]`.
pub fn mouth_frames(path: &Path) -> Result<Array2<f32>, DataError> {
    // The header's shape is checked against the file's size before the reader allocates it.
    mm_files::check_npy(path).map_err(|problem| DataError::invalid(path, problem))?;
    let rows: Array2<f32> = match read_npy::<_, Array2<f64>>(path) {
        Ok(rows) => rows.mapv(|v| v as f32),
        Err(_) => read_npy::<_, Array2<f32>>(path).map_err(|e| DataError::invalid(path, format!("not a [rows, 8] float .npy array: {e}")))?,
    };
    if rows.ncols() != MOUTH_COEFFICIENTS || rows.nrows() < ROWS_PER_FRAME {
        return Err(DataError::invalid(path, format!("shape {:?}: expected [4 × frames, 8] mouth coefficients", rows.dim())));
    }
    if !rows.iter().all(|v| v.is_finite()) {
        return Err(DataError::invalid(path, "a coefficient is not finite"));
    }
    let frames = rows.nrows() / ROWS_PER_FRAME;
    Ok(Array2::from_shape_fn((frames, MOUTH_COEFFICIENTS), |(k, j)| rows[[k * ROWS_PER_FRAME, j]]))
}

/// The segments listed in `segments.tsv`, in its order (time order).
pub fn obama_segments(dir: &Path) -> Result<Vec<ObamaSegment>, DataError> {
    let index = dir.join("segments.tsv");
    let text = std::fs::read_to_string(&index).map_err(|e| DataError::io(&index, e))?;
    let mut segments = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1).filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        let (Some(name), Some(split)) = (fields.first(), fields.get(6)) else {
            return Err(DataError::invalid(&index, format!("line {}: expected 7 tab-separated columns", i + 1)));
        };
        segments.push(ObamaSegment {
            name: name.to_string(),
            split: split.to_string(),
            audio: dir.join("audio").join(format!("{name}.wav")),
            mouth: dir.join("mouth_pca").join(format!("{name}.npy")),
        });
    }
    if segments.is_empty() {
        return Err(DataError::invalid(&index, "no segments listed"));
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_declaring_more_rows_than_the_file_holds_is_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00002-000.npy");
        ndarray_npy::write_npy(&path, &Array2::<f64>::zeros((4, 8))).unwrap();
        // The same file, its header claiming 10^11 rows (the header's padding makes room for the longer number).
        let bytes = std::fs::read(&path).unwrap();
        let header = String::from_utf8_lossy(&bytes[10..bytes.len() - 4 * 8 * 8]).into_owned();
        let claimed = header.replacen("(4, 8)", "(100000000000, 8)", 1).replacen(&" ".repeat(11), "", 1);
        assert_eq!(claimed.len(), header.len());
        std::fs::write(&path, [&bytes[..10], claimed.as_bytes(), &bytes[10 + header.len()..]].concat()).unwrap();
        let message = mouth_frames(&path).unwrap_err().to_string();
        assert!(message.contains("00002-000.npy") && message.contains("100000000000"), "{message}");
    }
}
