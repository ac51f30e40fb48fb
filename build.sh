#!/usr/bin/env bash
# Builds the Lambda deployment zip with cargo lambda, then checks that it holds an executable
# bootstrap for the intended architecture. `--check ZIP` runs only the check (deploy.sh uses it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly ROOT
readonly PACKAGE="dynamic-dns-updater"

usage() {
  cat <<EOF
Usage: ./build.sh [--arm64 | --x86-64] [--yes]
       ./build.sh --check ZIP [--arm64 | --x86-64]

Builds the function with:
  cargo lambda build --release --arm64 --output-format zip
and checks that the zip holds an executable 'bootstrap' for that architecture, within
Lambda's limits for a zip uploaded directly (50 MB zipped, 250 MB unzipped). The zip is
\${CARGO_TARGET_DIR:-target}/lambda/${PACKAGE}/bootstrap.zip; its path and size are printed.

Options:
  --arm64        Build for arm64 (Graviton). The default, and what the Terraform module expects.
  --x86-64       Build for x86_64 instead (then deploy with architecture = "x86_64").
  --yes          If cargo-lambda is missing, install it (pip, into .venv/) without asking.
  --check ZIP    Do not build: only check ZIP for the chosen architecture.
  -h, --help     Show this help.

cargo-lambda, if missing: pip install cargo-lambda (it brings zig, for cross-compiling),
or see https://www.cargo-lambda.info/guide/installation.html.
EOF
}

die() {
  printf 'build.sh: %s\n' "$*" >&2
  exit 1
}

SCRATCH=""
cleanup() {
  if [[ -n $SCRATCH ]]; then rm -rf "$SCRATCH"; fi
}
trap cleanup EXIT

# What Lambda takes as a zip uploaded directly: 50 MB zipped, 250 MB unzipped.
readonly MAX_ZIPPED=$((50 * 1024 * 1024)) MAX_UNZIPPED=$((250 * 1024 * 1024))

# The zip must hold an executable ELF named bootstrap for the architecture Lambda will run,
# within Lambda's size limits.
check_zip() {
  local zip=$1 arch=$2 listing mode bytes machine size unzipped
  [[ -f $zip ]] || die "no zip at $zip (run ./build.sh to make it)"
  command -v unzip >/dev/null || die "unzip is needed to check the zip (apt-get install unzip)"
  listing=$(unzip -Z1 "$zip" 2>/dev/null) || die "$zip is not a zip file"
  size=$(wc -c <"$zip" | tr -d ' ')
  ((size <= MAX_ZIPPED)) || die "$zip is $size bytes: Lambda takes at most $MAX_ZIPPED (50 MB) zipped. Build with ./build.sh (a stripped release build), or deflate the zip"
  unzipped=$(unzip -Zt "$zip" | awk '{print $3}')
  ((unzipped <= MAX_UNZIPPED)) || die "$zip unzips to $unzipped bytes: Lambda takes at most $MAX_UNZIPPED (250 MB) unzipped. Deploy a stripped build (./build.sh)"
  grep -qx 'bootstrap' <<<"$listing" || die "$zip holds no 'bootstrap' at its top level; Lambda's provided.al2023 runtime needs one"
  mode=$(unzip -Z "$zip" bootstrap)
  [[ $mode =~ ^-..x ]] || die "'bootstrap' in $zip is not executable ($mode); Lambda could not start it"

  SCRATCH=$(mktemp -d)
  unzip -q "$zip" bootstrap -d "$SCRATCH"
  bytes=$(od -An -tx1 -v -N20 "$SCRATCH/bootstrap" | tr -d ' \n')
  [[ ${bytes:0:8} == 7f454c46 ]] || die "'bootstrap' in $zip is not an ELF executable"
  machine=${bytes:36:4} # e_machine, little-endian
  case "$arch:$machine" in
    arm64:b700 | x86_64:3e00) ;;
    arm64:3e00) die "'bootstrap' in $zip is built for x86_64, not arm64 (build with ./build.sh, or deploy with --x86-64)" ;;
    x86_64:b700) die "'bootstrap' in $zip is built for arm64, not x86_64 (build with ./build.sh --x86-64)" ;;
    *) die "'bootstrap' in $zip is an ELF for machine 0x$machine, neither arm64 nor x86_64" ;;
  esac
  printf 'OK: %s (%s bytes) holds an executable bootstrap for %s\n' "$zip" "$size" "$arch"
}

ensure_cargo_lambda() {
  local yes=$1 answer
  command -v cargo >/dev/null || die "cargo is missing: install Rust with rustup (https://rustup.rs)"
  if [[ -x $ROOT/.venv/bin/cargo-lambda ]]; then
    PATH="$ROOT/.venv/bin:$PATH"
  fi
  command -v cargo-lambda >/dev/null && return 0

  echo "cargo-lambda is not installed. It builds and zips the function for Lambda." >&2
  if [[ $yes != yes ]]; then
    printf 'Install it now with pip, into %s/.venv? [y/N] ' "$ROOT" >&2
    answer=""
    read -r answer || true
    [[ $answer =~ ^[Yy]([Ee][Ss])?$ ]] || die "install it with 'pip install cargo-lambda' (or run ./build.sh --yes), then run ./build.sh again"
  fi
  command -v python3 >/dev/null || die "python3 is needed to install cargo-lambda with pip"
  [[ -x $ROOT/.venv/bin/python ]] || python3 -m venv "$ROOT/.venv"
  # The version the tests run (tests/support/python-tools.sh).
  "$ROOT/.venv/bin/python" -m pip install --quiet 'cargo-lambda==1.9.2'
  PATH="$ROOT/.venv/bin:$PATH"
  command -v cargo-lambda >/dev/null || die "cargo-lambda did not install"
}

main() {
  local arch=arm64 yes=no check=""
  while (($#)); do
    case "$1" in
      --arm64) arch=arm64 ;;
      --x86-64 | --x86_64) arch=x86_64 ;;
      --yes | -y) yes=yes ;;
      --check)
        (($# >= 2)) || die "--check needs a zip path"
        check=$2
        shift
        ;;
      -h | --help)
        usage
        return 0
        ;;
      *) die "unknown option '$1' (see ./build.sh --help)" ;;
    esac
    shift
  done

  if [[ -n $check ]]; then
    check_zip "$check" "$arch"
    return 0
  fi

  cd "$ROOT"
  ensure_cargo_lambda "$yes"
  local flag=--arm64
  [[ $arch == x86_64 ]] && flag=--x86-64
  echo "Building: cargo lambda build --release $flag --output-format zip" >&2
  cargo lambda build --release "$flag" --output-format zip
  check_zip "${CARGO_TARGET_DIR:-target}/lambda/$PACKAGE/bootstrap.zip" "$arch"
}

main "$@"
