//! `cargo xtask …`: mm's command line.

mod bench;
mod bench_train;
mod bench_word2vec;
mod data;
mod device;
mod matching;
mod shapes;
mod spectrogram;
mod train;
mod word2vec;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mm: multi-modal learning in Rust.
#[derive(Parser)]
#[command(name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check or download the real data sets.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Draw a spectrogram of a WAV or Ogg file as a PNG, and save the array as .npy.
    Spectrogram(spectrogram::SpectrogramArgs),
    /// Time mm against the reference tools (librosa, torch), measured in the same run.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Generate scenes of the embedded shapes world: pictures, captions, questions and sounds.
    Shapes(shapes::ShapesArgs),
    /// Train a system of the catalogue (no task: the shapes task, a few minutes on a CPU).
    Train {
        #[command(subcommand)]
        task: Option<train::TrainTask>,
    },
    /// Evaluate what a training run saved; the last line printed is the metrics as JSON.
    #[command(subcommand)]
    Eval(train::EvalTask),
    /// Check that a device (flex or wgpu) works, and run the same computation on it and on flex.
    Device(device::DeviceArgs),
    /// Tag a picture with words, by a trained tagging run (`cargo xtask train tagging`).
    Tag(matching::TagArgs),
    /// Find the test pictures nearest to a word, by a trained tagging run; draws them as a grid.
    SearchImages(matching::SearchArgs),
}

fn main() -> ExitCode {
    let outcome = match Cli::parse().command {
        Command::Data(command) => data::run(command),
        Command::Spectrogram(args) => spectrogram::run(args),
        Command::Bench(command) => bench::run(command),
        Command::Shapes(args) => shapes::run(args),
        Command::Device(args) => device::run(args),
        Command::Train { task } => train::train(task),
        Command::Eval(task) => train::eval(task),
        Command::Tag(args) => matching::tag(args),
        Command::SearchImages(args) => matching::search(args),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Errors a command reports before exiting with status 1.
pub type Failure = Box<dyn std::error::Error>;
