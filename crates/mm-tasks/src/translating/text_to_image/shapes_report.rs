//! Measuring generated shapes-world scenes with a shapes run's scene describer (the judge, trained apart from
//! the text encoder's image encoder): it reads each generated picture (at its own side, by averaging pixels) as
//! the most object-like places and their colour, shape and size, and the caption's claim is checked against what
//! it read with the world's own truth function (`Claim::is_true_of`: the objects, and for two objects how they
//! stand). The same is done to the real test scenes, so the judge's own error is known. Quality and diversity as
//! for MNIST ([`super::report`]), in the pooled features of the text encoder's image encoder.

use std::collections::BTreeMap;

use burn::tensor::{Device, Tensor, TensorData};
use mm_generate::frechet::FeatureStatistics;
use serde::{Deserialize, Serialize};

use super::report::{draw_pictures, generate_seeded, mean_pairwise_distance};
use super::sources::{CaptionSource, TextRole, scene_picture};
use super::{CaptionEmbeddings, GanBatch, GanItem, TextToImageConfig, TextToImageModel};
use crate::data::shapes::{Claim, Named, Object, parse_caption};
use crate::encoders::shapes::{SceneDescriber, Shapes};
use crate::runner::{Context, Loader, RunError, Scores, Split, load_pretrained, write_atomically};

/// Pictures generated per caption for the diversity measure, and the fewest real test scenes a caption needs
/// to be measured.
const DIVERSITY_SAMPLES: usize = 20;
const DIVERSITY_MIN_REAL: usize = 5;

/// The scene describer of the judge run, and that of the feature network (the text encoder's image encoder).
pub struct SceneJudge {
    describer: SceneDescriber,
    features: SceneDescriber,
    /// The run the feature network is from.
    pub feature_run: std::path::PathBuf,
    objects: usize,
    device: Device,
}

/// What the judge read in pictures: the objects of each, and the feature network's pooled features `[N ·
/// width]`.
pub struct ReadScenes {
    /// Objects per picture, left to right.
    pub objects: Vec<Vec<Object>>,
    /// Row-major features.
    pub features: Vec<f32>,
    /// Width of a feature row.
    pub width: usize,
}

impl SceneJudge {
    /// The judge of `config` and its feature network (refused when they are the same run), reading `objects`
    /// objects per picture.
    pub fn load(config: &TextToImageConfig, objects: usize, device: &Device) -> Result<Self, RunError> {
        let feature_run = config.feature_run()?;
        let features = load_pretrained::<Shapes>(&feature_run, device)?.1;
        Ok(Self { describer: load_pretrained::<Shapes>(&config.judge, device)?.1, features, feature_run, objects, device: device.clone() })
    }

    /// Reads pictures `[N, 3 · side · side]` in [-1, 1], 256 at a time.
    pub fn read(&self, pictures: &[f32], side: usize) -> Result<ReadScenes, RunError> {
        let own = self.describer.side();
        if !side.is_multiple_of(own) {
            return Err(RunError::bad_setting("image_size", side, format!("the judge reads {own} × {own} pictures, so the side must be a multiple of {own}")));
        }
        let (mut objects, mut features, mut width) = (Vec::new(), Vec::new(), 0);
        for chunk in pictures.chunks(256 * 3 * side * side) {
            let n = chunk.len() / (3 * side * side);
            let mut batch = Tensor::<4>::from_data(TensorData::new(chunk.to_vec(), [n, 3, side, side]), &self.device);
            if side != own {
                let k = side / own;
                // The mean of each k × k block.
                batch = batch.reshape([n, 3, own, k, own, k]).mean_dim(5).mean_dim(3).reshape([n, 3, own, own]);
            }
            let (read, _, _) = self.describer.detect(batch.clone(), self.objects);
            let (_, pooled, channels) = self.features.detect(batch, self.objects);
            objects.extend(read);
            features.extend(pooled);
            width = channels;
        }
        Ok(ReadScenes { objects, features, width })
    }
}

