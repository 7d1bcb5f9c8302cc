//! Does the attention fall on what the word names? For every test caption (beam search) that is true of its
//! scene, each colour and shape word belongs to one object of the scene; the word is grounded when the place its
//! attention peaks at lies on that object (the place's cell of the picture touches the object). Chance is the
//! share of places on the object (a peak at a random place). The first test pictures' attention is drawn, one panel per word (photographs too; only shapes
//! scenes are measured).

use burn::tensor::{Device, Int, Tensor, TensorData};
use mm_text::tokenizer::TextTokenizer;
use serde::Serialize;

use super::{ShowAttendTellCaptioner, ShowAttendTellTaskConfig};
use crate::data::shapes::{Colour, Object, Shape, parse_caption};
use crate::runner::{Context, Dataset, RunError, Split};
use crate::translating::captions::{CaptionBatcher, attention_panels};

/// Where the attention falls, as written to `grounding.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Grounding {
    /// Test captions that are true of their scene (only their words are counted).
    pub true_captions: usize,
    /// Colour and shape words counted.
    pub words: usize,
    /// Share of them whose attention peak lies on the object the word names.
    pub grounded: f64,
    /// The same share for a peak at a random place.
    pub chance: f64,
    /// `grounded` for colour words alone.
    pub colour_words: f64,
    /// … shape words alone.
    pub shape_words: f64,
}

/// The attention `[steps][places]` the decoder gives each token of `tokens` (words then end) for pictures
/// `[B, 3, side, side]`, and the grid of places.
pub fn attention_maps(model: &ShowAttendTellCaptioner, pictures: Tensor<4>, tokens: &[Vec<u32>]) -> (Vec<Vec<Vec<f32>>>, [usize; 2]) {
    let device = pictures.device();
    let steps = tokens.iter().map(|t| t.len() + 1).max().unwrap_or(1);
    let mut inputs = vec![TextTokenizer::PAD_ID as i64; tokens.len() * steps];
    for (row, caption) in tokens.iter().enumerate() {
        inputs[row * steps] = TextTokenizer::START_ID as i64;
        caption.iter().enumerate().for_each(|(t, &token)| inputs[row * steps + t + 1] = token as i64);
    }
    let inputs = Tensor::<2, Int>::from_data(TensorData::new(inputs, [tokens.len(), steps]), &device);
    let (annotations, grid) = model.annotations(pictures);
    let (_, alphas) = model.decoder.forward(annotations, inputs);
    let places = grid[0] * grid[1];
    let values = alphas.into_data().convert::<f32>().try_into_vec::<f32>().expect("float attention");
    let maps = tokens
        .iter()
        .enumerate()
        .map(|(row, caption)| (0..=caption.len()).map(|t| values[(row * steps + t) * places..(row * steps + t + 1) * places].to_vec()).collect())
        .collect();
    (maps, grid)
}

/// The share of places whose cell (the square of the picture a place stands for) touches `object`'s circle, and
/// whether place `peak`'s cell does.
fn inside(object: &Object, peak: usize, [rows, columns]: [usize; 2], side: f32) -> (f64, bool) {
    let (w, h) = (side / columns as f32, side / rows as f32);
    let touches = |p: usize| {
        let (x0, y0) = ((p % columns) as f32 * w, (p / columns) as f32 * h);
        // The cell's point nearest the object's centre.
        let (nx, ny) = (object.x.clamp(x0, x0 + w), object.y.clamp(y0, y0 + h));
        (nx - object.x).powi(2) + (ny - object.y).powi(2) <= object.radius.powi(2)
    };
    let share = (0..rows * columns).filter(|&p| touches(p)).count() as f64 / (rows * columns) as f64;
    (share, touches(peak))
}

