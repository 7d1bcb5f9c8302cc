//! Reading and writing pictures.

use std::path::Path;

use image::RgbImage;

use crate::{Error, Result};

/// Decodes any PNG or JPEG as 8-bit RGB.
pub fn load_rgb(path: impl AsRef<Path>) -> Result<RgbImage> {
    let path = path.as_ref();
    let reader = image::ImageReader::open(path).map_err(|e| Error::io(path, e))?;
    let reader = reader.with_guessed_format().map_err(|e| Error::io(path, e))?;
    Ok(reader.decode().map_err(|source| Error::Image { path: path.into(), source })?.to_rgb8())
}

/// The dimensions of an image file, read from its header only.
pub fn image_dimensions(path: impl AsRef<Path>) -> Result<(u32, u32)> {
    let path = path.as_ref();
    image::image_dimensions(path).map_err(|source| Error::Image { path: path.into(), source })
}

/// Saves an RGB image as PNG (whatever the extension) through a temporary file, fsynced and renamed into place.
pub fn save_png(path: impl AsRef<Path>, image: &RgbImage) -> Result<()> {
    let path = path.as_ref();
    let partial = mm_files::Partial::with_format(path, "png");
    image.save_with_format(partial.path(), image::ImageFormat::Png).map_err(|source| Error::Image { path: path.into(), source })?;
    partial.commit().map_err(|e| Error::io(path, e))
}
