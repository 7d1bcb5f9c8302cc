"""Expected values for mm-audio's dynamic-range parity tests (tests/dynamic_range_parity.rs).

Run from the repository root with librosa 0.11 installed (any virtual environment):

    python crates/mm-audio/tests/reference/make_dynamic_range_reference.py ../shared/data/esc10

Each case is a signal whose levels span more than 100 dB (in time, in frequency, or both) with its own rate, FFT
length and mel settings. For each it writes, under dynamic_range/:

  CASE_signal.npy      the float32 samples mm reads (so both sides start from the same numbers)
  CASE_float64.npy     librosa's log-mel computed in float64: the truth, kept in float64   [frames, mels]
  CASE_float32.npy     librosa's log-mel of the float32 signal with float32 filters        [frames, mels]

The test holds mm to librosa's float32 path level by level: in every 10 dB band of the true value, mm's largest
error may not exceed librosa's float32 path's (plus 2e-6 dB, the rounding of a float32 result near -100 dB).
"""
import json
import sys
from pathlib import Path

import librosa
import numpy as np
import soundfile

here = Path(__file__).resolve().parent / "dynamic_range"
here.mkdir(exist_ok=True)
rng = np.random.default_rng(2026)


def tilted_noise(rate, seconds, tilt_db, decay_db):
    """White noise falling tilt_db from 0 Hz to Nyquist and decay_db from start to end."""
    n = int(rate * seconds)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum *= 10 ** (-(np.fft.rfftfreq(n, 1 / rate) / (rate / 2)) * tilt_db / 20)
    y = np.fft.irfft(spectrum, n) * 10 ** (-np.linspace(0, decay_db, n) / 20)
    return 0.5 * y / np.abs(y).max()


def decaying_chirp(rate, seconds, decay_db):
    t = np.arange(int(rate * seconds)) / rate
    phase = 2 * np.pi * (100 * t + (rate / 2.5 - 100) * t**2 / (2 * seconds))
    return 0.9 * np.sin(phase) * 10 ** (-decay_db * t / seconds / 20) + 1e-7 * rng.standard_normal(t.size)


def level_steps(rate, seconds, steps_db):
    """Noise bursts whose level drops by the given steps, one per segment."""
    n = int(rate * seconds)
    y = rng.standard_normal(n)
    gains = np.repeat(10 ** (-np.asarray(steps_db) / 20), -(-n // len(steps_db)))[:n]
    return 0.3 * y * gains


def recording(esc10, rate, seconds):
    """A real recording (ESC-10 rain), resampled, its second half attenuated by 70 dB."""
    path = sorted((Path(esc10) / "002 - Rain").glob("*.ogg"))[0]
    y, _ = librosa.load(path, sr=rate, mono=True, duration=seconds, dtype=np.float64)
    y[y.size // 2 :] *= 10 ** (-70 / 20)
    return y


cases = {
    # the case that showed the problem: 22.05 kHz noise, n_fft 1024, hop 256, 64 mels, fmax at Nyquist
    "tilted_noise_22050": dict(signal=tilted_noise(22050, 1.0, 100, 40), sr=22050, n_fft=1024, hop=256, n_mels=64, fmin=0.0, fmax=None, htk=False, norm="slaney", power=2.0),
    "rain_22050": dict(signal=recording(sys.argv[1], 22050, 1.0), sr=22050, n_fft=1024, hop=256, n_mels=64, fmin=0.0, fmax=None, htk=False, norm="slaney", power=2.0),
    # non-power-of-two even FFT, HTK mels without normalisation, fmin above zero
    "chirp_16000_n400_htk": dict(signal=decaying_chirp(16000, 1.0, 120), sr=16000, n_fft=400, hop=160, n_mels=40, fmin=20.0, fmax=7600.0, htk=True, norm=None, power=2.0),
    # odd FFT at 44.1 kHz with 128 mels
    "steps_44100_n2047": dict(signal=level_steps(44100, 1.0, [0, 30, 60, 90, 110]), sr=44100, n_fft=2047, hop=512, n_mels=128, fmin=0.0, fmax=16000.0, htk=False, norm="slaney", power=2.0),
    # small odd FFT at 8 kHz, magnitude (power 1) mel spectrogram
    "tilted_noise_8000_n255_magnitude": dict(signal=tilted_noise(8000, 1.0, 200, 20), sr=8000, n_fft=255, hop=64, n_mels=32, fmin=0.0, fmax=None, htk=False, norm="slaney", power=1.0),
}


def log_mel(y, dtype, case):
    spectrum = np.abs(librosa.stft(y.astype(dtype), n_fft=case["n_fft"], hop_length=case["hop"], window="hann", center=True, pad_mode="reflect")) ** case["power"]
    basis = librosa.filters.mel(sr=case["sr"], n_fft=case["n_fft"], n_mels=case["n_mels"], fmin=case["fmin"], fmax=case["fmax"], htk=case["htk"], norm=case["norm"], dtype=dtype)
    return librosa.power_to_db(basis @ spectrum, ref=1.0, amin=1e-10, top_db=None).T


settings = {}
for name, case in cases.items():
    signal = case.pop("signal").astype(np.float32)
    truth, single = log_mel(signal.astype(np.float64), np.float64, case), log_mel(signal, np.float32, case)
    np.save(here / f"{name}_signal.npy", signal)
    np.save(here / f"{name}_float64.npy", truth)
    np.save(here / f"{name}_float32.npy", single.astype(np.float32))
    settings[name] = case
    print(f"{name}: {truth.shape}, levels {truth.min():.1f} to {truth.max():.1f} dB, librosa float32 off by at most {np.abs(single - truth).max():.2e} dB")
(here / "cases.json").write_text(json.dumps(settings, indent=1) + "\n")
print(f"librosa {librosa.__version__}, numpy {np.__version__}")
