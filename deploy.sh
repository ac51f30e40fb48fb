#!/usr/bin/env bash
# Deploys dynamic-dns-updater with the Terraform module in terraform/: settings from flags or
# prompts -> terraform/variables.auto.tfvars.json (written by Python's JSON encoder) -> plan ->
# confirm -> apply. The module checks every value; its errors name the variable. The webhook's
# URL and secret reach Terraform only through the environment, as ephemeral inputs: no plan,
# state or settings file holds them.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./deploy.sh [options]

With no options it asks for the settings (offering to reuse terraform/variables.auto.tfvars.json
from an earlier run), builds, shows the plan and applies it after you type "yes". Settings given
as options go over the saved ones (records are replaced whole); the module checks them all, and
in interactive mode a setting it refuses is asked again.

Records (one instance follows every record, or several pair with the records in order):
  --instance-id ID           EC2 instance to follow; repeat or comma-separate
  --zone-id ID               hosted zone of the records
  --record NAME[:TYPES[:TTL]]  e.g. app.example.com, or app.example.com:A+AAAA:300; repeatable
Fleet mode (instances name themselves with a tag):
  --tag-key KEY  --tag-zone ZONE_ID (repeatable)  --tag-types A,AAAA  --tag-suffix DOMAIN (repeatable)
  --tag-allow-wildcards      let tags claim zone apexes and wildcard names
Alerts:
  --webhook-url URL          or DDNS_WEBHOOK_URL; never written to a file
  --webhook-secret-file FILE or DDNS_WEBHOOK_SECRET; signs alerts (HMAC-SHA256)
  --webhook-format json|slack|discord   --alert-repeat DURATION (6h; 0 for never)
  --alarm-email ADDRESS      alarms mail it (AWS asks to confirm)   --alarm-topic ARN (repeatable)
Other:
  --owner ID  --on-stop delete|keep  --ttl SECONDS  --name PREFIX
  --set NAME=JSON            any other input of terraform/variables.tf, e.g. --set memory_size=256
AWS:    --region REGION  --profile NAME   (AWS_ENDPOINT_URL points Terraform at an emulator)
Build:  --zip PATH  --skip-build  --x86-64
Run:    --yes  --plan  --destroy  --force  -h|--help

--destroy first invokes the function with {"action": "release"}, which deletes every DNS record
and ownership marker it owns, and stops if that fails. --force destroys anyway: the records and
their markers are then left in the zones, pointing at addresses the instances may give back
(delete them by hand, or run `dynamic-dns-updater release` with the same settings first).
EOF
}

die() { printf 'deploy.sh: %s\n' "$*" >&2; exit 1; }
say() { printf '%s\n' "$@" >&2; }
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TF_DIR="$ROOT/terraform"
SETTINGS="$TF_DIR/variables.auto.tfvars.json"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

FLAGS=() # "key<TAB>kind<TAB>value" lines for deploy/settings.py
ZIP="" SKIP_BUILD=no ARCH=arm64 YES=no PLAN_ONLY=no DESTROY=no FORCE=no
WEBHOOK_URL=${DDNS_WEBHOOK_URL:-} WEBHOOK_SECRET=${DDNS_WEBHOOK_SECRET:-}
set_flag() { FLAGS+=("$1"$'\t'"$2"$'\t'"$3"); }

