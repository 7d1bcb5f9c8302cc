//! `cargo xtask …`: mm's command line.

mod apply;
mod bench;
mod data;
mod device;
mod shapes;
mod spectrogram;
mod torchvision;
mod train;
mod word2vec;

use std::process::ExitCode;

/// The global allocator (see the `mimalloc` feature in Cargo.toml).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The allocator this build uses, for the benches' headers.
pub const ALLOCATOR: &str = if cfg!(feature = "mimalloc") { "mimalloc" } else { "the system allocator" };

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
    Tag(apply::TagArgs),
    /// Find the test pictures nearest to a word, by a trained tagging run; draws them as a grid.
    SearchImages(apply::SearchArgs),
    /// Caption a picture with a trained show-and-tell or show-attend-tell run; the last line is JSON.
    Caption(apply::CaptionArgs),
    /// Answer a question about a picture with a trained vqa run; the last line is JSON (its "answer" the top one).
    Ask(apply::AskArgs),
    /// Where in a picture a sound comes from, by a trained localisation run: the picture lit by the map (PNG)
    /// and the map (.npy); the last line is JSON.
    Localise(apply::LocaliseArgs),
    /// Separate a recording with a trained separation run: the speaker whose mouth is given (or every object of a
    /// shapes test scene); WAVs and a spectrogram picture; the last line is JSON.
    Separate(apply::SeparateArgs),
    /// Draw pictures of a text with a trained text-to-image run: a grid (PNG) and the pictures (.npy); the last line is JSON.
    Generate(apply::GenerateArgs),
    /// Check a torchvision .pth state dict against mm's network and write it as safetensors; the last line is JSON.
    ImportTorchvision(torchvision::ImportArgs),
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
        Command::Tag(args) => apply::tag(args),
        Command::SearchImages(args) => apply::search(args),
        Command::Caption(args) => apply::caption(args),
        Command::Ask(args) => apply::ask(args),
        Command::Localise(args) => apply::localise_command(args),
        Command::Separate(args) => apply::separate_command(args),
        Command::Generate(args) => apply::generate(args),
        Command::ImportTorchvision(args) => torchvision::run(args),
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

/// clap value parsers for flags whose whole type range is not valid, so that `--repeats 0` or `--range-db nan`
/// is refused with the flag's name before anything runs.
pub mod flags {
    /// A count of at least 1 (`--repeats`, `--batch`).
    pub fn at_least_one(text: &str) -> Result<usize, String> {
        match text.parse::<usize>() {
            Ok(0) => Err("must be at least 1".into()),
            Ok(n) => Ok(n),
            Err(e) => Err(e.to_string()),
        }
    }

    /// A thread count in 1..=1024.
    pub fn threads(text: &str) -> Result<usize, String> {
        at_least_one(text).and_then(|n| if n <= 1024 { Ok(n) } else { Err(format!("{n} threads is more than 1024")) })
    }

    /// A positive, finite number (`--range-db`).
    pub fn positive_finite(text: &str) -> Result<f32, String> {
        let value: f32 = text.parse().map_err(|e| format!("{e}"))?;
        if value.is_finite() && value > 0.0 { Ok(value) } else { Err(format!("must be positive and finite, got {value}")) }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn refuse_what_the_type_allows_but_the_flag_does_not() {
            assert!(super::at_least_one("0").is_err() && super::at_least_one("3") == Ok(3));
            assert!(super::threads("100000").is_err() && super::threads("2") == Ok(2));
            for bad in ["-3", "nan", "inf", "0", "x"] {
                assert!(super::positive_finite(bad).is_err(), "{bad}");
            }
            assert_eq!(super::positive_finite("80"), Ok(80.0));
        }
    }
}
