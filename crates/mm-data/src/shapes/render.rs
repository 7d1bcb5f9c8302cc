//! Painting a scene: each pixel is the 4×4-supersampled coverage of every object blended over the background.

use image::{Rgb, RgbImage};

use super::{Object, Shape};

const BACKGROUND: [u8; 3] = [24, 24, 28];
const SUBSAMPLES: usize = 4;

/// Whether the point lies inside the object.
fn contains(object: &Object, px: f32, py: f32) -> bool {
    let (dx, dy, r) = (px - object.x, py - object.y, object.radius);
    match object.shape {
        Shape::Circle => dx * dx + dy * dy <= r * r,
        Shape::Square => dx.abs() <= 0.82 * r && dy.abs() <= 0.82 * r,
        Shape::Diamond => dx.abs() + dy.abs() <= r,
        Shape::Triangle => {
            // Apex at the top, base at 0.8 r below the centre; the sides are the lines through the apex and the
            // base corners at ±0.95 r.
            let (apex, base, half_width) = (-r, 0.8 * r, 0.95 * r);
            dy >= apex && dy <= base && dx.abs() <= half_width * (dy - apex) / (base - apex)
        }
    }
}

/// Renders the objects on a dark background into a `size × size` picture.
pub fn render(objects: &[Object], size: u32) -> RgbImage {
    let mut image = RgbImage::from_pixel(size, size, Rgb(BACKGROUND));
    let step = 1.0 / SUBSAMPLES as f32;
    for object in objects {
        let colour = object.colour.rgb();
        let reach = object.radius + 1.0;
        let x0 = (object.x - reach).floor().max(0.0) as u32;
        let x1 = ((object.x + reach).ceil() as u32).min(size);
        let y0 = (object.y - reach).floor().max(0.0) as u32;
        let y1 = ((object.y + reach).ceil() as u32).min(size);
        for y in y0..y1 {
            for x in x0..x1 {
                let mut inside = 0;
                for sy in 0..SUBSAMPLES {
                    for sx in 0..SUBSAMPLES {
                        let px = x as f32 + (sx as f32 + 0.5) * step;
                        let py = y as f32 + (sy as f32 + 0.5) * step;
                        inside += contains(object, px, py) as u32;
                    }
                }
                if inside > 0 {
                    let coverage = inside as f32 / (SUBSAMPLES * SUBSAMPLES) as f32;
                    let pixel = image.get_pixel_mut(x, y);
                    for (channel, &target) in pixel.0.iter_mut().zip(&colour) {
                        *channel = (*channel as f32 * (1.0 - coverage) + target as f32 * coverage).round() as u8;
                    }
                }
            }
        }
    }
    image
}

/// `[size · size]`: 1 on the pixels whose centre lies inside `object`, 0 elsewhere (the object's mask, for
/// localisation's ground truth).
pub fn object_mask(object: &Object, size: u32) -> Vec<f32> {
    (0..size * size).map(|i| contains(object, (i % size) as f32 + 0.5, (i / size) as f32 + 0.5) as u8 as f32).collect()
}
