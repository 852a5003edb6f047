#!/usr/bin/env bash
# boot.sh --cache DIR --kernel TAG --run "CMDLINE" [options]
#
# Boots one Debian kernel (prepared by fetch.sh) under QEMU (TCG, q35, emulated
# Intel IOMMU) with a fixed set of emulated PCI devices, binds every one of them
# to vfio-pci in the guest, runs CMDLINE there and reports pass/fail.
#
#   --cache DIR          cache prepared by fetch.sh (required)
#   --kernel TAG         6.1 | 6.12 | 7 (required), or own: the kernel
#                        build-kernel.sh builds (everything built in; /init
#                        also checks /dev/iommu, the device cdevs and mtty)
#   --platform P         plain (default): no ACPI power resources, runtime PM
#                        stops at D3hot; d3cold: adds ssdt-d3cold.asl (compiled
#                        with iasl into DIR/acpi/) so that 03.0 (e1000e) and
#                        05.0 (nvme) reach D3cold
#   --payload PATH       static x86-64 executable, or a directory whose files
#                        are copied, into the guest's /payload (repeatable)
#   --run "CMDLINE"      shell command line the guest runs (cwd /payload,
#                        PATH includes /payload) (required)
#   --timeout SECONDS    hard limit for the whole boot (default 120)
#   --log FILE           keep the console log (\r stripped) in FILE
#   --debugcon FILE      keep the bytes written to I/O port 0xE9 in FILE
#   --boot-mode M        auto (default: what fetch.sh verified) | pvh | bzimage
#   --dmesg              print the whole guest dmesg after the run
#   --quiet              print only the final RESULT line
#
# Guest devices (fixed):
#   e1000e      0000:00:03.0            PM capability, NoSoftRst=0
#   pcie-root-port 00:04.0 -> virtio-net (modern only) at 0000:01:00.0
#   nvme        0000:00:05.0            PM capability, NoSoftRst=1
#   edu         0000:00:06.0            no PM capability
# The guest prints "KTEST DEVICE name=N bdf=B group=G" for each, and exports
#   KTEST_DEVICES="name,bdf,group ..."  KTEST_BDF_<NAME>  KTEST_GROUP_<NAME>
#   KTEST_KERNEL (tag)  KTEST_KERNEL_RELEASE  KTEST_PLATFORM
# (<NAME>: E1000E, NVME, VIRTIO_NET, EDU).
#
# Exit status: 0 only if the guest printed "KTEST EXIT 0" and QEMU's status
# (isa-debug-exit: value v -> status (v<<1)|1) agrees. The last stdout line is
#   RESULT PASS|FAIL kernel=TAG release=R platform=P boot=M wall=S.ss [reason="..."] [retried="..."]
# A boot whose kernel panics before /init with "timer doesn't work through
# Interrupt-remapped IO-APIC" (host load, see the verdict) is retried once;
# retried= then names the first attempt's failure (stderr says so too).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KTEST_PROG=boot.sh
# shellcheck source=lib.sh
. "$HERE/lib.sh"
BOOT_ARGS=("$@")  # for the one retry of a boot lost to host load (see the verdict)

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 2
}

CACHE="" TAG="" PLATFORM=plain RUN="" TIMEOUT=120 LOG="" DEBUGCON="" MODE=auto
QUIET=0 DMESG=0
PAYLOADS=()
OPTS=$(getopt -o h -l cache:,kernel:,platform:,payload:,run:,timeout:,log:,debugcon:,boot-mode:,dmesg,quiet,help \
    -n boot.sh -- "$@") || usage
eval set -- "$OPTS"
while true; do
    case "$1" in
        --cache) CACHE=$2; shift 2 ;;
        --kernel) TAG=$2; shift 2 ;;
        --platform) PLATFORM=$2; shift 2 ;;
        --payload) PAYLOADS+=("$2"); shift 2 ;;
        --run) RUN=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --log) LOG=$2; shift 2 ;;
        --debugcon) DEBUGCON=$2; shift 2 ;;
        --boot-mode) MODE=$2; shift 2 ;;
        --dmesg) DMESG=1; shift ;;
        --quiet) QUIET=1; shift ;;
        -h|--help) usage ;;
        --) shift; break ;;
        *) usage ;;
    esac
