//! torchvision weights in and out: a `.pth` state dict (what `torch.save(model.state_dict(), path)` writes and
//! what torchvision's model zoo serves) read with burn-store's PyTorch reader, or the safetensors file
//! [`save_weights`] writes from it.

use std::collections::BTreeMap;
use std::path::Path;

use burn::store::pytorch_reader::PytorchReader;
use burn::store::{ModuleSnapshot, ModuleStore, PytorchStore, SafetensorsStore};

use super::{TorchvisionArchitecture, TorchvisionConfig, TorchvisionNet};
use crate::{Error, Result};

fn check_exists(path: &Path) -> Result<()> {
    match path.is_file() {
        true => Ok(()),
        false => Err(Error::invalid(path, "no such file (torchvision weights: a .pth state dict or an imported .safetensors)")),
    }
}

/// Whether `path` is read as a PyTorch file (`.pth`, `.pt`) rather than safetensors.
fn is_pytorch(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("pth" | "pt"))
}

/// Loads `path` (a torchvision `.pth` state dict, or a `.safetensors` file from [`save_weights`]) into `net`.
/// Every parameter and running statistic of `net` must be in the file with its shape; the file may hold
/// nothing else but batch norm's `num_batches_tracked` counters.
pub fn load_weights(net: &mut TorchvisionNet, path: &Path) -> Result<()> {
    check_exists(path)?;
    let result = if is_pytorch(path) {
        // torchvision keeps a shortcut projection as `downsample = Sequential(conv, bn)`.
        let store = PytorchStore::from_file(path)
            .with_key_remapping(r"\.downsample\.0\.", ".downsample.conv.")
            .with_key_remapping(r"\.downsample\.1\.", ".downsample.norm.");
        apply(net, store.allow_partial(true))
    } else {
        apply(net, SafetensorsStore::from_file(path).allow_partial(true))
    };
    let result = result.map_err(|problem| Error::invalid(path, problem))?;
    let mut problems = Vec::new();
    if !result.errors.is_empty() {
        problems.push(format!("{} tensors do not fit: {}", result.errors.len(), listing(result.errors.iter().map(|e| e.to_string()))));
    }
    if !result.missing.is_empty() {
        problems.push(format!("{} tensors are missing: {}", result.missing.len(), listing(result.missing.iter().map(|(p, _)| p.clone()))));
    }
    let unexpected: Vec<&String> = result.unused.iter().filter(|p| !p.ends_with("num_batches_tracked")).collect();
    if !unexpected.is_empty() {
        problems.push(format!("{} tensors belong to no layer: {}", unexpected.len(), listing(unexpected.into_iter().cloned())));
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(Error::invalid(path, format!("not the weights of a torchvision {}: {}", architecture_of(net), problems.join("; ")))),
    }
}

fn apply<S: ModuleStore>(net: &mut TorchvisionNet, mut store: S) -> std::result::Result<burn::store::ApplyResult, String>
where
    S::Error: std::fmt::Display,
{
    // The network's own enum variant is not in torchvision's keys: load into the network itself.
    match net {
        TorchvisionNet::ResNet(resnet) => resnet.load_from(&mut store),
        TorchvisionNet::Vgg(vgg) => vgg.load_from(&mut store),
    }
    .map_err(|e| e.to_string())
}

fn architecture_of(net: &TorchvisionNet) -> &'static str {
    match net {
        TorchvisionNet::ResNet(_) => "ResNet of this depth",
        TorchvisionNet::Vgg(_) => "VGG of this depth",
    }
}

/// The first few of `items`, and how many more.
fn listing(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    let shown = items.iter().take(4).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > 4 { format!("{shown} … ({} more)", items.len() - 4) } else { shown }
}

