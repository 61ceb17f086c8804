"""Model speed on this CPU: detector seconds per page (ONNX), classifier crops/s (ONNX inference,
torch bf16/fp32 training steps). Prints a table."""
import argparse
import time

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("--detector", default=None)
p.add_argument("--classifier", default=None)
p.add_argument("--threads", type=int, default=0)
a = p.parse_args()

from kuzushiji.inference.classifier import OnnxClassifier
from kuzushiji.inference.detector import OnnxDetector
from kuzushiji.predictor import asset_path

det = OnnxDetector(a.detector or asset_path("detector.onnx"), threads=a.threads)
clf = OnnxClassifier(a.classifier or asset_path("classifier.onnx"), threads=a.threads)
page = np.full((3874, 2400), 200, np.uint8)
det(page)
t = time.perf_counter()
for _ in range(5):
    det(page)
det_s = (time.perf_counter() - t) / 5
crops = np.random.default_rng(0).integers(0, 255, (1024, clf.size, clf.size), dtype=np.uint8)
clf.predict(crops[:256])
t = time.perf_counter()
clf.predict(crops)
cps = len(crops) / (time.perf_counter() - t)
print(f"{'measure':<44}{'value':>10}")
print(f"{'detector seconds / page (ONNX, h=' + str(det.height) + ')':<44}{det_s:>10.3f}")
print(f"{'classifier crops / s (ONNX inference)':<44}{cps:>10.0f}")
try:
    import torch

    from kuzushiji.models import create_model
    from kuzushiji.train.common import autocast, cpu_has_bf16

    m = create_model("resnet_s", num_classes=len(clf.codes)).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(m.parameters())
    x = torch.randn(256, 1, clf.size, clf.size).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, len(clf.codes), (256,))
    for prec in (["bf16"] if cpu_has_bf16() else []) + ["fp32"]:
        for i in range(4):
            if i == 1:
                t = time.perf_counter()
            with autocast(torch.device("cpu"), prec):
                out = m(x)
            loss = torch.nn.functional.cross_entropy(out.float(), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"{'classifier crops / s (training, ' + prec + ')':<44}{256 * 3 / (time.perf_counter() - t):>10.0f}")
except ImportError:
    pass