done
[ $# -eq 0 ] || ktest_die "unexpected arguments: $*"
[ -n "$CACHE" ] || ktest_die "--cache is required"
[ -n "$TAG" ] || ktest_die "--kernel is required"
[ -n "$RUN" ] || ktest_die "--run is required"
case "$PLATFORM" in plain|d3cold) ;; *) ktest_die "--platform must be plain or d3cold" ;; esac
case "$TIMEOUT" in ''|*[!0-9]*) ktest_die "--timeout must be a whole number of seconds" ;; esac
KDIR="$CACHE/kernels/$TAG"
[ -f "$KDIR/version" ] || ktest_die "no kernel '$TAG' in $CACHE (run fetch.sh $CACHE)"
RELEASE=$(cat "$KDIR/version")
if [ "$MODE" = auto ]; then
    MODE=$(cat "$KDIR/boot-mode" 2>/dev/null || echo pvh)
fi
case "$MODE" in
    pvh) IMAGE="$KDIR/vmlinux" ;;
    bzimage) IMAGE="$KDIR/bzImage" ;;
    *) ktest_die "--boot-mode must be auto, pvh or bzimage" ;;
esac
[ -f "$IMAGE" ] || ktest_die "$IMAGE missing (boot mode $MODE)"
for t in qemu-system-x86_64 cpio timeout; do
    command -v "$t" >/dev/null || ktest_die "$t not found (run fetch.sh first)"
done
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || ktest_die "$BUSYBOX missing (package busybox-static)"
if readelf -l "$BUSYBOX" 2>/dev/null | grep -q 'INTERP'; then
    ktest_die "$BUSYBOX is dynamically linked: install busybox-static"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ktest-boot.XXXXXX")
