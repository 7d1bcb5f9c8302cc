//! Captions decoded for a whole split and scored as the field scores them: corpus BLEU-1 … 4 and CIDEr-D
//! (coco-caption's definitions, `mm_generate::caption_metrics`, against every reference of a picture), and on the
//! shapes world truthfulness — the share
//! of captions the grammar parses and that are true of their scene — overall and by number of objects, beside a
//! trivial baseline (always the most frequent training caption).

use std::collections::BTreeMap;

use burn::tensor::{Device, Tensor};
use mm_generate::caption_metrics::{CaptionSet, tokenize};
use mm_generate::decoding::{BeamSearchConfig, Decoded};
use serde::{Deserialize, Serialize};

use super::{CaptionBatch, CaptionBatcher, CaptionItems, CaptionSettings};
use crate::data::shapes::parse_caption;
use crate::runner::{Context, Dataset, Learner, Loader, RunError, Scores, Split};

/// A captioner the evaluation decodes with.
pub trait Captioner: Learner<Batch = CaptionBatch> {
    /// The best caption of each picture `[B, 3, side, side]` under `search`.
    fn decode(&self, pictures: Tensor<4>, search: &BeamSearchConfig) -> Vec<Decoded>;
}

/// One picture's caption beside its references.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Example {
    /// The picture's index in the test split.
    pub index: usize,
    /// Its first reference caption.
    pub reference: String,
    /// What the model says.
    pub caption: String,
    /// Whether it parses and is true of the scene (shapes scenes only).
    pub truthful: Option<bool>,
}

/// The scores of a group of pictures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupScores {
    /// Pictures in the group.
    pub scenes: usize,
    /// Corpus BLEU-1 … 4.
    pub bleu: [f64; 4],
    /// CIDEr-D.
    pub cider_d: f64,
    /// Share of captions the shapes grammar parses (shapes scenes only).
    pub parsed: Option<f64>,
    /// Share of captions that parse and are true of their scene (shapes scenes only).
    pub truthful: Option<f64>,
    /// Half-width of its 95% interval over the scenes (each scene, with its one caption, an independent unit).
    #[serde(default)]
    pub truthful_interval: Option<f64>,
}

/// The captions of one decoding (greedy, beam, or the baseline's constant caption) on a split.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DecodingReport {
    /// "greedy", "beam 3", "most frequent training caption".
    pub decoding: String,
    /// Over every picture.
    pub all: GroupScores,
    /// Shapes scenes by number of objects (1–4); empty for photographs.
    pub by_objects: BTreeMap<usize, GroupScores>,
    /// The first pictures' captions.
    pub examples: Vec<Example>,
}

/// A captioner's test report, as written to `captions.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaptionReport {
    /// Greedy decoding.
    pub greedy: DecodingReport,
    /// Beam search.
    pub beam: DecodingReport,
    /// Always the most frequent training caption.
    pub baseline: DecodingReport,
}

/// Every picture's caption under `search`, its tokens without start and end, in index order.
pub fn decode_all<M: Captioner>(model: &M, items: &CaptionItems, side: usize, search: &BeamSearchConfig, device: &Device) -> Result<Vec<Vec<u32>>, RunError> {
    let loader = Loader::new(std::sync::Arc::new(items.clone()), std::sync::Arc::new(CaptionBatcher { side }), 0, 1);
    let mut captions = vec![Vec::new(); items.len()];
    for (_, batch) in loader.batches((0..items.len()).collect(), 100, 0, None, device) {
        let batch = batch?;
        for (decoded, index) in model.decode(batch.pictures, search).into_iter().zip(batch.indices) {
            captions[index] = decoded.tokens;
        }
    }
    Ok(captions)
}

/// The words of decoded captions, as the tokenizer writes them back.
fn texts(items: &CaptionItems, captions: &[Vec<u32>]) -> Result<Vec<String>, RunError> {
    captions.iter().map(|tokens| items.tokenizer().decode(tokens).map_err(crate::data_error)).collect()
}

/// What [`caption_scores`] measured, and the beam-search captions it scored (test only: the attention report
/// reads them instead of decoding again).
#[derive(Debug, Clone)]
pub struct CaptionScores {
    /// BLEU-4, CIDEr-D and truthfulness, greedy (and on test `beam_…` and `baseline_…`).
    pub scores: Scores,
    /// On the test split, each picture's beam-search caption (tokens); empty otherwise.
    pub beam: Vec<Vec<u32>>,
}

