#!/usr/bin/env bash
# compare.sh --guest LOG --debugcon FILE --sim FILE [--work DIR] [--context N]
#
# The differential check: the traces a scenario run printed inside the QEMU
# guest (console log LOG, debug-console record FILE) against the traces the
# same scenarios printed on the host against the simulated kernel (output
# FILE of `scenarios --simulate`). Both are `KTRACE <scenario> <device> <line>`
# lines; each (scenario, device) trace must be identical after the
# normalizations below. On a difference it prints both traces side by side.
#
#   --guest LOG      console log of boot.sh (\r already stripped)
#   --debugcon FILE  bytes the guest wrote to I/O port 0xE9
#   --sim FILE       stdout of `scenarios --simulate ...`
#   --work DIR       keep the per-scenario traces there (default: a temp dir)
#   --context N      lines of side-by-side output per differing trace (default 400)
#
# Exit status 0 only if every trace matches, both sides ran the same set of
# scenarios, and the simulated side passed its own checks.
#
# What is rewritten before comparing, and why (nothing else is ignored):
#
#  1. Firmware records. In the guest, `= firmware <label>: @N` is a
#     placeholder: the scenario wrote marker N (one '|' byte) to port 0xE9,
#     and the ACPI methods of tests/kernel/ssdt-d3cold.asl write 'E'/'e'
#     (e1000e power resource _ON/_OFF), 'N'/'n' (nvme, the same) and 'U'/'u'
#     (edu _PS0/_PS3) to the same port. @N becomes the device's own letters
#     between markers N-1 and N as "on"/"off" words (upper case "on": _ON or
#     _PS0; lower case "off": _OFF or _PS3; "-": none). Not an ignore: both
#     sides then carry the same words.
#  2. BAR and ROM contents. `data=` of a pread or pwrite on regions 0-6
#     (rN+...) is dropped: those bytes are registers of QEMU's device models
#     (e1000e, nvme, virtio-net, edu), which the simulated kernel does not
#     model, and the scenarios only ever write back what they read there. The
#     access itself, its size and its result (e.g. -EIO in D3hot) are
#     compared. Config-space bytes (region 7) are compared.
#  3. The eventfd after an immediate exit. In scenario wakeup_immediate_exit,
#     LOW_POWER_EXIT follows LOW_POWER_ENTRY_WITH_WAKEUP at once: whether
#     runtime suspend ran in between (and so whether the exit signalled the
#     eventfd) is the kernel's scheduling, not the library's or the
#     simulation's behaviour. The result of its `poll eventfd#N` becomes "?" and
#     the `read eventfd#N` that follows a ready poll is dropped. The same for
#     its cdev and compat passes (wakeup_immediate_exit@cdev, @compat:
#     `scenarios --path group,cdev,compat`).
# Timing of runtime suspend needs no rule: scenarios read runtime_status and
# power_state only through the library's settle wait with an expected state,
# and tracing_syscalls records the value a polling loop settled on.
#
# Compared as they are, with no rule, by construction of the scenarios:
#  - edu's DMA (scenario edu_dma). The engine's registers are written through
#    the BAR0 mapping, outside the seam, on both sides; the guest's edu does
#    the transfers, and on the host the scenario backend does them itself
#    through the simulated kernel's type1 mappings (IOAS areas on the cdev
#    path) and their permissions
#    (the model has no edu). The map/unmap ioctls are traced, and each
#    transfer and each check of the bytes is a note ("round trip: bytes
#    match", "device write into the read-only mapping: blocked") that both
#    sides must print alike.
#  - Second threads (thread_wakeup, config_race). The helper thread uses its
#    own descriptor on the untraced seam, because where its calls fall
#    between the main thread's is the scheduler's choice; its outcome is a
#    note after the join. The main thread's calls are traced as usual.
#  - Raw ioctls (errno_crosscheck). They bypass the tracer; their errno is a
#    note next to the library's outcome.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KTEST_PROG=compare.sh
# shellcheck source=lib.sh
. "$HERE/lib.sh"

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 2
}

GUEST="" DCON="" SIM="" WORK="" CONTEXT=400
while [ $# -gt 0 ]; do
    case "$1" in
        --guest) GUEST=$2; shift 2 ;;
        --debugcon) DCON=$2; shift 2 ;;
        --sim) SIM=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        --context) CONTEXT=$2; shift 2 ;;
        -h|--help) usage ;;
        *) usage ;;
    esac
done
[ -n "$GUEST" ] && [ -n "$DCON" ] && [ -n "$SIM" ] || usage
[ -s "$GUEST" ] || ktest_die "guest console log $GUEST is missing or empty"
[ -f "$DCON" ] || ktest_die "debugcon record $DCON is missing"
[ -s "$SIM" ] || ktest_die "simulated run output $SIM is missing or empty"
grep -q '^KTRACE ' "$GUEST" || ktest_die "no KTRACE lines in $GUEST: the scenarios did not run in the guest"
grep -q '^KTRACE ' "$SIM" || ktest_die "no KTRACE lines in $SIM: the simulated run produced no trace"

if [ -z "$WORK" ]; then
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/ktest-compare.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
fi
rm -rf "$WORK/guest" "$WORK/sim"
mkdir -p "$WORK/guest" "$WORK/sim"

# Segment N+1 (one per line) holds what the firmware wrote between markers N-1
# and N; segment 1 is everything before the first marker.
LC_ALL=C tr -cd 'A-Za-z|' <"$DCON" | tr '|' '\n' >"$WORK/debugcon.segments"
echo >>"$WORK/debugcon.segments"

