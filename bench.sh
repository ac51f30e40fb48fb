#!/usr/bin/env bash
# Benchmarks, not part of the test run: dynamic-dns-updater against a Python/boto3 baseline that
# does what the seed does, side by side under the same Runtime-API harness and the same moto.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: ./bench.sh [--runs N] [--warm N] [--no-scale] [--write] [--help]

Builds the release binary and the SDK floor, packages the function and the baseline, and
measures, as medians of N rounds: cold start, own CPU and wall time per warm invocation, peak
RSS, AWS calls per invocation, and the deployment zip size, with the ratio to the baseline and
the project's targets. The same rounds measure the SDK floor (bench/sdk_floor.rs): the same two
AWS calls and nothing else. Then runs the fleet-scale benchmark (1, 100 and 1,000 tagged
instances in one zone).

  --runs N     rounds per implementation (default 7)
  --warm N     warm invocations per round (default 20)
  --no-scale   skip the fleet-scale benchmark
  --write      also rewrite BENCHMARKS.md with the results
  --help       show this help

Our zip is target/lambda/dynamic-dns-updater/bootstrap.zip when ./build.sh made one since the
last release build, else the release binary zipped as bootstrap. The baseline's zip holds its
handler and the boto3 it runs.
Exit status 3 when a target is not met.
USAGE
}

runs=7
warm=20
scale=1
write=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs=${2:?--runs needs a number}; shift ;;
    --warm) warm=${2:?--warm needs a number}; shift ;;
    --no-scale) scale=0 ;;
    --write) write=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ddns-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# shellcheck source=SCRIPTDIR/tests/support/python-tools.sh
source "$root/tests/support/python-tools.sh"
ensure_python_tools "$root"
py=$PYTHON
moto=$MOTO_SERVER

echo "==> cargo build --release (the function and the SDK floor)"
(cd "$root" && cargo build --release --locked --quiet && cargo build --release --locked --quiet --example sdk_floor)
target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps | "$py" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
ours="$target_dir/release/dynamic-dns-updater"
floor="$target_dir/release/examples/sdk_floor"

lambda_zip="$target_dir/lambda/dynamic-dns-updater/bootstrap.zip"
# A zip from ./build.sh counts only when it is newer than this release build.
if [[ -f $lambda_zip && $lambda_zip -nt $ours ]]; then
  ours_zip=$lambda_zip
else
  mkdir -p "$work/ours" && cp "$ours" "$work/ours/bootstrap"
  (cd "$work/ours" && "$py" -c 'import zipfile; z = zipfile.ZipFile("bootstrap.zip", "w", zipfile.ZIP_DEFLATED); z.write("bootstrap"); z.close()')
  ours_zip="$work/ours/bootstrap.zip"
fi

echo "==> packaging the Python baseline with its boto3"
boto3_version=$("$py" -c 'import boto3; print(boto3.__version__)')
mkdir -p "$work/baseline"
"$py" -m pip install --quiet --disable-pip-version-check --no-warn-conflicts --root-user-action=ignore --target "$work/baseline" "boto3==$boto3_version"
cp "$root/bench/baseline/handler.py" "$root/bench/baseline/bootstrap.py" "$work/baseline/"
(cd "$work/baseline" && "$py" -c '
import os, zipfile
z = zipfile.ZipFile("../baseline.zip", "w", zipfile.ZIP_DEFLATED)
for d, _, files in os.walk("."):
    for f in files:
        if not f.endswith(".pyc"):
            z.write(os.path.join(d, f))
z.close()')

echo "==> measuring ($runs rounds, $warm warm invocations each)"
status=0
"$py" "$root/bench/bench.py" --ours "$ours" --floor "$floor" --ours-zip "$ours_zip" --baseline-zip "$work/baseline.zip" \
  --moto "$moto" --runs "$runs" --warm "$warm" --work "$work" --output "$work/table.md" || status=$?

scale_out=""
if [[ $scale == 1 ]]; then
  echo "==> fleet scale: 1, 100 and 1,000 tagged instances among untagged ones, one zone"
  scale_out=$(cd "$root" && { MOTO_SERVER="$moto" cargo test --locked --quiet --test scale -- --ignored --nocapture 2>/dev/null | grep -E '^\||^$|^minimum' | sed '/./,$!d' || true; })
  printf '%s\n' "$scale_out"
fi

if [[ $write == 1 && -f $work/table.md ]]; then
  # The hand-written reading of the figures, from its heading on, is kept.
  if [[ -f $root/BENCHMARKS.md ]]; then
    sed -n '/^## Reading the figures/,$p' "$root/BENCHMARKS.md" >"$work/notes.md"
  fi
  {
    echo "# Benchmarks"
    echo
    echo "Reproduce with \`./bench.sh --write\` (about 15 minutes from a clean build on 2 cores, 3 minutes"
    echo "when the release build is current)."
    echo "Each function runs as Lambda runs it, through the Runtime API harness in"
    echo "tests/support/lambda_harness.py, against one moto server on loopback, taken side by side in one"
    echo "run. The baseline (bench/baseline/) does what the seed does with boto3. The SDK floor"
    echo "(bench/sdk_floor.rs) makes our two AWS calls with nothing else around them."
    echo
    echo "## dynamic-dns-updater against the Python baseline"
    echo
    cat "$work/table.md"
    if [[ -n $scale_out ]]; then
      echo
      echo "## Fleet scale"
      echo
      echo "AWS calls per sweep (debug build; calls do not depend on the build):"
      echo
      printf '%s\n' "$scale_out"
    fi
    if [[ -s $work/notes.md ]]; then
      echo
      cat "$work/notes.md"
    fi
  } >"$root/BENCHMARKS.md"
  echo "==> wrote BENCHMARKS.md"
fi
exit "$status"
