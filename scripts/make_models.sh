#!/usr/bin/env bash
# Rebuild the bundled models from scratch on 2 CPU cores (the `make models` target):
#   mixed-font synthetic pages + glyph crops -> a first detector and classifier (in parallel, one core each) ->
#   alignment rounds on the Genji manuscript with its known text (scripts/align_rounds.py), whose real glyphs go
#   into one-hand synthetic pages (the bundled detector, from scratch, and its leave-one-page-out folds) and into a
#   second set of crops (two classifiers: the ensemble) -> pseudo-label rounds, leave-one-page-out and then with all
#   dev pages (what counts is the longer fine-tuning) -> the manuscript realigned in the accurate mode (the glyph
#   memory, with the dev pages) -> one Genji round for both classifiers and their folds -> bench/accuracy.py measures
#   both modes leave-one-page-out and trains the false-positive filters -> export to ASSETS, the manuscript realigned
#   once more by the bundle for its glyph memory and hand head.
# EVAL=1 adds the synthetic-only models' own leave-one-page-out (README, Results), which nothing later needs.
# Every step is checkpointed and skipped when its output exists, so the script can be re-run to resume.
set -euo pipefail
cd "$(dirname "$0")/.."
KZ=.venv/bin/kuzushiji
PY=.venv/bin/python
SHARED=${SHARED:-../shared/data}
REAL=$SHARED/kuzushiji_pages_100241706
W=${WORK:-work}
R=${RUNS:-runs}
A=${ASSETS:-src/kuzushiji/assets}  # where step 6 puts the bundle (ASSETS=elsewhere: rebuild without replacing it)
mkdir -p "$W" "$R" "$A"
export OMP_NUM_THREADS=1
# DATA=DIR (from `kuzushiji data get ... -o DIR`): its CODH books join the real pages of step 4, and its
# K49 / Kuzushiji-Kanji glyphs join the classifier's sources there.
DET_EXTRA=(); CLS_EXTRA=()
if [ -n "${DATA:-}" ]; then
  [ -d "$DATA/codh" ] && DET_EXTRA+=(--data "$DATA/codh" --weight 1) && CLS_EXTRA+=(--source "$DATA/codh" --repeat 5) || true
  [ -f "$DATA/k49/k49-train-imgs.npz" ] && CLS_EXTRA+=(--source "npz:$DATA/k49/k49-train-imgs.npz,$DATA/k49/k49-train-labels.npz,$DATA/k49/k49_classmap.csv" --repeat 1) || true
  [ -d "$DATA/kkanji/kkanji2" ] && CLS_EXTRA+=(--source "kkanji:$DATA/kkanji/kkanji2" --repeat 1) || true
fi
start=$(date +%s)
log() { echo "[$(( ($(date +%s) - start) / 60 )) min] $*"; echo "$(date -u +%FT%TZ) $*" >> "$R/make_models.times"; }

log "1. synthetic pages and crops"
# The bundled models were trained on the mixed-font style; the one-hand style (the `synth` default since) measured
# the same leave-one-page-out (README, Synthetic pages), so the recipe keeps the style that made the bundle.
STYLE=${SYNTH_STYLE:---style mixed}
[ -f $W/synth_det/train.csv ] || $KZ synth pages -o $W/synth_det -n 3000 --seed 1 --shared $SHARED $STYLE
[ -f $W/crops_train/index.json ] || $KZ synth crops -o $W/crops_train --top 1500 --per-class 64 --seed 2 --exclude-font kiloji_b.ttf --shared $SHARED $STYLE
[ -f $W/crops_heldout_font/index.json ] || $KZ synth crops -o $W/crops_heldout_font --classes-from $W/crops_train --only-font kiloji_b.ttf --per-class 2 --seed 3 --shared $SHARED $STYLE