PIPE_PID=""
cleanup() {
    if [ -s "$WORK/timeout.pid" ] && [ ! -e "$WORK/qemu.status" ]; then
        kill -TERM "$(cat "$WORK/timeout.pid")" 2>/dev/null || true
    fi
    if [ -n "$PIPE_PID" ]; then wait "$PIPE_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
[ -n "$LOG" ] || LOG="$WORK/console.log"
[ -n "$DEBUGCON" ] || DEBUGCON="$WORK/debugcon.bin"
: >"$LOG" || ktest_die "cannot write $LOG"
: >"$DEBUGCON" || ktest_die "cannot write $DEBUGCON"

# ---------------------------------------------------------------- ACPI table
AML=""
if [ "$PLATFORM" = d3cold ]; then
    command -v iasl >/dev/null || ktest_die "iasl not found (package acpica-tools; run fetch.sh)"
    ASL="$HERE/ssdt-d3cold.asl"
    sum=$(sha256sum "$ASL" | cut -c1-16)
    AML="$CACHE/acpi/ssdt-d3cold-$sum.aml"
    if [ ! -s "$AML" ]; then
        mkdir -p "$CACHE/acpi"
        cp "$ASL" "$WORK/ssdt.asl"
        if ! iasl -p "$WORK/ssdt" "$WORK/ssdt.asl" >"$WORK/iasl.log" 2>&1 || [ ! -s "$WORK/ssdt.aml" ]; then
            cat "$WORK/iasl.log" >&2
            ktest_die "iasl failed to compile $ASL"
        fi
        mv "$WORK/ssdt.aml" "$AML.tmp.$$"
        mv "$AML.tmp.$$" "$AML"
    fi
fi

# ---------------------------------------------------------------- initramfs
R="$WORK/root"
mkdir -p "$R"/{bin,dev,proc,sys,tmp,run,payload,ktest,lib/modules/ktest}
cp "$BUSYBOX" "$R/bin/busybox"
cp "$KDIR/modules/load-order" "$R/lib/modules/ktest/"
# An empty load-order: everything is built in (build-kernel.sh).
if [ -s "$KDIR/modules/load-order" ]; then cp "$KDIR/modules/"*.ko "$R/lib/modules/ktest/"; fi
for p in "${PAYLOADS[@]}"; do
    if [ -d "$p" ]; then
        cp -a "$p/." "$R/payload/"
    elif [ -f "$p" ]; then
        cp "$p" "$R/payload/"
    else
        ktest_die "payload $p does not exist"
    fi
done
while IFS= read -r -d '' f; do
    if [ "$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] &&
        readelf -l "$f" 2>/dev/null | grep -q INTERP; then
        ktest_log "warning: payload $(basename "$f") is dynamically linked; the guest has no shared libraries"
    fi
done < <(find "$R/payload" -type f -print0)
printf '%s\n' "$RUN" >"$R/ktest/run.sh"
{
    printf 'KTEST_KERNEL=%s\n' "$TAG"
    printf 'KTEST_PLATFORM=%s\n' "$PLATFORM"
    printf 'KTEST_DMESG=%s\n' "$DMESG"
    # What /init must find besides the groups (build-kernel.sh writes it).
    printf 'KTEST_EXPECT="%s"\n' "$(cat "$KDIR/guest-expect" 2>/dev/null || true)"
} >"$R/ktest/config"
[ "$(id -u)" -eq 0 ] && mknod -m 600 "$R/dev/console" c 5 1

cat >"$R/init" <<'EOF'
#!/bin/busybox sh
# /init of the ktest initramfs, written by tests/kernel/boot.sh.
export PATH=/bin:/payload
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null ||
    /bin/busybox mount -t tmpfs -o mode=755 tmpfs /dev
[ -c /dev/console ] || /bin/busybox mknod /dev/console c 5 1
exec </dev/console >/dev/console 2>&1
echo
echo "KTEST INIT"
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
. /ktest/config

# Leave QEMU through isa-debug-exit (port 0x501): a byte v written there makes
# QEMU exit with status (v<<1)|1. Codes above 127 are sent as 127.
ktest_exit() {
    code=$1
    echo "KTEST EXIT $code"
    v=$code
    [ "$v" -gt 127 ] && v=127
    [ "$v" -lt 0 ] && v=127
    sync
    printf "\\$(printf '%03o' "$v")" | dd of=/dev/port bs=1 seek=1281 count=1 2>/dev/null
    echo "KTEST: isa-debug-exit did not stop QEMU; powering off"
    poweroff -f
    sleep 10
}
setup_fail() {
    echo "KTEST SETUP-FAILED $*"
    dmesg | tail -n 30
    ktest_exit 125
}

while read -r m; do
    [ -n "$m" ] || continue
    insmod "/lib/modules/ktest/$m.ko" || setup_fail "insmod $m"
done </lib/modules/ktest/load-order
[ -c /dev/vfio/vfio ] || setup_fail "/dev/vfio/vfio missing after loading the modules"

# bind NAME VENDOR DEVICE: find the device by its IDs and bind it to vfio-pci.
KTEST_DEVICES=""
bind() {
    name=$1 found=""
    for d in /sys/bus/pci/devices/*; do
        if [ "$(cat "$d/vendor")" = "$2" ] && [ "$(cat "$d/device")" = "$3" ]; then
            found=$d
            break
        fi
    done
    [ -n "$found" ] || setup_fail "device $name ($2:$3) not found"
    bdf=${found##*/}
    if [ -e "$found/driver" ]; then
        echo "$bdf" >"$found/driver/unbind" || setup_fail "unbind $bdf"
    fi
    echo vfio-pci >"$found/driver_override" || setup_fail "driver_override $bdf"
    echo "$bdf" >/sys/bus/pci/drivers_probe
    drv=$(readlink "$found/driver" 2>/dev/null)
    [ "${drv##*/}" = vfio-pci ] || setup_fail "$bdf ($name) not bound to vfio-pci (driver: ${drv##*/})"
    group=$(readlink "$found/iommu_group")
    group=${group##*/}
    [ -n "$group" ] || setup_fail "$bdf ($name) has no IOMMU group"
    i=0
    while [ ! -c "/dev/vfio/$group" ] && [ $i -lt 100 ]; do sleep 0.01; i=$((i + 1)); done
    [ -c "/dev/vfio/$group" ] || setup_fail "/dev/vfio/$group missing"
    echo "KTEST DEVICE name=$name bdf=$bdf group=$group"
    KTEST_DEVICES="${KTEST_DEVICES:+$KTEST_DEVICES }$name,$bdf,$group"
    up=$(echo "$name" | tr 'a-z-' 'A-Z_')
    eval "export KTEST_BDF_$up=$bdf KTEST_GROUP_$up=$group"
}
# check_expected: what KTEST_EXPECT names must be there: iommufd (/dev/iommu),
# cdev (/dev/vfio/devices/vfioN of every bound device, from its vfio-dev/),
# mtty (the mtty sample's parent device in /sys/class/mdev_bus).
check_expected() {
    for f in $KTEST_EXPECT; do
        case $f in
        iommufd)
            [ -c /dev/iommu ] || setup_fail "/dev/iommu missing (IOMMUFD)"
            echo "KTEST HAVE iommufd /dev/iommu" ;;
        cdev)
            for d in $KTEST_DEVICES; do
                n=${d%%,*} b=${d#*,}
                b=${b%%,*}
                c=$(ls "/sys/bus/pci/devices/$b/vfio-dev" 2>/dev/null | head -n 1)
                [ -n "$c" ] || setup_fail "$b ($n) has no vfio-dev/ (VFIO_DEVICE_CDEV)"
                i=0
                while [ ! -c "/dev/vfio/devices/$c" ] && [ $i -lt 100 ]; do sleep 0.01; i=$((i + 1)); done
                [ -c "/dev/vfio/devices/$c" ] || setup_fail "/dev/vfio/devices/$c ($n) missing"
                echo "KTEST CDEV name=$n bdf=$b dev=/dev/vfio/devices/$c"
            done ;;
        mtty)
            [ -d /sys/class/mdev_bus/mtty ] || setup_fail "/sys/class/mdev_bus/mtty missing (SAMPLE_VFIO_MDEV_MTTY)"
            echo "KTEST HAVE mtty /sys/class/mdev_bus/mtty types=$(ls /sys/class/mdev_bus/mtty/mdev_supported_types | tr '\n' ' ')" ;;
        *) setup_fail "unknown KTEST_EXPECT word '$f'" ;;
        esac
    done
}
bind e1000e 0x8086 0x10d3
bind nvme 0x1b36 0x0010
bind virtio-net 0x1af4 0x1041
bind edu 0x1234 0x11e8
check_expected
export KTEST_DEVICES KTEST_KERNEL KTEST_PLATFORM
export KTEST_KERNEL_RELEASE="$(uname -r)"
echo "KTEST READY kernel=$KTEST_KERNEL release=$KTEST_KERNEL_RELEASE platform=$KTEST_PLATFORM"

