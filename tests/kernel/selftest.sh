#!/usr/bin/env bash
# selftest.sh [--kernels "6.1 6.12 7"] [--platforms "plain d3cold"] CACHE_DIR
#
# Proves the real-kernel harness end to end: runs fetch.sh CACHE_DIR, builds
# selftest.cpp (g++ -static), then boots it with boot.sh on every kernel and
# platform. On each boot the guest program opens all four vfio-pci devices
# through VFIO type1 and cycles runtime low power (VFIO_DEVICE_FEATURE
# LOW_POWER_ENTRY/EXIT) on e1000e and nvme (expected D3cold on the d3cold
# platform, D3hot on plain) and on edu (no PM capability: stays D0 on plain; on
# d3cold its ACPI _PS0/_PS3 let the platform take it to D3hot).
# Prints a summary table with the wall time per boot and the bytes the ACPI
# _ON/_OFF methods wrote to the debug console; exits non-zero on any failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KTEST_PROG=selftest.sh
# shellcheck source=lib.sh
. "$HERE/lib.sh"

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 2
}

KERNELS="6.1 6.12 7"
PLATFORMS="plain d3cold"
while [ $# -gt 0 ]; do
    case "$1" in
        --kernels) [ $# -ge 2 ] || usage; KERNELS=$2; shift 2 ;;
        --platforms) [ $# -ge 2 ] || usage; PLATFORMS=$2; shift 2 ;;
        -h|--help) usage ;;
        -*) echo "selftest.sh: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[ $# -eq 1 ] || usage
CACHE=$1

"$HERE/fetch.sh" --tags "$KERNELS" "$CACHE"
CACHE=$(cd "$CACHE" && pwd)

ktest_ensure_packages g++ libc6-dev
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ktest-selftest.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$WORK/payload"
g++ -std=c++17 -static -O2 -Wall -Wextra -o "$WORK/payload/selftest" "$HERE/selftest.cpp" ||
    ktest_die "building selftest.cpp failed"

ROWS=()
FAILED=0
for k in $KERNELS; do
    for p in $PLATFORMS; do
        case "$p" in
            d3cold) low=D3cold; edu=D3hot ;;
            plain) low=D3hot; edu=D0 ;;
            *) ktest_die "unknown platform $p" ;;
        esac
        log="$WORK/$k-$p.log"
        dcon="$WORK/$k-$p.debugcon"
        echo "==== kernel $k, platform $p"
        set +e
        out=$("$HERE/boot.sh" --cache "$CACHE" --kernel "$k" --platform "$p" \
            --payload "$WORK/payload" --log "$log" --debugcon "$dcon" --quiet \
            --run "./selftest --low-power e1000e=$low --low-power nvme=$low --low-power edu=$edu")
        rc=$?
        set -e
        echo "$out"
        grep -E '^(KTEST DEVICE|KTEST DMESG|SELFTEST (LOWPOWER|FAIL|PASSED|FAILED))' "$log" | sed 's/^/    /' || true
        bytes=$(tr -cd 'ENen' <"$dcon")
        echo "    debugcon (0xE9): ${bytes:-<none>}"
        result=$(sed -n 's/^RESULT \([A-Z]*\) .*/\1/p' <<<"$out")
        wall=$(sed -n 's/^RESULT .* wall=\([0-9.]*\).*/\1/p' <<<"$out")
        release=$(sed -n 's/^RESULT .* release=\([^ ]*\) .*/\1/p' <<<"$out")
        e1k=$(sed -n 's/^SELFTEST LOWPOWER e1000e entry -> \([^ ]*\) after \([0-9]*\) ms.*/\1 (\2 ms)/p' "$log")
        nvm=$(sed -n 's/^SELFTEST LOWPOWER nvme entry -> \([^ ]*\) after \([0-9]*\) ms.*/\1 (\2 ms)/p' "$log")
        if [ "$rc" -ne 0 ] || [ "$result" != PASS ]; then
            FAILED=$((FAILED + 1))
            result=FAIL
        fi
        ROWS+=("$(printf '%-5s %-22s %-7s %-5s %-15s %-15s %6ss  %s' "$k" "${release:-?}" "$p" \
            "${result:-FAIL}" "${e1k:--}" "${nvm:--}" "${wall:-?}" "${bytes:--}")")
    done
done

echo
echo "==== summary"
printf '%-5s %-22s %-7s %-5s %-15s %-15s %7s  %s\n' kernel release platform result \
    "e1000e entry" "nvme entry" wall debugcon
printf '%s\n' "${ROWS[@]}"
total=${#ROWS[@]}
echo
echo "selftest: $((total - FAILED)) passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
