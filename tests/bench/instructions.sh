#!/usr/bin/env bash
# Instructions per call, library against baseline, outside the syscall.
#   tests/bench/instructions.sh [BUILD_DIR] [ITERATIONS]
# Builds vfio_bench_instructions (-O2) in BUILD_DIR (default: build), runs it
# under callgrind with collection only inside the measured loops (and off
# inside every call into the simulated kernel, see instructions.cpp), and
# prints instructions per iteration for each operation. Needs valgrind.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-"$root/build"}
iterations=${2:-1000}
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is not installed" >&2; exit 2; }
cmake --build "$build" --target vfio_bench_instructions >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$out/cg.out" \
    "$build/tests/bench/vfio_bench_instructions" "$iterations" >/dev/null 2>"$out/valgrind.log" || {
    cat "$out/valgrind.log" >&2
    exit 1
}
# Each client-request dump is a file cg.out.N with "desc: Trigger: Client
# Request: <side> <operation>" and "summary: <Ir>".
declare -A lib base
order=()
n=1
while [ -f "$out/cg.out.$n" ]; do
    f=$out/cg.out.$n
    n=$((n + 1))
    name=$(sed -n 's/^desc: Trigger: Client Request: //p' "$f")
    ir=$(sed -n 's/^summary: //p' "$f")
    [ -n "$name" ] && [ -n "$ir" ] || continue
    side=${name%% *}
    op=${name#* }
    case $side in
        lib) lib[$op]=$ir; order+=("$op") ;;
        base) base[$op]=$ir ;;
    esac
done
printf '%-22s %12s %12s %8s\n' operation library baseline ratio
for op in "${order[@]}"; do
    awk -v op="$op" -v l="${lib[$op]}" -v b="${base[$op]:-0}" -v n="$iterations" 'BEGIN {
        printf "%-22s %12.1f %12.1f %8s\n", op, l / n, b / n, (b > 0 ? sprintf("%.2fx", l / b) : "-") }'
done
