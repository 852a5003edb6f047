#!/usr/bin/env bash
# fetch.sh [--refresh] [--no-boot-check] [--tags "6.1 6.12 7"] CACHE_DIR
#
# Prepares everything the real-kernel tests need, under CACHE_DIR:
#   - installs the host packages that are missing (dpkg -s check),
#   - downloads Debian kernels with `apt-get download` and unpacks them with
#     `dpkg -x` (never installs them on the host):
#       6.1  newest linux-image-6.1.0-NN-amd64        (Debian 12)
#       6.12 newest linux-image-6.12.NN+deb12-amd64   (Debian 12)
#       7    newest linux-image-7.x+deb13-amd64       (Debian 13 trixie-backports,
#            through a private apt configuration inside CACHE_DIR)
#   - extracts the ELF vmlinux from each bzImage (PVH boot is ~2x faster),
#   - copies the VFIO modules and their dependencies (decompressed) and writes
#     their load order,
#   - boots each new kernel once (boot.sh --run true) to verify that PVH boot
#     works, falling back to the bzImage if it does not.
#
# A warm cache (every kernels/<tag>/.complete present) returns at once without
# any network access. --refresh re-resolves the newest kernels and refetches
# the ones that changed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KTEST_PROG=fetch.sh
# shellcheck source=lib.sh
. "$HERE/lib.sh"

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 2
}

REFRESH=0
BOOT_CHECK=1
TAGS="6.1 6.12 7"
while [ $# -gt 0 ]; do
    case "$1" in
        --refresh) REFRESH=1; shift ;;
        --no-boot-check) BOOT_CHECK=0; shift ;;
        --tags) [ $# -ge 2 ] || usage; TAGS=$2; shift 2 ;;
        -h|--help) usage ;;
        --) shift; break ;;
        -*) echo "fetch.sh: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[ $# -eq 1 ] || usage
mkdir -p "$1" || ktest_die "cannot create cache dir $1"
CACHE=$(cd "$1" && pwd)

export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C

HOST_PACKAGES=(qemu-system-x86 busybox-static cpio kmod xz-utils zstd gzip
               acpica-tools binutils util-linux coreutils)
# The modules wanted in the guest; dependencies are added with modinfo.
# A leading '?' marks a module that only some kernels have.
WANTED_MODULES=(irqbypass vfio vfio_iommu_type1 '?vfio_virqfd' vfio_pci_core vfio_pci)

tag_complete() { [ -f "$CACHE/kernels/$1/.complete" ]; }

# ---------------------------------------------------------------- fast path
ktest_ensure_packages "${HOST_PACKAGES[@]}"
if [ "$REFRESH" -eq 0 ]; then
    all=1
    for t in $TAGS; do tag_complete "$t" || all=0; done
    if [ "$all" -eq 1 ]; then
        for t in $TAGS; do
            ktest_log "kernel $t: $(cat "$CACHE/kernels/$t/version") (cached, $(cat "$CACHE/kernels/$t/boot-mode") boot)"
        done
        exit 0
    fi
fi

# Only one fetch at a time per cache.
mkdir -p "$CACHE/kernels" "$CACHE/debs"
exec 9>"$CACHE/.fetch.lock"
flock 9