/// How far a picture agrees with its caption (each named object's colour, shape and size, in the assignment
/// that suits it; the objects whole; and the whole claim, relation included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    /// Share of pictures whose objects have the named colours.
    pub colour: f64,
    /// … shapes.
    pub shape: f64,
    /// … sizes.
    pub size: f64,
    /// … all three of every named object.
    pub objects: f64,
    /// Share of pictures of which the whole caption is true (for two objects: with the relation).
    pub caption: f64,
}

fn agree(caption: &str, read: &[Object]) -> [bool; 5] {
    let fits = |n: &Named, o: &Object, what: usize| match what {
        0 => n.colour == o.colour,
        1 => n.shape == o.shape,
        2 => n.size == o.size,
        _ => n.colour == o.colour && n.shape == o.shape && n.size == o.size,
    };
    let claim = parse_caption(caption);
    let named: Vec<Named> = match &claim {
        Some(Claim::One(a)) => vec![*a],
        Some(Claim::Two(a, _, b)) => vec![*a, *b],
        _ => Vec::new(),
    };
    if named.is_empty() || read.len() != named.len() {
        return [false; 5];
    }
    let assignments: Vec<Vec<usize>> = if named.len() == 1 { vec![vec![0]] } else { vec![vec![0, 1], vec![1, 0]] };
    let holds = |what: usize| assignments.iter().any(|a| named.iter().zip(a).all(|(n, &i)| fits(n, &read[i], what)));
    [holds(0), holds(1), holds(2), holds(3), claim.as_ref().is_some_and(|c| c.is_true_of(read))]
}

/// The agreement of many pictures with their captions.
fn agreement(captions: &[String], read: &[Vec<Object>]) -> Agreement {
    let mut counts = [0usize; 5];
    for (caption, objects) in captions.iter().zip(read) {
        agree(caption, objects).iter().zip(&mut counts).for_each(|(&ok, c)| *c += ok as usize);
    }
    let share = |k: usize| counts[k] as f64 / captions.len().max(1) as f64;
    Agreement { colour: share(0), shape: share(1), size: share(2), objects: share(3), caption: share(4) }
}

/// A split's real scenes, their captions and text embeddings, and `samples` sets of pictures generated from
/// those embeddings (set `s` with noise from seed `seed + s`).
struct Scenes {
    real: Vec<f32>,
    captions: Vec<String>,
    texts: Vec<Vec<f32>>,
}

fn scenes(loader: &Loader<GanItem, GanBatch>, device: &Device) -> Result<Scenes, RunError> {
    let (mut real, mut captions, mut texts) = (Vec::new(), Vec::new(), Vec::new());
    for (_, batch) in loader.batches((0..loader.len()).collect(), 256, 0, None, device) {
        let batch = batch?;
        let width = batch.text.dims()[1];
        real.extend(batch.pictures.into_data().convert::<f32>().try_into_vec::<f32>().expect("float pictures"));
        texts.extend(batch.text.into_data().convert::<f32>().try_into_vec::<f32>().expect("float texts").chunks(width).map(<[f32]>::to_vec));
        captions.extend(batch.captions);
    }
    Ok(Scenes { real, captions, texts })
}

fn statistics(read: &ReadScenes) -> FeatureStatistics {
    FeatureStatistics::of(&read.features, read.width).expect("two or more pictures")
}

fn objects_of(config: &TextToImageConfig) -> usize {
    match &config.source {
        CaptionSource::Shapes(scenes) => scenes.objects,
        CaptionSource::Mnist => 1,
    }
}

/// Validation: the share of generated pictures of which their scene's caption is true (`consistency`), and FID.
pub fn validation_scores(
    config: &TextToImageConfig,
    model: &TextToImageModel,
    loader: &Loader<GanItem, GanBatch>,
    device: &Device,
) -> Result<Scores, RunError> {
    let judge = SceneJudge::load(config, objects_of(config), device)?;
    let scenes = scenes(loader, device)?;
    let fake = judge.read(&generate_seeded(&model.gan.generator, &scenes.texts, 0, device), config.gan.image_size)?;
    let real = judge.read(&scenes.real, config.gan.image_size)?;
    Ok(Scores::from([
        ("fid".to_string(), statistics(&fake).frechet_distance(&statistics(&real))),
        ("consistency".to_string(), agreement(&scenes.captions, &fake.objects).caption),
    ]))
}

