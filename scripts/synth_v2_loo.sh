#!/usr/bin/env bash
# Synthetic pages in one hand on real paper with real glyphs -> detector and classifier -> leave-one-page-out
# (the README table under Synthetic pages). Real glyphs: `kuzushiji align` of the first 55 Genji sides with the
# shipped models and the V01 text (work/genji_align, which bench/realism.py uses too).
set -euo pipefail
cd "$(dirname "$0")/.."
KZ=.venv/bin/kuzushiji; PY=.venv/bin/python
REAL=../shared/data/kuzushiji_pages_100241706
W=work; R=runs
export OMP_NUM_THREADS=1
log() { echo "[$(date +%H:%M:%S)] $*"; }
log "real glyphs: the Genji training sides aligned with their text (the last 8 sides stay held out)"
if [ ! -f $W/genji_align/train.csv ]; then
  mkdir -p $W
  $PY -c "import csv; print('\n'.join(r['text'] for r in csv.DictReader(open('../shared/data/genji_transcription/genji_text_lines.csv', encoding='utf-8')) if r['vol'] == 'V01'))" > $W/v01.txt
  $KZ align $(ls ../shared/data/codh_pages_unlabeled/images/200010454_*.jpg | head -n -8) --text $W/v01.txt -o $W/genji_align --quiet
fi
log "pages"
[ -f $W/synth_det_v2/train.csv ] || $KZ synth pages -o $W/synth_det_v2 -n 3000 --seed 1 --glyphs $W/genji_align > $R/v2_pages.log 2>&1
log "crops"
[ -f $W/crops_train_v2/index.json ] || $KZ synth crops -o $W/crops_train_v2 --top 1500 --per-class 64 --seed 2 --exclude-font kiloji_b.ttf --glyphs $W/genji_align > $R/v2_crops.log 2>&1
[ -f $W/crops_heldout_font_v2/index.json ] || $KZ synth crops -o $W/crops_heldout_font_v2 --classes-from $W/crops_train_v2 --only-font kiloji_b.ttf --per-class 2 --seed 3 --real-paper 0 > $R/v2_crops_ho.log 2>&1
log "train det + cls"
$KZ train detector --data $W/synth_det_v2 --val $REAL --out $R/det_synth_v2 --epochs 14 --iters 200 --batch 16 --lr 2e-3 --threads 1 --resume > $R/det_synth_v2.log 2>&1 &
$KZ train classifier --source $W/crops_train_v2 --val $REAL --val $W/crops_heldout_font_v2 --out $R/cls_synth_v2 --epochs 10 --batch 256 --lr 3e-3 --threads 1 --resume > $R/cls_synth_v2.log 2>&1 &
wait
log "LOO"
$PY scripts/loo.py detector --init $R/det_synth_v2/last.pt --synth $W/synth_det_v2 --out $R/det_loo_v2 --threads 1 > $R/det_loo_v2.log 2>&1 &
$PY scripts/loo.py classifier --init $R/cls_synth_v2/last.pt --synth $W/crops_train_v2 --out $R/cls_loo_v2 --threads 1 > $R/cls_loo_v2.log 2>&1 &
wait
log "pipeline LOO"
OMP_NUM_THREADS=2 $PY scripts/loo_pipeline.py --det-loo $R/det_loo_v2 --cls-loo $R/cls_loo_v2 --det-synth $R/det_synth_v2/last.pt \
    --cls-synth $R/cls_synth_v2/last.pt --lm src/kuzushiji/assets/lm.npz -o $R/pipeline_loo_v2.json > $R/pipeline_loo_v2.log 2>&1
log "done"
# Classifier-only variants of the README table (same training and LOO, crops into work/crops_train_v2b / _v2c):
#   one hand, no real glyphs:   $KZ synth crops -o $W/crops_train_v2b --top 1500 --per-class 64 --seed 2 --exclude-font kiloji_b.ttf
#   mixed fonts + real glyphs:  $KZ synth crops -o $W/crops_train_v2c --top 1500 --per-class 64 --seed 2 --exclude-font kiloji_b.ttf \
#                                   --style mixed --glyphs $W/genji_align
#   then: $KZ train classifier --source CROPS --val $REAL --val $W/crops_heldout_font_v2 --out $R/cls_synth_v2X --epochs 10 \
#             --batch 256 --lr 3e-3;  $PY scripts/loo.py classifier --init $R/cls_synth_v2X/last.pt --synth CROPS --out $R/cls_loo_v2X