WORK=$(mktemp -d "$CACHE/.fetch-tmp.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- apt helpers
# The Debian mirror the machine's own apt sources use for its release (e.g.
# http://deb.debian.org/debian). Both one-line (.list) and deb822 (.sources)
# formats are read.
host_codename() { ( . /etc/os-release && echo "${VERSION_CODENAME:-}" ); }

debian_mirror() {
    local codename f uri
    codename=$(host_codename)
    [ -n "$codename" ] || ktest_die "cannot read VERSION_CODENAME from /etc/os-release"
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        uri=$(awk -v c="$codename" '
            $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if ($(i + 1) == c) { print $i; exit }
            }' "$f")
        [ -n "$uri" ] && { echo "${uri%/}"; return 0; }
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        uri=$(awk -v c="$codename" '
            BEGIN { RS = ""; FS = "\n" }
            {
                types = ""; uris = ""; suites = ""; enabled = "yes"
                for (j = 1; j <= NF; j++) {
                    line = $j
                    if (line ~ /^#/) continue
                    k = tolower(line); sub(/:.*/, "", k)
                    v = line; sub(/^[^:]*:[ \t]*/, "", v)
                    if (k == "types") types = v
                    else if (k == "uris") uris = v
                    else if (k == "suites") suites = v
                    else if (k == "enabled") enabled = tolower(v)
                }
                if (enabled == "no") next
                if ((" " types " ") !~ / deb /) next
                if ((" " suites " ") ~ (" " c " ")) { split(uris, u, /[ \t]+/); print u[1]; exit }
            }' "$f")
        [ -n "$uri" ] && { echo "${uri%/}"; return 0; }
    done
    ktest_die "no apt source for '$codename' found in /etc/apt/sources.list{,.d/*.list,.d/*.sources}: cannot tell which Debian mirror to use"
}

KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
TRIXIE_KEY=/usr/share/keyrings/debian-archive-trixie-automatic.gpg
PRIV="$CACHE/apt-trixie-backports"
PRIV_OPTS=(
    -o "Dir::Etc::SourceList=$PRIV/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$PRIV/lists"
    -o "Dir::Cache=$PRIV/cache"
    -o "Dir::Etc::Preferences=/dev/null"
    -o "Dir::Etc::PreferencesParts=/dev/null"
    -o "APT::Architecture=amd64"
    -o "APT::Architectures=amd64"
    -o "Acquire::Languages=none"
    -o "APT::Sandbox::User=root"
)
# shellcheck disable=SC2034 # used through a nameref
SYS_OPTS=(-o "APT::Sandbox::User=root")

# Private apt configuration for Debian 13 (trixie) backports: own sources list,
# lists and cache directories; the machine's apt state is never touched.
private_apt_update() {
    local mirror
    if [ ! -f "$TRIXIE_KEY" ]; then
        ktest_log "debian-archive-keyring has no trixie key; upgrading it"
        apt-get -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 install debian-archive-keyring >/dev/null 2>&1 || true
        [ -f "$TRIXIE_KEY" ] || ktest_die "the installed debian-archive-keyring ($(dpkg-query -W -f='${Version}' debian-archive-keyring 2>/dev/null)) has no Debian 13 (trixie) archive key ($TRIXIE_KEY); trixie-backports cannot be verified"
    fi
    mirror=$(debian_mirror)
    mkdir -p "$PRIV/lists/partial" "$PRIV/cache/archives/partial"
    echo "deb [signed-by=$KEYRING] $mirror trixie-backports main" >"$PRIV/sources.list.new"
    mv "$PRIV/sources.list.new" "$PRIV/sources.list"
    ktest_log "apt-get update (private: $mirror trixie-backports)"
    apt-get -q "${PRIV_OPTS[@]}" update >"$WORK/apt-update.log" 2>&1 || {
        cat "$WORK/apt-update.log" >&2
        ktest_die "apt-get update of trixie-backports ($mirror) failed"
    }
    if grep -qE '^(W|E): ' "$WORK/apt-update.log"; then
        cat "$WORK/apt-update.log" >&2
        ktest_die "apt-get update of trixie-backports reported errors or warnings (signature?)"
    fi
}

# newest_package OPTS_ARRAY_NAME REGEX -> newest package name (by version sort)
newest_package() {
    local -n _opts=$1
    apt-cache "${_opts[@]}" search --names-only "$2" 2>/dev/null |
        awk '{print $1}' | { grep -E "$2" || true; } | sort -V | tail -n 1
}

# resolve_tag TAG -> prints "RELEASE" and sets OPTS_NAME to the apt options to use.
resolve_tag() {
    local tag=$1 re pkg
    case "$tag" in
        6.1) re='^linux-image-6\.1\.0-[0-9]+-amd64$'; APT_OPTS_NAME=SYS_OPTS ;;
        6.12) re='^linux-image-6\.12\.[0-9]+\+deb12-amd64$'; APT_OPTS_NAME=SYS_OPTS ;;
        7) re='^linux-image-7\.[0-9]+(\.[0-9]+)?\+deb13-amd64$'; APT_OPTS_NAME=PRIV_OPTS ;;
        *) ktest_die "unknown kernel tag '$tag' (known: 6.1 6.12 7)" ;;
    esac
    if [ "$APT_OPTS_NAME" = PRIV_OPTS ]; then
        # Backports drops superseded kernels quickly: refresh lists older than a day.
        if [ "$REFRESH" -eq 1 ] || ! ls "$PRIV/lists/"*_Packages* >/dev/null 2>&1 ||
            [ -n "$(find "$PRIV/lists" -maxdepth 1 -name '*_Packages*' -mmin +1440 -print -quit)" ]; then
            private_apt_update
        fi
    fi
    pkg=$(newest_package "$APT_OPTS_NAME" "$re")
    if [ -z "$pkg" ] && [ "$APT_OPTS_NAME" = SYS_OPTS ] && [ -z "${SYS_UPDATED:-}" ]; then
        ktest_log "no $re in the machine's apt lists; running apt-get update"
        apt-get -q -o DPkg::Lock::Timeout=600 update >/dev/null || ktest_die "apt-get update failed"
        SYS_UPDATED=1
        pkg=$(newest_package "$APT_OPTS_NAME" "$re")
    fi
    if [ -z "$pkg" ] && [ "$APT_OPTS_NAME" = PRIV_OPTS ]; then
        ktest_die "no package matching $re in Debian 13 trixie-backports ($(cat "$PRIV/sources.list")): the 7.x kernel cannot be obtained"
    fi
    [ -n "$pkg" ] || ktest_die "no package matching $re in the machine's apt lists"
    RELEASE=${pkg#linux-image-}
}