/// Whether `caption` parses and is true of picture `index`; `None` for a photograph.
fn truthful(items: &CaptionItems, index: usize, caption: &str) -> Option<bool> {
    items.objects(index).map(|objects| parse_caption(caption).is_some_and(|claim| claim.is_true_of(&objects)))
}

fn group_scores(items: &CaptionItems, captions: &[(usize, &str)]) -> GroupScores {
    let mut set = CaptionSet::new();
    let (mut parsed, mut truths) = (0, Vec::new());
    for &(index, caption) in captions {
        set.push(tokenize(caption), items.references(index).iter().map(|r| tokenize(r)).collect()).expect("every picture has a reference");
        if let Some(truth) = truthful(items, index, caption) {
            parsed += parse_caption(caption).is_some() as usize;
            truths.push(truth as u8 as f64);
        }
    }
    let scenes = truths.len();
    let share = |k: usize| (scenes > 0).then(|| k as f64 / scenes as f64);
    GroupScores {
        scenes: captions.len(),
        bleu: set.bleu(),
        cider_d: set.cider_d().mean,
        parsed: share(parsed),
        truthful: share(truths.iter().sum::<f64>() as usize),
        truthful_interval: (scenes > 1).then(|| crate::runner::interval_95(&truths)),
    }
}

/// Scores `captions` (one per picture of `items`, in index order).
pub fn report(decoding: &str, items: &CaptionItems, captions: &[String]) -> DecodingReport {
    let all: Vec<(usize, &str)> = captions.iter().enumerate().map(|(i, c)| (i, c.as_str())).collect();
    let mut by_objects = BTreeMap::new();
    for count in 1..=4 {
        let group: Vec<(usize, &str)> = all.iter().copied().filter(|&(i, _)| items.objects(i).is_some_and(|o| o.len() == count)).collect();
        if !group.is_empty() {
            by_objects.insert(count, group_scores(items, &group));
        }
    }
    let examples = all
        .iter()
        .take(12)
        .map(|&(index, caption)| Example {
            index,
            reference: items.references(index).swap_remove(0),
            caption: caption.to_string(),
            truthful: truthful(items, index, caption),
        })
        .collect();
    DecodingReport { decoding: decoding.into(), all: group_scores(items, &all), by_objects, examples }
}

/// Validation (greedy) or test (greedy, beam and the baseline, written to `captions.json`) scores of `model`.
///
/// Only the first `count` scenes of the split are decoded (the runner's loader may hold fewer than the split).
pub fn caption_scores<M: Captioner>(
    settings: &CaptionSettings,
    context: &Context,
    model: &M,
    split: Split,
    count: usize,
    device: &Device,
) -> Result<CaptionScores, RunError> {
    let items = settings.items(context, split)?.first(count);
    let side = settings.side()?;
    let greedy = decode_all(model, &items, side, &BeamSearchConfig::greedy(settings.max_len), device)?;
    let greedy = report("greedy", &items, &texts(&items, &greedy)?);
    let mut scores = Scores::new();
    let mut put = |prefix: &str, r: &DecodingReport| {
        scores.insert(format!("{prefix}bleu4"), r.all.bleu[3]);
        scores.insert(format!("{prefix}cider_d"), r.all.cider_d);
        if let Some(truthful) = r.all.truthful {
            scores.insert(format!("{prefix}truthful"), truthful);
        }
        if let Some(interval) = r.all.truthful_interval {
            scores.insert(format!("{prefix}truthful_interval"), interval);
        }
    };
    put("", &greedy);
    let mut beam_captions = Vec::new();
    if split == Split::Test {
        beam_captions = decode_all(model, &items, side, &settings.beam, device)?;
        let beam = report(&format!("beam {}", settings.beam.width), &items, &texts(&items, &beam_captions)?);
        put("beam_", &beam);
        let constant = most_frequent_training_caption(settings, context)?;
        let baseline = report("most frequent training caption", &items, &vec![constant; items.len()]);
        put("baseline_", &baseline);
        let report = CaptionReport { greedy, beam, baseline };
        crate::runner::write_atomically(&context.reports.join(REPORT_FILE), &serde_json::to_vec_pretty(&report).expect("serialises"))?;
    }
    Ok(CaptionScores { scores, beam: beam_captions })
}

/// Where the test report goes in the run folder.
pub const REPORT_FILE: &str = "captions.json";

