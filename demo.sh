#!/usr/bin/env bash
# The whole life cycle on this machine, with no AWS account: moto plays AWS on loopback, the real
# Terraform module is deployed to it with the real deploy.sh, and the real function binary is run
# the way Lambda runs it, through a Runtime API on loopback.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: ./demo.sh [--no-deploy] [--help]

Runs dynamic-dns-updater's whole story on loopback and prints a timeline:
  1. starts moto (the AWS emulator) and a webhook receiver;
  2. creates a hosted zone and an EC2 instance;
  3. deploys the Terraform module to the emulator with ./deploy.sh --yes;
  4. runs the function binary as Lambda does and hands it events:
     running (creates the record), running after a stop and start (new IP: updates it and
     alerts), a scheduled sweep after someone edits the record by hand (corrects it), and
     stopped (deletes it);
  5. after each step, shows the record as Route53 holds it and the alert received.

Needs Rust, Python 3 and, the first time, the network to crates.io and PyPI. Installs
moto[server] (with boto3) and cargo-lambda into .venv/ when they are not on PATH. Builds the
debug binary, shared with ./test.sh: about 10 minutes and about 5 GB of disk the first time.
Stops everything it started, even on Ctrl-C or failure. Exit status 0 only if every step showed
what it should: it ends with "Verdict: every step showed what it should".

  --no-deploy   skip step 3 (also skipped, with a note, when terraform is not installed)
  --help        show this help
USAGE
}

deploy=1
for arg in "$@"; do
  case "$arg" in
    --no-deploy) deploy=0 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "demo.sh: unknown argument: $arg (see --help)" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
support="$root/tests/support"
work=$(mktemp -d "${TMPDIR:-/tmp}/ddns-demo.XXXXXX")
pids=()
harness_pid=""

cleanup() {
  local status=$?
  [[ -n $harness_pid ]] && kill "$harness_pid" 2>/dev/null
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ $status -ne 0 && -f $work/function.log ]]; then
    echo "The function's log is kept in $work/function.log" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failures=0
say() { printf '%s\n' "$*"; }
step() { printf '\n%s\n' "$*"; }
detail() { printf '    %s\n' "$*"; }
check() { # check DESCRIPTION ACTUAL PATTERN
  # shellcheck disable=SC2053 # $3 is a glob pattern on purpose
  if [[ $2 == $3 ]]; then
    detail "ok: $1"
  else
    detail "NOT OK: $1 (got: $2)"
    failures=$((failures + 1))
  fi
}
free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
  local _
  for _ in $(seq 1 200); do
    if "$python" -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  say "demo.sh: $2 did not start on port $1" >&2
  return 1
}

# --- Tools -----------------------------------------------------------------------------------
step "Getting ready"
# shellcheck source=SCRIPTDIR/tests/support/python-tools.sh
source "$support/python-tools.sh"
ensure_python_tools "$root"
python=$PYTHON
# Built as the tests build it (dev-dependencies change the SDK's features), so that after
# ./test.sh's cargo test nothing is compiled twice.
detail "building the function (cargo test --no-run)"
(cd "$root" && cargo test --no-run --quiet --locked)
target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps | "$python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
binary="$target_dir/debug/dynamic-dns-updater"
started=$(date +%s)

# --- 1. The emulator and a webhook receiver ---------------------------------------------------
step "1. Starting the AWS emulator and a webhook receiver on loopback"
port=$(free_port)
"$python" "$support/moto_route53.py" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
pids+=($!)
wait_port "$port" "moto"
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE
"$python" "$support/webhook_sink.py" "$work/alerts.jsonl" >"$work/sink.port" 2>"$work/sink.log" &
pids+=($!)
# The receiver prints its port once it listens; the wait ends early if it exits.
for _ in $(seq 1 100); do
  [[ -s $work/sink.port ]] && break
  kill -0 "${pids[-1]}" 2>/dev/null || break
  sleep 0.1
