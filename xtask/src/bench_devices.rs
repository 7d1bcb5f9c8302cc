//! `cargo xtask bench devices`: one table, one run — every model family's training step and inference batch on
//! each mm device beside PyTorch on the CPU (same threads) and on CUDA where a GPU is present, then the STFT,
//! log-mel and word2vec rows. The workloads are `mm_benches::families`; PyTorch's are
//! `benches/reference/families_reference.py`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use burn::tensor::Device;
use clap::Args;
use mm_benches::families::{Family, Workload};
use mm_tasks::DeviceKind;
use serde::{Deserialize, Serialize};

use crate::Failure;
use crate::bench::{SIGNAL_INPUT, median_ms, python_with, time_signal};

#[derive(Args)]
pub struct DevicesArgs {
    /// Families to time, comma-separated (default: all): mnist-cnn, resnet, soundnet, captioner, gan, separator.
    #[arg(long, value_delimiter = ',')]
    families: Vec<Family>,
    /// mm devices, comma-separated (default: flex, and wgpu when an adapter answers).
    #[arg(long, value_delimiter = ',')]
    devices: Vec<DeviceKind>,
    /// Examples per batch for every family (default: each family's own, 64 or 16).
    #[arg(long, value_parser = crate::flags::at_least_one)]
    batch: Option<usize>,
    /// Timed calls per measurement, after five warm-up calls; the median is reported.
    #[arg(long, default_value_t = 10, value_parser = crate::flags::at_least_one)]
    repeats: usize,
    /// PyTorch's CPU threads and word2vec's (flex uses rayon's pool: RAYON_NUM_THREADS, else every core).
    #[arg(long, value_parser = crate::flags::threads)]
    threads: Option<usize>,
    /// Python with torch (default: MM_PYTHON, else ~/.cache/mm/pyref).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Time mm only.
    #[arg(long)]
    no_reference: bool,
    /// Leave out the STFT/log-mel and word2vec rows (word2vec trains on 17 M tokens, about a minute per trainer).
    #[arg(long)]
    models_only: bool,
    /// Print the table as JSON instead of Markdown.
    #[arg(long)]
    json: bool,
}

/// One measured operation: milliseconds (or words/s for word2vec) per column.
#[derive(Serialize)]
struct Row {
    workload: String,
    batch: Option<usize>,
    unit: &'static str,
    values: Vec<Option<f64>>,
}

/// The whole table.
#[derive(Serialize)]
struct Table {
    columns: Vec<String>,
    rows: Vec<Row>,
    threads: usize,
    notes: Vec<String>,
}

#[derive(Deserialize)]
struct TorchTimes {
    train_ms: f64,
    infer_ms: f64,
}

#[derive(Deserialize)]
struct TorchRun {
    version: String,
    threads: usize,
    device: String,
    families: std::collections::BTreeMap<String, TorchTimes>,
}