# normalize SIDE INPUT: KTRACE lines -> WORK/SIDE/<scenario>.<device>.trace
normalize() {
    local side=$1 input=$2
    LC_ALL=C awk -v side="$side" -v out="$WORK/$side" -v segfile="$WORK/debugcon.segments" '
        BEGIN {
            n = 0
            while ((getline seg < segfile) > 0) segs[++n] = seg
            letters["e1000e"] = "E"; letters["nvme"] = "N"; letters["edu"] = "U"
        }
        function firmware(dev, ph,    idx, s, up, low, words, i, c) {
            idx = substr(ph, 2) + 1          # @N -> segment N+1
            if (!(idx in segs)) return "<no debugcon segment " ph ">"
            s = segs[idx]; words = ""
            if (!(dev in letters)) return "-"
            up = letters[dev]; low = tolower(up)
            for (i = 1; i <= length(s); i++) {
                c = substr(s, i, 1)
                if (c == up) words = words (words == "" ? "" : " ") "on"
                else if (c == low) words = words (words == "" ? "" : " ") "off"
            }
            return words == "" ? "-" : words
        }
        /^KTRACE / {
            scen = $2; dev = $3
            line = $0
            sub(/^KTRACE [^ ]+ [^ ]+ /, "", line)
            # Rule 1: firmware placeholders (guest only).
            if (side == "guest" && line ~ /^= firmware .*: @[0-9]+$/) {
                ph = line; sub(/.*: /, "", ph)
                sub(/@[0-9]+$/, firmware(dev, ph), line)
            }
            # Rule 2: BAR/ROM contents.
            if (line ~ /^pread device#[0-9]+ r[0-6]\+/) sub(/ data=[0-9a-f]+$/, "", line)
            if (line ~ /^pwrite device#[0-9]+ r[0-6]\+/) sub(/ data=[0-9a-f]+ -> / , " -> ", line)
            # Rule 3: the eventfd after an immediate exit.
            if (scen ~ /^wakeup_immediate_exit(@cdev|@compat)?$/) {
                if (line ~ /^poll eventfd#[0-9]+ -> /) sub(/ -> .*/, " -> ?", line)
                if (line ~ /^read eventfd#[0-9]+ /) next
            }
            print line > (out "/" scen "." dev ".trace")
        }
    ' "$input"
}

normalize guest "$GUEST"
normalize sim "$SIM"

# The scenarios each side ran, in the guest's order.
grep '^KSCENARIO ' "$GUEST" | awk '{print $3 "." $4}' >"$WORK/guest.list"
grep '^KSCENARIO ' "$SIM" | awk '{print $3 "." $4}' >"$WORK/sim.list"

same=0 differ=0 one_sided=0
DIFFERING=()
# Membership through associative arrays and one `diff -rq` over both trees:
# a process per scenario would dominate the wall time on a busy host.
declare -A IN_SIM=() IN_GUEST=() DIFFERS=()
while read -r key; do IN_SIM[$key]=1; done <"$WORK/sim.list"
while read -r key; do
    IN_GUEST[$key]=1
    [ -f "$WORK/guest/$key.trace" ] || : >"$WORK/guest/$key.trace"
    [ -z "${IN_SIM[$key]:-}" ] || [ -f "$WORK/sim/$key.trace" ] || : >"$WORK/sim/$key.trace"
done <"$WORK/guest.list"
while read -r line; do
    case "$line" in
        "Files $WORK/guest/"*" differ")
            f=${line#"Files $WORK/guest/"}
            DIFFERS[${f%%.trace and *}]=1
            ;;
    esac
done < <(diff -rq "$WORK/guest" "$WORK/sim" || true)
while read -r key; do
    if [ -z "${IN_SIM[$key]:-}" ]; then
        echo "compare: $key ran in the guest but not in the simulation"
        one_sided=$((one_sided + 1))
    elif [ -n "${DIFFERS[$key]:-}" ]; then
        differ=$((differ + 1))
        DIFFERING+=("$key")
    else
        same=$((same + 1))
    fi
done <"$WORK/guest.list"
while read -r key; do
    [ -n "${IN_GUEST[$key]:-}" ] || {
        echo "compare: $key ran in the simulation but not in the guest"
        one_sided=$((one_sided + 1))
    }
done <"$WORK/sim.list"

for key in "${DIFFERING[@]}"; do
    g="$WORK/guest/$key.trace" s="$WORK/sim/$key.trace"
    first=$(diff "$g" "$s" | sed -n '1s/^\([0-9]*\).*/\1/p' || true)
    echo
    echo "==== trace differs: ${key%%.*} on ${key#*.} (first difference at guest line ${first:-?})"
    printf '%-100s | %s\n' "real kernel (guest)" "simulated kernel (host)"
    diff -y -W 203 -t "$g" "$s" | head -n "$CONTEXT" || true
done

sim_failures=$(grep -c '^KFAIL ' "$SIM" || true)
if [ "$sim_failures" -gt 0 ]; then
    echo
    echo "==== the simulated kernel fails $sim_failures scenario check(s):"
    grep '^KFAIL ' "$SIM"
fi
guest_failures=$(grep -c '^KFAIL ' "$GUEST" || true)
if [ "$guest_failures" -gt 0 ]; then
    echo
    echo "==== the real kernel fails $guest_failures scenario check(s) (see the boot test):"
    grep '^KFAIL ' "$GUEST"
fi

echo
echo "compare: $same identical, $differ differ, $one_sided on one side only; simulated-side check failures: $sim_failures"
if [ "$differ" -ne 0 ]; then
    echo "compare: differing: ${DIFFERING[*]}"
fi
[ "$differ" -eq 0 ] && [ "$one_sided" -eq 0 ] && [ "$sim_failures" -eq 0 ]
