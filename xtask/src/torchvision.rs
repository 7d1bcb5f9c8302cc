//! `cargo xtask import-torchvision FILE.pth`: checks a torchvision state dict against mm's network of the same
//! architecture and writes it as safetensors, ready for a captioner's `captions.encoder.weights`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use burn::module::Module;
use burn::tensor::Device;
use clap::Args;
use mm_vision::torchvision::{import_pth, save_weights};

use crate::Failure;

#[derive(Args)]
pub struct ImportArgs {
    /// The state dict, as `torch.save(model.state_dict(), FILE)` writes it or torchvision downloads it (resnet18,
    /// 34, 50, 101, 152; vgg11, 13, 16, 19).
    file: PathBuf,
    /// Where to write the network (default: FILE with the extension .safetensors).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace `--out` if it exists (never the input file itself).
    #[arg(long)]
    force: bool,
}

pub fn run(args: ImportArgs) -> Result<ExitCode, Failure> {
    let out = args.out.unwrap_or_else(|| args.file.with_extension("safetensors"));
    // Spellings differ (`./keep.pth`, `sub/../keep.pth`, a link): the files they name are compared.
    if out == args.file || resolved(&out) == resolved(&args.file) {
        return Err(format!("--out {}: is the input file itself; give another path", out.display()).into());
    }
    if out.exists() && !args.force {
        return Err(format!("--out {}: exists; give --force to replace it", out.display()).into());
    }
    let device = Device::flex();
    let (architecture, net) = import_pth(&args.file, &device)?;
    let side = architecture.map_side(224);
    let map = [architecture.map_channels(), side, side];
    save_weights(&net, &out)?;
    let parameters = net.num_params();
    println!("{}: torchvision {architecture}, {parameters} numbers (weights and batch-norm statistics), every tensor loaded", args.file.display());
    println!("encoder map of a 224 × 224 picture: {map:?}; written to {}", out.display());
    let summary = serde_json::json!({ "architecture": architecture, "parameters": parameters, "map": map, "out": out });
    println!("{summary}");
    Ok(ExitCode::SUCCESS)
}

/// The file a path names: links and `..` resolved (through its folder where the file does not exist yet).
fn resolved(path: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok().or_else(|| {
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        Some(std::fs::canonicalize(folder).ok()?.join(path.file_name()?))
    })
}