log "2. detector and classifier on synthetic data (parallel, one core each)"
$KZ train detector --data $W/synth_det --val $REAL --out $R/det_synth --epochs 14 --iters 200 --batch 16 --lr 2e-3 --threads 1 --resume > $R/det_synth.log 2>&1 &
$KZ train classifier --source $W/crops_train --val $REAL --val $W/crops_heldout_font --out $R/cls_synth --epochs 10 --batch 256 --lr 3e-3 --threads 1 --resume > $R/cls_synth.log 2>&1 &
wait

if [ -n "${EVAL:-}" ]; then  # EVAL=1: the synthetic-only models' own leave-one-page-out (README, Results)
  log "3. leave-one-page-out on the real dev pages (fine-tuned vs synthetic-only)"
  $PY scripts/loo.py detector --init $R/det_synth/last.pt --synth $W/synth_det --out $R/det_loo --threads 1 > $R/det_loo.log 2>&1 &
  $PY scripts/loo.py classifier --init $R/cls_synth/last.pt --synth $W/crops_train --out $R/cls_loo --threads 1 > $R/cls_loo.log 2>&1 &
  wait
fi

log "3b. alignment rounds on the Genji manuscript (labels from its known text; last 8 sides held out)"
[ -f $W/det_synth.onnx ] || $KZ export detector $R/det_synth/last.pt -o $W/det_synth.onnx
[ -f $W/cls_synth.onnx ] || $KZ export classifier $R/cls_synth/last.pt -o $W/cls_synth.onnx
OMP_NUM_THREADS=1 $PY scripts/align_rounds.py --rounds ${ROUNDS:-3} --init $R/cls_synth/last.pt --synth $W/crops_train \
    --detector $W/det_synth.onnx --classifier0 $W/cls_synth.onnx -o $R/rounds > $R/rounds.log 2>&1
GLYPHS=$R/rounds/align_r${ROUNDS:-3}  # the last round's aligned Genji labels: real glyphs for the synthetic crops

log "3b'. the bundled detector's pages: one hand on real paper, half of them in the manuscript's real glyphs; its"
log "     detector from scratch and its LOO (README, Synthetic pages: the same on the dev book, 5 points of CER on the"
log "     manuscript better than the mixed-font pages' detector)"
[ -f $W/synth_det_hand/train.csv ] || $KZ synth pages -o $W/synth_det_hand -n 3000 --seed 1 --shared $SHARED --glyphs $GLYPHS
$KZ train detector --data $W/synth_det_hand --val $REAL --out $R/det_synth_hand --epochs 14 --iters 200 --batch 16 --lr 2e-3 --threads 2 --resume > $R/det_synth_hand.log 2>&1
$PY scripts/loo.py detector --init $R/det_synth_hand/last.pt --synth $W/synth_det_hand --out $R/det_loo_hand --threads 2 > $R/det_loo_hand.log 2>&1

log "3c. crops with the manuscript's real glyphs drawn in (mixed fonts elsewhere); two classifiers on them, the"
log "    accurate mode's ensemble (resnet_s; resnet_s with an L2-softmax head), then their LOO"
[ -f $W/crops_glyphs/index.json ] || $KZ synth crops -o $W/crops_glyphs --top 1500 --per-class 64 --seed 2 --exclude-font kiloji_b.ttf --shared $SHARED --style mixed --glyphs $GLYPHS
$KZ train classifier --source $W/crops_glyphs --val $REAL --out $R/cls_glyphs --epochs 10 --batch 256 --lr 3e-3 --threads 1 --resume > $R/cls_glyphs.log 2>&1 &
$KZ train classifier --source $W/crops_glyphs --val $REAL --out $R/cls_glyphs_l2 --l2-softmax 16 --seed 5 --epochs 10 --batch 256 --lr 3e-3 --threads 1 --resume > $R/cls_glyphs_l2.log 2>&1 &
wait
$PY scripts/loo.py classifier --init $R/cls_glyphs/last.pt --synth $W/crops_glyphs --out $R/cls_loo_glyphs --threads 1 > $R/cls_loo_glyphs.log 2>&1 &
$PY scripts/loo.py classifier --init $R/cls_glyphs_l2/last.pt --synth $W/crops_glyphs --out $R/cls_loo_l2 --threads 1 > $R/cls_loo_l2.log 2>&1 &
wait

