//! The one place a run turns `--device flex|wgpu` (or `MM_DEVICE`) into a burn [`Device`].

use burn::tensor::{Device, Tensor};

/// The backends mm runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// burn's pure-Rust CPU backend (the default).
    #[default]
    Flex,
    /// burn's wgpu backend: Vulkan, Metal or DirectX 12 GPUs (or a software Vulkan device).
    Wgpu,
}

impl std::str::FromStr for DeviceKind {
    type Err = DeviceError;
    fn from_str(name: &str) -> Result<Self, DeviceError> {
        match name.to_ascii_lowercase().as_str() {
            "flex" | "cpu" => Ok(Self::Flex),
            "wgpu" | "gpu" => Ok(Self::Wgpu),
            _ => Err(DeviceError::Unknown(name.to_string())),
        }
    }
}

impl std::fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeviceKind::Flex => "flex",
            DeviceKind::Wgpu => "wgpu",
        })
    }
}

/// Why a device could not be had.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The name is not a backend mm knows.
    #[error("unknown device {0:?}: expected flex (CPU) or wgpu (GPU)")]
    Unknown(String),
    /// wgpu found no adapter to run on.
    #[error(
        "no wgpu adapter is available ({0}). Install your GPU's Vulkan/Metal/DX12 driver, or, on Debian/Ubuntu \
         without a GPU, the software Vulkan device: `apt-get install mesa-vulkan-drivers`. Or use --device flex."
    )]
    NoAdapter(String),
    /// This build of mm has no wgpu backend.
    #[error("this build of mm has no wgpu backend: enable the `wgpu` feature of mm-runner (mm-tasks and xtask enable it), or use --device flex")]
    NotBuilt,
}

impl DeviceKind {
    /// `flag` when given, else `MM_DEVICE`, else flex.
    pub fn resolve(flag: Option<DeviceKind>) -> Result<DeviceKind, DeviceError> {
        match (flag, std::env::var("MM_DEVICE")) {
            (Some(kind), _) => Ok(kind),
            (None, Ok(name)) if !name.is_empty() => name.parse(),
            _ => Ok(DeviceKind::Flex),
        }
    }

    /// The burn device, checked to work: for wgpu, a tiny computation runs once so that a machine without an
    /// adapter gets an error here rather than a panic in the middle of a run.
    pub fn device(self) -> Result<Device, DeviceError> {
        match self {
            DeviceKind::Flex => Ok(Device::flex()),
            DeviceKind::Wgpu => wgpu(None),
        }
    }
}

/// One device of data-parallel training (`train.devices`, `--devices`): a backend and which of its devices, written
/// `flex`, `wgpu` (the adapter wgpu prefers) or `wgpu:N` (the N-th discrete GPU). flex has one device, the CPU:
/// several flex replicas share its thread pool, which is what the tests use to check the arithmetic on a machine
/// without GPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Replica {
    /// The backend.
    pub kind: DeviceKind,
    /// Which of its devices; `None` for the default one.
    pub index: Option<usize>,
}

impl std::str::FromStr for Replica {
    type Err = DeviceError;
    fn from_str(text: &str) -> Result<Self, DeviceError> {
        let (kind, index) = match text.split_once(':') {
            Some((kind, index)) => (kind, Some(index.parse().map_err(|_| DeviceError::Unknown(text.to_string()))?)),
            None => (text, None),
        };
        Ok(Self { kind: kind.parse()?, index })
    }
}

impl TryFrom<String> for Replica {
    type Error = DeviceError;
    fn try_from(text: String) -> Result<Self, DeviceError> {
        text.parse()
    }
}

impl From<Replica> for String {
    fn from(replica: Replica) -> String {
        replica.to_string()
    }
}

impl std::fmt::Display for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(index) => write!(f, "{}:{index}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl Replica {
    /// The burn device, checked to work as [`DeviceKind::device`] checks it.
    pub fn device(self) -> Result<Device, DeviceError> {
        match (self.kind, self.index) {
            (DeviceKind::Wgpu, Some(index)) => wgpu(Some(index)),
            (kind, _) => kind.device(),
        }
    }
}

/// The wgpu device (the adapter wgpu prefers, or the `index`-th discrete GPU), checked to work.
#[cfg(feature = "wgpu")]
fn wgpu(index: Option<usize>) -> Result<Device, DeviceError> {
    let device = match index {
        Some(index) => Device::wgpu(burn::tensor::DeviceKind::DiscreteGpu(index)),
        None => Device::wgpu(Default::default()),
    };
    probe(&device).map_err(|e| DeviceError::NoAdapter(index.map_or(e.clone(), |index| format!("wgpu:{index}: {e}"))))?;
    Ok(device)
}

/// A build without wgpu (mm-runner's `wgpu` feature off) says how to get it.
#[cfg(not(feature = "wgpu"))]
fn wgpu(_index: Option<usize>) -> Result<Device, DeviceError> {
    Err(DeviceError::NotBuilt)
}

/// Runs `1 + 1` on the device; wgpu reports a missing adapter by panicking, which is caught and returned.
fn probe(device: &Device) -> Result<(), String> {
    match quietly(|| Tensor::<1>::ones([1], device).add_scalar(1.0).into_scalar::<f32>())? {
        2.0 => Ok(()),
        value => Err(format!("1 + 1 gave {value}")),
    }
}

