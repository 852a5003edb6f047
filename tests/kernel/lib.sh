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

# The project's one package installer (tests/install-deps.sh).
# shellcheck source=../install-deps.sh
. "$(dirname "${BASH_SOURCE[0]}")/../install-deps.sh"

# ktest_ensure_packages PKG... : install the missing ones, or stop saying why.
ktest_ensure_packages() {
    vfio_install_missing "$@" || ktest_die "could not install host packages: $*"
}

# Wall-clock helpers (nanoseconds; bash only, no bc/python).
ktest_now_ns() { date +%s%N; }
ktest_fmt_secs() { # NS -> "S.ss"
    local ns=$1
    printf '%d.%02d' $((ns / 1000000000)) $(((ns % 1000000000) / 10000000))
}
