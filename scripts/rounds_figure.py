"""docs/align_rounds.png: accepted labels and held-out numbers per alignment round (runs/rounds/rounds.json)."""
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

src = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/rounds/rounds.json")
out = Path(sys.argv[2] if len(sys.argv) > 2 else "docs/align_rounds.png")
r = json.loads(src.read_text())
keys = sorted(r, key=lambda k: int(k.split()[1]))
x = list(range(len(keys)))
fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
a.bar(x, [r[k]["accepted"] for k in keys], color="#4a8")
a.set(title="accepted labels on 55 manuscript sides", xlabel="round", xticks=x)
for name, label in [("held_out_cer", "held-out sides: text CER"), ("held_out_cer_no_lm", "... without the LM"),
                    ("dev_crop_top1", "dev crops top-1 (round 0: previous bundle, in-sample)"), ("kmnist_10way", "KMNIST 10-way")]:
    b.plot(x, [r[k][name] for k in keys], marker="o", label=label)
b.set(title="per round", xlabel="round", xticks=x, ylim=(0, 1))
b.legend(fontsize=8)
fig.tight_layout()
fig.savefig(out, dpi=110)
print(out)