/// Runs `f`, turning a panic (how burn's GPU backends report a missing adapter or driver) into its message,
/// without printing it.
fn quietly<T>(f: impl FnOnce() -> T + std::panic::UnwindSafe) -> Result<T, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(f);
    std::panic::set_hook(hook);
    outcome.map_err(|panic| {
        panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "the backend failed".into())
    })
}

/// Runs a small but representative computation (matrix product, convolution, softmax, reductions) on `device`
/// and on flex, and returns the largest absolute difference between the two results.
pub fn agreement_check(device: &Device) -> Result<f32, DeviceError> {
    let on_device = quietly(|| agreement_outputs(device)).map_err(DeviceError::NoAdapter)?;
    let on_flex = agreement_outputs(&Device::flex());
    // Both sides run the same program, so a length difference is a bug, not a tolerance question.
    assert_eq!(on_device.len(), on_flex.len(), "the agreement check gave outputs of different lengths");
    Ok(on_device.iter().zip(&on_flex).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max))
}

/// The inputs of the agreement check, `(i·7919 mod 97) / 97 - ½` scaled.
fn agreement_values(n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|i| ((i * 7919 % 97) as f32 / 97.0 - 0.5) * scale).collect()
}

/// The check's program on one device: `softmax(a·b)` for a `[64, 48]` and b `[48, 32]`, a 3×3 convolution of a
/// `[2, 3, 16, 16]` picture through tanh, and that map's sums and means, flattened in that order.
fn agreement_outputs(device: &Device) -> Vec<f32> {
    use burn::tensor::{TensorData, activation::softmax, module::conv2d, ops::ConvOptions};
    let tensor = |n: usize, scale: f32, shape: Vec<usize>| TensorData::new(agreement_values(n, scale), shape);
    let a = Tensor::<2>::from_data(tensor(64 * 48, 1.0, vec![64, 48]), device);
    let b = Tensor::<2>::from_data(tensor(48 * 32, 0.5, vec![48, 32]), device);
    let image = Tensor::<4>::from_data(tensor(2 * 3 * 16 * 16, 1.0, vec![2, 3, 16, 16]), device);
    let kernel = Tensor::<4>::from_data(tensor(4 * 3 * 3 * 3, 0.3, vec![4, 3, 3, 3]), device);
    let product = softmax(a.matmul(b), 1);
    let convolved = conv2d(image, kernel, None, ConvOptions::new([1, 1], [1, 1], [1, 1], 1)).tanh();
    let mut out: Vec<f32> = product.into_data().try_to_vec().expect("f32 data");
    out.extend(convolved.clone().into_data().try_to_vec::<f32>().expect("f32 data"));
    out.extend(convolved.sum_dim(3).mean_dim(2).into_data().try_to_vec::<f32>().expect("f32 data"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names() {
        let replica: Replica = "wgpu:1".parse().unwrap();
        assert_eq!((replica.kind, replica.index, replica.to_string()), (DeviceKind::Wgpu, Some(1), "wgpu:1".to_string()));
        assert_eq!("flex".parse::<Replica>().unwrap(), Replica { kind: DeviceKind::Flex, index: None });
        assert!("wgpu:x".parse::<Replica>().unwrap_err().to_string().contains("wgpu:x"));
        assert_eq!("flex".parse::<DeviceKind>().unwrap(), DeviceKind::Flex);
        assert_eq!("WGPU".parse::<DeviceKind>().unwrap(), DeviceKind::Wgpu);
        assert!("cuda".parse::<DeviceKind>().unwrap_err().to_string().contains("flex"));
        assert_eq!(DeviceKind::resolve(Some(DeviceKind::Wgpu)).unwrap(), DeviceKind::Wgpu);
    }

    /// The program the check compares, against a direct f64 computation: the first softmax row and one
    /// convolution output, so that a check that compared wrong numbers on both sides would fail here.
    #[test]
    fn the_check_computes_what_it_says() {
        let out = agreement_outputs(&Device::flex());
        assert_eq!(out.len(), 64 * 32 + 2 * 4 * 16 * 16 + 2 * 4);
        let (a, b) = (agreement_values(64 * 48, 1.0), agreement_values(48 * 32, 0.5));
        let logits: Vec<f64> = (0..32).map(|j| (0..48).map(|k| f64::from(a[k]) * f64::from(b[k * 32 + j])).sum()).collect();
        let total: f64 = logits.iter().map(|l| l.exp()).sum();
        for j in 0..32 {
            assert!((f64::from(out[j]) - logits[j].exp() / total).abs() < 1e-6, "softmax[0][{j}]");
        }
        // Output channel 1 of picture 0 at (5, 7): a 3×3 window, every channel, zero padding not reached.
        let (image, kernel) = (agreement_values(2 * 3 * 16 * 16, 1.0), agreement_values(4 * 3 * 3 * 3, 0.3));
        let mut sum = 0.0f64;
        for c in 0..3 {
            for dy in 0..3 {
                for dx in 0..3 {
                    sum += f64::from(image[(c * 16 + 5 + dy - 1) * 16 + 7 + dx - 1]) * f64::from(kernel[((3 + c) * 3 + dy) * 3 + dx]);
                }
            }
        }
        assert!((f64::from(out[64 * 32 + (16 + 5) * 16 + 7]) - sum.tanh()).abs() < 1e-5);
    }
}
