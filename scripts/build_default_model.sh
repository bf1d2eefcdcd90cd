#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Reproduce photolm's embedded default model end to end, on a CPU, from the shared photos:
#
#     scripts/build_default_model.sh            # from anywhere; runs in the repository root
#
# Stages: [trainer clean] -> [leave-landmarks-out fit and export -> unseen floor] -> trainer
# fit -> photolm-export -> descriptor graft -> gate -> enrolment and places values ->
# timings and a results table.
# Every parameter below can be overridden from the environment, e.g. a smoke test:
#
#     RUN=runs/smoke BUNDLE=runs/smoke/bundle EPOCHS=1 \
#     FIT_EXTRA="--max-steps-per-epoch 2" scripts/build_default_model.sh
#
# Outputs: $RUN/{config.json,log.jsonl,best.pt,...} from the trainer, the bundle in $BUNDLE
# (photolm/models/default: shipped as package data), $RUN/export.json (the export report),
# $RUN/RESULTS.md (the README's results table) and $RUN/TIMINGS.txt (wall time per stage).
set -euo pipefail

cd "$(dirname "$0")/.."

# --- parameters ---------------------------------------------------------------------------
PYTHON=${PYTHON:-.venv/bin/python}
DATA_ROOT=${DATA_ROOT:-../shared/data}
DATA=${DATA:-"$DATA_ROOT/wonders $DATA_ROOT/landmarks-extra"}
DISTRACTORS=${DISTRACTORS:-$DATA_ROOT/distractors}
RUN=${RUN:-runs/default}
BUNDLE=${BUNDLE:-photolm/models/default}
FORCE=${FORCE:-0}                    # 1: delete an existing $RUN first
CLEAN=${CLEAN:-0}                    # 1: drop outliers found by `trainer clean` before fitting
# training
BACKBONE=${BACKBONE:-tf_efficientnet_lite0}
IMAGE_SIZE=${IMAGE_SIZE:-224}
EPOCHS=${EPOCHS:-24}
BATCH_SIZE=${BATCH_SIZE:-32}
FREEZE_STAGES=${FREEZE_STAGES:-2}
LOSS=${LOSS:-arcface}
SPLIT=${SPLIT:-80/10/10}             # train/val/holdout: val picks the epoch, holdout measures
SEED=${SEED:-0}
FIT_EXTRA=${FIT_EXTRA:-}             # more `trainer fit` options, word-split
# export
QUANTIZE=${QUANTIZE:-none}           # none | int8 | fp16; int8 is refused if top-1 drops >1 pt
                                     # (it drops 2.3 pt for the shipped model: fp32 ships)
PROTOTYPES=${PROTOTYPES:-mean}       # mean | kmeans | head
TARGET_FPR=${TARGET_FPR:-0.02}
EXPORT_EXTRA=${EXPORT_EXTRA:-}       # more `photolm-export` options, word-split
DESCRIPTOR=${DESCRIPTOR:-1}          # 1: graft the generic descriptor (export/descriptor.py)
NEGATIVES=${NEGATIVES:-"$DISTRACTORS $DATA_ROOT/people-negatives"}  # its threshold's negatives
ENROLMENT=${ENROLMENT:-1}            # 1: measure and store learn's thresholds and places' cuts
                                     # (on the shared sets under $DATA_ROOT)
UNSEEN_FLOOR=${UNSEEN_FLOOR:-1}      # 1: train once more without LEAVE_OUT landmarks and never
LEAVE_OUT=${LEAVE_OUT:-10}           # set the threshold below what keeps them "no landmark"

# --- helpers --------------------------------------------------------------------------------
TIMINGS="$RUN/TIMINGS.txt"
START_ALL=$(date +%s)

stage() {  # stage NAME COMMAND...: run, time and log one stage
    local name=$1
    shift
    echo "==> $name: $*" >&2
    local start
    start=$(date +%s)
    "$@"
    local took=$(( $(date +%s) - start ))
    printf '%-8s %6d s   %s\n' "$name" "$took" "$*" >> "$TIMINGS"
}

# shellcheck disable=SC2086  # DATA and FIT_EXTRA are word lists on purpose
fit() {  # fit NAME OUT [OPTION...]: the one training recipe, for the shipped model and the
         # leave-landmarks-out model whose floor it uses (they must not drift apart)
    local name=$1 out=$2
    shift 2
    stage "$name" "$PYTHON" -m trainer fit $DATA --out "$out" \
        --backbone "$BACKBONE" --image-size "$IMAGE_SIZE" --epochs "$EPOCHS" \
        --batch-size "$BATCH_SIZE" --freeze-stages "$FREEZE_STAGES" --loss "$LOSS" \
        --split "$SPLIT" --seed "$SEED" "$@" $FIT_EXTRA
}