log "3d. pseudo-label rounds on the unlabelled real pages, leave-one-page-out (both classifiers' recipe)"
$PY scripts/pseudo_rounds.py --det-loo $R/det_loo_hand --cls-loo $R/cls_loo_glyphs --synth $W/crops_glyphs --aligned $GLYPHS --rounds 6 -o $R/pl > $R/pl.log 2>&1 &
$PY scripts/pseudo_rounds.py --det-loo $R/det_loo_hand --cls-loo $R/cls_loo_l2 --synth $W/crops_glyphs --aligned $GLYPHS --rounds 3 -o $R/pl_l2 > $R/pl_l2.log 2>&1 &
wait

log "4. fine-tune on all real dev pages: the detector of the one-hand pages, both classifiers from their glyph-crop training"
$KZ train detector --data $W/synth_det_hand --data $REAL --weight 1 --weight 1 "${DET_EXTRA[@]}" --out $R/det_ft_hand --init $R/det_synth_hand/last.pt --epochs 3 --iters 150 --lr 5e-4 --max-pages 800 --seed 1 --threads 1 --resume > $R/det_ft_hand.log 2>&1 &
for c in glyphs glyphs_l2; do
  $KZ train classifier --source $W/crops_glyphs --source $REAL --repeat 1 --repeat 20 "${CLS_EXTRA[@]}" --out $R/cls_ft_$c --init $R/cls_$c/last.pt --epochs 3 --cap 16 --min-per-class 1 --lr 5e-4 --batch 128 --seed 1 --threads 1 --resume > $R/cls_ft_$c.log 2>&1
done &
wait
$KZ export detector $R/det_ft_hand/last.pt -o $W/detector.onnx
$KZ export classifier $R/cls_ft_glyphs/last.pt -o $W/cls_ft.onnx
# the trigram at the weight bench/lm.py chose on manuscript sides the evaluation never sees
$PY scripts/build_lm.py $W/cls_ft.onnx -o $W/lm.npz --shared $SHARED --order 3 --weight ${LM_WEIGHT:-0.25}
if [ -n "${EVAL:-}" ]; then
  log "4b. whole-pipeline leave-one-page-out F1 of the synthetic-only and fine-tuned models (README, Results)"
  OMP_NUM_THREADS=2 $PY scripts/loo_pipeline.py --det-loo $R/det_loo --cls-loo $R/pl/r6 --det-synth $R/det_synth/last.pt \
      --cls-synth $R/cls_glyphs/last.pt --lm $W/lm.npz -o $R/pipeline_loo.json > $R/pipeline_loo.log 2>&1
fi

