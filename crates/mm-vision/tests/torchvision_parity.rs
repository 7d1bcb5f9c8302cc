//! mm's torchvision networks against torchvision itself. A Python with torch and torchvision (MM_PYTHON, else
//! ~/.cache/mm/pyref; PyPI's packages) builds ResNet-18, ResNet-50 and VGG-16 with random weights (batch norm's
//! statistics too), saves their state dicts as `.pth` and runs them on random pictures; mm loads each `.pth` with
//! burn-store's PyTorch reader and must give the same logits and the same encoder map. Every architecture's
//! size (parameters and running statistics) is compared as well. Without such a Python the test says so and passes, except under CI,
//! where .ci/run provides it.

use std::path::Path;
use std::process::Command;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use mm_vision::torchvision::{TorchvisionArchitecture, TorchvisionConfig, detect_architecture, import_pth, load_weights, save_weights};
use serde_json::Value;

include!("support/python.rs");

fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

fn dims<const D: usize>(value: &Value) -> [usize; D] {
    let dims: Vec<usize> = value.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    dims.try_into().unwrap()
}

/// The largest difference between `ours` and `theirs`, relative to the largest magnitude of `theirs`.
fn relative_difference(ours: &[f32], theirs: &[f32]) -> f32 {
    assert_eq!(ours.len(), theirs.len());
    let scale = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "the reference output is all zeros: the comparison would prove nothing");
    ours.iter().zip(theirs).fold(0f32, |m, (a, b)| m.max((a - b).abs())) / scale
}

#[test]
fn resnet18_resnet50_and_vgg16_load_from_pth_and_match_torchvision() {
    let Some(python) = python_with_torchvision() else { return };
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/torchvision_reference.py");
    let output = Command::new(&python).arg(&script).arg(dir.path()).args(["resnet18:96", "resnet50:64", "vgg16:64"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let reference: Value = serde_json::from_str(String::from_utf8_lossy(&output.stdout).lines().last().unwrap()).unwrap();

    let device = Device::flex();
    for (name, side) in [("resnet18", 96), ("resnet50", 64), ("vgg16", 64)] {
        let pth = dir.path().join(format!("{name}.pth"));
        let architecture: TorchvisionArchitecture = name.parse().unwrap();
        assert_eq!(detect_architecture(&pth).unwrap(), (architecture, 1000), "{name}");
        let (_, net) = import_pth(&pth, &device).unwrap();
        let input = Tensor::<4>::from_data(TensorData::new(read_f32(&dir.path().join(format!("{name}.input.f32"))), [2, 3, side, side]), &device);

        let logits = net.forward(input.clone());
        assert_eq!(logits.dims(), dims::<2>(&reference[name]["logits"]), "{name}");
        let expected = read_f32(&dir.path().join(format!("{name}.logits.f32")));
        let difference = relative_difference(&logits.into_data().try_to_vec::<f32>().unwrap(), &expected);
        eprintln!("{name}: logits differ from torchvision's by {difference:.2e} of their scale");
        assert!(difference < 1e-4, "{name}: logits differ from torchvision's by {difference} of their scale");

        let encoded = net.encode(input);
        assert_eq!(encoded.features.dims(), dims::<4>(&reference[name]["map"]), "{name}");
        let expected = read_f32(&dir.path().join(format!("{name}.map.f32")));
        let difference = relative_difference(&encoded.features.into_data().try_to_vec::<f32>().unwrap(), &expected);
        eprintln!("{name}: the map differs from torchvision's by {difference:.2e} of its scale");
        assert!(difference < 1e-4, "{name}: the map differs from torchvision's by {difference} of its scale");

        // The imported safetensors file holds the same network.
        if name == "resnet18" {
            let saved = dir.path().join("resnet18.safetensors");
            save_weights(&net, &saved).unwrap();
            let mut again = TorchvisionConfig::new(architecture).init(&device);
            load_weights(&mut again, &saved).unwrap();
            let probe = Tensor::<4>::ones([1, 3, 64, 64], &device);
            let (a, b) = (net.forward(probe.clone()).into_data().try_to_vec::<f32>().unwrap(), again.forward(probe).into_data().try_to_vec::<f32>().unwrap());
            assert_eq!(a, b, "the safetensors round trip changed the network");
        }
    }

    for architecture in TorchvisionArchitecture::ALL {
        let expected = reference["parameters"][architecture.name()].as_u64().unwrap() as usize;
        let ours = TorchvisionConfig::new(architecture).init(&device).num_params();
        assert_eq!(ours, expected, "{architecture}: parameters and running statistics");
    }
}

#[test]
fn weights_of_another_network_are_refused_by_name() {
    let Some(python) = python_with_torchvision() else { return };
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/torchvision_reference.py");
    let output = Command::new(&python).arg(&script).arg(dir.path()).arg("resnet18:32").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let pth = dir.path().join("resnet18.pth");
    let device = Device::flex();
    let mut resnet34 = TorchvisionConfig::new(TorchvisionArchitecture::ResNet34).init(&device);
    let error = load_weights(&mut resnet34, &pth).unwrap_err().to_string();
    assert!(error.contains("resnet18.pth") && error.contains("missing"), "{error}");
    let mut vgg = TorchvisionConfig::new(TorchvisionArchitecture::Vgg11).init(&device);
    let error = load_weights(&mut vgg, &pth).unwrap_err().to_string();
    assert!(error.contains("resnet18.pth"), "{error}");
}

#[test]
fn files_that_are_not_torchvision_weights_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pth");
    std::fs::write(&junk, b"not a zip or a pickle").unwrap();
    let device = Device::flex();
    for error in [detect_architecture(&junk).unwrap_err().to_string(), import_pth(&dir.path().join("absent.pth"), &device).unwrap_err().to_string()] {
        assert!(error.contains("junk.pth") || error.contains("absent.pth"), "{error}");
    }
    let mut net = TorchvisionConfig::new(TorchvisionArchitecture::ResNet18).init(&device);
    assert!(load_weights(&mut net, &dir.path().join("absent.pth")).unwrap_err().to_string().contains("no such file"));
    assert!(load_weights(&mut net, &junk).unwrap_err().to_string().contains("junk.pth"));
}
