"""docs/accuracy.png from bench/accuracy.py's JSON: competition F1 (leave-one-page-out) and Genji held-out CER of
each configuration, without and with the false-positive filter.

    python scripts/accuracy_figure.py bench/results/accuracy.json -o docs/accuracy.png
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("results")
p.add_argument("-o", "--output", required=True)
a = p.parse_args()
res = json.load(open(a.results))
configs = res["configs"]
names = list(configs)
y = np.arange(len(names))
fig, axes = plt.subplots(1, 2, figsize=(11, 0.42 * len(names) + 1.6), sharey=True)
for ax, key, title in ((axes[0], "f1", "competition F1, leave-one-page-out (higher is better)"),
                       (axes[1], "cer", "Genji held-out sides, text CER (lower is better)")):
    plain = [configs[n][key] for n in names]
    filt = [configs[n]["with_filter"][key] for n in names]
    ax.barh(y - 0.2, plain, 0.4, label="as read", color="#8aa")
    ax.barh(y + 0.2, filt, 0.4, label="+ false-positive filter", color="#c63")
    for yy, v in zip(y, filt):
        ax.text(v, yy + 0.2, f" {v:.3f}", va="center", fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.set_xlim(0, max(plain + filt) * 1.15)
axes[0].set_yticks(y, names, fontsize=8)
axes[0].invert_yaxis()
fig.legend(*axes[0].get_legend_handles_labels(), fontsize=8, loc="lower right")
legend = "; ".join(f"{k}: {v}" for k, v in res.get("classifiers", {}).items())
fig.text(0.01, 0.005, f"classifier folds: {legend}", fontsize=7)
fig.tight_layout(rect=(0, 0.02, 1, 1))
fig.savefig(a.output, dpi=110)
print(a.output)
