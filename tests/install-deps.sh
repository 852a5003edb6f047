# shellcheck shell=bash
# Sourced by the project's scripts: vfio_install_missing PKG... installs the
# Debian packages that are not installed yet (and nothing when all are), with
# no recommends and no prompts. `apt-get update` runs only when the first
# install fails (typically: no package lists yet). Returns non-zero, saying
# why on stderr, when a package is still missing afterwards.
vfio_package_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

vfio_install_missing() {
  local missing=() p
  for p in "$@"; do
    vfio_package_installed "$p" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    echo "missing packages (${missing[*]}) and no apt-get to install them" >&2
    return 1
  fi
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  local apt=("${sudo[@]}" apt-get -y -q --no-install-recommends -o DPkg::Lock::Timeout=600)
  if ! "${apt[@]}" install "${missing[@]}"; then
    echo "install failed; running apt-get update and retrying" >&2
    "${sudo[@]}" apt-get -q -o DPkg::Lock::Timeout=600 update || return 1
    "${apt[@]}" install "${missing[@]}" || return 1
  fi
  for p in "${missing[@]}"; do
    vfio_package_installed "$p" || { echo "package still missing after install: $p" >&2; return 1; }
  done
}