while (($#)); do
  opt=$1
  case "$opt" in
    -h | --help) usage; exit 0 ;;
    --skip-build) SKIP_BUILD=yes ;;
    --x86-64 | --x86_64) ARCH=x86_64 ;;
    --yes | -y) YES=yes ;;
    --plan) PLAN_ONLY=yes ;;
    --destroy) DESTROY=yes ;;
    --force) FORCE=yes ;;
    --tag-allow-wildcards) set_flag tag_allow_wildcards bool true ;;
    --*)
      (($# >= 2)) || die "$opt needs a value (see --help)"
      val=$2
      shift
      case "$opt" in
        --instance-id) set_flag instance_ids list "$val" ;;
        --zone-id) set_flag zone_id str "$val" ;;
        --record) set_flag records record "$val" ;;
        --tag-key) set_flag tag_key str "$val" ;;
        --tag-zone) set_flag discovery_zone_ids list "$val" ;;
        --tag-types) set_flag discovery_record_types list "$val" ;;
        --tag-suffix) set_flag tag_suffixes list "$val" ;;
        --webhook-url) WEBHOOK_URL=$val ;;
        --webhook-secret-file) [[ -r $val ]] || die "cannot read $val"; WEBHOOK_SECRET=$(<"$val") ;;
        --webhook-format) set_flag webhook_format str "$val" ;;
        --alert-repeat) set_flag alert_repeat str "$val" ;;
        --alarm-email) set_flag alarm_email str "$val" ;;
        --alarm-topic) set_flag alarm_actions list "$val" ;;
        --owner) set_flag owner_id str "$val" ;;
        --on-stop) set_flag on_stop str "$val" ;;
        --ttl) set_flag ttl json "$val" ;;
        --name) set_flag name_prefix str "$val" ;;
        --set) [[ $val == *=* ]] || die "--set takes NAME=JSON"; set_flag "${val%%=*}" json "${val#*=}" ;;
        --region) export AWS_REGION=$val AWS_DEFAULT_REGION=$val ;;
        --profile) export AWS_PROFILE=$val ;;
        --zip) ZIP=$val ;;
        *) die "unknown option '$opt' (see --help)" ;;
      esac
      ;;
    *) die "unknown argument '$opt' (see --help)" ;;
  esac
  shift
done

command -v terraform >/dev/null || die "terraform is missing: install Terraform 1.11 or later"
command -v python3 >/dev/null || die "python3 is missing: it writes the settings file"
[[ -z ${AWS_ENDPOINT_URL:-} ]] || say "Using the AWS endpoint $AWS_ENDPOINT_URL."
tf() { terraform -chdir="$TF_DIR" "$@"; }

settings() { python3 "$ROOT/deploy/settings.py" "$@"; }

ask() { # ask PROMPT [hidden] -> REPLY; the end of input is an error, never a default
  printf '%s' "$1" >&2
  if [[ ${2:-} == hidden && -t 0 ]]; then IFS= read -rs REPLY || die "no answer (input ended)"; printf '\n' >&2
  else IFS= read -r REPLY || die "no answer (input ended)"; [[ -t 0 ]] || printf '\n' >&2; fi
  REPLY="${REPLY#"${REPLY%%[![:space:]]*}"}" && REPLY="${REPLY%"${REPLY##*[![:space:]]}"}"
}

# What the AWS CLI can list, when there is one that works: to pick from by number.
# shellcheck disable=SC2016 # the backticks are JMESPath literals
listing() { # listing KIND -> "id<TAB>description" lines
  command -v aws >/dev/null || return 0
  case "$1" in
    instances) aws ec2 describe-instances --filters Name=instance-state-name,Values=running --output text \
      --query 'Reservations[].Instances[].[InstanceId, PublicIpAddress || `"-"`]' 2>/dev/null || true ;;
    zones) aws route53 list-hosted-zones --output text --query 'HostedZones[].[Id, Name]' 2>/dev/null | sed 's|/hostedzone/||' || true ;;
  esac
}

