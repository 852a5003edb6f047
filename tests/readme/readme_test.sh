#!/usr/bin/env bash
# readme_test.sh SOURCE_DIR WORK_DIR CXX
# Extracts every fenced code block of SOURCE_DIR/README.md and checks it, in
# document order, in the scratch directory WORK_DIR (emptied first; HOME points
# there, and ./vfio is a link to the checkout). The HTML comment right before a
# block says what to do with it:
#   <!-- readme-test: run [in-checkout] -->   ```sh: run with bash -e (in WORK_DIR, or
#                                  in the checkout); unmarked ```sh blocks: bash -n only
#   <!-- readme-test: run [FILE] -->          ```cpp: a program: compile, link, run in
#                                  WORK_DIR (and save it as WORK_DIR/FILE)
#   <!-- readme-test: compile -->             ```cpp: a translation unit: compile only
#                                  (the default for unmarked ```cpp blocks)
#   <!-- readme-test: output [status=N] [no-vfio] -->   ```text: the exact stdout of the
#                                  last run block, whose exit status must be N (default 0);
#                                  no-vfio: compared only on a host without /dev/vfio/vfio
#   <!-- readme-test: project installed|vendored|fetchcontent -->   ```cmake: the
#                                  CMakeLists.txt of a project around WORK_DIR/app.cpp,
#                                  configured and built (installed: against ~/.local;
#                                  vendored: vfio in third_party/vfio; fetchcontent: a git
#                                  repository of vfio in third_party/vfio)
# C++ is compiled with CXX -std=c++17 -Wall -Wextra -Wpedantic -Werror. Unmarked
# ```cmake blocks and unknown markers are errors; other unmarked blocks
# (```text) are prose.
set -uo pipefail

src=$(cd "$1" && pwd)
work=$2
cxx=$3
rm -rf "$work"
mkdir -p "$work/blocks"
work=$(cd "$work" && pwd)
export HOME="$work"
export VFIO_EXAMPLE_BUILD_DIR="$work/build-examples"
export VFIOCTL_PCI_IDS=  # vfioctl shows IDs only, whether or not this host has pci.ids
ln -s "$src" "$work/vfio"

# Split the README: blocks/NNN.<lang> and blocks/manifest (NNN, lang, marker,
# line, separated by \037: a tab would merge an empty marker with its neighbours).
awk -v dir="$work/blocks" '
  /^<!-- readme-test:.*-->$/ { m = $0; sub(/^<!-- readme-test: */, "", m); sub(/ *-->$/, "", m); marker = m; next }
  !inblock && /^```[a-z]+$/ {
    inblock = 1; n++; lang = substr($0, 4); file = sprintf("%s/%03d.%s", dir, n, lang)
    printf "" > file
    printf "%03d\037%s\037%s\037%d\n", n, lang, marker, NR >> (dir "/manifest")
    marker = ""; next
  }
  inblock && /^```$/ { inblock = 0; close(file); next }
  inblock { print >> file; next }
  /[^ ]/ { marker = "" }
' "$src/README.md"

failures=0
checked=0
fail() {
  echo "FAIL README.md:$line ($lang block $n): $*"
  failures=$((failures + 1))
}
last_out=""
last_status=""   # status of the last run block, until an output block checks it
pending=0        # a run block whose status no output block has checked yet

check_pending() {
  if [ "$pending" -eq 1 ] && [ "$last_status" -ne 0 ]; then
    echo "--- output of the run before README.md:$line:"
    cat "$last_out"
    fail "the run block before this one exited with status $last_status"
  fi
  pending=0
}

compile_flags=(-std=c++17 -Wall -Wextra -Wpedantic -Werror -I"$src/include")

