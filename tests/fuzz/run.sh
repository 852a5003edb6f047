#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time over its seed corpus.
#   run.sh BINARY SEED_CORPUS WORK_DIR SECONDS [SEED]   (SEED 0 or absent: random)
# New inputs go to WORK_DIR/corpus (never into the repository's seeds); a
# crash leaves its input in WORK_DIR as crash-* and fails the run.
set -euo pipefail
bin=$1 seeds=$2 work=$3 seconds=$4 seed=${5:-0}
mkdir -p "$work/corpus"
exec "$bin" -seed="$seed" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/corpus" "$seeds"
