"""Reference for `cargo xtask bench devices`: the training step and the inference batch of each model family in
PyTorch, with the architecture, batch, loss and optimiser of `benches/src/families.rs` (change both together).

    python benches/reference/families_reference.py DEVICE THREADS REPEATS FAMILY:BATCH [FAMILY:BATCH ...]

DEVICE is cpu or cuda. Prints one JSON object: torch's version, the threads, and per family the median ms of a
training step (forward, loss, backward, optimiser, `loss.item()`) and of an inference batch (eval mode, no
gradients, the outputs' sum read back), each after five warm-up calls.
"""
import json
import sys

import torch
import torch.nn.functional as F
from torch import nn

from timing import median_ms


def conv_bn_relu(cin, cout, stride=1, relu=True):
    layers = [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU()) if relu else nn.Sequential(*layers)


class MnistCnn(nn.Module):
    """mm's default mnist classifier: VGG stages 32/64/128 of one block, max-pooling after each."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            conv_bn_relu(1, 32), nn.MaxPool2d(2), conv_bn_relu(32, 64), nn.MaxPool2d(2), conv_bn_relu(64, 128), nn.MaxPool2d(2)
        )
        self.dropout = nn.Dropout(0.2)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        return self.head(self.dropout(self.body(x.view(-1, 1, 28, 28)).mean((2, 3))))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.first = conv_bn_relu(cin, cout, stride)
        self.second = conv_bn_relu(cout, cout, relu=False)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        skip = x if self.shortcut is None else self.shortcut(x)
        return F.relu(self.second(self.first(x)) + skip)


class ResNet(nn.Module):
    """mm-vision's ResNet encoder (stem, stages 16/32/64 of two basic blocks) with a linear head."""

    def __init__(self):
        super().__init__()
        blocks, channels = [conv_bn_relu(3, 16)], 16
        for stage, width in enumerate([16, 32, 64]):
            for i in range(2):
                blocks.append(BasicBlock(channels, width, 2 if stage > 0 and i == 0 else 1))
                channels = width
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        return self.head(self.body(x.view(-1, 3, 32, 32)).mean((2, 3)))


