"""PyTorch's side of `cargo run -p mm-benches --example flex_conv_step`: the same 3 x 3 convolution (batch 64,
32 -> 64 channels, 14 x 14, padding 1, no bias), forward alone, forward + backward, and each gradient alone
(torch.nn.grad), median ms of 30 calls.

    python benches/reference/conv_step_reference.py THREADS
"""
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(int(sys.argv[1]))
x = torch.randn(64, 32, 14, 14, requires_grad=True)
w = (torch.randn(64, 32, 3, 3) * 0.1).requires_grad_()


def median_ms(call):
    for _ in range(5):
        call()
    times = []
    for _ in range(30):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)[15]


def forward():
    with torch.no_grad():
        return F.conv2d(x, w, padding=1).sum().item()


def both():
    x.grad = w.grad = None
    F.conv2d(x, w, padding=1).sum().backward()
    return w.grad.sum().item() + x.grad.sum().item()


g = torch.randn(64, 64, 14, 14)


def input_grad():
    with torch.no_grad():
        return torch.nn.grad.conv2d_input(x.shape, w, g, padding=1).sum().item()


def weight_grad():
    with torch.no_grad():
        return torch.nn.grad.conv2d_weight(x, w.shape, g, padding=1).sum().item()


print(
    f"torch {torch.__version__}, {torch.get_num_threads()} threads: forward {median_ms(forward):.2f} ms, "
    f"forward + backward {median_ms(both):.2f} ms; input gradient {median_ms(input_grad):.2f} ms, "
    f"weight gradient {median_ms(weight_grad):.2f} ms"
)
