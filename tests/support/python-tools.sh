# shellcheck shell=bash
# Sourced by test.sh, demo.sh and bench.sh. ensure_python_tools ROOT finds moto_server and a
# Python with boto3, or installs moto[server] (which brings boto3) into ROOT/.venv/; and finds
# cargo-lambda (the tests run the function under `cargo lambda watch`), or installs it there.
# It sets and exports MOTO_SERVER, CARGO_LAMBDA and PYTHON.

ensure_python_tools() {
  local root=$1
  if command -v moto_server >/dev/null 2>&1 && python3 -c 'import boto3' 2>/dev/null; then
    MOTO_SERVER=$(command -v moto_server)
    PYTHON=python3
  else
    if [[ ! -x $root/.venv/bin/moto_server ]]; then
      echo "==> installing moto[server] into .venv/ (once)"
      [[ -x $root/.venv/bin/python ]] || python3 -m venv "$root/.venv"
      "$root/.venv/bin/python" -m pip install --quiet --disable-pip-version-check 'moto[server]==5.2.1'
    fi
    MOTO_SERVER=$root/.venv/bin/moto_server
    PYTHON=$root/.venv/bin/python
  fi
  if command -v cargo-lambda >/dev/null 2>&1; then
    CARGO_LAMBDA=$(command -v cargo-lambda)
  else
    if [[ ! -x $root/.venv/bin/cargo-lambda ]]; then
      echo "==> installing cargo-lambda into .venv/ (once)"
      [[ -x $root/.venv/bin/python ]] || python3 -m venv "$root/.venv"
      "$root/.venv/bin/python" -m pip install --quiet --disable-pip-version-check 'cargo-lambda==1.9.2'
    fi
    CARGO_LAMBDA=$root/.venv/bin/cargo-lambda
  fi
  export MOTO_SERVER CARGO_LAMBDA PYTHON
}
