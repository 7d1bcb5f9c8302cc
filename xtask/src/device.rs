//! `cargo xtask device`: is the device usable, and does it compute what flex computes?

use std::process::ExitCode;

use clap::Args;
use mm_tasks::device::{DeviceKind, agreement_check};

use crate::Failure;

#[derive(Args)]
pub struct DeviceArgs {
    /// Device to check (default: MM_DEVICE, else flex).
    #[arg(long)]
    device: Option<DeviceKind>,
}

pub fn run(args: DeviceArgs) -> Result<ExitCode, Failure> {
    let kind = DeviceKind::resolve(args.device)?;
    let device = kind.device()?;
    let difference = agreement_check(&device)?;
    println!("{kind}: {device:?} works; largest difference from flex on the check computation: {difference:.2e}");
    Ok(ExitCode::SUCCESS)
}
