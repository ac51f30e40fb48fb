#!/usr/bin/env bash
# Deploys dynamic-dns-updater with the Terraform module in terraform/: settings from flags or
# prompts -> candidate settings (written by Python's JSON encoder) -> plan -> confirm -> apply
# -> terraform/variables.auto.tfvars.json, which holds only settings that were applied. The
# module checks every value; its errors name the variable. The webhook's URL and secret reach
# Terraform only through the environment, as ephemeral inputs: no plan, state or settings file
# holds them.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./deploy.sh [options]

With no options it asks for the settings (offering to reuse terraform/variables.auto.tfvars.json
from an earlier run), builds, shows the plan and applies it after you type "yes". Settings given
as options go over the saved ones (records are replaced whole); the module checks them all, and
in interactive mode a setting it refuses is asked again. The settings file changes only when an
apply succeeds: a refused, cancelled or --plan-only run leaves it as it was.

Records (one instance follows every record, or several pair with the records in order):
  --instance-id ID           EC2 instance to follow; repeat or comma-separate
  --zone-id ID               hosted zone of the records
  --record NAME[:TYPES][:TTL][:ADDRESS]  e.g. app.example.com:A+AAAA:300, db.example.com:private; repeatable
Fleet mode (instances name themselves with a tag, below the --tag-suffix domains):
  --tag-key KEY  --tag-zone ZONE_ID (repeatable; a public and a private one make split-horizon)
  --tag-types A,AAAA  --tag-suffix DOMAIN (repeatable)  --tag-address auto|public|private
  --tag-anywhere             no suffix: tags may name records anywhere in the zones (the role may
                             then write any name there, _acme-challenge and www included)
  --tag-allow-wildcards      let tags claim zone apexes and wildcard names
Groups (instances share a name through a tag; --tag-zone and --tag-suffix apply as in fleet mode):
  --group-tag-key KEY        e.g. ddns:group: each name in its value holds every running member's address
  --group-max N              the most addresses in one group's record set (8; 1 to 400)
Organizations (other accounts and regions; each applies terraform/modules/member, see README):
  --targets JSON             [{"account_id":"…","role_arn":"…","regions":["eu-west-1"],"external_id":"…"}]
  --route53-role-arn ARN     a role in the DNS account, assumed for every Route53 call
  --organization-id ID       o-…: any account of it may forward events, not only the targets'