# The packages that make up kernel RELEASE: linux-image-RELEASE plus every
# dependency named *-RELEASE (7.x splits the kernel in linux-base-, linux-binary-
# and linux-modules-RELEASE; 6.x has everything in linux-image-RELEASE).
kernel_packages() {
    local -n _o=$APT_OPTS_NAME
    local img="linux-image-$1"
    echo "$img"
    # shellcheck disable=SC2020 # tr splits on both separators
    apt-cache "${_o[@]}" show --no-all-versions "$img" |
        sed -n 's/^Depends: //p' | tr ',|' '\n\n' | sed -e 's/(.*)//' -e 's/[[:space:]]//g' |
        grep -E -- "-$(printf '%s' "$1" | sed 's/[.+]/\\&/g')\$" | sort -u || true
}

download_package() {
    local -n _o=$APT_OPTS_NAME
    local pkg=$1 fname
    fname=$(apt-cache "${_o[@]}" show --no-all-versions "$pkg" | sed -n 's/^Filename: //p' | head -n 1)
    [ -n "$fname" ] || ktest_die "apt-cache has no Filename for $pkg"
    fname=$(basename "$fname")
    if [ ! -s "$CACHE/debs/$fname" ]; then
        ktest_log "downloading $pkg ($fname)"
        if ! (cd "$WORK" && apt-get -q "${_o[@]}" download "$pkg" >"$WORK/download.log" 2>&1); then
            # Stale package lists name a file the mirror no longer has: update once, retry.
            ktest_log "apt-get download $pkg failed; updating the package lists and retrying"
            if [ "$APT_OPTS_NAME" = PRIV_OPTS ]; then
                private_apt_update
            else
                apt-get -q -o DPkg::Lock::Timeout=600 update >/dev/null || ktest_die "apt-get update failed"
            fi
            (cd "$WORK" && apt-get -q "${_o[@]}" download "$pkg" >"$WORK/download.log" 2>&1) || {
                cat "$WORK/download.log" >&2
                ktest_die "apt-get download $pkg failed"
            }
            fname=$(basename "$(apt-cache "${_o[@]}" show --no-all-versions "$pkg" | sed -n 's/^Filename: //p' | head -n 1)")
        fi
        [ -s "$WORK/$fname" ] || ktest_die "apt-get download $pkg did not produce $fname"
        mv "$WORK/$fname" "$CACHE/debs/$fname"
    fi
    echo "$CACHE/debs/$fname"
}

