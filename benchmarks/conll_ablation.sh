#!/bin/sh
# The CoNLL-2003 ablation of the tagger (softmax vs CRF, with and without character features, LSTM
# vs GRU, char BiLSTM vs char CNN), each row one `rnnkit train tag` of the same recipe for the
# same number of epochs, then `rnnkit evaluate --split test --record`. Resumable: a row whose run
# exists is resumed (a finished one only re-evaluated).
#   sh benchmarks/conll_ablation.sh EPOCHS BATCH ROW...   (rows: crf-lstm softmax no-char gru char-cnn)
set -e
EPOCHS=$1; BATCH=$2; shift 2
RECIPE="--dataset conll2003 --epochs $EPOCHS --lr 0.002 --schedule linear --warmup 0.02 \
--clip-norm 5 --batch-size $BATCH --threads 1 --no-progress"
for ROW in "$@"; do
  case $ROW in
    crf-lstm) EXTRA="" ;;
    softmax) EXTRA="--decoder softmax" ;;
    no-char) EXTRA="--char none" ;;
    gru) EXTRA="--cell gru" ;;
    char-cnn) EXTRA="--char cnn --char-hidden 30" ;;
    *) echo "unknown row $ROW"; exit 2 ;;
  esac
  OUT=runs/conll-ablation-$EPOCHS-b$BATCH/$ROW
  RESUME=""; [ -f "$OUT/checkpoint.pt" ] && RESUME="--resume"
  .venv/bin/rnnkit train tag $RECIPE $EXTRA --out "$OUT" $RESUME
  .venv/bin/rnnkit evaluate "$OUT" --split test --threads 1 --record \
    --notes "ablation row $ROW: rnnkit train tag $RECIPE $EXTRA (no outside vectors)"
done
