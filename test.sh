#!/usr/bin/env bash
# The project's whole test suite, runnable on a fresh machine with Rust and Python 3.
# It installs what it needs (moto[server], and the deployment checks' Python tools) into .venv/,
# then runs formatting, lint, unit, integration and end-to-end tests, and the deployment checks.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: ./test.sh [--rust-only] [--help]

Runs every test:
  - cargo fmt --check and cargo clippy (warnings are errors)
  - cargo test: unit tests, integration tests against moto in server mode, end-to-end tests of
    the built binary through a Lambda Runtime API on loopback and under cargo lambda watch, and
    tests/iam.rs, which plans the Terraform module against moto to evaluate its IAM policy
  - tests/deploy/run.sh: terraform fmt/validate/apply against moto, deploy.sh, shellcheck, checkov
  - ./demo.sh: the whole life cycle on loopback, so the demo cannot rot

Needs Rust, Python 3 and terraform (1.11 or later). moto[server] and cargo-lambda are used from
PATH when present, otherwise installed into .venv/ (git-ignored); the deployment checks install
their own Python tools there too. Terraform's AWS provider comes from a local filesystem mirror
when there is one, else from the registry: the mirror is the folder given in DDNS_TF_MIRROR (the
one that holds registry.terraform.io), or, when that is unset, looked for once with
find / -xdev and passed on to every test in DDNS_TF_MIRROR (empty: none, use the registry).
CARGO_TARGET_DIR is honoured, so repeated runs on one machine reuse the build.

  --rust-only   skip tests/deploy/run.sh and ./demo.sh (and with them checkov, shellcheck and
                the applies against moto); cargo test still runs tests/iam.rs, which needs
                terraform and the provider (from the mirror, or the registry)
  --help        show this help
USAGE
}

rust_only=0
for arg in "$@"; do
  case "$arg" in
    --rust-only) rust_only=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "test.sh: unknown argument: $arg (see --help)" >&2; exit 2 ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")"
root=$(pwd)

# moto in server mode: reuse one on PATH, else install a pinned one into .venv/.
# shellcheck source=SCRIPTDIR/tests/support/python-tools.sh
source "$root/tests/support/python-tools.sh"
ensure_python_tools "$root"
echo "==> moto: $MOTO_SERVER"
# The Terraform provider mirror, looked for once here for every test that runs terraform.
ensure_tf_mirror
echo "==> terraform providers from: ${DDNS_TF_MIRROR:-the registry (no mirror found)}"
# Room for the build, said up front: a full disk otherwise shows only deep inside rustc.
target=${CARGO_TARGET_DIR:-$root/target}
mkdir -p "$target"
echo "==> disk: $(df -Pm "$target" | awk 'NR == 2 { print $4 }') MB free for $target (the suite from nothing takes about 5 GB)"

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

echo "==> cargo test"
cargo test --locked

if [ "$rust_only" = 1 ]; then
  echo "==> deployment checks and demo skipped (--rust-only)"
else
  echo "==> tests/deploy/run.sh"
  "$root/tests/deploy/run.sh"
  echo "==> ./demo.sh"
  "$root/demo.sh"
fi

echo "==> all tests passed"
