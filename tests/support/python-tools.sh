# shellcheck shell=bash
# Sourced by test.sh, demo.sh, bench.sh and tests/deploy/run.sh. It sets and exports:
#   ensure_moto ROOT          MOTO_SERVER and PYTHON (a Python with boto3 and moto): moto_server
#                             from PATH when present, else moto[server] installed into ROOT/.venv/.
#                             Start moto as Route53 behaves with
#                             "$PYTHON" ROOT/tests/support/moto_route53.py (moto_server's arguments).
#   ensure_cargo_lambda ROOT  CARGO_LAMBDA (the tests run the function under `cargo lambda
#                             watch`): from PATH when present, else installed into ROOT/.venv/.
#   ensure_python_tools ROOT  both.
#   ensure_tf_mirror          DDNS_TF_MIRROR: the folder that holds this machine's Terraform
#                             provider mirror (its registry.terraform.io), looked for once with
#                             find when unset, and empty when there is none (Terraform then uses
#                             the registry). tests/support/terraform.rs reads it too.

# The cargo-lambda installed when none is found (build.sh pins the same).
CARGO_LAMBDA_PIN='cargo-lambda==1.9.2'

# pip_install ROOT WHAT SPEC...: installs the SPECs into ROOT/.venv/, making it if need be.
pip_install() {
  local root=$1 what=$2
  shift 2
  echo "==> installing $what into .venv/ (once)"
  [[ -x $root/.venv/bin/python ]] || python3 -m venv "$root/.venv"
  "$root/.venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
}

ensure_moto() {
  local root=$1
  if command -v moto_server >/dev/null 2>&1 && python3 -c 'import boto3, moto.server' 2>/dev/null; then
    MOTO_SERVER=$(command -v moto_server)
    PYTHON=python3
  else
    [[ -x $root/.venv/bin/moto_server ]] || pip_install "$root" 'moto[server]' 'moto[server]==5.2.1'
    MOTO_SERVER=$root/.venv/bin/moto_server
    PYTHON=$root/.venv/bin/python
  fi
  export MOTO_SERVER PYTHON
}

ensure_cargo_lambda() {
  local root=$1
  if command -v cargo-lambda >/dev/null 2>&1; then
    CARGO_LAMBDA=$(command -v cargo-lambda)
  else
    [[ -x $root/.venv/bin/cargo-lambda ]] || pip_install "$root" cargo-lambda "$CARGO_LAMBDA_PIN"
    CARGO_LAMBDA=$root/.venv/bin/cargo-lambda
  fi
  export CARGO_LAMBDA
}

ensure_python_tools() {
  ensure_moto "$1"
  ensure_cargo_lambda "$1"
}

ensure_tf_mirror() {
  if [[ -z ${DDNS_TF_MIRROR+set} ]]; then
    local found
    found=$(find / -xdev \( -path /proc -o -name .terraform -o -name .git -o -name target \) -prune \
      -o -type d -name registry.terraform.io -print -quit 2>/dev/null || true)
    DDNS_TF_MIRROR=${found:+$(dirname "$found")}
  fi
  export DDNS_TF_MIRROR
}
