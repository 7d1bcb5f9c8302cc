//! `cargo xtask data check|fetch`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use mm_tasks::data::check::{Status, check_all};
use mm_tasks::data::{DataRoot, Dataset, fetch::fetch};

use crate::Failure;

#[derive(Subcommand)]
pub enum DataCommand {
    /// For each data set: found or missing, counts, and integrity checks. Exits 1 if anything present is wrong.
    Check {
        /// Data root (default: MM_DATA_DIR, else ./data, else ../shared/data).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Decode every audio file instead of reading headers only.
        #[arg(long)]
        deep: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Download data sets from their official sources into the data root (default ./data).
    Fetch {
        /// Which data sets (default: all).
        datasets: Vec<String>,
        /// Data root to write into (default: MM_DATA_DIR, else ./data).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Print what would be fetched and where, without downloading.
        #[arg(long)]
        dry_run: bool,
    },
}

pub fn run(command: DataCommand) -> Result<ExitCode, Failure> {
    match command {
        DataCommand::Check { data, deep, json } => {
            let reports = check_all(&DataRoot::from_flag(data.as_deref()), deep);
            if json {
                println!("{}", serde_json::to_string_pretty(&reports)?);
            } else {
                for report in &reports {
                    let place = report.path.as_ref().map_or(String::new(), |p| format!(" at {}", p.display()));
                    println!("{:<10} {:<8}{place}", report.dataset.folder(), format!("{:?}", report.status).to_lowercase());
                    if !report.counts.is_empty() {
                        let counts: Vec<String> = report.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
                        println!("           {}", counts.join(", "));
                    }
                    for problem in &report.problems {
                        println!("           ! {problem}");
                    }
                }
            }
            let wrong = reports.iter().any(|r| r.status == Status::Wrong);
            Ok(if wrong { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        DataCommand::Fetch { datasets, data, dry_run } => {
            let datasets: Vec<Dataset> =
                if datasets.is_empty() { Dataset::ALL.to_vec() } else { datasets.iter().map(|d| d.parse()).collect::<Result<_, String>>()? };
            let root = data.or_else(|| std::env::var_os("MM_DATA_DIR").map(PathBuf::from)).unwrap_or_else(|| "data".into());
            for dataset in datasets {
                for line in fetch(&root, dataset, dry_run)? {
                    println!("{line}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