class SoundNet(nn.Module):
    """SoundNet's conv1-conv5 (mm-audio's WaveformCnn) with a linear head."""

    def __init__(self):
        super().__init__()
        layers, channels = [], 1
        for out, kernel, stride, pool in [(16, 64, 2, 8), (32, 32, 2, 8), (64, 16, 2, 1), (128, 8, 2, 1), (256, 4, 2, 4)]:
            layers += [nn.Conv1d(channels, out, kernel, stride=stride, padding=kernel // 2), nn.BatchNorm1d(out), nn.ReLU()]
            if pool > 1:
                layers.append(nn.MaxPool1d(pool))
            channels = out
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(256, 10)

    def forward(self, x):
        return self.head(self.body(x).mean(2))


class Captioner(nn.Module):
    """Show and Tell: the projected picture is the LSTM's first input, then the words' embeddings."""

    def __init__(self, d_image=64, vocab=1000, d_embed=256, d_hidden=512):
        super().__init__()
        self.image = nn.Linear(d_image, d_embed)
        self.embed = nn.Embedding(vocab, d_embed)
        self.lstm = nn.LSTM(d_embed, d_hidden, batch_first=True)
        self.dropout = nn.Dropout(0.3)
        self.output = nn.Linear(d_hidden, vocab)

    def forward(self, features, tokens):
        x = torch.cat([self.image(features).unsqueeze(1), self.embed(tokens)], 1)
        hidden, _ = self.lstm(x)
        return self.output(self.dropout(hidden[:, 1:]))


class Generator(nn.Module):
    def __init__(self, d_text=128, d_compressed=128, d_noise=100, width=64):
        super().__init__()
        self.compress = nn.Linear(d_text, d_compressed)
        layers, channels = [nn.ConvTranspose2d(d_compressed + d_noise, width * 4, 4, bias=False), nn.BatchNorm2d(width * 4), nn.ReLU()], width * 4
        for _ in range(2):
            layers += [nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(channels // 2), nn.ReLU()]
            channels //= 2
        layers += [nn.ConvTranspose2d(width, 3, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, text, noise):
        x = torch.cat([F.leaky_relu(self.compress(text), 0.2), noise], 1)
        return self.body(x[:, :, None, None])


class Discriminator(nn.Module):
    def __init__(self, d_text=128, d_compressed=128, width=64):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2), nn.LeakyReLU(0.2),
            nn.Conv2d(width * 2, width * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 4), nn.LeakyReLU(0.2),
        )
        self.compress = nn.Linear(d_text, d_compressed)
        self.joint = nn.Sequential(nn.Conv2d(width * 4 + d_compressed, width * 4, 1, bias=False), nn.BatchNorm2d(width * 4), nn.LeakyReLU(0.2))
        self.output = nn.Linear(width * 4 * 16, 1)

    def forward(self, pictures, text):
        x = self.body(pictures)
        t = F.leaky_relu(self.compress(text), 0.2)[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        return self.output(self.joint(torch.cat([x, t], 1)).flatten(1)).flatten()


def bce(logits, real):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, 1.0 if real else 0.0))


class Separator(nn.Module):
    """The audio-only separation network: 2-D audio stream, BiLSTM, dense layers, two tanh-bounded complex masks."""

    def __init__(self, bins=129, c=32, out_channels=8, hidden=128, dense=256, sources=2):
        super().__init__()

        def block(conv):
            return [conv, nn.BatchNorm2d(conv.out_channels), nn.ReLU()]

        layers = block(nn.Conv2d(2, c, (1, 7), stride=(1, 2), padding=(0, 3), bias=False))
        layers += block(nn.Conv2d(c, c, (7, 1), padding=(3, 0), bias=False))
        for d in [1, 2, 4, 8, 16]:
            layers += block(nn.Conv2d(c, c, 3, dilation=(d, 1), padding=(d, 1), bias=False))
        layers += block(nn.Conv2d(c, out_channels, 1, bias=False))
        self.audio = nn.Sequential(*layers)
        reduced = (bins + 6 - 7) // 2 + 1
        self.lstm = nn.LSTM(out_channels * reduced, hidden, batch_first=True, bidirectional=True)
        self.dense = nn.Sequential(nn.ReLU(), nn.Linear(2 * hidden, dense), nn.ReLU(), nn.Linear(dense, dense), nn.ReLU())
        self.mask = nn.Linear(dense, sources * 2 * bins)
        self.bins, self.sources = bins, sources

    def forward(self, mixture):
        b, _, t, f = mixture.shape
        x = self.audio(mixture)
        x = x.transpose(1, 2).reshape(b, t, -1)
        hidden, _ = self.lstm(x)
        raw = self.mask(self.dense(hidden)).view(b, t, self.sources, 2, f).permute(0, 2, 3, 1, 4)
        return torch.tanh(raw) * 2.0


def apply_masks(masks, mixture):
    y = mixture.unsqueeze(1)
    mr, mi, yr, yi = masks[:, :, 0], masks[:, :, 1], y[:, :, 0], y[:, :, 1]
    return torch.stack([mr * yr - mi * yi, mr * yi + mi * yr], 2)


def pit_loss(estimates, targets):
    b, s = estimates.shape[:2]
    pair = (estimates.reshape(b, s, 1, -1) - targets.reshape(b, 1, s, -1)).pow(2).mean(3)
    per_permutation = torch.stack([(pair[:, 0, 0] + pair[:, 1, 1]) / 2, (pair[:, 0, 1] + pair[:, 1, 0]) / 2], 1)
    return per_permutation.min(1).values.mean()


def adamw(model):
    return torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4, eps=1e-5)


def steps(model, optimizer, loss, outputs):
    """A training step on `loss()` and an inference batch summing `outputs()`, each read back."""

    def train():
        model.train()
        optimizer.zero_grad()
        value = loss()
        value.backward()
        optimizer.step()
        return value.item()

    def infer():
        model.eval()
        with torch.no_grad():
            return outputs().sum().item()

    return train, infer


def classifier(model, shape, batch, device):
    inputs, test = torch.randn(batch, *shape, device=device), torch.randn(batch, *shape, device=device)
    labels = torch.arange(batch, device=device) % 10
    return steps(model, adamw(model), lambda: F.cross_entropy(model(inputs), labels), lambda: model(test))


def captioner(batch, device):
    model = Captioner().to(device)
    tokens = (torch.arange(batch * 16, device=device) * 7919 % 1000).view(batch, 16)
    features, test = torch.randn(batch, 64, device=device), torch.randn(batch, 64, device=device)
    loss = lambda: F.cross_entropy(model(features, tokens).reshape(-1, 1000), tokens.reshape(-1))
    return steps(model, adamw(model), loss, lambda: model(test, tokens))


def gan(batch, device):
    generator, discriminator = Generator().to(device), Discriminator().to(device)
    adam = lambda m: torch.optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-5)
    g_optimizer, d_optimizer = adam(generator), adam(discriminator)
    real = torch.randn(batch, 3, 32, 32, device=device).tanh()
    text = torch.randn(batch, 128, device=device)
    wrong = torch.roll(text, -1, 0)
    interpolated = (text + torch.roll(text, -1, 0)) / 2
    test_text, test_noise = torch.randn(batch, 128, device=device), torch.randn(batch, 100, device=device)

    def noise():
        return torch.randn(batch, 100, device=device)

    def train():
        generator.train()
        discriminator.train()
        d_optimizer.zero_grad()
        fake = generator(text, noise()).detach()
        d_loss = bce(discriminator(real, text), True) + (bce(discriminator(real, wrong), False) + bce(discriminator(fake, text), False)) * 0.5
        d_loss.backward()
        d_optimizer.step()
        g_optimizer.zero_grad()
        fake, between = generator(text, noise()), generator(interpolated, noise())
        g_loss = bce(discriminator(fake, text), True) + bce(discriminator(between, interpolated), True)
        g_loss.backward()
        g_optimizer.step()
        return d_loss.item() + g_loss.item()

    def infer():
        generator.eval()
        with torch.no_grad():
            return generator(test_text, test_noise).sum().item()

    return train, infer