done
[[ -s $work/sink.port ]] || { say "demo.sh: the webhook receiver did not start (no port within 10 s): $(tail -n 5 "$work/sink.log")" >&2; exit 1; }
sink_port=$(head -n 1 "$work/sink.port")
wait_port "$sink_port" "the webhook receiver"
detail "moto on 127.0.0.1:$port, webhook receiver on 127.0.0.1:$sink_port"

aws_step() { "$python" "$support/demo_aws.py" "$@"; }
seen=0
show_state() { # show_state: the record and any new alert
  detail "Route53 holds: $(aws_step record "$zone" app.example.com)"
  local alerts
  alerts=$(aws_step alerts "$work/alerts.jsonl" "$seen" 2>"$work/seen")
  seen=$(cat "$work/seen")
  detail "alert received: $alerts"
  last_alert=$alerts
}

# --- 2. A zone and an instance ----------------------------------------------------------------
step "2. Creating a hosted zone (example.com) and an EC2 instance"
zone=$(aws_step zone example.com)
instance=$(aws_step instance)
read -r state ip <<<"$(aws_step ip "$instance")"
detail "zone $zone; instance $instance is $state at $ip"

# --- 3. Deploy ---------------------------------------------------------------------------------
function_name=dynamic-dns-updater
step "3. Deploying the Terraform module to the emulator with ./deploy.sh"
if [[ $deploy == 0 ]]; then
  detail "skipped (--no-deploy)"
elif ! command -v terraform >/dev/null 2>&1; then
  detail "skipped: terraform is not installed"
  deploy=0
else
  ensure_tf_mirror
  if [[ -n $DDNS_TF_MIRROR ]]; then
    printf 'provider_installation {\n  filesystem_mirror {\n    path = "%s"\n  }\n}\ndisable_checkpoint = true\n' \
      "$DDNS_TF_MIRROR" >"$work/terraformrc"
    export TF_CLI_CONFIG_FILE="$work/terraformrc"
  elif [[ -n ${TF_CLI_CONFIG_FILE:-} && ! -f $TF_CLI_CONFIG_FILE ]]; then
    unset TF_CLI_CONFIG_FILE
  fi
  # A copy, so the demo's state and settings never land in your working tree.
  mkdir -p "$work/deploy"
  cp -R "$root/deploy.sh" "$root/build.sh" "$root/deploy" "$root/terraform" "$work/deploy/"
  rm -rf "$work/deploy/terraform/.terraform" "$work/deploy/terraform/"*.tfstate* "$work/deploy/terraform/"*.auto.tfvars*
  # A zip real Lambda would take: the debug binary stripped and deflated (about 11 MB, where
  # the binary as built is some 750 MB).
  (cd "$work" && cp "$binary" bootstrap && strip bootstrap &&
    "$python" -c 'import zipfile; z = zipfile.ZipFile("function.zip", "w", zipfile.ZIP_DEFLATED); z.write("bootstrap"); z.close()')
  # moto runs no Lambda code without Docker; its stand-in answers the invocation that
  # releases the records on destroy.
  "$python" -c "import json, urllib.request as u; u.urlopen(u.Request('$AWS_ENDPOINT_URL/moto-api/config', json.dumps({'lambda': {'use_docker': False}}).encode(), {'Content-Type': 'application/json'}), timeout=5)"
  deploy_started=$(date +%s)
  if "$work/deploy/deploy.sh" --yes --zip "$work/function.zip" --x86-64 --instance-id "$instance" --zone-id "$zone" \
    --record app.example.com --region us-east-1 >"$work/deploy.log" 2>&1; then
    applied=$(grep -oE 'Resources: [0-9]+ added' "$work/deploy.log" | tail -n 1 || true)
    detail "deployed in $(($(date +%s) - deploy_started))s, a zip of $(($(wc -c <"$work/function.zip") / 1000000)) MB: ${applied:-see deploy.log}"
  else
    detail "NOT OK: deploy.sh failed; the last lines of its output:"
    tail -n 15 "$work/deploy.log" | sed 's/^/      /'
    failures=$((failures + 1))
    deploy=0
  fi