Alerts:
  --webhook-url URL          or DDNS_WEBHOOK_URL; never written to a file (a salted hash of it is,
                             so that the same URL given again does not rewrite its parameter)
  --webhook-secret-file FILE or DDNS_WEBHOOK_SECRET; signs alerts (HMAC-SHA256); kept like the URL
  --webhook-format json|slack|discord   --alert-repeat DURATION (6h; 0 for never)
  --alert-on all|problems    problems: no alert for records that merely changed (a busy group's)
  --alarm-email ADDRESS      alarms mail it (AWS asks to confirm)   --alarm-topic ARN (repeatable)
Other:
  --owner ID  --on-stop delete|keep  --ttl SECONDS  --name FUNCTION_NAME (fixed once deployed)
  --api-call-events on|off   Elastic IP and IPv6 API calls (need a CloudTrail trail)  --spot-events on|off
  --set NAME=JSON            any other input of terraform/variables.tf, e.g. --set memory_size=256
AWS:    --region REGION  --profile NAME   saved with the settings and used again when not given;
        a region or an account other than the deployed stack's is refused, before any plan
        (AWS_ENDPOINT_URL points Terraform at an emulator)
Build:  --zip PATH  --skip-build  --x86-64 | --arm64 (saved with the settings; arm64 unless
        saved otherwise). The settings are checked before any build.
Run:    --yes  --plan  --destroy  --force  -h|--help
        --plan builds nothing: it plans with --zip, else the last build's zip, else a stand-in
        (the function's code then shows as changing).

--destroy is one terraform destroy, the plan shown is the plan applied: the rules' targets and
permissions go first, then the function is invoked with {"action": "release"}, which deletes every
DNS record and ownership marker it owns, then the rest. If the release fails, the destroy stops
there (deploy again to put the targets back). --force destroys anyway: the records and their
markers are then left in the zones, pointing at addresses the instances may give back (delete
them by hand, or run `dynamic-dns-updater release` with the same settings first). --force
overrides nothing else. A stack applied with release_on_destroy = false releases nothing: the
applied value counts, so deploy with it set to true before destroying to release.
EOF
}

die() { printf 'deploy.sh: %s\n' "$*" >&2; exit 1; }
say() { printf '%s\n' "$@" >&2; }
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TF_DIR="$ROOT/terraform"
SETTINGS="$TF_DIR/variables.auto.tfvars.json"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

TARGET="$TF_DIR/deploy-target.json"
# This run's settings: the saved ones with what it is given over them. Terraform reads them
# (-var-file) over the saved ones; they replace the saved ones only once they are applied.
CANDIDATE="$WORK/settings.tfvars.json"
FLAGS=() # "key<TAB>kind<TAB>value" lines for deploy/settings.py
ZIP="" SKIP_BUILD=no YES=no PLAN_ONLY=no DESTROY=no FORCE=no REGION="" PROFILE=""
WEBHOOK_URL=${DDNS_WEBHOOK_URL:-} WEBHOOK_SECRET=${DDNS_WEBHOOK_SECRET:-}
set_flag() { FLAGS+=("$1"$'\t'"$2"$'\t'"$3"); }

while (($#)); do
  opt=$1
  case "$opt" in
    -h | --help) usage; exit 0 ;;
    --skip-build) SKIP_BUILD=yes ;;
    --x86-64 | --x86_64) set_flag architecture str x86_64 ;;
    --arm64) set_flag architecture str arm64 ;;
    --yes | -y) YES=yes ;;
    --plan) PLAN_ONLY=yes ;;
    --destroy) DESTROY=yes ;;
    --force) FORCE=yes ;;
    --tag-allow-wildcards) set_flag tag_allow_wildcards bool true ;;
    --tag-anywhere) set_flag tag_anywhere bool true ;;
    --instance-id | --zone-id | --record | --tag-key | --tag-zone | --tag-types | --tag-suffix | --webhook-url | \
      --webhook-secret-file | --webhook-format | --alert-repeat | --alarm-email | --alarm-topic | --owner | \
      --on-stop | --ttl | --name | --set | --region | --profile | --zip | --tag-address | --api-call-events | --spot-events | \
      --group-tag-key | --group-max | --alert-on | --targets | --route53-role-arn | --organization-id)
      (($# >= 2)) || die "$opt needs a value (see --help)"
      val=$2
      [[ $val != -* ]] || die "$opt needs a value, not the option '$val' (see --help)"
      shift
      case "$opt" in
        --instance-id) set_flag instance_ids list "$val" ;;
        --zone-id) set_flag zone_id str "$val" ;;
        --record) set_flag records record "$val" ;;
        --tag-key) set_flag tag_key str "$val" ;;
        --tag-zone) set_flag discovery_zone_ids list "$val" ;;
        --tag-types) set_flag discovery_record_types list "$val" ;;
        --tag-suffix) set_flag tag_suffixes list "$val" ;;
        --tag-address) set_flag tag_address str "$val" ;;
        --group-tag-key) set_flag group_tag_key str "$val" ;;
        --group-max) set_flag group_max json "$val" ;;
        --alert-on) set_flag alert_on str "$val" ;;
        --targets) set_flag targets json "$val" ;;
        --route53-role-arn) set_flag route53_role_arn str "$val" ;;
        --organization-id) set_flag organization_id str "$val" ;;
        --api-call-events | --spot-events) set_flag "$opt" switch "$val" ;;
        --webhook-url) WEBHOOK_URL=$val ;;
        --webhook-secret-file) [[ -r $val ]] || die "cannot read $val"; WEBHOOK_SECRET=$(<"$val") ;;
        --webhook-format) set_flag webhook_format str "$val" ;;
        --alert-repeat) set_flag alert_repeat str "$val" ;;
        --alarm-email) set_flag alarm_email str "$val" ;;
        --alarm-topic) set_flag alarm_actions list "$val" ;;
        --owner) set_flag owner_id str "$val" ;;
        --on-stop) set_flag on_stop str "$val" ;;
        --ttl) set_flag ttl json "$val" ;;
        --name) set_flag function_name str "$val" ;;
        --set) [[ $val == *=* ]] || die "--set takes NAME=JSON"; set_flag "${val%%=*}" json "${val#*=}" ;;
        --region) REGION=$val ;;
        --profile) PROFILE=$val ;;
        --zip) ZIP=$val ;;
      esac
      ;;
    -*) die "unknown option '$opt' (see --help)" ;;
    *) die "unknown argument '$opt' (see --help)" ;;
  esac
  shift
