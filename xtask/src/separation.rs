//! Audio-visual speech separation on the command line: `train separation` (followed by its table), `eval
//! separation [--compare RUN …]` (one table for several runs, the mixture and the ideal masks beside them), and
//! `separate MIX.wav --visual MOUTH.npy -o out/` (or `separate --scene N -o out/` for a shapes run).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use mm_audio::{Audio, write_wav};
use mm_tasks::DeviceKind;
use mm_tasks::data::DataRoot;
use mm_tasks::referencing::separation::report::{MethodScores, REPORT_FILE, spectrogram_panel};
use mm_tasks::referencing::separation::{Separation, SignalSettings, separate_scene, separate_speech};
use mm_tasks::runner::Context;
use serde::Deserialize;

use crate::Failure;
use crate::train::{CompareEvalArgs, RunArgs, eval_with_report, train_run};

#[derive(Deserialize)]
struct Report {
    network: String,
    kinds: BTreeMap<String, BTreeMap<String, MethodScores>>,
}

fn read_report(run: &Path) -> Result<Report, Failure> {
    let path = run.join(REPORT_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e} (evaluate the run first: cargo xtask eval separation --run {})", path.display(), run.display()))?;
    Ok(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?)
}

fn row(name: &str, s: &MethodScores) -> String {
    let stoi = s.stoi.map_or("     -".to_string(), |v| format!("{v:>6.3}"));
    format!("  {name:<42} {:>7.2} {:>7.2} ±{:<5.2} {:>7.2} {stoi} {:>6.3} {:>5}", s.si_sdr, s.si_sdri, s.si_sdri_interval, s.sdri, s.kept, s.count)
}

/// Prints one table per kind of mixture: each run's network, then the first run's mixture and ideal masks.
pub fn print_table(runs: &[PathBuf]) -> Result<(), Failure> {
    let reports = runs.iter().map(|r| read_report(r)).collect::<Result<Vec<_>, _>>()?;
    for kind in reports[0].kinds.keys() {
        println!("{kind} mixtures at 0 dB (dB; SI-SDRi with its 95% interval; kept = nearer its source than the other):");
        println!("  {:<42} {:>7} {:>14} {:>7} {:>6} {:>6} {:>5}", "estimate", "SI-SDR", "SI-SDRi", "SDRi", "STOI", "kept", "n");
        for (report, run) in reports.iter().zip(runs) {
            let Some(methods) = report.kinds.get(kind) else { continue };
            for (method, scores) in methods.iter().filter(|(m, _)| m.starts_with("network")) {
                let label = format!("{} {}", report.network, method.trim_start_matches("network").trim_start_matches(", "));
                println!("{}  [{}]", row(label.trim(), scores), run.display());
            }
        }
        for (method, scores) in reports[0].kinds[kind].iter().filter(|(m, _)| !m.starts_with("network")) {
            println!("{}", row(method, scores));
        }
    }
    Ok(())
}

/// `cargo xtask train separation`.
pub fn train_separation(args: &RunArgs) -> Result<ExitCode, Failure> {
    if let Some(run) = train_run::<Separation>(args)? {
        print_table(&[run])?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask eval separation`.
pub fn eval_separation(args: &CompareEvalArgs) -> Result<ExitCode, Failure> {
    eval_with_report::<Separation>(args, "the separation report", print_table)
}

/// `cargo xtask separate`.
#[derive(Args)]
pub struct SeparateArgs {
    /// The mixture (WAV or Ogg, any rate); with --visual, an audio-visual speech run keeps the speaker it shows.
    mixture: Option<PathBuf>,
    /// The kept speaker's mouth coefficients, `.npy` in the ObamaNet data set's layout (`[4 × frames, 8]`,
    /// 29.97 frames per second from the mixture's start).
    #[arg(long, requires = "mixture")]
    visual: Option<PathBuf>,
    /// Instead of a recording: a test scene of a shapes separation run, by index; every object is separated.
    #[arg(long, conflicts_with_all = ["mixture", "visual"])]
    scene: Option<usize>,
    /// The folder written: estimate.wav (at the mixture's rate and length) and a spectrogram picture; for a scene,
    /// the mixture, each object's estimate and clean note.
    #[arg(short, long)]
    output: PathBuf,
    /// A separation run (default runs/separation/latest).
    #[arg(long, default_value = "runs/separation/latest")]
    run: PathBuf,
    /// The data folder (a shapes scene needs none).
    #[arg(long)]
    data: Option<PathBuf>,
    /// flex or wgpu.
    #[arg(long)]
    device: Option<DeviceKind>,
}

pub fn separate_command(args: SeparateArgs) -> Result<ExitCode, Failure> {
    let device = DeviceKind::resolve(args.device)?.device()?;
    std::fs::create_dir_all(&args.output).map_err(|e| format!("{}: {e}", args.output.display()))?;
    let picture = args.output.join("spectrograms.png");
    if let Some(index) = args.scene {
        let context = Context { root: DataRoot::from_flag(args.data.as_deref()), run: args.run.clone() };
        let scene = separate_scene(&args.run, index, &context, &device)?;
        let rate = scene.sample_rate;
        write_wav(args.output.join("mixture.wav"), &Audio::new(scene.mixture.clone(), rate))?;
        let mut files = vec![args.output.join("mixture.wav")];
        for (k, (estimate, clean)) in scene.estimates.iter().zip(&scene.sources).enumerate() {
            for (name, samples) in [(format!("estimate-{k}.wav"), estimate), (format!("clean-{k}.wav"), clean)] {
                write_wav(args.output.join(&name), &Audio::new(samples.clone(), rate))?;
                files.push(args.output.join(name));
            }
        }
        let settings = SignalSettings { sample_rate: rate, ..SignalSettings::default() };
        let signals: Vec<&[f32]> = std::iter::once(scene.mixture.as_slice()).chain(scene.estimates.iter().map(Vec::as_slice)).collect();
        spectrogram_panel(&picture, &format!("{}: mixture | estimate of each object", scene.name), settings, &signals)?;
        println!("{}: {} objects separated into {}", scene.name, scene.estimates.len(), args.output.display());
        println!("{}", serde_json::json!({ "scene": scene.name, "files": files, "picture": picture }));
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(mixture_path), Some(visual)) = (&args.mixture, &args.visual) else {
        return Err("give a mixture with --visual MOUTH.npy, or --scene N for a shapes run".into());
    };
    let mixture = mm_audio::read_audio(mixture_path)?;
    let estimate = separate_speech(&args.run, &mixture, visual, &device)?;
    let out = args.output.join("estimate.wav");
    write_wav(&out, &estimate)?;
    let settings = SignalSettings {
        sample_rate: mixture.sample_rate,
        n_fft: 512,
        hop_length: mixture.sample_rate as usize / 100,
        win_length: 400,
        ..SignalSettings::default()
    };
    spectrogram_panel(&picture, "mixture | estimate", settings, &[&mixture.samples, &estimate.samples])?;
    println!("estimate: {} ({} samples at {} Hz), picture {}", out.display(), estimate.samples.len(), estimate.sample_rate, picture.display());
    println!("{}", serde_json::json!({ "estimate": out, "picture": picture, "sample_rate": estimate.sample_rate, "samples": estimate.samples.len() }));
    Ok(ExitCode::SUCCESS)
}
