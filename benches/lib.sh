# Shared by the benches/*/run.sh scripts; source it after `set -euo pipefail`.
# Sets REPO to the repository root.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# dev_example PACKAGE EXAMPLE [CRATE...]
# Builds example EXAMPLE of PACKAGE in the dev profile with PACKAGE and each CRATE raised to
# opt-level 3 without debug assertions or overflow checks (through `--config`, so nothing else is
# rebuilt), with the crate features in $FEATURES (if any). Sets BIN to the built example and
# BUILD_CMD to the command, for the reports.
dev_example() {
  local package=$1 example=$2 crate
  shift 2
  local opt=()
  for crate in "$package" "$@"; do
    opt+=(--config "profile.dev.package.$crate.opt-level=3"
          --config "profile.dev.package.$crate.debug-assertions=false"
          --config "profile.dev.package.$crate.overflow-checks=false")
  done
  [ -n "${FEATURES:-}" ] && opt+=(--features "$FEATURES")
  (cd "$REPO" && cargo build -q -p "$package" --example "$example" "${opt[@]}")
  BUILD_CMD="cargo build -p $package --example $example ${opt[*]}"
  BIN="${CARGO_TARGET_DIR:-$REPO/target}/debug/examples/$example"
}

# The machine, for the reports: `CPU model, N cores, M GiB RAM`.
machine() {
  echo "$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM"
}

# pipeline_bin: sets BIN to the absolute path of the pipeline binary the benches run:
# $PIPELINE_BIN, else target/debug/pipeline (exits 2 with a hint when there is none).
pipeline_bin() {
  BIN="${PIPELINE_BIN:-${CARGO_TARGET_DIR:-$REPO/target}/debug/pipeline}"
  [ -x "$BIN" ] || { echo "no binary at $BIN: run \`cargo build -p pipeline\` or set PIPELINE_BIN" >&2; exit 2; }
  BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
}

# server_up NAME VARIABLE: unless VARIABLE is set (a server is already up), starts
# scripts/NAME-up.sh in $work/NAME, sources its env.sh, and on exit stops it and removes $work.
# Needs $work (a temporary folder the caller removes on exit otherwise).
server_up() {
  local name=$1 variable=$2
  [ -n "${!variable:-}" ] && return 0
  "$REPO/scripts/$name-up.sh" "$work/$name" > /dev/null
  # shellcheck disable=SC2064  # expanded now, on purpose: the folder of this call
  trap "\"$REPO/scripts/$name-down.sh\" \"$work/$name\" > /dev/null; rm -rf \"$work\"" EXIT
  . "$work/$name/env.sh"
}