pub fn run(args: DevicesArgs) -> Result<ExitCode, Failure> {
    let threads = crate::bench::flex_threads(args.threads);
    let families = if args.families.is_empty() { Family::ALL.to_vec() } else { args.families.clone() };
    let mut notes = Vec::new();
    let devices: Vec<(DeviceKind, Device)> = if args.devices.is_empty() {
        let mut found = vec![(DeviceKind::Flex, Device::flex())];
        match DeviceKind::Wgpu.device() {
            Ok(device) => found.push((DeviceKind::Wgpu, device)),
            Err(error) => notes.push(format!("wgpu left out: {error}")),
        }
        found
    } else {
        args.devices.iter().map(|&kind| Ok((kind, kind.device()?))).collect::<Result<_, mm_tasks::device::DeviceError>>()?
    };
    let batch_of = |family: Family| args.batch.unwrap_or(family.default_batch());

    let mut columns: Vec<String> = devices.iter().map(|(kind, _)| format!("mm {kind}")).collect();
    let mut measured: Vec<Vec<(f64, f64)>> = Vec::new();
    for (kind, device) in &devices {
        let mut per_family = Vec::new();
        for &family in &families {
            eprintln!("timing {} on {kind} …", family.name());
            let mut workload = Workload::new(family, device, batch_of(family))?;
            for _ in 0..3 {
                workload.train_step();
            }
            let train = median_ms(args.repeats, || workload.train_step());
            let infer = median_ms(args.repeats, || workload.infer());
            per_family.push((train, infer));
        }
        measured.push(per_family);
    }

    let mut torch_runs = Vec::new();
    if !args.no_reference {
        let python = python_with(args.python.clone(), "torch", &["torch"])?;
        let specs: Vec<String> = families.iter().map(|&f| format!("{}:{}", f.name(), batch_of(f))).collect();
        for device in ["cpu", "cuda"] {
            if device == "cuda" && !cuda_available(&python) {
                notes.push("PyTorch CUDA left out: torch.cuda.is_available() is false here".into());
                continue;
            }
            eprintln!("timing PyTorch on {device} …");
            let run = torch_reference(&python, device, threads, args.repeats, &specs)?;
            columns.push(format!("PyTorch {} {} ({} threads)", run.version, run.device, run.threads));
            torch_runs.push(run);
        }
    }

    let mut rows = Vec::new();
    for (i, &family) in families.iter().enumerate() {
        for (what, pick) in [("training step", 0), ("inference batch", 1)] {
            let mut values: Vec<Option<f64>> = measured.iter().map(|per_family| Some(if pick == 0 { per_family[i].0 } else { per_family[i].1 })).collect();
            for run in &torch_runs {
                values.push(run.families.get(family.name()).map(|t| if pick == 0 { t.train_ms } else { t.infer_ms }));
            }
            rows.push(Row { workload: format!("{} {what}", family.name()), batch: Some(batch_of(family)), unit: "ms", values });
        }
    }
    let cpu_column = devices.iter().position(|(kind, _)| *kind == DeviceKind::Flex);
    let torch_cpu_column = (!torch_runs.is_empty()).then_some(devices.len());
    if !args.models_only {
        let signal = time_signal(Path::new(SIGNAL_INPUT), args.repeats.max(10), args.python.clone(), args.no_reference)?;
        let torch_signal = signal.reference.as_ref().map(|r| (r.stft_ms.get("torch").copied(), r.logmel_ms.get("torch").copied()));
        for (name, mm, torch) in [
            ("STFT (60 s at 16 kHz, one thread)", signal.stft_ms, torch_signal.and_then(|t| t.0)),
            ("log-mel (60 s at 16 kHz, one thread)", signal.logmel_ms, torch_signal.and_then(|t| t.1)),
        ] {
            rows.push(cpu_only_row(name, "ms", mm, torch, columns.len(), cpu_column, torch_cpu_column));
        }
        eprintln!("timing word2vec …");
        let (mm, gensim) = crate::bench_word2vec::speeds(threads, args.python.clone(), args.no_reference)?;
        let mut row = cpu_only_row(
            "word2vec skip-gram (text8 recipe, 17 M tokens)",
            "words/s",
            mm,
            gensim.as_ref().map(|g| g.1),
            columns.len(),
            cpu_column,
            torch_cpu_column,
        );
        if let Some((version, _)) = gensim {
            row.workload.push_str(&format!("; the PyTorch CPU column holds {version}"));
        }
        rows.push(row);
    }

    let table = Table { columns, rows, threads, notes };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&table)?);
    } else {
        print_markdown(&table, cpu_column, torch_cpu_column, devices.iter().position(|(kind, _)| *kind == DeviceKind::Wgpu), torch_runs.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// A row only the CPU columns fill: mm on flex's column, the reference in PyTorch CPU's.
fn cpu_only_row(
    name: &str,
    unit: &'static str,
    mm: f64,
    reference: Option<f64>,
    width: usize,
    mm_column: Option<usize>,
    reference_column: Option<usize>,
) -> Row {
    let mut values = vec![None; width];
    if let Some(c) = mm_column {
        values[c] = Some(mm);
    }
    if let Some(c) = reference_column {
        values[c] = reference;
    }
    Row { workload: name.into(), batch: None, unit, values }
}

fn cuda_available(python: &Path) -> bool {
    Command::new(python).args(["-c", "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"]).status().is_ok_and(|s| s.success())
}

fn torch_reference(python: &Path, device: &str, threads: usize, repeats: usize, specs: &[String]) -> Result<TorchRun, Failure> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/reference/families_reference.py");
    let output = Command::new(python)
        .arg(&script)
        .args([device.to_string(), threads.to_string(), repeats.to_string()])
        .args(specs)
        .env("OMP_NUM_THREADS", threads.to_string())
        .output()?;
    if !output.status.success() {
        return Err(format!("{} failed: {}", script.display(), String::from_utf8_lossy(&output.stderr)).into());
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

fn print_markdown(table: &Table, flex: Option<usize>, torch_cpu: Option<usize>, wgpu: Option<usize>, torch_runs: usize) {
    let torch_cuda = (torch_runs == 2).then(|| torch_cpu.map(|c| c + 1)).flatten();
    let ratio = |row: &Row, mm: Option<usize>, reference: Option<usize>| -> String {
        match (mm.and_then(|c| row.values[c]), reference.and_then(|c| row.values[c])) {
            // For a speed (words/s) the ratio is inverted, so that above 1 always means mm takes longer.
            (Some(m), Some(r)) if row.unit == "words/s" => format!("{:.2}×", r / m),
            (Some(m), Some(r)) => format!("{:.2}×", m / r),
            _ => "—".into(),
        }
    };
    println!("Median of each measurement after warm-up calls; {} threads for PyTorch's CPU and word2vec; mm with {}.", table.threads, crate::ALLOCATOR);
    println!("Ratios: mm's time over the reference's at the same kind of device (above 1: mm is slower).");
    println!();
    let mut header = format!("| workload | batch | unit | {} |", table.columns.join(" | "));
    let mut rule = format!("|---|---|---|{}", "---|".repeat(table.columns.len()));
    if torch_cpu.is_some() {
        header.push_str(" flex ÷ PyTorch CPU |");
        rule.push_str("---|");
    }
    if torch_cuda.is_some() && wgpu.is_some() {
        header.push_str(" wgpu ÷ PyTorch CUDA |");
        rule.push_str("---|");
    }
    println!("{header}");
    println!("{rule}");
    for row in &table.rows {
        let cells: Vec<String> =
            row.values.iter().map(|v| v.map_or("—".into(), |v| if row.unit == "ms" { format!("{v:.1}") } else { format!("{v:.0}") })).collect();
        let mut line = format!("| {} | {} | {} | {} |", row.workload, row.batch.map_or("—".into(), |b| b.to_string()), row.unit, cells.join(" | "));
        if torch_cpu.is_some() {
            line.push_str(&format!(" {} |", ratio(row, flex, torch_cpu)));
        }
        if torch_cuda.is_some() && wgpu.is_some() {
            line.push_str(&format!(" {} |", ratio(row, wgpu, torch_cuda)));
        }
        println!("{line}");
    }
    for note in &table.notes {
        println!();
        println!("{note}");
    }
}