/// One caption's diversity.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaptionDiversity {
    /// The caption.
    pub caption: String,
    /// Mean pairwise feature distance among pictures generated from it with different z.
    pub generated: f64,
    /// The same among the real test scenes it describes.
    pub real: f64,
    /// How many real test scenes it describes.
    pub real_scenes: usize,
}

/// `text_to_image.json` of a shapes-world run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShapesTextToImageReport {
    /// The network.
    pub variant: String,
    /// The judge run.
    pub judge: String,
    /// Objects per scene.
    pub objects: usize,
    /// Test scenes, and pictures generated per scene's caption.
    pub scenes: usize,
    /// Pictures per caption.
    pub samples_per_scene: usize,
    /// Test captions no training scene has.
    pub new_captions: usize,
    /// How the generated pictures agree with their captions.
    pub generated: Agreement,
    /// How the real test scenes agree with their own captions, as the judge reads them: its ceiling.
    pub judge_on_real: Agreement,
    /// FID of one generated picture per test scene against the test scenes.
    pub fid: f64,
    /// FID of as many training scenes against the test scenes: the floor.
    pub fid_real_floor: f64,
    /// The run whose encoder gives the feature space of FID and diversity (the text encoder's image encoder).
    #[serde(default)]
    pub features: String,
    /// Captions with at least five real test scenes.
    pub diversity: Vec<CaptionDiversity>,
    /// Mean generated over mean real diversity over those captions (none for two objects: their captions rarely
    /// repeat).
    pub diversity_ratio: Option<f64>,
}

/// [`mean_pairwise_distance`] of the feature rows `rows` of `features`.
fn mean_pairwise(features: &[f32], width: usize, rows: &[usize]) -> f64 {
    mean_pairwise_distance(&rows.iter().map(|&i| &features[i * width..(i + 1) * width]).collect::<Vec<_>>())
}