# Kernel messages printed on the console while the payload runs land inside
# its trace lines (vfio-pci's pci_err for an unsupported reset_method cut a
# KTRACE line in two); dmesg is checked after the run instead. Panics and
# oopses still reach the console (console_verbose raises the level).
echo 1 > /proc/sys/kernel/printk
cd /payload
sh /ktest/run.sh
rc=$?
cd /
dmesg | grep -E 'WARNING:|BUG:|Oops|general protection|Call Trace|UBSAN|refcount_t:|list_(add|del) corruption' |
    sed 's/^/KTEST DMESG /'
if [ "$KTEST_DMESG" = 1 ]; then
    echo "KTEST DMESG-BEGIN"
    dmesg
    echo "KTEST DMESG-END"
fi
ktest_exit "$rc"
EOF
chmod 755 "$R/init"
(cd "$R" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) >"$WORK/initrd.cpio" ||
    ktest_die "cpio failed"

# ---------------------------------------------------------------- QEMU
# shellcheck disable=SC2054 # commas are QEMU's
QARGS=(
    -M q35
    # One host thread for both vCPUs: the machine is shared, stay on one core.
    -accel tcg,thread=single
    -cpu max -smp 2 -m 512M
    -nographic -no-reboot -nic none -vga none
    # Behind a pcie-root-port the endpoint's ACPI node would get _EJ0 and Linux
    # would skip ACPI power control for it.
    -global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off
    -device intel-iommu
    -device e1000e,addr=03.0,romfile=
    -device pcie-root-port,id=rp1,addr=04.0,chassis=1,slot=1
    -device virtio-net-pci,disable-legacy=on,bus=rp1,addr=00.0,romfile=
    -device nvme,serial=ktest0,addr=05.0
    -device edu,addr=06.0
    -device isa-debug-exit,iobase=0x501,iosize=2
    -debugcon "file:$DEBUGCON"
    -kernel "$IMAGE"
    -initrd "$WORK/initrd.cpio"
    # no_timer_check: the early check that the timer interrupt arrives through
    # the IO-APIC (timer_irq_works in arch/x86/kernel/apic/io_apic.c) counts
    # jiffies over a busy wait, which under TCG on a loaded host fails and
    # panics ("timer doesn't work through Interrupt-remapped IO-APIC"); KVM
    # guests skip it the same way. The retry in the verdict stays as the net.
    -append "console=ttyS0 intel_iommu=on iommu=pt panic=-1 quiet no_timer_check"
)
[ -n "$AML" ] && QARGS+=(-acpitable "file=$AML")

