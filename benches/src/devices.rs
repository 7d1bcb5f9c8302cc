//! `cargo xtask bench devices`: one table, one run — every model family's training step and inference batch on
//! each mm device beside PyTorch on the CPU (same threads) and on CUDA where a GPU is present, then the STFT,
//! log-mel and word2vec rows. The workloads are [`crate::families`]; PyTorch's are
//! `reference/families_reference.py`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use burn::tensor::Device;
use mm_tasks::DeviceKind;
use serde::{Deserialize, Serialize};

use crate::families::{Family, Workload};
use crate::harness::{BenchError, flex_threads, median_ms, python_with, reference_output, reference_script};
use crate::signal::{SIGNAL_INPUT, time_signal};

/// What to time.
#[derive(Debug, Clone)]
pub struct DevicesOptions {
    /// Families to time (empty: all).
    pub families: Vec<Family>,
    /// mm devices (empty: flex, and wgpu when an adapter answers).
    pub devices: Vec<DeviceKind>,
    /// Examples per batch for every family (`None`: each family's own).
    pub batch: Option<usize>,
    /// Timed calls per measurement, after warm-up calls; the median is reported.
    pub repeats: usize,
    /// PyTorch's CPU threads and word2vec's (`None`: flex's).
    pub threads: Option<usize>,
    /// Python with torch (`None`: MM_PYTHON, else ~/.cache/mm/pyref).
    pub python: Option<PathBuf>,
    /// Time mm only.
    pub no_reference: bool,
    /// Leave out the STFT/log-mel and word2vec rows.
    pub models_only: bool,
    /// The global allocator of the binary that times, for the header.
    pub allocator: &'static str,
}

/// One measured operation: milliseconds (or words/s for word2vec) per column.
#[derive(Debug, Serialize)]
pub struct Row {
    /// What was timed.
    pub workload: String,
    /// Its batch, for the model families.
    pub batch: Option<usize>,
    /// `ms` or `words/s`.
    pub unit: &'static str,
    /// One value per column; `None` where the column does not run it.
    pub values: Vec<Option<f64>>,
}

/// The whole table (its JSON is `--json`'s output; its Display the Markdown table with the ratios).
#[derive(Debug, Serialize)]
pub struct DevicesTable {
    /// `mm flex`, `mm wgpu`, `PyTorch … cpu`, `PyTorch … cuda`: those that ran.
    pub columns: Vec<String>,
    /// The rows.
    pub rows: Vec<Row>,
    /// PyTorch's CPU threads.
    pub threads: usize,
    /// What was left out, and why.
    pub notes: Vec<String>,
    #[serde(skip)]
    allocator: &'static str,
    #[serde(skip)]
    flex: Option<usize>,
    #[serde(skip)]
    wgpu: Option<usize>,
    #[serde(skip)]
    torch_cpu: Option<usize>,
    #[serde(skip)]
    torch_cuda: Option<usize>,
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
    families: BTreeMap<String, TorchTimes>,
}

