#!/usr/bin/env bash
# build-kernel.sh [--root DIR] [--jobs N] [--tag TAG] [--rebuild] [SUITE_CACHE_DIR]
#
# Builds the suite's own kernel from Debian's linux-source-6.12 package with
# the config fragment own-kernel.config (everything built in, no modules), or
# reuses an earlier build. With SUITE_CACHE_DIR, links the result as
# SUITE_CACHE_DIR/kernels/TAG (default tag: own) so that boot.sh and suite.sh
# boot it like the kernels fetch.sh prepares.
#
#   --root DIR   where builds are kept (default: $VFIO_OWN_KERNEL_CACHE, else
#                ${XDG_CACHE_HOME:-$HOME/.cache}/vfio-kernel): outside the
#                build tree and the repository, so every run on the machine
#                reuses them
#   --jobs N     make -j N (default: nproc)
#   --tag TAG    name of the link in SUITE_CACHE_DIR/kernels/ (default own)
#   --rebuild    build even when a complete build with the same key exists
#
# A build is kept in ROOT/<key>/, where <key> is a hash of everything that
# changes the result: the source package's version and .deb SHA256 (from the
# apt lists, so the warm path downloads nothing), own-kernel.config, this
# script (comment lines excluded), the versions of gcc and ld. The first 12
# hex digits end the release (CONFIG_LOCALVERSION="-vfio-<key>"), so the
# guest's `uname -r` names the build that ran. ROOT/<key>/ holds:
#   vmlinux          ELF kernel (QEMU boots it through its PVH entry)
#   config           the kernel's .config
#   version          kernel release (uname -r)
#   boot-mode        pvh
#   include/         uAPI headers (`make headers`: linux/iommufd.h, linux/vfio.h, ...)
#   modules/         empty load-order: everything is built in
#   guest-expect     what boot.sh's /init checks in the guest (iommufd cdev mtty)
#   key              the key's inputs; build-stats: wall and CPU time of the build
#   build.log        the build's output
#   .complete        written last; without it the directory is a half-built
#                    leftover: removed and rebuilt, never used
# The build runs in ROOT/.tmp-<key>.*, niced (VFIO_KERNEL_NICE, default 19),
# under an flock on ROOT/.lock (a concurrent run waits, then reuses); the
# build tree (~1.8 GB) is deleted afterwards, ~35 MB stay.
# Cold: ~15 CPU-minutes (8-10 min wall on an idle 2-core machine, ~30 under
# load). Warm: well under a second.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KTEST_PROG=build-kernel.sh
# shellcheck source=lib.sh
. "$HERE/lib.sh"

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 2
}

ROOT=${VFIO_OWN_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vfio-kernel}
JOBS=$(nproc 2>/dev/null || echo 2)
TAG=own
REBUILD=0
NICE=${VFIO_KERNEL_NICE:-19}
while [ $# -gt 0 ]; do
    case "$1" in
        --root) [ $# -ge 2 ] || usage; ROOT=$2; shift 2 ;;
        --jobs) [ $# -ge 2 ] || usage; JOBS=$2; shift 2 ;;
        --tag) [ $# -ge 2 ] || usage; TAG=$2; shift 2 ;;
        --rebuild) REBUILD=1; shift ;;
        -h|--help) usage ;;
        --) shift; break ;;
        -*) echo "build-kernel.sh: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[ $# -le 1 ] || usage
