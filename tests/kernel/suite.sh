#!/usr/bin/env bash
# suite.sh boot|diff --cache DIR --kernel TAG --platform plain|d3cold
#                    --scenarios BIN --out DIR [--vfioctl BIN] [--timeout S]
#                    [--path group|cdev|compat|group,cdev,compat]
#
# One cell of the real-kernel stage (kernel TAG x platform), as two steps:
#
#   boot  Boots the kernel under QEMU (boot.sh) with the static scenario
#         program BIN as payload and runs every scenario on every device
#         (`scenarios --all`); with --vfioctl, then runs the static vfioctl
#         tool (info, features, power, power-cycle, power-cycle --wakeup) on
#         every device (vfioctl-guest.sh). Keeps OUT/console.log and
#         OUT/debugcon, prints the per-scenario results and every failed check,
#         and fails when the boot fails (timeout, panic, /init never reached,
#         ...; boot.sh prints the console log tail), any scenario fails or any
#         vfioctl run fails. A boot that boot.sh retried once (a panic of the
#         IO-APIC timer check before /init, caused by host load) is reported
#         with a "note: boot retried once" line.
#   diff  Runs the same scenarios on the host against the simulated kernel
#         configured as the same kernel, platform and devices (names, BDFs and
#         IOMMU groups from the guest's KTEST DEVICE lines) into OUT/sim.out,
#         then compare.sh: every trace must match. Fails loudly when the boot
#         step left no trace to compare.
#
# --path (default group) is passed to the scenario program on both sides: how
# the scenarios open their devices (container and group, or iommufd and the
# device's cdev). With group,cdev one boot runs every scenario twice, once per
# path; the cdev pass's traces are named <scenario>@cdev and compared with the
# simulated kernel's cdev pass. compat is the group path with /dev/iommu as
# the container (iommufd's VFIO compatibility container), its traces named
# <scenario>@compat. Give both steps the same --path.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KTEST_PROG=suite.sh
# shellcheck source=lib.sh
. "$HERE/lib.sh"

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 2
}

[ $# -ge 1 ] || usage
STEP=$1
shift
CACHE="" TAG="" PLATFORM="" BIN="" OUT="" TIMEOUT=240 VFIOCTL="" PATHS=group
while [ $# -gt 0 ]; do
    case "$1" in
        --cache) CACHE=$2; shift 2 ;;
        --kernel) TAG=$2; shift 2 ;;
        --platform) PLATFORM=$2; shift 2 ;;
        --scenarios) BIN=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --vfioctl) VFIOCTL=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --path) PATHS=$2; shift 2 ;;
        -h|--help) usage ;;
        *) usage ;;
    esac
done
[ -n "$TAG" ] && [ -n "$PLATFORM" ] && [ -n "$BIN" ] && [ -n "$OUT" ] || usage
[ -x "$BIN" ] || ktest_die "scenario program $BIN is missing (build the vfio_scenarios target)"
# A comma-separated list of group, cdev and compat, each at most once.
seen=,
for p in ${PATHS//,/ }; do
    case "$p" in group|cdev|compat) ;; *) ktest_die "--path takes group, cdev, compat or a list of them, not '$PATHS'" ;; esac
    case "$seen" in *",$p,"*) ktest_die "--path names $p twice" ;; esac
    seen="$seen$p,"
done
[ "$seen" != , ] || ktest_die "--path is empty"
mkdir -p "$OUT"
LOG="$OUT/console.log"
DCON="$OUT/debugcon"