/// The test report and the pictures.
pub fn evaluate(
    config: &TextToImageConfig,
    context: &Context,
    model: &TextToImageModel,
    loader: &Loader<GanItem, GanBatch>,
    device: &Device,
) -> Result<Scores, RunError> {
    let CaptionSource::Shapes(source) = &config.source else {
        return Err(RunError::Contract { task: "text-to-image", problem: "the shapes report reads shapes scenes".into() });
    };
    let (side, generator) = (config.gan.image_size, &model.gan.generator);
    let judge = SceneJudge::load(config, source.objects, device)?;
    let table = CaptionEmbeddings::load(context)?;
    let test = scenes(loader, device)?;
    let real = judge.read(&test.real, side)?;

    let mut generated_captions = Vec::new();
    let mut generated_objects = Vec::new();
    let mut first = None;
    for s in 0..config.test_samples {
        let read = judge.read(&generate_seeded(generator, &test.texts, 1 + s as u64, device), side)?;
        generated_captions.extend(test.captions.iter().cloned());
        generated_objects.extend(read.objects.iter().cloned());
        first.get_or_insert(read);
    }
    let first = first.expect("test_samples is at least 2");

    let (world, _) = source.scenes(Split::Train, side as u32)?;
    let floor_pictures: Vec<f32> = (0..test.captions.len()).flat_map(|i| scene_picture(&world, i, side as u32)).collect();
    let floor = judge.read(&floor_pictures, side)?;

    let mut by_caption: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    test.captions.iter().enumerate().for_each(|(i, c)| by_caption.entry(c.as_str()).or_default().push(i));
    let mut diversity = Vec::new();
    for (caption, rows) in by_caption.iter().filter(|(_, rows)| rows.len() >= DIVERSITY_MIN_REAL) {
        let text = vec![test.texts[rows[0]].clone(); DIVERSITY_SAMPLES];
        let read = judge.read(&generate_seeded(generator, &text, 1000 + diversity.len() as u64, device), side)?;
        diversity.push(CaptionDiversity {
            caption: caption.to_string(),
            generated: mean_pairwise(&read.features, read.width, &(0..DIVERSITY_SAMPLES).collect::<Vec<_>>()),
            real: mean_pairwise(&real.features, real.width, rows),
            real_scenes: rows.len(),
        });
    }
    let mean = |f: &dyn Fn(&CaptionDiversity) -> f64| diversity.iter().map(f).sum::<f64>() / diversity.len().max(1) as f64;
    let diversity_ratio = (!diversity.is_empty()).then(|| mean(&|d| d.generated) / mean(&|d| d.real).max(f64::MIN_POSITIVE));

    let report = ShapesTextToImageReport {
        variant: model.gan.variant().label().into(),
        judge: config.judge.display().to_string(),
        features: judge.feature_run.display().to_string(),
        objects: source.objects,
        scenes: test.captions.len(),
        samples_per_scene: config.test_samples,
        new_captions: by_caption.keys().filter(|c| table.embedding(c, TextRole::Training).is_none()).count(),
        generated: agreement(&generated_captions, &generated_objects),
        judge_on_real: agreement(&test.captions, &real.objects),
        fid: statistics(&first).frechet_distance(&statistics(&real)),
        fid_real_floor: statistics(&floor).frechet_distance(&statistics(&real)),
        diversity,
        diversity_ratio,
    };
    write_atomically(&context.reports.join(super::report::REPORT_FILE), serde_json::to_string_pretty(&report).expect("a report").as_bytes())?;

    let distinct: Vec<&str> = by_caption.keys().copied().collect();
    let rows: Vec<(String, Vec<f32>)> = distinct.iter().take(8).map(|c| (c.to_string(), test.texts[by_caption[c][0]].clone())).collect();
    let pairs: Vec<(String, Vec<f32>, Vec<f32>)> = distinct
        .chunks(2)
        .skip(4)
        .take(4)
        .filter(|p| p.len() == 2)
        .map(|p| (format!("{} → {}", p[0], p[1]), test.texts[by_caption[p[0]][0]].clone(), test.texts[by_caption[p[1]][0]].clone()))
        .collect();
    draw_pictures(generator, &rows, &pairs, 3, side, &context.reports, device)?;

    let mut scores = Scores::from([
        ("consistency".to_string(), report.generated.caption),
        ("colour".to_string(), report.generated.colour),
        ("shape".to_string(), report.generated.shape),
        ("size".to_string(), report.generated.size),
        ("judge_on_real".to_string(), report.judge_on_real.caption),
        ("fid".to_string(), report.fid),
        ("fid_real_floor".to_string(), report.fid_real_floor),
    ]);
    if let Some(ratio) = report.diversity_ratio {
        scores.insert("diversity_ratio".into(), ratio);
    }
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::shapes::{Colour, Shape, Size};

    fn object(colour: Colour, shape: Shape, size: Size, x: f32, y: f32) -> Object {
        Object { shape, colour, size, x, y, radius: 8.0 }
    }

    #[test]
    fn agreement_checks_each_attribute_and_the_relation() {
        let red = object(Colour::Red, Shape::Circle, Size::Large, 10.0, 30.0);
        let blue = object(Colour::Blue, Shape::Square, Size::Small, 50.0, 30.0);
        let one = agree("a large red circle", &[red]);
        assert_eq!(one, [true; 5]);
        let small = object(Colour::Red, Shape::Circle, Size::Small, 10.0, 30.0);
        assert_eq!(agree("a large red circle", &[small]), [true, true, false, false, false]);
        assert_eq!(agree("a large red circle left of a small blue square", &[red, blue]), [true; 5]);
        // The same objects, the other way round: the objects agree, the caption does not.
        let (red_right, blue_left) = (Object { x: 50.0, ..red }, Object { x: 10.0, ..blue });
        assert_eq!(agree("a large red circle left of a small blue square", &[blue_left, red_right]), [true, true, true, true, false]);
        assert_eq!(agree("not a caption", &[red]), [false; 5]);
    }
}