fn most_frequent_training_caption(settings: &CaptionSettings, context: &Context) -> Result<String, RunError> {
    let items = settings.items(context, Split::Train)?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for picture in 0..items.picture_count() {
        for caption in items.references(picture) {
            *counts.entry(caption).or_default() += 1;
        }
    }
    Ok(counts.into_iter().max_by_key(|(caption, n)| (*n, std::cmp::Reverse(caption.clone()))).map(|(c, _)| c).unwrap_or_default())
}

/// A captioner's validation or test scores: the loss of [`Learner::objective`] on `loader`'s batches, then its
/// decoding's scores on the same scenes ([`caption_scores`]).
pub fn captioner_scores<M: Captioner>(
    settings: &CaptionSettings,
    context: &Context,
    model: &M,
    loader: &Loader<super::CaptionItem, CaptionBatch>,
    split: Split,
    device: &Device,
) -> Result<CaptionScores, RunError> {
    let mut measured = caption_scores(settings, context, model, split, loader.len(), device)?;
    measured.scores.extend(crate::runner::mean_objective(model, loader, 100, device)?);
    Ok(measured)
}

/// A run's `captions.json` (written by its test evaluation) and, for an attending captioner, where its attention
/// falls: what `train` and `eval` of a captioner print.
#[derive(Debug, Clone, Serialize)]
pub struct SavedCaptions {
    /// The file.
    #[serde(skip)]
    pub path: std::path::PathBuf,
    /// Its report.
    #[serde(flatten)]
    pub report: CaptionReport,
    /// `grounding.json`, where the run has one.
    #[serde(skip)]
    pub grounding: Option<String>,
}

/// Reads a run's saved caption report.
pub fn saved_captions(run: &std::path::Path) -> Result<SavedCaptions, RunError> {
    let report = crate::systems::read_saved(run, REPORT_FILE, "show-and-tell|show-attend-tell")?;
    let grounding = run.join("grounding.json");
    let grounding = match grounding.exists() {
        true => Some(std::fs::read_to_string(&grounding).map_err(|e| RunError::io(&grounding, e))?.split_whitespace().collect::<Vec<_>>().join(" ")),
        false => None,
    };
    Ok(SavedCaptions { path: run.join(REPORT_FILE), report, grounding })
}

fn write_decoding(f: &mut std::fmt::Formatter<'_>, report: &DecodingReport) -> std::fmt::Result {
    let b = report.all.bleu;
    let share = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.4}"));
    write!(
        f,
        "\n  {:<32} BLEU-1..4 {:.4} {:.4} {:.4} {:.4}  CIDEr-D {:.4}  parsed {}  truthful {}{}",
        report.decoding,
        b[0],
        b[1],
        b[2],
        b[3],
        report.all.cider_d,
        share(report.all.parsed),
        share(report.all.truthful),
        report.all.truthful_interval.map_or(String::new(), |i| format!(" ± {i:.4} (95%, over scenes)"))
    )?;
    for (objects, group) in &report.by_objects {
        let truthful = share(group.truthful);
        write!(f, "\n    {objects} object(s), {:>4} scenes: BLEU-4 {:.4}  CIDEr-D {:.4}  truthful {truthful}", group.scenes, group.bleu[3], group.cider_d)?;
    }
    Ok(())
}

impl std::fmt::Display for SavedCaptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "test scenes ({}):", self.path.display())?;
        for decoding in [&self.report.greedy, &self.report.beam, &self.report.baseline] {
            write_decoding(f, decoding)?;
        }
        for example in self.report.beam.examples.iter().take(4) {
            let verdict = example.truthful.map_or("", |t| if t { " [true]" } else { " [false]" });
            write!(f, "\n    picture {}: {}{verdict}", example.index, example.caption)?;
        }
        if let Some(grounding) = &self.grounding {
            write!(f, "\n  where the attention falls: {grounding}")?;
        }
        Ok(())
    }
}

impl crate::systems::Report for SavedCaptions {
    fn json(&self) -> String {
        crate::systems::json_line(self)
    }
}

/// `eval` of a captioner: on the test split, its scores and the report the evaluation rewrote; on another split,
/// the scores.
pub(crate) fn eval_captioner<T: crate::systems::System>(request: &crate::runner::EvalRequest) -> Result<Box<dyn crate::systems::Report>, RunError> {
    if request.split != Split::Test {
        return crate::systems::evaluation::<T>(request);
    }
    let run = request.run_of::<T>();
    let scores = crate::runner::eval_run::<T>(&run, &request.root(), request.reading())?;
    Ok(Box::new(crate::systems::WithScores { report: Box::new(saved_captions(&request.reading().reports_of(&run))?), scores }))
}
