"""coco-caption's BLEU-1..4 and CIDEr-D (pycocoevalcap, PyPI) of caption sets given as JSON.

    python coco_caption_scores.py SETS.json

SETS.json is a list of sets, each {"candidates": [str], "references": [[str]]}, captions already tokenised
(lower-case, space-separated, punctuation removed: what pycocoevalcap's PTBTokenizer would hand the scorers).
Prints a JSON list with, per set, {"bleu": [b1, b2, b3, b4], "cider": mean, "cider_per_caption": [...]}.
"""

import json
import sys

from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider

results = []
for caption_set in json.load(open(sys.argv[1])):
    res = {i: [c] for i, c in enumerate(caption_set["candidates"])}
    gts = {i: refs for i, refs in enumerate(caption_set["references"])}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    cider, per_caption = Cider().compute_score(gts, res)
    results.append({"bleu": list(bleu), "cider": float(cider), "cider_per_caption": [float(v) for v in per_caption]})
print(json.dumps(results))
