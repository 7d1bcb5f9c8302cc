//! TensorBoard event files: every epoch's scalars and the run's pictures, so that `tensorboard --logdir runs`
//! shows a run as people expect. The file is TFRecord-framed `Event` protocol buffers (tensorflow's
//! `event.proto` and `summary.proto`), written by hand: a scalar or an image is a few fields.

use std::path::Path;

use super::RunError;
use super::metrics::EpochMetrics;
use super::run_dir::write_atomically;

/// The event file in a run folder. It is rewritten whole from the history after each epoch, so a resumed run
/// never shows an epoch twice.
pub const EVENTS_FILE: &str = "events.out.tfevents.0.mm";

/// A picture to show under `tag` at `step`: PNG bytes and their size.
pub struct Picture<'a> {
    /// Where TensorBoard files it (e.g. `curves`).
    pub tag: &'a str,
    /// The step it belongs to.
    pub step: usize,
    /// Width and height in pixels.
    pub size: (u32, u32),
    /// The encoded PNG.
    pub png: &'a [u8],
}

/// Writes `dir/EVENTS_FILE` with every value of every epoch (tag = the metric's name, step = the optimiser
/// step at the epoch's end) and `pictures`.
pub fn write_events(dir: &Path, history: &[EpochMetrics], pictures: &[Picture<'_>]) -> Result<(), RunError> {
    let mut out = Vec::new();
    record(&mut out, &event(0.0, 0, |e| field_bytes(e, 3, b"brain.Event:2")));
    for epoch in history {
        let mut summary = Vec::new();
        for (tag, value) in &epoch.values {
            let mut v = Vec::new();
            field_bytes(&mut v, 1, tag.as_bytes());
            key(&mut v, 2, 5);
            v.extend_from_slice(&(*value as f32).to_le_bytes());
            field_bytes(&mut summary, 1, &v);
        }
        record(&mut out, &event(epoch.seconds, epoch.step as i64, |e| field_bytes(e, 5, &summary)));
    }
    for picture in pictures {
        let mut image = Vec::new();
        key(&mut image, 1, 0);
        varint(&mut image, picture.size.1 as u64);
        key(&mut image, 2, 0);
        varint(&mut image, picture.size.0 as u64);
        key(&mut image, 3, 0);
        varint(&mut image, 3);
        field_bytes(&mut image, 4, picture.png);
        let mut value = Vec::new();
        field_bytes(&mut value, 1, picture.tag.as_bytes());
        field_bytes(&mut value, 4, &image);
        let mut summary = Vec::new();
        field_bytes(&mut summary, 1, &value);
        record(&mut out, &event(0.0, picture.step as i64, |e| field_bytes(e, 5, &summary)));
    }
    write_atomically(&dir.join(EVENTS_FILE), &out)
}

/// Rewrites a run's event file from its `metrics.jsonl` and every PNG picture in the folder (each under its file
/// name), so that the pictures a report draws after training (retrieval grids, joint spaces, probes) show in
/// TensorBoard beside the curves.
pub fn refresh_events(run: &Path) -> Result<(), RunError> {
    let history = super::read_metrics(&run.join(super::METRICS_FILE))?;
    let step = history.last().map_or(0, |m| m.step);
    let mut files: Vec<_> = std::fs::read_dir(run)
        .map_err(|e| RunError::io(run, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    files.sort();
    let mut pictures = Vec::new();
    for path in &files {
        let size = image::image_dimensions(path).map_err(|e| RunError::invalid(path, e))?;
        let png = std::fs::read(path).map_err(|e| RunError::io(path, e))?;
        let tag = path.file_stem().and_then(|s| s.to_str()).unwrap_or("picture").to_string();
        pictures.push((tag, size, png));
    }
    let pictures: Vec<Picture<'_>> = pictures.iter().map(|(tag, size, png)| Picture { tag, step, size: *size, png }).collect();
    write_events(run, &history, &pictures)
}

/// An `Event` with `wall_time` and `step`, then what `body` adds.
fn event(wall_time: f64, step: i64, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut e = Vec::new();
    key(&mut e, 1, 1);
    e.extend_from_slice(&wall_time.to_le_bytes());
    key(&mut e, 2, 0);
    varint(&mut e, step as u64);
    body(&mut e);
    e
}

fn key(out: &mut Vec<u8>, field: u32, wire: u32) {
    varint(out, ((field << 3) | wire) as u64);
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    key(out, field, 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// TFRecord framing: length, its masked CRC-32C, the data, its masked CRC-32C.
fn record(out: &mut Vec<u8>, data: &[u8]) {
    let len = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
}

fn masked_crc(data: &[u8]) -> u32 {
    let crc = crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// CRC-32C (Castagnoli), bit by bit: event files are small.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0x82F6_3B78 } else { crc >> 1 };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc32c_matches_the_standard_check_value() {
        assert_eq!(super::crc32c(b"123456789"), 0xE306_9283);
    }
}