pick() { # pick TITLE KIND PROMPT -> REPLY, numbers picked from the listing
  local items=() line i n out=()
  while IFS= read -r line; do [[ -n $line ]] && items+=("$line"); done < <(listing "$2")
  ((${#items[@]} == 0)) || { say "$1"; for i in "${!items[@]}"; do say "  $((i + 1))) ${items[i]//$'\t'/   }"; done; }
  ask "$3"
  for n in ${REPLY//,/ }; do
    if [[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= ${#items[@]})); then out+=("${items[n - 1]%%$'\t'*}"); else out+=("$n"); fi
  done
  REPLY=${out[*]:-}
}

prompt_settings() { # the seed's questions, in the seed's order
  pick "Running instances:" instances "Instance id(s) to follow, comma-separated (or numbers from the list): "
  set_flag instance_ids list "$REPLY"
  pick "Hosted zones:" zones "Hosted zone id (or a number from the list): "
  set_flag zone_id str "$REPLY"
  ask "Record name(s), comma-separated (name:A+AAAA:TTL for IPv6 or a TTL): "
  set_flag records record "$REPLY"
  ask "Webhook URL for alerts (input hidden; Enter for none): " hidden
  WEBHOOK_URL=$REPLY WEBHOOK_SECRET=""
  if [[ -n $WEBHOOK_URL ]]; then
    ask "Secret to sign alerts with, 16+ characters (input hidden; Enter for none): " hidden
    WEBHOOK_SECRET=$REPLY
  fi
  # None is an answer: it turns off what saved settings or an earlier round had on.
  [[ -n $WEBHOOK_URL ]] || set_flag webhook_enabled bool false
  [[ -n $WEBHOOK_SECRET ]] || set_flag webhook_signed bool false
  ask "E-mail address for alarms (Enter for none): "
  if [[ -n $REPLY ]]; then set_flag alarm_email str "$REPLY"; else set_flag alarm_email json null; fi
}

# Writes the settings, and hands the webhook's values to Terraform through the environment.
save() {
  printf '%s\n' "${FLAGS[@]}" >"$WORK/flags"
  settings write "$SETTINGS" "$WORK/flags" ${WEBHOOK_URL:+--webhook} ${WEBHOOK_SECRET:+--secret}
  FLAGS=()
  [[ -z $WEBHOOK_URL ]] || export TF_VAR_webhook_url=$WEBHOOK_URL
  [[ -z $WEBHOOK_SECRET ]] || export TF_VAR_webhook_secret=$WEBHOOK_SECRET
}

# Settings: from flags, from the saved file, or asked for.
PROMPTED=no
if ((${#FLAGS[@]})) || [[ -n $WEBHOOK_URL || -n $WEBHOOK_SECRET ]]; then
  save
elif [[ -f $SETTINGS ]] && { [[ $YES == yes || $DESTROY == yes ]] || { ask "Reuse the settings in terraform/variables.auto.tfvars.json? [Y/n] "; [[ ! $REPLY =~ ^[Nn] ]]; }; }; then
  say "Using the settings saved in terraform/variables.auto.tfvars.json."
elif [[ $DESTROY == yes ]]; then
  die "nothing to destroy: there are no saved settings from an earlier deploy"
else
  [[ $YES == no ]] || die "--yes needs settings: give flags (see --help), or deploy once without --yes"
  prompt_settings
  save
  PROMPTED=yes
fi

# The zip: the one given, the one an earlier build left, or a fresh build. Destroying needs
# none, but the configuration names one: a stand-in will do.
default_zip="${CARGO_TARGET_DIR:-$ROOT/target}/lambda/dynamic-dns-updater/bootstrap.zip"
[[ $default_zip == /* ]] || default_zip="$ROOT/$default_zip"
if [[ $DESTROY == yes ]]; then
  ZIP=${ZIP:-$default_zip}
  [[ -f $ZIP ]] || { ZIP="$WORK/stand-in.zip"; : >"$ZIP"; }
elif [[ -n $ZIP || $SKIP_BUILD == yes ]]; then
  ZIP=${ZIP:-$default_zip}
  "$ROOT/build.sh" --check "$ZIP" "--${ARCH/_/-}"
else
  build=("--${ARCH/_/-}")
  [[ $YES == no ]] || build+=(--yes)
  "$ROOT/build.sh" "${build[@]}"
  ZIP=$default_zip
fi
ZIP="$(cd "$(dirname "$ZIP")" && pwd)/$(basename "$ZIP")"
VARS=(-var "zip_path=$ZIP" -var "architecture=$ARCH")

tf init -input=false >&2
if [[ $DESTROY == yes ]]; then
  tf plan -destroy -input=false "${VARS[@]}"
  [[ $PLAN_ONLY == no ]] || { say "Plan only (--plan): nothing was changed."; exit 0; }
  [[ $YES == yes ]] || { ask "Release the DNS records, then destroy everything listed above? Type yes: "; [[ $REPLY == yes ]] || die "cancelled: nothing was changed"; }
  # With no state there is nothing to release; a state that cannot be read stops the destroy.
  states=$(tf state list 2>"$WORK/state.log") || grep -q 'No state file was found' "$WORK/state.log" || [[ $FORCE == yes ]] ||
    die "the Terraform state cannot be read, so the release cannot run: $(tail -n 3 "$WORK/state.log")"
  if grep -qx 'aws_lambda_invocation.release\[0\]' <<<"${states:-}"; then
    say "Releasing: the function deletes every DNS record and marker it owns."
    if ! tf apply -destroy -input=false -auto-approve "${VARS[@]}" -target='aws_lambda_invocation.release[0]'; then
      [[ $FORCE == yes ]] || die "the release failed, so nothing was destroyed. Fix what it says, or destroy with --force and delete the records by hand (see --help)"
      say "The release failed; --force: destroying anyway. The records and markers stay in the zones."
      tf state rm 'aws_lambda_invocation.release[0]' >&2
    fi
  fi
  tf apply -destroy -input=false -auto-approve "${VARS[@]}"
  say "Destroyed. terraform/variables.auto.tfvars.json is kept, for a later deploy."
  exit 0
fi

# A plan that would create what already exists outside this state stops here, with the import
# commands: nothing is deleted, nothing is half-applied. So does one that creates a webhook
# parameter without its value (the write-only value is given only when it is written).
until tf plan -input=false "${VARS[@]}" -var detect_existing=true -out="$WORK/deploy.tfplan" >"$WORK/plan.log" 2>&1; do
  sed -n '/Error: /,$p' "$WORK/plan.log" | grep . >&2 || cat "$WORK/plan.log" >&2
  [[ $PROMPTED == yes ]] || die "the plan failed: fix what Terraform names above (the settings are in terraform/variables.auto.tfvars.json)"
  say "Terraform refused a setting (it names the variable above). Answer again:"
  # The webhook is asked again too: what the refused answers gave must not outlive them.
  unset TF_VAR_webhook_url TF_VAR_webhook_secret
  prompt_settings
  save
done
checked=0
tf show -json "$WORK/deploy.tfplan" | settings check-plan "$ZIP" ${TF_VAR_webhook_url:+--webhook} ${TF_VAR_webhook_secret:+--secret} || checked=$?
if ((checked == 3)); then
  say "These already exist in AWS but not in this Terraform state; deploy.sh deletes nothing. Import them (above),"
  die "or choose another --name. See terraform/README.md, 'Resources that already exist'."
fi
((checked == 0)) || exit "$checked"
tf show "$WORK/deploy.tfplan"
[[ $PLAN_ONLY == no ]] || { say "Plan only (--plan): nothing was changed."; exit 0; }
[[ $YES == yes ]] || { ask "Apply these changes? Type yes to go on: "; [[ $REPLY == yes ]] || die "cancelled: nothing was changed"; }
tf apply -input=false "$WORK/deploy.tfplan"
say "" "Deployed $(tf output -raw function_name). Follow its logs with:" "  $(tf output -raw logs_tail_command)"
[[ $(tf output -raw alarm_topic_arn 2>/dev/null || true) == "" ]] || say "AWS has mailed the alarm address a confirmation link: open it to receive alarms."
