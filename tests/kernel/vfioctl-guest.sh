#!/bin/sh
# vfioctl-guest.sh - runs in the test guest (busybox sh), from /payload next to
# a static `vfioctl` (examples/vfioctl.cpp): `vfioctl list` once, then
# `doctor`, `info`, `features`, `power BDF status`, `power BDF cycle` and
# `power BDF cycle --wakeup` on every device boot.sh bound to vfio-pci
# (KTEST_DEVICES). Each run's output is printed with the
# prefix "KTOOL <device> <command>| ", then
#   KTOOL PASS|FAIL vfioctl <command> <device> [reason]
# A run fails on a non-zero exit status, and power cycle also when the
# low-power entry did not settle where this machine takes the device:
# D3cold for e1000e and nvme on the d3cold platform; edu (no PM capability)
# D3hot on d3cold (its _PS3 method) and D0 on plain; D3hot otherwise. Exit
# status 0 only if every run passed.

failed=0
out=$(./vfioctl list 2>&1)
rc=$?
printf '%s\n' "$out" | sed "s/^/KTOOL all list| /"
if [ "$rc" -eq 0 ]; then echo "KTOOL PASS vfioctl list all"; else echo "KTOOL FAIL vfioctl list all exit status $rc"; failed=1; fi
for entry in $KTEST_DEVICES; do
    name=${entry%%,*}
    rest=${entry#*,}
    bdf=${rest%%,*}
    case "$name" in
        edu) if [ "$KTEST_PLATFORM" = d3cold ]; then expect=D3hot; else expect=D0; fi ;;
        e1000e|nvme) if [ "$KTEST_PLATFORM" = d3cold ]; then expect=D3cold; else expect=D3hot; fi ;;
        *) expect=D3hot ;;
    esac
    for cmd in "doctor B" "info B" "features B" "power B status" "power B cycle" "power B cycle --wakeup"; do
        label=$(echo "$cmd" | sed 's/ B//' | tr ' ' '_')
        # shellcheck disable=SC2086 # cmd is several words, B the device
        out=$(./vfioctl $(echo "$cmd" | sed "s/ B/ $bdf/") 2>&1)
        rc=$?
        printf '%s\n' "$out" | sed "s/^/KTOOL $name $label| /"
        reason=""
        if [ "$rc" -ne 0 ]; then
            reason="exit status $rc"
        elif [ "$label" = power_cycle ] &&
            ! printf '%s\n' "$out" | grep -Eq "low-power entry .* suspended +$expect\$"; then
            reason="low-power entry did not settle in $expect"
        elif [ "$label" = power_cycle_--wakeup ] &&
            ! printf '%s\n' "$out" | grep -q "wake-up (config read, eventfd) .* active  *D0"; then
            reason="the wake-up eventfd did not fire"
        fi
        if [ -n "$reason" ]; then
            echo "KTOOL FAIL vfioctl $label $name $reason"
            failed=$((failed + 1))
        else
            echo "KTOOL PASS vfioctl $label $name"
        fi
    done
done
[ "$failed" -eq 0 ]
