#!/usr/bin/env bash
# Rebuild the column reader (src/kuzushiji/assets/columns.onnx; docs/experiments/column_reader.md) from
# ../shared/data: 800 synthetic pages (the last 40 validate), the Genji manuscript's 55 training sides aligned
# with its text (sides 00002_2 .. 00025_2 train, the validation block 00026_1 .. 00029_2 validates; the held-out
# block is never touched), 24 epochs of CTC training (about 80 minutes on 2 cores with bf16; resumable), export;
# then 600 synthetic pages written with the training sides' own glyphs and 6 epochs of fine-tuning on a mix of
# all three (about 60 minutes), export.
# usage: bash scripts/make_columns.sh [OUT.onnx]     (OUT default: work/columns.onnx)
set -euo pipefail
cd "$(dirname "$0")/.."
KZ=${KZ:-.venv/bin/kuzushiji}
S=${SHARED:-../shared/data}
W=${WORK:-work}
OUT=${1:-$W/columns.onnx}
mkdir -p $W

# synthetic pages, split 760 / 40 by their order in train.csv
[ -f $W/synth_cols/train.csv ] || $KZ synth pages -o $W/synth_cols -n 800 --height 1200 --workers 2 --seed 7
for part in train:2:761 val:762:801; do
  name=${part%%:*}; range=${part#*:}; from=${range%%:*}; to=${range##*:}
  mkdir -p $W/synth_cols_$name
  ln -sfn "$(cd $W/synth_cols && pwd)/train_images" $W/synth_cols_$name/train_images
  awk -v a=$from -v b=$to 'NR == 1 || (NR >= a && NR <= b)' $W/synth_cols/train.csv > $W/synth_cols_$name/train.csv
  [ -f $W/cols_synth_$name.npz ] || $KZ prepare-columns --pages $W/synth_cols_$name -o $W/cols_synth_$name.npz
done

# the manuscript: align the 55 sides before the held-out block, then split the alignment by side
awk -F, 'NR>1 && $1=="V01" {print $4}' $S/genji_transcription/genji_text_lines.csv > $W/v01.txt
SIDES=$(ls $S/codh_pages_unlabeled/images/200010454_*.jpg | head -n -8)
[ -f $W/genji_cols/alignment.csv ] || $KZ align $SIDES --text $W/v01.txt -o $W/genji_cols --quiet
VAL=$(echo "$SIDES" | tail -n 8 | xargs -n1 basename | sed 's/\.jpg$//' | paste -sd'|')
for name in train val; do
  mkdir -p $W/genji_cols_$name
  awk -F, -v val="^($VAL)\$" -v want=$name 'NR == 1 || (($1 ~ val) == (want == "val"))' \
    $W/genji_cols/alignment.csv > $W/genji_cols_$name/alignment.csv
  [ -f $W/cols_genji_$name.npz ] || $KZ prepare-columns --aligned $W/genji_cols_$name --text $W/v01.txt \
    --images $S/codh_pages_unlabeled/images -o $W/cols_genji_$name.npz
done

# synthetic pages in the manuscript's hand: real glyphs cut from the aligned training sides (never the validation
# block), the kanji they lack from fonts
mkdir -p $W/genji_glyphs
ln -sfn "$(cd $W/genji_cols && pwd)/train_images" $W/genji_glyphs/train_images
awk -F, -v val="^($VAL)\$" 'NR == 1 || $1 !~ val' $W/genji_cols/train.csv > $W/genji_glyphs/train.csv
[ -f $W/synth_genji/train.csv ] || $KZ synth pages -o $W/synth_genji -n 600 --height 1200 --workers 2 --seed 11 \
  --glyphs $W/genji_glyphs --real-glyphs 1.0
[ -f $W/cols_synth_genji.npz ] || $KZ prepare-columns --pages $W/synth_genji -o $W/cols_synth_genji.npz

[ -n "${PREPARE_ONLY:-}" ] && exit 0  # the data only
R=${RUNS:-runs}
$KZ train columns --source $W/cols_synth_train.npz --source $W/cols_genji_train.npz --repeat 1 --repeat 4 \
  --val $W/cols_synth_val.npz --val $W/cols_genji_val.npz --out $R/columns --epochs 24 --threads 2 --resume
$KZ export columns $R/columns/best.pt -o $W/columns_base.onnx
# fine-tuning from the exported model (BatchNorms folded and frozen): a new random quarter of the synthetic pages,
# half of the manuscript-hand pages and the aligned sides three times each epoch
$KZ train columns --init $W/columns_base.onnx --source $W/cols_synth_train.npz --source $W/cols_synth_genji.npz \
  --source $W/cols_genji_train.npz --repeat 0.25 --repeat 0.5 --repeat 3 --val $W/cols_synth_val.npz \
  --val $W/cols_genji_val.npz --out $R/columns_ft --epochs 6 --lr 5e-4 --threads 2 --resume
$KZ export columns $R/columns_ft/${PICK:-best}.pt -o "$OUT"
echo "column reader: $OUT (to bundle: cp $OUT src/kuzushiji/assets/columns.onnx)"