while IFS=$'\037' read -r n lang marker line; do
  f="$work/blocks/$n.$lang"
  read -r -a words <<<"$marker"
  kind=${words[0]:-}
  if [ "$lang" != text ] || [ "$kind" != output ]; then check_pending; fi
  case "$lang:$kind" in
    sh:run)
      dir=$work
      [ "${words[1]:-}" = in-checkout ] && dir=$src
      echo "=== README.md:$line: sh (run in $dir)"
      cat "$f"
      last_out="$work/blocks/$n.stdout"
      (cd "$dir" && bash -e -o pipefail "$f" >"$last_out" 2>"$work/blocks/$n.stderr")
      last_status=$?
      pending=1
      ;;
    sh:)
      echo "=== README.md:$line: sh (syntax only)"
      bash -n "$f" || fail "bash -n"
      ;;
    cpp:run)
      echo "=== README.md:$line: cpp program"
      if [ -n "${words[1]:-}" ]; then cp "$f" "$work/${words[1]}"; fi
      if "$cxx" "${compile_flags[@]}" -x c++ "$f" -o "$work/blocks/$n.bin"; then
        last_out="$work/blocks/$n.stdout"
        (cd "$work" && "$work/blocks/$n.bin" >"$last_out")
        last_status=$?
        pending=1
      else
        fail "does not compile"
      fi
      ;;
    cpp: | cpp:compile)
      echo "=== README.md:$line: cpp translation unit"
      "$cxx" "${compile_flags[@]}" -x c++ -c "$f" -o "$work/blocks/$n.o" || fail "does not compile"
      ;;
    text:output)
      status=0
      compare=1
      for w in "${words[@]:1}"; do
        case "$w" in
          status=*) status=${w#status=} ;;
          no-vfio) [ -e /dev/vfio/vfio ] && compare=0 ;;
          *) fail "unknown output option '$w'" ;;
        esac
      done
      echo "=== README.md:$line: expected output (status $status)"
      if [ -z "$last_out" ]; then
        fail "an output block without a run block before it"
      elif [ "$compare" -eq 0 ]; then
        echo "(not compared: this host has /dev/vfio/vfio)"
      else
        if [ "$last_status" != "$status" ]; then fail "exit status $last_status, README says $status"; fi
        diff -u "$f" "$last_out" || fail "the output differs from the README (- README, + actual)"
      fi
      pending=0
      ;;
    cmake:project)
      how=${words[1]:-}
      p="$work/project-$how"
      echo "=== README.md:$line: cmake project ($how)"
      mkdir -p "$p/third_party"
      cp "$f" "$p/CMakeLists.txt"
      cp "$work/app.cpp" "$p/app.cpp" 2>/dev/null || fail "no app.cpp block before this one"
      args=()
      case "$how" in
        installed) args=(-DCMAKE_PREFIX_PATH="$HOME/.local") ;;
        vendored) ln -s "$src" "$p/third_party/vfio" ;;
        fetchcontent)
          v="$p/third_party/vfio"
          mkdir -p "$v"
          cp -r "$src/CMakeLists.txt" "$src/cmake" "$src/include" "$src/LICENSE" "$v/"
          (cd "$v" && git init -q && git add -A &&
            git -c user.name=readme -c user.email=readme@localhost commit -qm vfio) || fail "git"
          ;;
        *) fail "unknown project kind '$how'" ;;
      esac
      if cmake -S "$p" -B "$p/build" "${args[@]}" >"$p/configure.log" 2>&1 &&
        cmake --build "$p/build" >"$p/build.log" 2>&1; then
        echo "configured and built: $p/build/app"
      else
        cat "$p/configure.log" "$p/build.log" 2>/dev/null | tail -30
        fail "the project does not configure or build"
      fi
      ;;
    text:)
      continue
      ;;
    *)
      fail "no rule for a $lang block marked '$marker'"
      ;;
  esac
  checked=$((checked + 1))
done <"$work/blocks/manifest"
line=end
check_pending

echo "checked $checked code blocks of README.md, $failures failed"
[ "$failures" -eq 0 ]