/// Measures the grounding of the test pictures' beam-search captions `beam` (tokens, one per picture from the
/// first), writes `grounding.json` and `attention/scene-N.png` for the first four.
pub fn grounding(
    config: &ShowAttendTellTaskConfig,
    context: &Context,
    model: &ShowAttendTellCaptioner,
    beam: &[Vec<u32>],
    device: &Device,
) -> Result<Grounding, RunError> {
    let items = config.captions.items(context, Split::Test)?.first(beam.len());
    let side = config.captions.side()?;
    let batcher = CaptionBatcher { side };
    let tokenizer = items.tokenizer().clone();
    let (mut words, mut grounded, mut chance, mut true_captions) = (0usize, 0usize, 0.0f64, 0usize);
    let (mut colour, mut shape) = ((0usize, 0usize), (0usize, 0usize));
    let folder = context.reports.join("attention");
    std::fs::create_dir_all(&folder).map_err(|e| RunError::Io { path: folder.clone(), source: e })?;
    for start in (0..items.len()).step_by(100) {
        let batch: Vec<_> = (start..(start + 100).min(items.len())).map(|i| items.get(i)).collect::<Result<_, _>>()?;
        let pictures = crate::runner::Batcher::batch(&batcher, batch, device).pictures;
        let decoded = &beam[start..(start + 100).min(items.len())];
        let (maps, grid) = attention_maps(model, pictures, decoded);
        for (offset, (tokens, maps)) in decoded.iter().zip(&maps).enumerate() {
            let index = start + offset;
            let text: Vec<String> = tokens.iter().map(|&t| tokenizer.token(t).unwrap_or_else(|| "<unk>".into())).collect();
            if index < 4 {
                let mut shown = text.clone();
                shown.push("<end>".into());
                attention_panels(&items.picture(index)?, &shown, maps, grid, &folder.join(format!("scene-{index}.png")))?;
            }
            // Photographs have no objects to ground the words in.
            let Some(objects) = items.objects(index) else { continue };
            let Some(named) = parse_caption(&text.join(" ")).and_then(|claim| claim.grounding(&objects)) else { continue };
            true_captions += 1;
            let (mut colours_seen, mut shapes_seen) = (0, 0);
            for (t, word) in text.iter().enumerate() {
                let (is_colour, is_shape) = (Colour::ALL.iter().any(|c| c.name() == word), Shape::ALL.iter().any(|s| s.name() == word));
                if !is_colour && !is_shape {
                    continue;
                }
                let which = if is_colour { &mut colours_seen } else { &mut shapes_seen };
                let Some(&object) = named.get(*which) else { continue };
                *which += 1;
                let peak = (0..maps[t].len()).max_by(|&a, &b| maps[t][a].total_cmp(&maps[t][b])).unwrap_or(0);
                let (share, hit) = inside(&objects[object], peak, grid, side as f32);
                words += 1;
                grounded += hit as usize;
                chance += share;
                let tally = if is_colour { &mut colour } else { &mut shape };
                tally.0 += hit as usize;
                tally.1 += 1;
            }
        }
    }
    let share = |(hit, n): (usize, usize)| hit as f64 / n.max(1) as f64;
    let measured = Grounding {
        true_captions,
        words,
        grounded: share((grounded, words)),
        chance: chance / words.max(1) as f64,
        colour_words: share(colour),
        shape_words: share(shape),
    };
    crate::runner::write_atomically(&context.reports.join("grounding.json"), &serde_json::to_vec_pretty(&measured).expect("serialises"))?;
    Ok(measured)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::shapes::{Colour, Shape, Size};

    #[test]
    fn a_peak_is_on_an_object_when_its_cell_touches_it() {
        // A 32-pixel picture as 8 × 8 places of 4 pixels; a circle of radius 3 centred at (10, 10) touches the
        // nine cells of columns 1–3 and rows 1–3 (pixels 4 to 16), the corner ones by less than a pixel.
        let object = Object { shape: Shape::Circle, colour: Colour::Red, size: Size::Small, x: 10.0, y: 10.0, radius: 3.0 };
        let (share, hit) = inside(&object, 2 * 8 + 2, [8, 8], 32.0);
        assert!(hit, "the cell holding the centre");
        assert!(!inside(&object, 0, [8, 8], 32.0).1, "the top-left cell, 6 pixels away");
        assert!(inside(&object, 8 + 1, [8, 8], 32.0).1, "cell (4..8, 4..8): its corner (8, 8) is 2.8 pixels away");
        assert!(!inside(&object, 5 * 8 + 2, [8, 8], 32.0).1, "cell rows 20..24: 10 pixels below");
        assert_eq!(share, 9.0 / 64.0);
    }
}