done

command -v terraform >/dev/null || die "terraform is missing: install Terraform 1.11 or later"
command -v python3 >/dev/null || die "python3 is missing: it writes the settings file"
[[ -z ${AWS_ENDPOINT_URL:-} ]] || say "Using the AWS endpoint $AWS_ENDPOINT_URL."
tf() { terraform -chdir="$TF_DIR" "$@"; }

settings() { python3 "$ROOT/deploy/settings.py" "$@"; }
[[ ! -f $SETTINGS ]] || (umask 077 && cp "$SETTINGS" "$CANDIDATE")
# tf_with_settings plan|apply ARGS...: Terraform with this run's settings over the saved ones.
tf_with_settings() { if [[ -f $CANDIDATE ]]; then tf "$1" -var-file="$CANDIDATE" "${@:2}"; else tf "$@"; fi; }

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

prompt_settings() { # the seed's questions, in the seed's order; fleet mode on request
  ask "Follow listed instances (Enter), or instances that name their records with a tag (t)? "
  if [[ $REPLY == [Tt]* ]]; then
    ask "Tag key [ddns:name]: "
    set_flag tag_key str "${REPLY:-ddns:name}"
    pick "Hosted zones:" zones "Hosted zone id(s) the tags may name records in, a public and a private one for split-horizon (or numbers): "
    set_flag discovery_zone_ids list "$REPLY"
    ask "Address of tagged names: auto (public in a public zone, private in a private one), public or private [auto]: "
    set_flag tag_address str "${REPLY:-auto}"
    set_flag records json '[]'
    ask "Domain below which tags may name records, such as dyn.example.com (* for anywhere in the zone): "
    if [[ $REPLY == "*" ]]; then
      say "Tags may then name any record in the zone: the role may write _acme-challenge, _dmarc, www, ..."
      set_flag tag_anywhere bool true
      set_flag tag_suffixes json '[]'
    else
      set_flag tag_anywhere bool false
      set_flag tag_suffixes list "$REPLY"
    fi
  else
    set_flag tag_key json null
    set_flag group_tag_key json null
    pick "Running instances:" instances "Instance id(s) to follow, comma-separated (or numbers from the list): "
    set_flag instance_ids list "$REPLY"
    pick "Hosted zones:" zones "Hosted zone id (or a number from the list): "
    set_flag zone_id str "$REPLY"
    ask "Record name(s), comma-separated (name:A+AAAA:TTL:private for IPv6, a TTL, the private address): "
    set_flag records record "$REPLY"
  fi
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

# The webhook's values, for deploy/settings.py to hash (never to write).
webhook_env() { DEPLOY_WEBHOOK_URL=$WEBHOOK_URL DEPLOY_WEBHOOK_SECRET=$WEBHOOK_SECRET "$@"; }

# Writes the candidate settings, and hands the webhook's values to Terraform through the
# environment. A value given as it was last applied raises no version.
save() {
  local new
  printf '%s\n' "${FLAGS[@]}" >"$WORK/flags"
  new=$(webhook_env settings webhook-changed "$TARGET")
  # shellcheck disable=SC2086 # new holds whole flags, or nothing
  settings write "$CANDIDATE" "$WORK/flags" ${WEBHOOK_URL:+--webhook} ${WEBHOOK_SECRET:+--secret} $new
  FLAGS=()
  [[ -z $WEBHOOK_URL ]] || export TF_VAR_webhook_url=$WEBHOOK_URL
  [[ -z $WEBHOOK_SECRET ]] || export TF_VAR_webhook_secret=$WEBHOOK_SECRET
}

# Settings: from flags, from the saved file, or asked for.
PROMPTED=no
if ((${#FLAGS[@]})) || [[ -n $WEBHOOK_URL || -n $WEBHOOK_SECRET ]]; then
  save
elif [[ -f $SETTINGS ]] && { [[ $YES == yes || $DESTROY == yes || $PLAN_ONLY == yes ]] || { ask "Reuse the settings in terraform/variables.auto.tfvars.json? [Y/n] "; [[ ! $REPLY =~ ^[Nn] ]]; }; }; then
  say "Using the settings saved in terraform/variables.auto.tfvars.json."
elif [[ $DESTROY == yes ]]; then
  die "nothing to destroy: there are no saved settings from an earlier deploy"
else
  [[ $YES == no ]] || die "--yes needs settings: give flags (see --help), or deploy once without --yes"
  prompt_settings
  save
  PROMPTED=yes
fi

# Where: the region and profile given, else the ones saved with the settings, else the state's
# region. A region or an account other than the deployed stack's is refused before any plan
# (--force does not override it): a plan there would find none of the stack, and an apply would
# build a second one, or a destroy empty the state while the stack runs on.
IFS='|' read -r region profile saved_account < <(settings target "$TARGET")
[[ -n $REGION || -z $region ]] || say "Using the region $region saved with the settings (--region to change it)."
[[ -n $PROFILE || -z $profile ]] || say "Using the AWS profile $profile saved with the settings (--profile to change it)."
region=${REGION:-$region} profile=${PROFILE:-$profile}
[[ -z $region ]] || export AWS_REGION=$region AWS_DEFAULT_REGION=$region
[[ -z $profile ]] || export AWS_PROFILE=$profile
tf init -input=false >&2
IFS='|' read -r deployed deployed_account < <(tf output -json 2>/dev/null | settings deployed || true) || true
if [[ -n $deployed && -z $region ]]; then
  say "Using the region $deployed the stack is deployed in."
  export AWS_REGION=$deployed AWS_DEFAULT_REGION=$deployed
elif [[ -n $deployed && $region != "$deployed" ]]; then
  die "the stack in terraform/terraform.tfstate is deployed in $deployed, not $region: give --region $deployed (a stack moves to another region by a destroy, then a deploy there)"
fi

# The account of these credentials, read by Terraform itself (a plan of one data source that
# reads no resource, with the settings last applied): checked when a stack is deployed, or was.
STAND_IN="$TF_DIR/tests/fixtures/stand-in.zip"
[[ -f $STAND_IN ]] || { STAND_IN="$WORK/stand-in.zip"; : >"$STAND_IN"; }
expected_account=${deployed_account:-$saved_account}
if [[ -n $expected_account ]]; then
  tf plan -input=false -refresh=false -target=data.aws_caller_identity.current -var "zip_path=$STAND_IN" \
    -out="$WORK/account.tfplan" >"$WORK/account.log" 2>&1 || {
    sed -n '/Error: /,$p' "$WORK/account.log" | grep . >&2 || cat "$WORK/account.log" >&2
    die "could not read which account these credentials are of, so the stack's account ($expected_account) cannot be checked: fix what Terraform says above"
  }
  account=$(tf show -json "$WORK/account.tfplan" | settings account)
  [[ $account == "$expected_account" ]] ||
    die "these credentials are of account $account, but the stack is deployed in account $expected_account: use that account's credentials (--profile NAME, or the AWS_* variables). Nothing was planned or changed."
fi

# Whether Terraform refused a setting (a validation, a precondition), rather than failing for
# another reason (credentials, the network), which asking again cannot fix.
refused_setting() { grep -qE 'Invalid value for (input )?variable|Resource (pre|post)condition failed|Value for undeclared variable' "$1"; }

# The settings are checked by a plan before anything is built: with the zip given, or with a
# stand-in. In interactive mode a setting Terraform refuses is asked again.
plan() { tf_with_settings plan -input=false -var "zip_path=$1" "${@:2}" >"$WORK/plan.log" 2>&1; } # plan ZIP [ARGS...]
check_settings() { # check_settings ZIP [ARGS...]
  until plan "$@"; do
    sed -n '/Error: /,$p' "$WORK/plan.log" | grep . >&2 || cat "$WORK/plan.log" >&2
    refused_setting "$WORK/plan.log" || die "the plan failed, and not because of a setting: fix what Terraform says above (credentials, network, permissions), then run deploy.sh again"
    [[ $PROMPTED == yes ]] || die "Terraform refused a setting: fix what it names above (the settings are in terraform/variables.auto.tfvars.json)"
    say "Terraform refused a setting (it names the variable above). Answer again:"
    # The webhook is asked again too: what the refused answers gave must not outlive them.
    unset TF_VAR_webhook_url TF_VAR_webhook_secret
    prompt_settings
    save
  done
}

ARCH=$(settings get "$CANDIDATE" architecture arm64)

if [[ $DESTROY == yes ]]; then
  # What the stack was applied with, not what the settings say now: only an applied
  # release_on_destroy decides whether a destroy releases.
  releases=$(tf output -raw release_on_destroy 2>/dev/null || echo true)
  wanted=$(settings get "$CANDIDATE" release_on_destroy true)
  [[ ${wanted,,} == "$releases" ]] ||
    say "The settings say release_on_destroy = ${wanted,,}, but the stack was applied with $releases, and the applied value decides: deploy first to change it."
  # The configuration names a zip; a destroy needs none. The plan shown is the plan applied.
  tf_with_settings plan -destroy -input=false -var "zip_path=$STAND_IN" -out="$WORK/destroy.tfplan"
  [[ $PLAN_ONLY == no ]] || { say "Plan only (--plan): nothing was changed."; exit 0; }
  if [[ $releases == true ]]; then
    what="Release the DNS records, then destroy everything listed above?"
    doing="the triggers first, then the function deletes every DNS record and marker it owns, then the rest."
  else
    what="Destroy everything listed above? The stack was applied with release_on_destroy = false: its DNS records and markers stay in the zones."
    doing="the triggers first, then the rest; release_on_destroy is false, so the DNS records and markers stay in the zones."
  fi
  [[ $YES == yes ]] || { ask "$what Type yes: "; [[ $REPLY == yes ]] || die "cancelled: nothing was changed"; }
  # One destroy, in the module's order: the triggers, the release, then the rest.
  say "Destroying: $doing"
  if ! tf apply -input=false "$WORK/destroy.tfplan" 2>&1 | tee "$WORK/destroy.log" >&2; then
    { grep -q 'aws_lambda_invocation.release: Destroying' "$WORK/destroy.log" && ! grep -q 'aws_lambda_invocation.release: Destruction complete' "$WORK/destroy.log"; } ||
      die "the destroy failed: fix what Terraform says above, then run deploy.sh --destroy again"
    [[ $FORCE == yes ]] || die "the release failed, so the stack was kept (only the rules' targets and permissions are gone: deploy again to put them back). Fix what it says, or destroy with --force and delete the records by hand (see --help)"
    say "The release failed; --force: destroying anyway. The records and markers stay in the zones."
    tf state rm 'aws_lambda_invocation.release' >&2
    tf_with_settings apply -destroy -input=false -auto-approve -var "zip_path=$STAND_IN"
  fi
  printf '{}' | settings remember "$TARGET" --forget-account
  say "Destroyed. terraform/variables.auto.tfvars.json is kept, for a later deploy."
  exit 0
fi

# The zip: the one given, the one an earlier build left, or a fresh build once the settings
# pass a plan with the stand-in.
default_zip="${CARGO_TARGET_DIR:-$ROOT/target}/lambda/dynamic-dns-updater/bootstrap.zip"
[[ $default_zip == /* ]] || default_zip="$ROOT/$default_zip"
if [[ -n $ZIP || $SKIP_BUILD == yes ]]; then
  ZIP=${ZIP:-$default_zip}
  "$ROOT/build.sh" --check "$ZIP" "--${ARCH/_/-}"
elif [[ $PLAN_ONLY == yes && -f $default_zip ]]; then
  say "Plan only (--plan): planning with the last build's zip, $default_zip (nothing is built)."
  ZIP=$default_zip
elif [[ $PLAN_ONLY == yes ]]; then
  say "Plan only (--plan): no zip was given or built before, so the plan uses a stand-in and shows the function's code as changing (nothing is built)."
  ZIP=$STAND_IN
else
  say "Checking the settings with a plan before building."
  check_settings "$STAND_IN"
  build=("--${ARCH/_/-}")
  [[ $YES == no ]] || build+=(--yes)
  "$ROOT/build.sh" "${build[@]}"
  ZIP=$default_zip
fi
ZIP="$(cd "$(dirname "$ZIP")" && pwd)/$(basename "$ZIP")"

# A plan that would create what already exists outside this state stops here, with the import
# commands: nothing is deleted, nothing is half-applied. So does one that creates a webhook
# parameter without its value (the write-only value is given only when it is written).
check_settings "$ZIP" -var detect_existing=true -out="$WORK/deploy.tfplan"
checked=0
tf show -json "$WORK/deploy.tfplan" | settings check-plan "$ZIP" ${TF_VAR_webhook_url:+--webhook} ${TF_VAR_webhook_secret:+--secret} || checked=$?
if ((checked == 3)); then
  say "These already exist in AWS but not in this Terraform state; deploy.sh deletes nothing. Import them (above),"
  die "or choose another --name. See terraform/README.md, 'Resources that already exist'."
fi
((checked == 0)) || exit "$checked"
tf show "$WORK/deploy.tfplan"
[[ $PLAN_ONLY == no ]] || { say "Plan only (--plan): nothing was changed, the settings file included."; exit 0; }
[[ $YES == yes ]] || { ask "Apply these changes? Type yes to go on: "; [[ $REPLY == yes ]] || die "cancelled: nothing was changed"; }
tf apply -input=false "$WORK/deploy.tfplan"
# Applied: now the settings, and where and with which webhook values they were applied, are saved.
(umask 077 && cp "$CANDIDATE" "$SETTINGS.tmp") && mv -f "$SETTINGS.tmp" "$SETTINGS"
tf output -json | webhook_env settings remember "$TARGET" ${PROFILE:+--profile "$PROFILE"}
say "" "Deployed $(tf output -raw function_name) in $(tf output -raw region). Follow its logs with:" "  $(tf output -raw logs_tail_command)"
[[ $(tf output -raw alarm_topic_arn 2>/dev/null || true) == "" ]] || say "AWS has mailed the alarm address a confirmation link: open it to receive alarms."
bus=$(tf output -raw event_bus_arn 2>/dev/null || true)
[[ -z $bus ]] || say "Apply terraform/modules/member in each target account and region, with central_event_bus_arn = $bus and central_role_arn = $(tf output -raw role_arn) (README, Organizations)."
