"""The separation metrics of the field's reference tools, for mm's parity test: reads a JSON list of
{"rate", "reference", "estimate"} cases and prints a JSON list of {"si_sdr", "sdr", "stoi"}:
SI-SDR by fast-bss-eval (zero-mean, no permutation), SDR by mir_eval's bss_eval_sources (512-tap filter; the
case's reference and a second, independent reference as the other source, no permutation), STOI by pystoi."""
import json
import sys
import warnings

import fast_bss_eval
import mir_eval
import numpy as np
from pystoi import stoi

warnings.simplefilter("ignore")
out = []
for case in json.load(open(sys.argv[1])):
    ref = np.asarray(case["reference"], dtype=np.float64)
    est = np.asarray(case["estimate"], dtype=np.float64)
    other = np.asarray(case["other"], dtype=np.float64)
    si = -float(fast_bss_eval.si_sdr_loss(est[None], ref[None], zero_mean=True)[0])
    sdr, _, _, _ = mir_eval.separation.bss_eval_sources(np.stack([ref, other]), np.stack([est, other + 0.5 * ref]), compute_permutation=False)
    out.append({"si_sdr": si, "sdr": float(sdr[0]), "stoi": float(stoi(ref, est, case["rate"]))})
print(json.dumps(out))
