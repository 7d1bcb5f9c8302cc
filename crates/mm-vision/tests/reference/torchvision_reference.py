"""torchvision networks with random weights, for crates/mm-vision/tests/torchvision_parity.rs.

usage: torchvision_reference.py OUT_DIR NAME:SIDE ...

For each NAME (a torchvision.models builder) it writes, under OUT_DIR:
  NAME.pth           the state dict, as torch.save(model.state_dict()) writes it
  NAME.input.f32     a batch of 2 random ImageNet-normalised pictures [2, 3, SIDE, SIDE], float32 little-endian
  NAME.logits.f32    model(input) in eval mode, [2, 1000]
  NAME.map.f32       the encoder's map: ResNet's layer4, VGG's features before the last max pool
and prints one JSON line: {"NAME": {"logits": shape, "map": shape}, ..., "parameters": {every builder: its state dict size}}.
Batch norm's affine parameters and running statistics are randomised too, so that a mix-up between them shows.
"""

import json
import sys

import torch
import torchvision

ALL = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "vgg11", "vgg13", "vgg16", "vgg19"]


def randomise_batch_norm(model):
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0.0, 0.1)
                module.running_mean.normal_(0.0, 0.1)
                module.running_var.uniform_(0.5, 1.5)


def state_size(model):
    """Numbers in the state dict but batch norm's step counters: parameters and running statistics, as burn counts."""
    return sum(t.numel() for key, t in model.state_dict().items() if not key.endswith("num_batches_tracked"))


def encoder_map(name, model, x):
    if name.startswith("resnet"):
        return torch.nn.Sequential(*list(model.children())[:-2])(x)
    return model.features[:-1](x)


def main():
    out_dir = sys.argv[1]
    shapes = {}
    for index, spec in enumerate(sys.argv[2:]):
        name, side = spec.split(":")
        torch.manual_seed(index)
        model = getattr(torchvision.models, name)(weights=None).eval()
        randomise_batch_norm(model)
        torch.save(model.state_dict(), f"{out_dir}/{name}.pth")
        x = torch.randn(2, 3, int(side), int(side))
        with torch.no_grad():
            logits, features = model(x), encoder_map(name, model, x)
        for part, tensor in [("input", x), ("logits", logits), ("map", features)]:
            tensor.contiguous().numpy().astype("<f4").tofile(f"{out_dir}/{name}.{part}.f32")
        shapes[name] = {"logits": list(logits.shape), "map": list(features.shape)}
    with torch.device("meta"):
        counts = {name: state_size(getattr(torchvision.models, name)(weights=None)) for name in ALL}
    print(json.dumps({**shapes, "parameters": counts}))


if __name__ == "__main__":
    main()