log "5. both classifiers' pseudo-label rounds with all dev pages kept"
for c in glyphs:6 glyphs_l2:3; do
  $PY scripts/pseudo_rounds.py --final $R/cls_ft_${c%%:*}/last.pt --detector $W/detector.onnx --synth $W/crops_glyphs --aligned $GLYPHS --rounds ${c##*:} -o $R/pl_final_${c%%:*} > $R/pl_final_${c%%:*}.log 2>&1
done &
wait

log "5b. both modes, measured leave-one-page-out (bench/accuracy.py) with each fold's glyph memory (its 3 training"
log "    pages + the manuscript realigned in the accurate mode), and their false-positive filters"
$KZ export classifier $R/pl_final_glyphs/r6/cls_all/last.pt -o $W/classifier.onnx
$KZ export classifier $R/pl_final_glyphs_l2/r3/cls_all/last.pt -o $W/classifier_2.onnx
[ -f $W/genji_align2/train.csv ] || $KZ align $(ls $SHARED/codh_pages_unlabeled/images/200010454_*.jpg | head -n -8) \
    --text $R/rounds/v01.txt -o $W/genji_align2 --accurate --detector $W/detector.onnx --classifier $W/classifier.onnx \
    --classifier $W/classifier_2.onnx --quiet > $R/genji_align2.log 2>&1

log "5c. one Genji round for both classifiers: each fine-tuned on the synthetic crops + the realigned manuscript (x8)"
log "    + the dev pages (x20), 4 epochs; leave-one-page-out (the folds' own pages) and for the bundle"
$PY scripts/loo.py classifier --init "$R/pl/r6/cls_{fold}/last.pt" --synth $W/crops_glyphs --extra $W/genji_align2 \
    --extra-repeat 8 --epochs 4 --threads 1 --out $R/cls_loo_G > $R/cls_loo_G.log 2>&1 &
$PY scripts/loo.py classifier --init "$R/pl_l2/r3/cls_{fold}/last.pt" --synth $W/crops_glyphs --extra $W/genji_align2 \
    --extra-repeat 8 --epochs 4 --threads 1 --out $R/cls_loo_GF > $R/cls_loo_GF.log 2>&1 &
wait
mkdir -p $R/book && { [ -d $R/book/align_r0 ] || cp -r $W/genji_align2 $R/book/align_r0; }
$PY scripts/align_rounds.py --rounds 1 --init $R/pl_final_glyphs/r6/cls_all/last.pt \
    --init2 $R/pl_final_glyphs_l2/r3/cls_all/last.pt --classifier0 $W/classifier.onnx --classifier0 $W/classifier_2.onnx \
    --detector $W/detector.onnx --synth $W/crops_glyphs --extra $REAL --extra-repeat 20 --accurate --memory \
    -o $R/book > $R/book.log 2>&1
cp $R/book/cls_r1.onnx $W/classifier.onnx
cp $R/book/cls2_r1.onnx $W/classifier_2.onnx
$PY bench/accuracy.py --det-loo $R/det_loo_hand --cls-loo G=$R/cls_loo_G --cls-loo K=$R/cls_loo_GF --configs single+G,single+G+K,tta+G+K \
    --fast-config single+G+K --fast-filter --save-fast-filter $W/fp_filter_fast.json --accurate-config tta+G+K \
    --accurate-filter --save-filter $W/fp_filter.json --memory-source $W/genji_align2 --lm $W/lm.npz --cache $R/accuracy_onnx \
    -o $R/accuracy.json > $R/accuracy.log 2>&1

log "6. export the bundled models"
cp $W/detector.onnx $W/classifier.onnx $W/classifier_2.onnx $W/lm.npz $W/fp_filter.json $W/fp_filter_fast.json "$A/"
# the glyph memory of the new classifier: dev pages + the manuscript realigned by the bundle (read with a first
# memory of genji_align2), and its hand head (README, "A head for the hand")
[ -f $W/memory_r0.npz ] || $KZ memory $REAL $W/genji_align2 -o $W/memory_r0.npz --classifier "$A/classifier.onnx" --no-head
[ -f $W/genji_align3/train.csv ] || $KZ align $(ls $SHARED/codh_pages_unlabeled/images/200010454_*.jpg | head -n -8) \
    --text $R/rounds/v01.txt -o $W/genji_align3 --accurate --detector "$A/detector.onnx" --classifier "$A/classifier.onnx" \
    --classifier "$A/classifier_2.onnx" --memory $W/memory_r0.npz --quiet > $R/genji_align3.log 2>&1
rm -f "$A/memory.npz"
$KZ memory $REAL $W/genji_align3 -o "$A/memory.npz" --classifier "$A/classifier.onnx"
log "done: $A/{detector,classifier,classifier_2}.onnx, lm.npz, fp_filter{,_fast}.json, memory.npz"
log "leave-one-page-out: $R/det_loo_hand/loo.json $R/cls_loo_glyphs/loo.json $R/pl/rounds.json $R/accuracy.json (EVAL=1: $R/det_loo, $R/cls_loo, $R/pipeline_loo.json)"