QERR="$WORK/qemu.stderr"
# Console clean-up: drop \r and the terminal escapes SeaBIOS sends.
SED_CLEAN=$'s/\r$//; s/\x1bc//g; s/\x1b\\[[0-9;?]*[A-Za-z]//g'
start=$(ktest_now_ns)
# QEMU runs under `timeout` in the background so that a signal to this script
# is handled at once (bash defers traps while a foreground job runs) and the
# EXIT trap can stop QEMU through its `timeout` parent.
(
    timeout -k 5 "$TIMEOUT" qemu-system-x86_64 "${QARGS[@]}" </dev/null 2>"$QERR" &
    echo "$!" >"$WORK/timeout.pid"
    rc=0
    wait "$!" || rc=$?
    { echo "$rc" >"$WORK/qemu.status"; } 2>/dev/null || true
) | sed -u "$SED_CLEAN" | if [ "$QUIET" -eq 1 ]; then cat >"$LOG"; else tee "$LOG"; fi &
PIPE_PID=$!
wait "$PIPE_PID" || true
PIPE_PID=""
STATUS=$(cat "$WORK/qemu.status" 2>/dev/null || echo 255)
end=$(ktest_now_ns)
WALL=$(ktest_fmt_secs $((end - start)))

# ---------------------------------------------------------------- verdict
REASON=""
GUEST_RC=$(sed -n 's/^KTEST EXIT \([0-9][0-9]*\)$/\1/p' "$LOG" | tail -n 1)
if [ "$STATUS" -eq 124 ] || [ "$STATUS" -eq 137 ]; then
    REASON="timeout: no result within ${TIMEOUT}s"
elif grep -q 'Kernel panic - not syncing' "$LOG"; then
    REASON="kernel panic: $(grep -m1 'Kernel panic - not syncing' "$LOG" | sed 's/.*not syncing: *//')"
elif ! grep -q 'KTEST INIT$' "$LOG"; then
    if grep -v ': warning: ' "$QERR" | grep -q 'qemu-system-x86_64:'; then
        REASON="QEMU failure (status $STATUS): $(grep -v ': warning: ' "$QERR" | grep -m1 'qemu-system-x86_64:')"
    else
        REASON="/init never reached (QEMU status $STATUS)"
    fi
elif grep -q '^KTEST SETUP-FAILED' "$LOG"; then
    REASON="guest setup failed: $(grep -m1 '^KTEST SETUP-FAILED' "$LOG" | sed 's/^KTEST SETUP-FAILED //')"
elif [ -z "$GUEST_RC" ]; then
    REASON="guest ended without KTEST EXIT (QEMU status $STATUS)"
else
    v=$GUEST_RC
    [ "$v" -gt 127 ] && v=127
    expect=$(((v << 1) | 1))
    if [ "$STATUS" -ne "$expect" ]; then
        REASON="QEMU status $STATUS disagrees with KTEST EXIT $GUEST_RC (expected $expect)"
    elif [ "$GUEST_RC" -ne 0 ]; then
        REASON="test failed: exit code $GUEST_RC"
    fi
fi

# Host load: under TCG, a busy host can make the kernel's early check that
# the timer interrupt arrives through the interrupt-remapped IO-APIC
# (check_timer in arch/x86/kernel/apic/io_apic.c) give up and panic before
# /init. That says nothing about the kernel under test, so such a boot is
# retried once, in a fresh process, which marks the RESULT line with
# retried="<first reason>" (the first console log is kept as LOG.attempt1). A
# second such panic fails; no other failure is retried.
RETRIED=${KTEST_BOOT_RETRIED:-}
if [ -n "$REASON" ] && [ -z "$RETRIED" ] && ! grep -q 'KTEST INIT$' "$LOG" &&
    grep -q "Kernel panic - not syncing: timer doesn't work through Interrupt-remapped IO-APIC" "$LOG"; then
    ktest_log "note: $REASON after ${WALL}s, before /init (host load); retrying this boot once"
    [ "$LOG" = "$WORK/console.log" ] || cp "$LOG" "$LOG.attempt1"
    cleanup
    trap - EXIT
    KTEST_BOOT_RETRIED="$REASON" exec "$HERE/boot.sh" "${BOOT_ARGS[@]}"
fi
RETRY_WORD=""
if [ -n "$RETRIED" ]; then
    RETRY_WORD=" retried=\"$RETRIED\""
    ktest_log "note: this boot is the retry of one that failed with: $RETRIED"
fi

if [ -n "$REASON" ]; then
    {
        echo "---- console log tail ($LOG) ----"
        tail -n 40 "$LOG"
        if [ -s "$QERR" ]; then
            echo "---- QEMU stderr ----"
            tail -n 20 "$QERR"
        fi
        echo "----"
    } >&2
    echo "RESULT FAIL kernel=$TAG release=$RELEASE platform=$PLATFORM boot=$MODE wall=$WALL reason=\"$REASON\"$RETRY_WORD"
    exit 1
fi
echo "RESULT PASS kernel=$TAG release=$RELEASE platform=$PLATFORM boot=$MODE wall=$WALL$RETRY_WORD"