SUITE_CACHE=${1:-}
case "$JOBS" in ''|*[!0-9]*|0) ktest_die "--jobs must be a positive number" ;; esac
case "$TAG" in ''|*/*|.*) ktest_die "bad --tag '$TAG'" ;; esac

export LC_ALL=C
SRC_PKG=linux-source-6.12
FRAGMENT="$HERE/own-kernel.config"
[ -f "$FRAGMENT" ] || ktest_die "$FRAGMENT missing"
start=$(ktest_now_ns)

ktest_ensure_packages make gcc libc6-dev bc bison flex libelf-dev libssl-dev xz-utils \
    binutils util-linux coreutils
mkdir -p "$ROOT" || ktest_die "cannot create $ROOT"
ROOT=$(cd "$ROOT" && pwd)

# ---------------------------------------------------------------- the key
# The source package apt would download now (the candidate version); one
# apt-cache call (each parses the package lists: ~1 s).
PKG_INFO=$(apt-cache show --no-all-versions "$SRC_PKG" 2>/dev/null || true)
if [ -z "$PKG_INFO" ]; then
    ktest_log "$SRC_PKG not in the machine's apt lists; running apt-get update"
    apt-get -q -o DPkg::Lock::Timeout=600 update >/dev/null || ktest_die "apt-get update failed"
    PKG_INFO=$(apt-cache show --no-all-versions "$SRC_PKG" 2>/dev/null || true)
fi
pkg_field() { printf '%s\n' "$PKG_INFO" | sed -n "s/^$1: //p" | head -n 1; }
PKG_VERSION=$(pkg_field Version)
[ -n "$PKG_VERSION" ] || ktest_die "no package $SRC_PKG in the machine's apt sources (Debian 12 has it)"
PKG_SHA256=$(pkg_field SHA256)
PKG_FILE=$(basename "$(pkg_field Filename)")
{ [ -n "$PKG_SHA256" ] && [ -n "$PKG_FILE" ]; } || ktest_die "apt-cache shows no SHA256/Filename for $SRC_PKG $PKG_VERSION"

key_inputs() {
    echo "source: $SRC_PKG $PKG_VERSION sha256 $PKG_SHA256"
    echo "fragment: $(sha256sum <"$FRAGMENT" | cut -d' ' -f1)"
    echo "script: $(grep -v '^[[:space:]]*#' "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
    echo "gcc: $(gcc --version | head -n 1)"
    echo "ld: $(ld --version | head -n 1)"
}
KEY_TEXT=$(key_inputs)
KEY=$(printf '%s\n' "$KEY_TEXT" | sha256sum | cut -c1-12)
DEST="$ROOT/$KEY"

# ---------------------------------------------------------------- link + report
link_into_suite() {
    [ -n "$SUITE_CACHE" ] || return 0
    mkdir -p "$SUITE_CACHE/kernels" || ktest_die "cannot create $SUITE_CACHE/kernels"
    local link="$SUITE_CACHE/kernels/$TAG"
    if [ -e "$link" ] && [ ! -L "$link" ]; then
        ktest_die "$link exists and is not a link made by this script; remove it"
    fi
    ln -sfn "$DEST" "$link.new.$$"
    mv -T "$link.new.$$" "$link"
}

report() { # HOW
    local end secs
    end=$(ktest_now_ns)
    secs=$(ktest_fmt_secs $((end - start)))
    ktest_log "own kernel $(cat "$DEST/version") ($1; $(cat "$DEST/build-stats")) in $DEST${SUITE_CACHE:+, linked as $SUITE_CACHE/kernels/$TAG}; this run: ${secs}s"
}

complete() { [ -f "$DEST/.complete" ]; }

if [ "$REBUILD" -eq 0 ] && complete; then
    link_into_suite
    report "reused"
    exit 0
fi

# ---------------------------------------------------------------- build
exec 9>"$ROOT/.lock"
if ! flock -n 9; then
    ktest_log "another build holds $ROOT/.lock; waiting for it"
    flock 9
fi
if [ "$REBUILD" -eq 0 ] && complete; then
    link_into_suite
    report "reused, built by a concurrent run"
    exit 0
fi
# We hold the lock: anything half-built is a leftover of an interrupted run.
for d in "$ROOT"/.tmp-*; do
    [ -e "$d" ] || continue
    ktest_log "removing the leftover of an interrupted build: $d"
    rm -rf "$d"
done
if [ -e "$DEST" ]; then
    if complete; then
        ktest_log "--rebuild: replacing $DEST"
    else
        ktest_log "$DEST has no completion marker (interrupted or failed build): removing it"
    fi
    rm -rf "$DEST"
fi

WORK=$(mktemp -d "$ROOT/.tmp-$KEY.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
ktest_log "building the own kernel: $SRC_PKG $PKG_VERSION, key $KEY (make -j$JOBS, nice $NICE), in $WORK"

# The .deb, checked against the apt lists' SHA256.
mkdir -p "$ROOT/debs"
DEB="$ROOT/debs/$PKG_FILE"
if [ ! -s "$DEB" ] || [ "$(sha256sum <"$DEB" | cut -d' ' -f1)" != "$PKG_SHA256" ]; then
    rm -f "$DEB"
    ktest_log "downloading $SRC_PKG $PKG_VERSION (~150 MB)"
    (cd "$WORK" && apt-get -q -o APT::Sandbox::User=root download "$SRC_PKG=$PKG_VERSION" >"$WORK/download.log" 2>&1) || {
        cat "$WORK/download.log" >&2
        ktest_die "apt-get download $SRC_PKG=$PKG_VERSION failed"
    }
    [ -s "$WORK/$PKG_FILE" ] || ktest_die "apt-get download did not produce $PKG_FILE"
    [ "$(sha256sum <"$WORK/$PKG_FILE" | cut -d' ' -f1)" = "$PKG_SHA256" ] ||
        ktest_die "$PKG_FILE does not match the SHA256 of the apt lists"
    mv "$WORK/$PKG_FILE" "$DEB"
fi
for old in "$ROOT/debs/"*.deb; do
    [ "$old" = "$DEB" ] || rm -f "$old"
done

t0=$(ktest_now_ns)
ktest_log "unpacking the source"
TARBALL=./usr/src/$SRC_PKG.tar.xz
dpkg-deb --fsys-tarfile "$DEB" | tar -xO "$TARBALL" | nice -n "$NICE" tar -xJ -C "$WORK" ||
    ktest_die "cannot unpack $TARBALL from $DEB"
SRC="$WORK/$SRC_PKG"
[ -f "$SRC/Makefile" ] || ktest_die "$TARBALL has no $SRC_PKG/Makefile"

KMAKE=(nice -n "$NICE" make -C "$SRC" ARCH=x86_64 -j"$JOBS")
ALL="$WORK/all.config"
{
    for f in kernel/configs/tiny-base.config kernel/configs/tiny.config arch/x86/configs/tiny.config; do
        [ -f "$SRC/$f" ] || ktest_die "$f missing from the source"
        cat "$SRC/$f"
    done
    cat "$FRAGMENT"
    echo "CONFIG_LOCALVERSION=\"-vfio-$KEY\""
    echo "# CONFIG_LOCALVERSION_AUTO is not set"
} >"$ALL"
ktest_log "configuring (allnoconfig + tiny configs + $(basename "$FRAGMENT"))"
"${KMAKE[@]}" KCONFIG_ALLCONFIG="$ALL" allnoconfig >"$WORK/build.log" 2>&1 || {
    tail -n 40 "$WORK/build.log" >&2
    ktest_die "make allnoconfig failed"
}

# Kconfig drops what it cannot satisfy without a word: every fragment line
# must be in the result.
missing=()
while IFS= read -r line; do
    case "$line" in
        CONFIG_*=*)
            grep -qxF "$line" "$SRC/.config" || missing+=("$line (got: $(grep -E "^(# )?${line%%=*}[= ]" "$SRC/.config" || echo 'absent'))")
            ;;
        "# CONFIG_"*" is not set")
            sym=${line#\# }; sym=${sym%% *}
            if grep -qE "^$sym=[ym]" "$SRC/.config"; then missing+=("$line (got: $(grep -E "^$sym=" "$SRC/.config"))"); fi
            ;;
    esac
done <"$FRAGMENT"
if [ ${#missing[@]} -gt 0 ]; then
    printf '  %s\n' "${missing[@]}" >&2
    ktest_die "${#missing[@]} line(s) of $(basename "$FRAGMENT") are not in the resulting .config (a dependency is missing)"
fi
grep -q '^CONFIG_MODULES=y' "$SRC/.config" && ktest_die "the configuration enables modules; everything must be built in"

ktest_log "building vmlinux and the uAPI headers (log: $WORK/build.log)"
b0=$(ktest_now_ns)
# CPU time of the waited-for children: the `times` builtin, run in this shell
# (in a subshell it would count the subshell's children only).
times >"$WORK/times0"
"${KMAKE[@]}" vmlinux headers >>"$WORK/build.log" 2>&1 || {
    tail -n 60 "$WORK/build.log" >&2
    ktest_die "the kernel build failed (make vmlinux headers)"
}
times >"$WORK/times1"
read -r -a c0 < <(tail -n 1 "$WORK/times0")
read -r -a c1 < <(tail -n 1 "$WORK/times1")
b1=$(ktest_now_ns)
to_ms() { # 1m2.345s -> 62345
    local m=${1%%m*} s=${1#*m}
    s=${s%s}
    echo $((m * 60000 + 10#${s%%.*} * 1000 + 10#${s#*.}))
}
cpu_ms=$(( $(to_ms "${c1[0]}") + $(to_ms "${c1[1]}") - $(to_ms "${c0[0]}") - $(to_ms "${c0[1]}") ))
RELEASE=$(make -s -C "$SRC" ARCH=x86_64 kernelrelease 2>/dev/null)
case "$RELEASE" in *"-vfio-$KEY") ;; *) ktest_die "kernel release '$RELEASE' does not end in -vfio-$KEY" ;; esac

STAGE="$WORK/stage"
mkdir -p "$STAGE/modules"
cp "$SRC/vmlinux" "$STAGE/vmlinux"
readelf -n "$STAGE/vmlinux" 2>/dev/null | grep -q 'Xen' || ktest_die "vmlinux has no PVH (Xen ELF) note: QEMU cannot boot it directly"
cp "$SRC/.config" "$STAGE/config"
cp -a "$SRC/usr/include" "$STAGE/include"
for h in linux/iommufd.h linux/vfio.h; do
    [ -f "$STAGE/include/$h" ] || ktest_die "the uAPI headers have no $h"
done
echo "$RELEASE" >"$STAGE/version"
echo pvh >"$STAGE/boot-mode"
: >"$STAGE/modules/load-order"
echo "iommufd cdev mtty" >"$STAGE/guest-expect"
{
    printf '%s\n' "$KEY_TEXT"
    echo "fragment file: own-kernel.config"
} >"$STAGE/key"
cp "$WORK/build.log" "$STAGE/build.log"
echo "built $(date -u +%Y-%m-%dT%H:%MZ): make $(ktest_fmt_secs $((b1 - b0)))s wall, $((cpu_ms / 1000)).$(printf '%02d' $(((cpu_ms % 1000) / 10)))s CPU; unpack+config $(ktest_fmt_secs $((b0 - t0)))s" \
    >"$STAGE/build-stats"
mv "$STAGE" "$DEST"
sync -f "$DEST/vmlinux" 2>/dev/null || true
touch "$DEST/.complete"
rm -rf "$WORK"
link_into_suite
report "built"
