"""The localisation metrics of LVS (Chen et al. 2021, github.com/hche11/Localizing-Visual-Sounds-the-Hard-Way,
test.py and utils.py), restated with the same numpy operations, for mm's parity test.

Input (argv[1]): JSON list of cases {"map": [[...]] (rows x columns), "heatmap": [[...]] (H x W, mm's resize of
"map"), "gt": [[...]] (H x W), "threshold": t}. Each map is resized to H x W bilinearly as LVS resizes it
(cv2.INTER_LINEAR; torch's bilinear with align_corners=False computes the same when enlarging) and returned, so
that mm's resize is compared to it within rounding. The heatmap is then scored as LVS scores it: min-max normalised
(normalize_img) and binarised twice, by LVS's rule (pixels above sorted[N / 2]) and by cal_CIOU's own
`infer >= thres` on the normalised map; scoring mm's own resize keeps a pixel tied at the median from flipping on
a last-bit difference between two resizes. Prints JSON: the resized maps, the per-case cIoUs and, over all cases,
the success rate at 0.5 (Evaluator.final) and the AUC (Evaluator.cal_AUC, sklearn.metrics.auc).
"""
import json
import sys

import numpy as np
import sklearn.metrics
import torch
import torch.nn.functional as F


def normalize_img(value, vmax=None, vmin=None):
    vmin = value.min() if vmin is None else vmin
    vmax = value.max() if vmax is None else vmax
    if not (vmax - vmin) == 0:
        value = (value - vmin) / (vmax - vmin)
    return value


def cal_ciou(infer, gtmap, thres):
    infer_map = np.zeros(gtmap.shape)
    infer_map[infer >= thres] = 1
    return np.sum(infer_map * gtmap) / (np.sum(gtmap) + np.sum(infer_map * (gtmap == 0)))


def cal_auc(cious):
    results = []
    for i in range(21):
        results.append(np.sum(np.array(cious) >= 0.05 * i) / len(cious))
    x = [0.05 * i for i in range(21)]
    return sklearn.metrics.auc(x, results)


def main():
    cases = json.load(open(sys.argv[1]))
    median, fixed, resized = [], [], []
    for case in cases:
        gt = np.array(case["gt"], dtype=np.float64)
        small = torch.tensor(case["map"], dtype=torch.float32)[None, None]
        resized.append(F.interpolate(small, size=gt.shape, mode="bilinear", align_corners=False)[0, 0].numpy().flatten().tolist())
        heatmap = np.array(case["heatmap"], dtype=np.float32)
        # test.py: normalize_img(-heatmap), then pred = 1 - pred, thresholded at its median.
        pred = 1 - normalize_img(-heatmap)
        threshold = np.sort(pred.flatten())[int(pred.shape[0] * pred.shape[1] / 2)]
        pred[pred > threshold] = 1
        pred[pred < 1] = 0
        median.append(float(cal_ciou(pred, gt, 0.5)))
        fixed.append(float(cal_ciou(normalize_img(heatmap), gt, case["threshold"])))
    print(json.dumps({
        "resized": resized, "median": median, "fixed": fixed,
        "median_success": float(np.mean(np.array(median) >= 0.5)), "median_auc": float(cal_auc(median)),
        "fixed_success": float(np.mean(np.array(fixed) >= 0.5)), "fixed_auc": float(cal_auc(fixed)),
    }))


main()