# ---------------------------------------------------------------- vmlinux
# extract_vmlinux BZIMAGE OUT: find a compressed payload inside the bzImage by
# its magic, decompress it and keep the first result that is an ELF file (the
# approach of the kernel's scripts/extract-vmlinux).
is_elf() { [ "$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; }

extract_vmlinux() {
    local img=$1 out=$2 magic cmd pos
    local -a methods=(
        '\xfd\x37\x7a\x58\x5a\x00|xz -dc --single-stream'
        '\x28\xb5\x2f\xfd|zstd -dc -q'
        '\x1f\x8b\x08|gzip -dc'
        '\x02\x21\x4c\x18|lz4 -dc'
        '\x42\x5a\x68|bzip2 -dc'
        '\x5d\x00\x00\x00|unlzma -c'
        '\x89\x4c\x5a|lzop -dc'
    )
    for m in "${methods[@]}"; do
        magic=${m%%|*}; cmd=${m#*|}
        command -v "${cmd%% *}" >/dev/null || continue
        for pos in $(grep -obUaP "$magic" "$img" 2>/dev/null | cut -d: -f1 | head -n 8); do
            # shellcheck disable=SC2086
            tail -c "+$((pos + 1))" "$img" | $cmd >"$out" 2>/dev/null || true
            if [ -s "$out" ] && is_elf "$out"; then
                echo "${cmd%% *}@$pos"
                return 0
            fi
        done
    done
    rm -f "$out"
    return 1
}

has_pvh_note() { # XEN_ELFNOTE_PHYS32_ENTRY (18) in a "Xen" note
    readelf -n "$1" 2>/dev/null | awk '$1 == "Xen" && ($3 ~ /0x0*12\)?$/ || $0 ~ /PHYS32_ENTRY|\(0x00000012\)/) {f=1} END {exit !f}'
}

# ---------------------------------------------------------------- modules
norm() { printf '%s' "$1" | tr - _; }

stage_modules() { # ROOT RELEASE DEST
    local root=$1 rel=$2 dest=$3 moddir="" d f n
    for d in "$root/lib/modules/$rel" "$root/usr/lib/modules/$rel"; do
        [ -d "$d/kernel" ] && { moddir=$d; break; }
    done
    [ -n "$moddir" ] || ktest_die "no modules directory for $rel in the packages"
    declare -gA MODIDX=()
    # Builtins only: a kernel has ~4000 modules, and three forks each took
    # minutes on a loaded 2-core host.
    while IFS= read -r f; do
        n=${f##*/}; n=${n%%.ko*}
        MODIDX[${n//-/_}]=$f
    done < <(find "$moddir/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')
    BUILTIN=$moddir/modules.builtin
    declare -gA SEEN=()
    ORDER=()
    mkdir -p "$dest"
    local w optional
    for w in "${WANTED_MODULES[@]}"; do
        optional=0
        [ "${w#\?}" != "$w" ] && { optional=1; w=${w#\?}; }
        if [ -z "${MODIDX[$w]:-}" ]; then
            if is_builtin "$w"; then
                ktest_log "  $w is built into $rel"
            elif [ "$optional" -eq 1 ]; then
                ktest_log "  $w does not exist in $rel (fine)"
            else
                ktest_die "module $w not found in $rel"
            fi
            continue
        fi
        visit_module "$w" "$dest"
    done
    printf '%s\n' "${ORDER[@]}" >"$dest/load-order"
}

is_builtin() {
    [ -f "$BUILTIN" ] && sed 's,.*/,,; s/\.ko$//' "$BUILTIN" | tr - _ | grep -qx "$1"
}

visit_module() {
    local n=$1 dest=$2 src deps d
    [ -n "${SEEN[$n]:-}" ] && return 0
    SEEN[$n]=1
    src=${MODIDX[$n]:-}
    if [ -z "$src" ]; then
        is_builtin "$n" && return 0
        ktest_die "dependency $n not found"
    fi
    case "$src" in
        *.ko.xz) xz -dc "$src" >"$dest/$n.ko" ;;
        *.ko.zst) zstd -dc -q "$src" >"$dest/$n.ko" ;;
        *.ko.gz) gzip -dc "$src" >"$dest/$n.ko" ;;
        *) cp "$src" "$dest/$n.ko" ;;
    esac
    deps=$(modinfo -F depends "$dest/$n.ko") || ktest_die "modinfo failed on $src"
    local IFS=,
    for d in $deps; do
        [ -n "$d" ] && visit_module "$(norm "$d")" "$dest"
    done
    ORDER+=("$n")
}

# ---------------------------------------------------------------- per tag
prepare_tag() {
    local tag=$1 rel pkgs debs=() p root stage dst img how
    resolve_tag "$tag"
    rel=$RELEASE
    dst="$CACHE/kernels/$tag"
    if tag_complete "$tag" && [ "$(cat "$dst/version")" = "$rel" ]; then
        ktest_log "kernel $tag: $rel is current"
        return 0
    fi
    ktest_log "kernel $tag: $rel"
    mapfile -t pkgs < <(kernel_packages "$rel")
    [ "${#pkgs[@]}" -gt 0 ] || ktest_die "cannot list the packages of $rel"
    for p in "${pkgs[@]}"; do
        p=$(download_package "$p") || exit 1
        debs+=("$p")
    done
    root="$WORK/root-$tag"
    stage="$WORK/stage-$tag"
    rm -rf "$root" "$stage"
    mkdir -p "$root" "$stage"
    for p in "${debs[@]}"; do
        ktest_log "  unpacking $(basename "$p")"
        dpkg -x "$p" "$root" || ktest_die "dpkg -x $p failed"
    done
    img=""
    for p in "$root/boot/vmlinuz-$rel" "$root/usr/lib/modules/$rel/vmlinuz" \
             "$root/lib/modules/$rel/vmlinuz" "$root/usr/lib/linux/vmlinuz-$rel"; do
        [ -f "$p" ] && { img=$p; break; }
    done
    [ -n "$img" ] || ktest_die "no kernel image (vmlinuz) for $rel in: ${pkgs[*]}"
    cp "$img" "$stage/bzImage"
    if how=$(extract_vmlinux "$stage/bzImage" "$stage/vmlinux"); then
        if has_pvh_note "$stage/vmlinux"; then
            ktest_log "  vmlinux extracted ($how), has a PVH entry note"
        else
            ktest_log "  vmlinux extracted ($how) but has no PVH entry note: will boot the bzImage"
            rm -f "$stage/vmlinux"
        fi
    else
        ktest_log "  could not extract an ELF vmlinux from the bzImage: will boot the bzImage"
    fi
    stage_modules "$root" "$rel" "$stage/modules"
    ktest_log "  modules: $(tr '\n' ' ' <"$stage/modules/load-order")"
    [ -f "$root/boot/config-$rel" ] && cp "$root/boot/config-$rel" "$stage/config"
    [ -f "$root/usr/lib/modules/$rel/config" ] && cp "$root/usr/lib/modules/$rel/config" "$stage/config"
    echo "$rel" >"$stage/version"
    printf '%s\n' "${debs[@]##*/}" >"$stage/packages"
    if [ -f "$stage/vmlinux" ]; then echo pvh >"$stage/boot-mode"; else echo bzimage >"$stage/boot-mode"; fi
    rm -rf "$root"
    rm -rf "$dst.old"
    [ -e "$dst" ] && mv "$dst" "$dst.old"
    mv "$stage" "$dst"
    rm -rf "$dst.old"

    if [ "$BOOT_CHECK" -eq 1 ]; then
        verify_boot "$tag"
    fi
    touch "$dst/.complete"
}

# Boot the kernel once with a trivial command. PVH first (fast); if that does
# not work, the bzImage; if neither works, fail.
verify_boot() {
    local tag=$1 dst="$CACHE/kernels/$1" mode
    for mode in $(cat "$dst/boot-mode") bzimage; do
        [ "$mode" = pvh ] && [ ! -f "$dst/vmlinux" ] && continue
        ktest_log "  boot check ($mode)"
        if "$HERE/boot.sh" --cache "$CACHE" --kernel "$tag" --boot-mode "$mode" \
                --platform plain --run true --timeout 180 --quiet \
                --log "$WORK/boot-$tag-$mode.log" >&2; then
            echo "$mode" >"$dst/boot-mode"
            return 0
        fi
        ktest_log "  boot check ($mode) failed"
    done
    ktest_die "kernel $tag ($(cat "$dst/version")) does not boot under QEMU (PVH nor bzImage); see above"
}

for t in $TAGS; do
    if [ "$REFRESH" -eq 0 ] && tag_complete "$t"; then
        ktest_log "kernel $t: $(cat "$CACHE/kernels/$t/version") (cached)"
        continue
    fi
    prepare_tag "$t"
done
for t in $TAGS; do
    ktest_log "kernel $t: $(cat "$CACHE/kernels/$t/version"), $(cat "$CACHE/kernels/$t/boot-mode") boot"
done
# Drop downloaded packages that no prepared kernel uses any more.
for deb in "$CACHE/debs/"*.deb; do
    [ -e "$deb" ] || continue
    if ! cat "$CACHE/kernels/"*/packages 2>/dev/null | grep -qxF "$(basename "$deb")"; then
        ktest_log "removing unused $(basename "$deb")"
        rm -f "$deb"
    fi
done
