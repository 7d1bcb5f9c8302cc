"""pytorch-fid's Fréchet distance of feature sets: reads a JSON list of {"a": [[...]], "b": [[...]]}, prints a
JSON list of distances, each from the statistics pytorch-fid computes (np.mean, np.cov with rowvar=False)."""
import json
import sys

import numpy as np
from pytorch_fid.fid_score import calculate_frechet_distance

pairs = json.load(open(sys.argv[1]))
out = []
for pair in pairs:
    a, b = np.asarray(pair["a"], dtype=np.float64), np.asarray(pair["b"], dtype=np.float64)
    out.append(float(calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))))
print(json.dumps(out))
