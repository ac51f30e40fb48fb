#!/usr/bin/env bash
# Benchmarks, not part of the test run: dynamic-dns-updater against a Python/boto3 baseline that
# does what the seed does, side by side under the same Runtime-API harness and the same moto.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: ./bench.sh [--runs N] [--warm N] [--no-scale] [--fleet-10k | --fleet-10k-only] [--write] [--help]

Builds the release binary and the SDK floor, packages the function and the baseline, and
measures, as medians of N rounds: cold start, own CPU and wall time per warm invocation, peak
RSS, AWS calls per invocation, and the deployment zip size, with the ratio to the baseline and
the project's targets. The same rounds measure the SDK floor (bench/sdk_floor.rs): the same two
AWS calls and nothing else. Then runs the fleet-scale benchmark (1, 100 and 1,000 tagged
instances in one zone).

  --runs N           rounds per implementation (default 7)
  --warm N           warm invocations per round (default 20)
  --no-scale         skip the fleet-scale benchmark
  --fleet-10k        then also run bench/scale_10k.py with the release binary: fleet sweeps of
                     10,000 tagged instances over 4 zones, and 3 names in a zone of 20,000 foreign
                     record sets (AWS calls, wall time, peak RSS; about 3 minutes more). EC2 is
                     served from recorded pages (bench/ec2_pages.py), Route53 by moto
  --fleet-10k-only   run only that, against the release binary as it is (no build)
  --write            also write the results into BENCHMARKS.md; with --fleet-10k-only, only the
                     section "Fleet at 10,000 instances" is rewritten
  --help             show this help

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
fleet_10k=none
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs=${2:?--runs needs a number}; shift ;;
    --warm) warm=${2:?--warm needs a number}; shift ;;
    --no-scale) scale=0 ;;
    --fleet-10k) fleet_10k=also ;;
    --fleet-10k-only) fleet_10k=only ;;
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

target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps | "$py" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
ours="$target_dir/release/dynamic-dns-updater"
floor="$target_dir/release/examples/sdk_floor"
fleet_10k_heading="## Fleet at 10,000 instances"

# bench/scale_10k.py against the release binary as it is; its section of BENCHMARKS.md goes to
# $work/fleet-10k.md. Sets fleet_10k_status.
fleet_10k_status=0
run_fleet_10k() {
  if [[ ! -x $ours ]]; then
    echo "bench.sh: no release binary at $ours; build it first (cargo build --release --locked)" >&2
    exit 2
  fi
  local newer
  newer=$(find "$root/src" "$root/Cargo.toml" "$root/Cargo.lock" -newer "$ours" -print -quit)
  if [[ -n $newer ]]; then
    echo "bench.sh: warning: ${newer#"$root"/} is newer than $ours; measuring the binary as built" >&2
  fi
  echo "==> fleet at 10,000 instances, and 3 names in a zone of 20,000 foreign record sets"
  "$py" "$root/bench/scale_10k.py" --binary "$ours" --output "$work/fleet-10k-table.md" ||
    fleet_10k_status=$?
  # Figures from a failed run are not written anywhere.
  [[ ($fleet_10k_status == 0 || $fleet_10k_status == 3) && -s $work/fleet-10k-table.md ]] || return 0
  {
    echo "$fleet_10k_heading"
    echo
    echo "Reproduce with \`./bench.sh --fleet-10k-only --write\` (about 3 minutes; it takes the release"
    echo "binary as it is). The release binary runs through the Runtime API harness"
    echo "(tests/support/lambda_harness.py) with the deadline Lambda's longest, 900 s. EC2 answers come"
    echo "from bench/ec2_pages.py: DescribeInstances pages in EC2's XML, each instance shaped as moto"
    echo "writes one (bench/ec2_describe_instances.xml), since moto needs more than 60 s for one page of"
    echo "1,000 out of 10,000 instances. Route53 is moto, on loopback. AWS calls are the function's own"
    echo "count (\`aws_calls\`); EC2's are also counted by the pages server."
    echo
    cat "$work/fleet-10k-table.md"
  } >"$work/fleet-10k.md"
}

# BENCHMARKS.md with the section in $1 in place of the current one, or before "Reading the
# figures" when it has none.
splice_fleet_10k() {
  awk -v new="$1" -v head="$fleet_10k_heading" '
    function put(  line) { while ((getline line < new) > 0) print line; close(new); print ""; done = 1 }
    $0 == head { put(); skip = 1; next }
    skip && /^## / { skip = 0 }
    skip { next }
    /^## Reading the figures/ && !done { put() }
    { print }
    END { if (!done) { print ""; put() } }
  ' "$root/BENCHMARKS.md"
}

if [[ $fleet_10k == only ]]; then
  run_fleet_10k
  if [[ $write == 1 && -s $work/fleet-10k.md ]]; then
    splice_fleet_10k "$work/fleet-10k.md" >"$work/BENCHMARKS.md"
    cp "$work/BENCHMARKS.md" "$root/BENCHMARKS.md"
    echo "==> wrote the section \"${fleet_10k_heading#\#\# }\" of BENCHMARKS.md"
  fi
  exit "$fleet_10k_status"
fi

echo "==> cargo build --release (the function and the SDK floor)"
(cd "$root" && cargo build --release --locked --quiet && cargo build --release --locked --quiet --example sdk_floor)

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
  --runs "$runs" --warm "$warm" --work "$work" --output "$work/table.md" || status=$?

scale_out=""
if [[ $scale == 1 ]]; then
  echo "==> fleet scale: 1, 100 and 1,000 tagged instances among untagged ones, one zone"
  scale_out=$(cd "$root" && { cargo test --locked --quiet --test scale -- --ignored --nocapture 2>/dev/null | grep -E '^\||^$|^minimum' | sed '/./,$!d' || true; })
  printf '%s\n' "$scale_out"
fi

if [[ $fleet_10k == also ]]; then
  run_fleet_10k
  # A failed sweep fails the run; a target not met is exit status 3, as above.
  if [[ $fleet_10k_status == 3 && $status == 0 ]]; then
    status=3
  elif [[ $fleet_10k_status != 0 && $fleet_10k_status != 3 ]]; then
    status=$fleet_10k_status
  fi
fi

if [[ $write == 1 && -f $work/table.md ]]; then
  # The hand-written reading of the figures, from its heading on, is kept, and so is the last
  # 10,000-instance section when this run did not measure one.
  if [[ -f $root/BENCHMARKS.md ]]; then
    sed -n '/^## Reading the figures/,$p' "$root/BENCHMARKS.md" >"$work/notes.md"
    if [[ ! -s $work/fleet-10k.md ]]; then
      awk -v head="$fleet_10k_heading" '$0 == head { f = 1 } f && /^## / && $0 != head { exit } f' \
        "$root/BENCHMARKS.md" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$work/fleet-10k.md"
    fi
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
    if [[ -s $work/fleet-10k.md ]]; then
      echo
      cat "$work/fleet-10k.md"
    fi
    if [[ -s $work/notes.md ]]; then
      echo
      cat "$work/notes.md"
    fi
  } >"$root/BENCHMARKS.md"
  echo "==> wrote BENCHMARKS.md"
fi
exit "$status"
