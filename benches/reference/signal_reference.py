"""Reference timings for `cargo xtask bench signal`: the same STFT and log-mel as mm, in librosa, scipy and torch.

    python benches/reference/signal_reference.py SIGNAL.wav REPEATS

Prints one JSON object: median milliseconds per call over REPEATS calls (after two warm-up calls), and versions.
Definitions: complex STFT with n_fft 512, hop 128, periodic Hann, centred, reflect padding; log-mel with 80 Slaney
bands (Slaney norm), fmax 8000, power 2, 10*log10(max(S, 1e-10)). Single-threaded: the caller sets the thread
variables, and torch.set_num_threads(1) is called here.
"""
import json
import statistics
import sys
import time

import numpy as np
import soundfile

path, repeats = sys.argv[1], int(sys.argv[2])
y, rate = soundfile.read(path, dtype="float32")
N_FFT, HOP, N_MELS, FMAX = 512, 128, 80, 8000.0


def median_ms(function):
    for _ in range(2):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


results = {"stft_ms": {}, "logmel_ms": {}, "versions": {"numpy": np.__version__}}

import librosa

results["versions"]["librosa"] = librosa.__version__
mel_basis = librosa.filters.mel(sr=rate, n_fft=N_FFT, n_mels=N_MELS, fmax=FMAX)


def librosa_stft():
    return librosa.stft(y, n_fft=N_FFT, hop_length=HOP, window="hann", center=True, pad_mode="reflect")


def librosa_logmel():
    power = np.abs(librosa_stft()) ** 2
    return librosa.power_to_db(mel_basis @ power, ref=1.0, amin=1e-10, top_db=None)


results["stft_ms"]["librosa"] = median_ms(librosa_stft)
results["logmel_ms"]["librosa"] = median_ms(librosa_logmel)

import scipy
import scipy.signal

results["versions"]["scipy"] = scipy.__version__


def scipy_stft():
    padded = np.pad(y, N_FFT // 2, mode="reflect")
    return scipy.signal.stft(padded, nperseg=N_FFT, noverlap=N_FFT - HOP, window="hann", boundary=None, padded=False)


def scipy_logmel():
    _, _, spectrum = scipy_stft()
    power = np.abs(spectrum * N_FFT / 2) ** 2  # undo scipy's scaling by the window sum
    return 10.0 * np.log10(np.maximum(mel_basis @ power, 1e-10))


results["stft_ms"]["scipy"] = median_ms(scipy_stft)
results["logmel_ms"]["scipy"] = median_ms(scipy_logmel)

try:
    import torch
    import torchaudio

    torch.set_num_threads(1)
    results["versions"]["torch"] = torch.__version__
    signal = torch.from_numpy(y)
    window = torch.hann_window(N_FFT, periodic=True)
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=rate, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, f_max=FMAX, power=2.0,
        norm="slaney", mel_scale="slaney", center=True, pad_mode="reflect",
    )

    def torch_stft():
        with torch.inference_mode():
            return torch.stft(signal, N_FFT, hop_length=HOP, window=window, center=True, pad_mode="reflect", return_complex=True)

    def torch_logmel():
        with torch.inference_mode():
            return 10.0 * torch.log10(torch.clamp(mel(signal), min=1e-10))

    results["stft_ms"]["torch"] = median_ms(torch_stft)
    results["logmel_ms"]["torch"] = median_ms(torch_logmel)
except ImportError as error:
    results["versions"]["torch"] = f"missing ({error})"

print(json.dumps(results))