/// Writes `net`'s weights to `path` as safetensors (torchvision's names), through a temporary file that is
/// synced before it is renamed into place.
pub fn save_weights(net: &TorchvisionNet, path: &Path) -> Result<()> {
    let mut store = SafetensorsStore::from_bytes(None);
    match net {
        TorchvisionNet::ResNet(resnet) => resnet.save_into(&mut store),
        TorchvisionNet::Vgg(vgg) => vgg.save_into(&mut store),
    }
    .map_err(|e| Error::invalid(path, e.to_string()))?;
    let bytes = store.get_bytes().map_err(|e| Error::invalid(path, e.to_string()))?;
    mm_files::write_bytes(path, &bytes).map_err(|e| Error::io(path, e))
}

/// Which torchvision network a `.pth` state dict holds, read from its keys and shapes: the blocks per layer
/// (ResNet) or the convolutions (VGG), and whether `layer1`'s blocks have a third convolution (bottlenecks).
pub fn detect_architecture(path: &Path) -> Result<(TorchvisionArchitecture, usize)> {
    check_exists(path)?;
    let reader = PytorchReader::new(path).map_err(|e| Error::invalid(path, format!("not a PyTorch file: {e}")))?;
    let shapes: BTreeMap<String, Vec<usize>> = reader.tensors().iter().map(|(k, t)| (k.clone(), t.shape().to_vec())).collect();
    // The classifier's weight is `[classes, features]`; anything else (a 0-d tensor) is not torchvision's.
    let classes = |key: &str| -> Result<Option<usize>> {
        match shapes.get(key).map(Vec::as_slice) {
            None => Ok(None),
            Some([classes, _]) if *classes > 0 => Ok(Some(*classes)),
            Some(shape) => Err(Error::invalid(path, format!("{key} has shape {shape:?}, not [classes, features] as torchvision's"))),
        }
    };
    if let Some(classes) = classes("fc.weight")? {
        let blocks = |layer: usize| (0..).take_while(|i| shapes.contains_key(&format!("layer{layer}.{i}.conv1.weight"))).count();
        let bottleneck = shapes.contains_key("layer1.0.conv3.weight");
        let found = [blocks(1), blocks(2), blocks(3), blocks(4)];
        let architecture = match (bottleneck, found) {
            (false, [2, 2, 2, 2]) => TorchvisionArchitecture::ResNet18,
            (false, [3, 4, 6, 3]) => TorchvisionArchitecture::ResNet34,
            (true, [3, 4, 6, 3]) => TorchvisionArchitecture::ResNet50,
            (true, [3, 4, 23, 3]) => TorchvisionArchitecture::ResNet101,
            (true, [3, 8, 36, 3]) => TorchvisionArchitecture::ResNet152,
            _ => return Err(Error::invalid(path, format!("a ResNet with {found:?} blocks per layer is not a torchvision architecture"))),
        };
        return Ok((architecture, classes));
    }
    if let Some(classes) = classes("classifier.6.weight")? {
        let convolutions = shapes.keys().filter(|k| k.starts_with("features.") && k.ends_with(".weight")).count();
        let architecture = match convolutions {
            8 => TorchvisionArchitecture::Vgg11,
            10 => TorchvisionArchitecture::Vgg13,
            13 => TorchvisionArchitecture::Vgg16,
            16 => TorchvisionArchitecture::Vgg19,
            n => return Err(Error::invalid(path, format!("a VGG with {n} weighted feature layers is not a torchvision VGG without batch norm"))),
        };
        return Ok((architecture, classes));
    }
    Err(Error::invalid(path, "neither a torchvision ResNet (no fc.weight) nor a VGG (no classifier.6.weight)"))
}

/// The network a `.pth` file holds, built and loaded: [`detect_architecture`], then [`load_weights`].
pub fn import_pth(path: &Path, device: &burn::tensor::Device) -> Result<(TorchvisionArchitecture, TorchvisionNet)> {
    let (architecture, classes) = detect_architecture(path)?;
    let mut net = TorchvisionConfig::new(architecture).with_num_classes(classes).init(device);
    load_weights(&mut net, path)?;
    Ok((architecture, net))
}