/// Times every family on every device, PyTorch beside, and (unless `models_only`) the signal and word2vec rows.
pub fn time_devices(options: &DevicesOptions) -> Result<DevicesTable, BenchError> {
    let threads = flex_threads(options.threads);
    let families = if options.families.is_empty() { Family::ALL.to_vec() } else { options.families.clone() };
    let mut notes = Vec::new();
    let devices: Vec<(DeviceKind, Device)> = if options.devices.is_empty() {
        let mut found = vec![(DeviceKind::Flex, Device::flex())];
        match DeviceKind::Wgpu.device() {
            Ok(device) => found.push((DeviceKind::Wgpu, device)),
            Err(error) => notes.push(format!("wgpu left out: {error}")),
        }
        found
    } else {
        options.devices.iter().map(|&kind| Ok((kind, kind.device()?))).collect::<Result<_, mm_tasks::device::DeviceError>>()?
    };
    let batch_of = |family: Family| options.batch.unwrap_or(family.default_batch());

    let mut columns: Vec<String> = devices.iter().map(|(kind, _)| format!("mm {kind}")).collect();
    let mut measured: Vec<Vec<(f64, f64)>> = Vec::new();
    for (kind, device) in &devices {
        let mut per_family = Vec::new();
        for &family in &families {
            eprintln!("timing {} on {kind} …", family.name());
            let batch = batch_of(family);
            let mut workload = Workload::new(family, device, batch).map_err(|why| BenchError::BadSetting { name: "--batch", value: batch.to_string(), why })?;
            for _ in 0..3 {
                workload.train_step();
            }
            let train = median_ms(options.repeats, || workload.train_step());
            let infer = median_ms(options.repeats, || workload.infer());
            per_family.push((train, infer));
        }
        measured.push(per_family);
    }

    let mut torch_runs = Vec::new();
    if !options.no_reference {
        let python = python_with(options.python.clone(), "torch", &["torch"])?;
        let specs: Vec<String> = families.iter().map(|&f| format!("{}:{}", f.name(), batch_of(f))).collect();
        for device in ["cpu", "cuda"] {
            if device == "cuda" && !cuda_available(&python) {
                notes.push("PyTorch CUDA left out: torch.cuda.is_available() is false here".into());
                continue;
            }
            eprintln!("timing PyTorch on {device} …");
            let run = torch_reference(&python, device, threads, options.repeats, &specs)?;
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
    let flex = devices.iter().position(|(kind, _)| *kind == DeviceKind::Flex);
    let wgpu = devices.iter().position(|(kind, _)| *kind == DeviceKind::Wgpu);
    let torch_cpu = (!torch_runs.is_empty()).then_some(devices.len());
    let torch_cuda = (torch_runs.len() == 2).then(|| torch_cpu.map(|c| c + 1)).flatten();
    if !options.models_only {
        let signal = time_signal(Path::new(SIGNAL_INPUT), options.repeats.max(10), options.python.clone(), options.no_reference)?;
        let torch_signal = signal.reference.as_ref().map(|r| (r.stft_ms.get("torch").copied(), r.logmel_ms.get("torch").copied()));
        for (name, mm, torch) in [
            ("STFT (60 s at 16 kHz, one thread)", signal.stft_ms, torch_signal.and_then(|t| t.0)),
            ("log-mel (60 s at 16 kHz, one thread)", signal.logmel_ms, torch_signal.and_then(|t| t.1)),
        ] {
            rows.push(cpu_only_row(name, "ms", mm, torch, columns.len(), flex, torch_cpu));
        }
        eprintln!("timing word2vec …");
        let (mm, gensim) = crate::word2vec::speeds(threads, options.python.clone(), options.no_reference)?;
        let mut row =
            cpu_only_row("word2vec skip-gram (text8 recipe, 17 M tokens)", "words/s", mm, gensim.as_ref().map(|g| g.1), columns.len(), flex, torch_cpu);
        if let Some((version, _)) = gensim {
            row.workload.push_str(&format!("; the PyTorch CPU column holds {version}"));
        }
        rows.push(row);
    }
    Ok(DevicesTable { columns, rows, threads, notes, allocator: options.allocator, flex, wgpu, torch_cpu, torch_cuda })
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

fn torch_reference(python: &Path, device: &str, threads: usize, repeats: usize, specs: &[String]) -> Result<TorchRun, BenchError> {
    let script = reference_script("families_reference.py");
    reference_output(
        &script,
        Command::new(python)
            .arg(&script)
            .args([device.to_string(), threads.to_string(), repeats.to_string()])
            .args(specs)
            .env("OMP_NUM_THREADS", threads.to_string()),
    )
}

/// The Markdown table, with flex ÷ PyTorch CPU and wgpu ÷ PyTorch CUDA where both ran.
impl fmt::Display for DevicesTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ratio = |row: &Row, mm: Option<usize>, reference: Option<usize>| -> String {
            match (mm.and_then(|c| row.values[c]), reference.and_then(|c| row.values[c])) {
                // For a speed (words/s) the ratio is inverted, so that above 1 always means mm takes longer.
                (Some(m), Some(r)) if row.unit == "words/s" => format!("{:.2}×", r / m),
                (Some(m), Some(r)) => format!("{:.2}×", m / r),
                _ => "—".into(),
            }
        };
        let cuda_ratio = self.torch_cuda.is_some() && self.wgpu.is_some();
        writeln!(f, "Median of each measurement after warm-up calls; {} threads for PyTorch's CPU and word2vec; mm with {}.", self.threads, self.allocator)?;
        writeln!(f, "Ratios: mm's time over the reference's at the same kind of device (above 1: mm is slower).")?;
        writeln!(f)?;
        let mut header = format!("| workload | batch | unit | {} |", self.columns.join(" | "));
        let mut rule = format!("|---|---|---|{}", "---|".repeat(self.columns.len()));
        if self.torch_cpu.is_some() {
            header.push_str(" flex ÷ PyTorch CPU |");
            rule.push_str("---|");
        }
        if cuda_ratio {
            header.push_str(" wgpu ÷ PyTorch CUDA |");
            rule.push_str("---|");
        }
        writeln!(f, "{header}")?;
        writeln!(f, "{rule}")?;
        for row in &self.rows {
            let cells: Vec<String> =
                row.values.iter().map(|v| v.map_or("—".into(), |v| if row.unit == "ms" { format!("{v:.1}") } else { format!("{v:.0}") })).collect();
            let mut line = format!("| {} | {} | {} | {} |", row.workload, row.batch.map_or("—".into(), |b| b.to_string()), row.unit, cells.join(" | "));
            if self.torch_cpu.is_some() {
                line.push_str(&format!(" {} |", ratio(row, self.flex, self.torch_cpu)));
            }
            if cuda_ratio {
                line.push_str(&format!(" {} |", ratio(row, self.wgpu, self.torch_cuda)));
            }
            writeln!(f, "{line}")?;
        }
        for note in &self.notes {
            writeln!(f)?;
            writeln!(f, "{note}")?;
        }
        Ok(())
    }
}