fi

# The function's environment: what Terraform gave the deployed function, else the same by hand.
env_args=()
if [[ $deploy == 1 ]]; then
  while IFS= read -r line; do env_args+=("$line"); done < <(aws_step lambda-env "$function_name" 2>"$work/lambda.txt")
  detail "the deployed function: $(sed 's/^# //' "$work/lambda.txt"), environment: ${env_args[*]%%=*}"
else
  env_args=("DDNS_RECORDS=[{\"instance_id\":\"$instance\",\"zone_id\":\"$zone\",\"name\":\"app.example.com\"}]")
fi
# The demo's receiver is plain http on loopback, which the function accepts only there.
env_args+=("DDNS_WEBHOOK_URL=http://127.0.0.1:$sink_port/hook" "DDNS_WEBHOOK_FORMAT=slack")

# --- 4. Run the function as Lambda does --------------------------------------------------------
step "4. Starting the function binary under a Lambda Runtime API on loopback"
coproc HARNESS { env "${env_args[@]}" "$python" "$support/lambda_harness.py" --function-name "$function_name" \
  --log "$work/function.log" -- "$binary"; }
# shellcheck disable=SC2153 # HARNESS_PID is set by coproc
harness_pid=$HARNESS_PID
read -r ready <&"${HARNESS[0]}"
check "the function started and polls for events" "$ready" '*"ready": true*'

event() { # event KIND [STATE]: a state-change or scheduled event, like EventBridge's
  if [[ $1 == schedule ]]; then
    printf '{"version":"0","id":"demo","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{}}\n'
  else
    printf '{"version":"0","id":"demo","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"123456789012","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{"instance-id":"%s","state":"%s"}}\n' "$instance" "$2"
  fi
}
invoke() { # invoke EVENT-LINE: prints the function's answer in plain words
  printf '%s\n' "$1" >&"${HARNESS[1]}"
  local line
  read -r line <&"${HARNESS[0]}"
  printf '%s\n' "$line" >"$work/answer.json"
  answer=$(aws_step answer <"$work/answer.json" || true)
  detail "function answered: $answer"
}

step "   a. The instance is running: the 'running' event"
invoke "$(event state running)"
check "the record was created" "$answer" "created app.example.com A: (none) -> $ip *"
show_state
check "Route53 points at the instance" "$(aws_step record "$zone" app.example.com)" "app.example.com A $ip *"

step "   b. Stop and start: a new public IP, then the 'running' event"
aws_step stop "$instance"
aws_step start "$instance"
old_ip=$ip
read -r state ip <<<"$(aws_step ip "$instance")"
detail "the instance is $state again, now at $ip (was $old_ip)"
invoke "$(event state running)"
check "the record was updated" "$answer" "updated app.example.com A: $old_ip -> $ip *"
show_state
check "the webhook got the change" "$last_alert" "*app.example.com A $old_ip → $ip*"

step "   c. Someone edits the record by hand; the one-minute sweep corrects it"
aws_step set-record "$zone" app.example.com 192.0.2.66
detail "Route53 holds: $(aws_step record "$zone" app.example.com)"
invoke "$(event schedule)"
check "the drift was corrected" "$answer" "updated app.example.com A: 192.0.2.66 -> $ip *"
show_state

step "   d. The instance stops: its address goes back to AWS, so the record goes"
aws_step stop "$instance"
invoke "$(event state stopped)"
check "the record was deleted" "$answer" "deleted app.example.com A: $ip -> (deleted) *"
show_state
check "Route53 no longer points anywhere" "$(aws_step record "$zone" app.example.com)" "(no record)"

elapsed=$(($(date +%s) - started))
echo
if [[ $failures -eq 0 ]]; then
  say "Verdict: every step showed what it should (${elapsed}s after the build)."
else
  say "Verdict: $failures step(s) did not show what they should; see above."
  exit 1
fi
