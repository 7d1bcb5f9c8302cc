"""Reference for `cargo xtask bench train-step`: one training step (forward, backward, AdamW) of mm's mnist CNN
in PyTorch, same architecture, batch and optimiser.

    python benches/reference/train_step_reference.py BATCH REPEATS THREADS

The model is mm's default mnist classifier: three VGG stages of one (3x3 conv without bias, batch norm, ReLU)
block, 32, 64 and 128 channels, 2x2 max-pooling after each stage (28 -> 14 -> 7 -> 3), global average pooling,
dropout 0.2 and a linear layer to 10 classes. Prints one JSON object: the median ms per step after warm-up steps.
"""
import json
import sys

import torch
from torch import nn

from timing import median_ms

batch, repeats, threads = map(int, sys.argv[1:4])
torch.set_num_threads(threads)
torch.manual_seed(0)


def block(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


model = nn.Sequential(
    *block(1, 32), nn.MaxPool2d(2),
    *block(32, 64), nn.MaxPool2d(2),
    *block(64, 128), nn.MaxPool2d(2),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(128, 10),
)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4, eps=1e-5)
loss_fn = nn.CrossEntropyLoss()
images = torch.randn(batch, 1, 28, 28)
labels = torch.randint(0, 10, (batch,))


def step():
    optimizer.zero_grad()
    loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


print(json.dumps({"version": torch.__version__, "ms": median_ms(step, repeats), "threads": torch.get_num_threads()}))
