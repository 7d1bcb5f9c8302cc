"""Expected values for mm-audio's librosa parity tests (tests/librosa_parity.rs).

Run from the repository root with librosa 0.11 installed (any virtual environment):

    python crates/mm-audio/tests/reference/make_librosa_reference.py ../shared/bench/stft_signal.wav

It writes small .npy files next to itself: the selected frame indices, the magnitude spectrogram and the
log-mel spectrogram at those frames, MFCCs of those frames, and mel filterbanks (Slaney and HTK). The
whole spectrogram of the 60 s file would be 7.7 MB, so the edges (where padding matters) and every 61st
frame in between are kept. librosa runs in float64, so the reference is as exact as librosa can be.
"""
import sys
from pathlib import Path

import librosa
import numpy as np
import soundfile

here = Path(__file__).resolve().parent
samples, rate = soundfile.read(sys.argv[1], dtype="float32")
assert rate == 16000 and samples.ndim == 1, (rate, samples.shape)
y = samples.astype(np.float64)

N_FFT, HOP, N_MELS, FMAX = 512, 128, 80, 8000.0
stft = librosa.stft(y, n_fft=N_FFT, hop_length=HOP, window="hann", center=True, pad_mode="reflect")
n_frames = stft.shape[1]
frames = np.unique(np.concatenate([np.arange(4), np.arange(4, n_frames - 4, 61), np.arange(n_frames - 4, n_frames)]))

magnitude = np.abs(stft)
mel_basis = librosa.filters.mel(sr=rate, n_fft=N_FFT, n_mels=N_MELS, fmax=FMAX, htk=False, norm="slaney", dtype=np.float64)
mel_power = mel_basis @ magnitude**2
log_mel = librosa.power_to_db(mel_power, ref=1.0, amin=1e-10, top_db=None)
mfcc = librosa.feature.mfcc(S=log_mel[:, frames], n_mfcc=20, dct_type=2, norm="ortho")
htk_basis = librosa.filters.mel(sr=rate, n_fft=N_FFT, n_mels=40, htk=True, norm=None, dtype=np.float64)

outputs = {
    "frames": frames.astype(np.int64),
    "magnitude": magnitude[:, frames].T.astype(np.float32),  # [frames, bins]
    "log_mel": log_mel[:, frames].T.astype(np.float32),  # [frames, mels]
    "mfcc": mfcc.T.astype(np.float32),  # [frames, 20]
    "mel_basis_slaney": mel_basis.astype(np.float32),  # [80, 257]
    "mel_basis_htk": htk_basis.astype(np.float32),  # [40, 257]
}
for name, array in outputs.items():
    np.save(here / f"{name}.npy", array)
print(f"librosa {librosa.__version__}: {n_frames} frames, kept {len(frames)}; max |X| = {magnitude.max():.4f}")