if [[ -e "$RUN/best.pt" || -e "$RUN/last.pt" ]]; then
    if [[ "$FORCE" == 1 ]]; then
        rm -rf -- "$RUN"
    else
        echo "Error: $RUN already holds a run; set FORCE=1 to rebuild it from scratch." >&2
        exit 1
    fi
fi
mkdir -p "$RUN"
{
    echo "# photolm default model build, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "# commit $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (uncommitted changes)')"
    echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ //')"
    echo "# stage    seconds  command"
} > "$TIMINGS"

# --- stages -----------------------------------------------------------------------------------
# shellcheck disable=SC2086  # DATA, FIT_EXTRA and EXPORT_EXTRA are word lists on purpose
{
    FILTER=()
    if [[ "$CLEAN" == 1 ]]; then
        stage clean "$PYTHON" -m trainer clean $DATA --out "$RUN/clean"
        FILTER=(--exclude-list "$RUN/clean/outliers.txt")
    fi

    # The unseen-landmark floor (export/unseen.py): the same recipe trained without LEAVE_OUT
    # landmarks; the shipped threshold never names more than 2 % of their photos.
    FLOOR=()
    if [[ "$UNSEEN_FLOOR" == 1 ]]; then
        LCO="$RUN/unseen"
        stage leaveout "$PYTHON" -m export.unseen exclude $DATA --out "$LCO" --count "$LEAVE_OUT"
        if [[ "$CLEAN" == 1 ]]; then
            cat "$RUN/clean/outliers.txt" >> "$LCO/exclude.txt"
        fi
        fit fit-lco "$LCO/run" --exclude-list "$LCO/exclude.txt"
        stage exp-lco "$PYTHON" -m export "$LCO/run/best.pt" --out "$LCO/bundle" --overwrite \
            --distractors "$DISTRACTORS" --target-fpr "$TARGET_FPR" --quantize none \
            --prototypes "$PROTOTYPES" --report "$LCO/export.json" --quiet $EXPORT_EXTRA
        stage floor "$PYTHON" -m export.unseen floor "$LCO/bundle" $DATA \
            --held-out "$LCO/held_out.json" --out "$LCO/floor.json"
        FLOOR=(--threshold-floor "$LCO/floor.json")
    fi

    fit fit "$RUN" "${FILTER[@]}"

    stage export "$PYTHON" -m export "$RUN/best.pt" --out "$BUNDLE" --overwrite \
        --distractors "$DISTRACTORS" --target-fpr "$TARGET_FPR" --quantize "$QUANTIZE" \
        --prototypes "$PROTOTYPES" --report "$RUN/export.json" "${FLOOR[@]}" $EXPORT_EXTRA

    # The generic place descriptor (second ONNX output) for enrolling places the model never
    # saw: ImageNet stages grafted onto the frozen trunk, threshold set on non-landmark photos.
    if [[ "$DESCRIPTOR" == 1 ]]; then
        stage descr "$PYTHON" -m export.descriptor "$BUNDLE" --out "$BUNDLE" \
            $(printf -- '--known %s ' $DATA) $(printf -- '--negatives %s ' $NEGATIVES)
        # The descriptor gate on the shipped landmarks (export/gate.py: validation photos and
        # the calibration half of the negatives only).
        stage gate "$PYTHON" -m export.gate "$BUNDLE" \
            $(printf -- '--known %s ' $DATA) $(printf -- '--negatives %s ' $NEGATIVES)
        # What photolm learn and photolm places use with this network: the thresholds for
        # landmarks learned from k photos and the places cuts and likeness bar, measured on
        # the shared photo sets and stored in the manifest (scripts/eval_enrolment.py). A
        # bundle without them would fall back to the values measured for another network.
        if [[ "$ENROLMENT" == 1 ]]; then
            stage enrol env PYTHONPATH=. "$PYTHON" scripts/eval_enrolment.py --model "$BUNDLE" \
                --data "$DATA_ROOT" --write-thresholds --write-places --json "$RUN/enrolment.json"
        fi
    fi
}

"$PYTHON" -m export.results "$BUNDLE" > "$RUN/RESULTS.md"
TOTAL=$(( $(date +%s) - START_ALL ))
printf '%-8s %6d s\n' "total" "$TOTAL" >> "$TIMINGS"
cat "$RUN/RESULTS.md"
echo
cat "$TIMINGS"