def separator(batch, device):
    model = Separator().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-5)
    mixture = torch.randn(batch, 2, 101, 129, device=device)
    targets = torch.randn(batch, 2, 2, 101, 129, device=device)
    test = torch.randn(batch, 2, 101, 129, device=device)
    return steps(model, optimizer, lambda: pit_loss(apply_masks(model(mixture), mixture), targets), lambda: model(test))


def workload(family, batch, device):
    if family == "mnist-cnn":
        return classifier(MnistCnn().to(device), (784,), batch, device)
    if family == "resnet":
        return classifier(ResNet().to(device), (3 * 32 * 32,), batch, device)
    if family == "soundnet":
        return classifier(SoundNet().to(device), (1, 8000), batch, device)
    if family == "captioner":
        return captioner(batch, device)
    if family == "gan":
        return gan(batch, device)
    if family == "separator":
        return separator(batch, device)
    raise SystemExit(f"unknown family {family}")


def main():
    device, threads, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    results = {}
    for spec in sys.argv[4:]:
        family, batch = spec.split(":")
        train, infer = workload(family, int(batch), device)
        results[family] = {"train_ms": median_ms(train, repeats), "infer_ms": median_ms(infer, repeats)}
    name = torch.cuda.get_device_name(0) if device == "cuda" else "CPU"
    print(json.dumps({"version": torch.__version__, "threads": torch.get_num_threads(), "device": name, "families": results}))


if __name__ == "__main__":
    main()
