# Shared helpers for the real-kernel test scripts (sourced, not executed).
# shellcheck shell=bash

KTEST_PROG=${KTEST_PROG:-$(basename "$0")}

ktest_die() {
    echo "$KTEST_PROG: ERROR: $*" >&2
    exit 1
}

ktest_log() {
    echo "$KTEST_PROG: $*" >&2
}

# ktest_have_packages PKG... : true when every package is installed.
ktest_have_packages() {
    local p
    for p in "$@"; do
        dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed$' || return 1
    done
}

# ktest_ensure_packages PKG... : install the missing ones from the machine's apt
# sources (never recommends, never prompts). `apt-get update` only runs when the
# first install attempt fails (typically: no package lists yet).
ktest_ensure_packages() {
    local missing=() p
    for p in "$@"; do
        ktest_have_packages "$p" || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null || ktest_die "missing packages (${missing[*]}) and no apt-get to install them"
    [ "$(id -u)" -eq 0 ] || ktest_die "missing packages (${missing[*]}); run as root or install them: apt-get install ${missing[*]}"
    ktest_log "installing host packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    local apt=(apt-get -y -q --no-install-recommends -o DPkg::Lock::Timeout=600)
    if ! "${apt[@]}" install "${missing[@]}" >/dev/null 2>&1; then
        ktest_log "install failed; running apt-get update and retrying"
        apt-get -q -o DPkg::Lock::Timeout=600 update >/dev/null ||
            ktest_die "apt-get update failed"
        "${apt[@]}" install "${missing[@]}" ||
            ktest_die "could not install host packages: ${missing[*]}"
    fi
    ktest_have_packages "${missing[@]}" || ktest_die "packages still missing after install: ${missing[*]}"
}

# Wall-clock helpers (nanoseconds; bash only, no bc/python).
ktest_now_ns() { date +%s%N; }
ktest_fmt_secs() { # NS -> "S.ss"
    local ns=$1
    printf '%d.%02d' $((ns / 1000000000)) $(((ns % 1000000000) / 10000000))
}
