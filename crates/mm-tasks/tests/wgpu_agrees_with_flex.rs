//! The same computations on wgpu and on flex must agree. CI installs a software Vulkan device (Mesa's llvmpipe),
//! so this runs everywhere; where no adapter exists outside CI the test says so and passes.

use burn::tensor::{Device, Tensor, TensorData};
use mm_audio::device::DeviceLogMel;
use mm_audio::signal::LogMelConfig;
use mm_tasks::device::{DeviceKind, agreement_check};

fn wgpu() -> Option<Device> {
    match DeviceKind::Wgpu.device() {
        Ok(device) => Some(device),
        Err(error) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping: {error}");
            None
        }
        Err(error) => panic!("CI must have a wgpu device: {error}"),
    }
}

#[test]
fn tensor_operations_agree() {
    let Some(device) = wgpu() else { return };
    let difference = agreement_check(&device).unwrap();
    assert!(difference < 1e-4, "wgpu differs from flex by {difference}");
}

#[test]
fn log_mel_on_the_device_agrees() {
    let Some(device) = wgpu() else { return };
    // Tones over a noise floor about 40 dB down, as in real recordings: in a band with no energy at all, dB
    // values only compare rounding noise.
    let mut state = 12345u32;
    let signal: Vec<f32> = (0..2 * 8000)
        .map(|i| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
            ((i as f32 * 0.031).sin() + ((i * 13) % 7) as f32 * 0.05 + noise * 0.02) * 0.3
        })
        .collect();
    let config = LogMelConfig::new(16000, 256, 64, 32);
    let run = |device: &Device| -> Vec<f32> {
        let batch = Tensor::<2>::from_data(TensorData::new(signal.clone(), [2, 8000]), device);
        DeviceLogMel::new(config, device).unwrap().forward(batch).unwrap().into_data().try_to_vec().unwrap()
    };
    let (gpu, cpu) = (run(&device), run(&Device::flex()));
    let worst = gpu.iter().zip(&cpu).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(worst < 1e-2, "wgpu log-mel differs from flex by {worst} dB");
}
