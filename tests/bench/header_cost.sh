#!/usr/bin/env bash
# Compile cost of headers as the instructions the compiler executes for
# `-std=c++17 -fsyntax-only` of a TU that includes them, counted by cachegrind:
# the same figure on every run, unlike CPU time on a shared machine. Each line
# is compared with <vector> + <string>.
#   tests/bench/header_cost.sh [HEADER...]      # default: the set in BENCHMARKS.md
# CXX picks the compiler (default g++), HEADER_COST_FLAGS adds options (e.g.
# -DVFIO_TESTING_SEPARATE_COMPILATION). Needs valgrind; about a minute.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cxx=${CXX:-g++}
read -ra extra <<< "${HEADER_COST_FLAGS:-}"
command -v valgrind >/dev/null || { echo "header_cost.sh: valgrind is not installed" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# instructions "<include>;<include>..."
instructions() {
    local tu=$work/tu.cpp total=0 n f
    : > "$tu"
    IFS=';' read -ra incs <<< "$1"
    for i in "${incs[@]}"; do echo "#include <$i>" >> "$tu"; done
    rm -f "$work"/cg.*
    valgrind --tool=cachegrind --cache-sim=no --trace-children=yes --cachegrind-out-file="$work/cg.%p" \
        "$cxx" -std=c++17 "${extra[@]}" -I"$root/include" -fsyntax-only "$tu" >/dev/null 2>"$work/log" || {
        cat "$work/log" >&2
        exit 1
    }
    for f in "$work"/cg.*; do
        n=$(sed -n 's/^summary: //p' "$f")
        total=$((total + ${n:-0}))
    done
    echo "$total"
}

if [ $# -gt 0 ]; then
    set=("$@")
else
    set=("system_error" "system_error;vector;string;optional;atomic;array" "vfio/error.hpp" "vfio/result.hpp"
         "vfio/device.hpp" "vfio/vfio.hpp" "vfio/testing/simulated_kernel.hpp")
fi
reference=$(instructions "vector;string")
printf '%-60s %15s %8s\n' "includes" "instructions" "ratio"
printf '%-60s %15d %8s\n' "vector;string" "$reference" "1.00x"
for s in "${set[@]}"; do
    n=$(instructions "$s")
    printf '%-60s %15d %8s\n' "$s" "$n" "$(awk -v a="$n" -v b="$reference" 'BEGIN { printf "%.2fx", a / b }')"
done