case "$STEP" in
boot)
    [ -n "$CACHE" ] || usage
    [ -f "$CACHE/kernels/$TAG/.complete" ] ||
        ktest_die "kernel '$TAG' is not in the cache $CACHE: the fetch step (kernel.fetch, fetch.sh $CACHE) failed or did not run"
    for b in "$BIN" ${VFIOCTL:+"$VFIOCTL"}; do
        [ -x "$b" ] || ktest_die "$b is missing"
        if readelf -l "$b" 2>/dev/null | grep -q INTERP; then
            ktest_die "$b is dynamically linked; the guest has no shared libraries (link it with -static)"
        fi
    done
    rm -rf "$LOG" "$LOG.attempt1" "$DCON" "$OUT/boot.result" "$OUT/payload"
    mkdir -p "$OUT/payload"
    cp "$BIN" "$OUT/payload/scenarios"
    run="./scenarios --all --path $PATHS"
    if [ -n "$VFIOCTL" ]; then
        cp "$VFIOCTL" "$OUT/payload/vfioctl"
        cp "$HERE/vfioctl-guest.sh" "$OUT/payload/"
        run="$run; s=\$?; sh ./vfioctl-guest.sh; t=\$?; [ \$s -eq 0 ] && [ \$t -eq 0 ]"
    fi
    rc=0
    "$HERE/boot.sh" --cache "$CACHE" --kernel "$TAG" --platform "$PLATFORM" --payload "$OUT/payload" \
        --timeout "$TIMEOUT" --log "$LOG" --debugcon "$DCON" --quiet \
        --run "$run" >"$OUT/boot.result" || rc=$?
    cat "$OUT/boot.result"
    if grep -q ' retried="' "$OUT/boot.result"; then
        echo "note: boot retried once: the first attempt failed with \"$(sed -n 's/.* retried="\(.*\)"$/\1/p' "$OUT/boot.result")\" before /init (host load; its console log: $LOG.attempt1)"
    fi
    grep -E '^(KTEST DEVICE|KTEST READY|KTEST DMESG)' "$LOG" | sed 's/^/  /' || true
    passed=$(grep -c '^KSCENARIO PASS ' "$LOG" || true)
    failed=$(grep -c '^KSCENARIO FAIL ' "$LOG" || true)
    echo "scenarios in the guest: $passed passed, $failed failed"
    if [ "$failed" -gt 0 ]; then
        grep -E '^(KSCENARIO FAIL|KFAIL) ' "$LOG" | sed 's/^/  /'
    fi
    if [ -n "$VFIOCTL" ]; then
        tpassed=$(grep -c '^KTOOL PASS ' "$LOG" || true)
        tfailed=$(grep -c '^KTOOL FAIL ' "$LOG" || true)
        echo "vfioctl in the guest: $tpassed passed, $tfailed failed"
        if [ "$tfailed" -gt 0 ]; then
            grep '^KTOOL FAIL ' "$LOG" | sed 's/^/  /'
            for key in $(grep '^KTOOL FAIL ' "$LOG" | awk '{print $5 "|" $4}'); do
                grep "^KTOOL ${key%%|*} ${key#*|}| " "$LOG" | sed 's/^/    /'
            done
        fi
    fi
    if [ "$rc" -ne 0 ]; then
        if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
            echo "---- console log tail ($LOG) ----"
            tail -n 40 "$LOG" || true
        fi
        ktest_die "kernel $TAG, platform $PLATFORM: $(sed -n 's/^RESULT FAIL .* reason="\([^"]*\)".*$/\1/p' "$OUT/boot.result")"
    fi
    ;;
diff)
    [ -s "$LOG" ] || ktest_die "no console log $LOG: the boot step for $OUT did not run or failed before QEMU started"
    grep -q '^KTRACE ' "$LOG" || {
        echo "---- console log tail ($LOG) ----"
        tail -n 40 "$LOG"
        ktest_die "the guest printed no scenario trace (see kernel.boot.$TAG.$PLATFORM): nothing to compare"
    }
    devices=$(sed -n 's/^KTEST DEVICE name=\([^ ]*\) bdf=\([^ ]*\) group=\([0-9]*\)$/\1,\2,\3/p' "$LOG" | tr '\n' ' ')
    [ -n "$devices" ] || ktest_die "no KTEST DEVICE lines in $LOG"
    echo "simulated kernel: --kernel $TAG --platform $PLATFORM --path $PATHS --devices \"${devices% }\""
    rc=0
    "$BIN" --all --simulate --kernel "$TAG" --platform "$PLATFORM" --path "$PATHS" --devices "${devices% }" \
        >"$OUT/sim.out" 2>"$OUT/sim.err" || rc=$?
    if [ ! -s "$OUT/sim.out" ]; then
        cat "$OUT/sim.err" >&2
        ktest_die "the simulated run produced no output (exit status $rc)"
    fi
    crc=0
    "$HERE/compare.sh" --guest "$LOG" --debugcon "$DCON" --sim "$OUT/sim.out" --work "$OUT/compare" || crc=$?
    if [ "$crc" -ne 0 ]; then
        echo "---- console log tail ($LOG) ----"
        grep -v '^KTRACE ' "$LOG" | tail -n 15
        echo "traces: $OUT/compare/guest/*.trace (real) and $OUT/compare/sim/*.trace (simulated)"
        ktest_die "kernel $TAG, platform $PLATFORM: the simulated kernel's traces differ from the real kernel's"
    fi
    [ "$rc" -eq 0 ] || ktest_die "the simulated run failed (exit status $rc) although its traces match"
    ;;
*)
    usage
    ;;
esac
