#!/usr/bin/env bash
# Deploys dynamic-dns-updater with the Terraform module in terraform/: asks for what it needs
# (or takes flags), checks every answer at once, writes terraform/variables.auto.tfvars with
# safe quoting, builds, plans, and applies only after you confirm. It never deletes anything
# outside Terraform, and never prints the webhook URL or secret.
set -euo pipefail

if ((BASH_VERSINFO[0] < 4)); then
  echo "deploy.sh needs bash 4 or later (this is $BASH_VERSION). On macOS: brew install bash" >&2
  exit 1
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly ROOT
readonly TF_DIR="$ROOT/terraform"
readonly TFVARS="$TF_DIR/variables.auto.tfvars"
# Where build.sh leaves the zip (cargo resolves a relative CARGO_TARGET_DIR from the repo root).
DEFAULT_ZIP="${CARGO_TARGET_DIR:-target}/lambda/dynamic-dns-updater/bootstrap.zip"
[[ $DEFAULT_ZIP == /* ]] || DEFAULT_ZIP="$ROOT/$DEFAULT_ZIP"
readonly DEFAULT_ZIP

# The same patterns as terraform/variables.tf and the function's own parser.
readonly RE_INSTANCE='^i-([0-9a-f]{8}|[0-9a-f]{17})$'
readonly RE_ZONE='^(/hostedzone/)?[A-Z0-9]{1,32}$'
readonly RE_LABEL='[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?'
readonly RE_RECORD="^(\\*|${RE_LABEL})(\\.${RE_LABEL})+\\.?$"
readonly RE_NAME='^[a-zA-Z][a-zA-Z0-9-]{0,39}$'
readonly RE_WEBHOOK='^https://[^/?#@[:space:]]+(/[^[:space:]]*)?$'

usage() {
  cat <<'EOF'
Usage: ./deploy.sh [options]

Deploys the function and its triggers with Terraform (terraform/). With no options it asks
for each setting, offering to reuse terraform/variables.auto.tfvars from an earlier run, and
lists your running instances and hosted zones to pick from when the AWS CLI works. It shows
the plan and applies only after you type "yes".

Settings (giving any of the first three replaces the saved settings):
  --instance-id ID       EC2 instance to follow; repeat or comma-separate for several
                         (several ids pair with the record names in order).
  --zone-id ID           Route53 hosted zone id holding the records.
  --record NAME          Record name, such as app.example.com; repeat or comma-separate.
  --webhook-url URL      https URL for change notes, stored as an SSM SecureString. A command
                         line is visible to other local users: prefer the prompt or the
                         DDNS_WEBHOOK_URL environment variable.
  --webhook-secret-file FILE
                         File holding the HMAC secret that signs webhook bodies (or set
                         DDNS_WEBHOOK_SECRET).
  --name PREFIX          Function name and resource prefix (default dynamic-dns-updater).

AWS:
  --region REGION        AWS region (else AWS_REGION, AWS_DEFAULT_REGION or the profile's).
  --profile PROFILE      AWS CLI profile (else AWS_PROFILE or the default chain).
  AWS_ENDPOINT_URL, when set, points Terraform and the AWS CLI at a local emulator.

Build:
  --zip PATH             Deploy this zip instead of building (it is still checked).
  --skip-build           Deploy the zip an earlier ./build.sh made.
  --x86-64               Build and deploy for x86_64 instead of arm64.

Run:
  --yes                  Answer yes: no prompts; reuse saved settings unless flags are given.
  --plan                 Show the plan only; change nothing.
  --destroy              Destroy what this deployment created (and nothing else).
  -h, --help             Show this help.

Examples:
  ./deploy.sh
  ./deploy.sh --instance-id i-0123456789abcdef0 --zone-id Z0123456789ABC \
              --record app.example.com --region eu-west-1 --yes
  ./deploy.sh --plan
  ./deploy.sh --destroy
EOF
}

die() {
  printf 'deploy.sh: %s\n' "$*" >&2
  exit 1
}
say() { printf '%s\n' "$*" >&2; }

WORK=""
cleanup() {
  if [[ -n $WORK ]]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------------------------

INSTANCES=()
RECORDS=()
ZONE=""
WEBHOOK_URL="${DDNS_WEBHOOK_URL:-}"
WEBHOOK_SECRET="${DDNS_WEBHOOK_SECRET:-}"
NAME=""
ZIP=""
SKIP_BUILD=no
ARCH=arm64
YES=no
PLAN_ONLY=no
DESTROY=no
SETTINGS_GIVEN=no

need_value() {
  (($# >= 2)) && [[ -n $2 ]] || die "$1 needs a value (see ./deploy.sh --help)"
}

split_list() { # split_list VALUE -> one item per line, on commas and blanks (never globbed)
  local parts=() item
  IFS=$', \t' read -r -a parts <<<"$1" || true
  for item in "${parts[@]}"; do printf '%s\n' "$item"; done
}

parse_args() {
  local item
  while (($#)); do
    case "$1" in
      --instance-id)
        need_value "$@"
        SETTINGS_GIVEN=yes
        while IFS= read -r item; do INSTANCES+=("$item"); done < <(split_list "$2")
        shift
        ;;
      --zone-id)
        need_value "$@"
        SETTINGS_GIVEN=yes
        ZONE=$2
        shift
        ;;
      --record)
        need_value "$@"
        SETTINGS_GIVEN=yes
        while IFS= read -r item; do RECORDS+=("$item"); done < <(split_list "$2")
        shift
        ;;
      --webhook-url)
        need_value "$@"
        SETTINGS_GIVEN=yes
        WEBHOOK_URL=$2
        shift
        ;;
      --webhook-secret-file)
        need_value "$@"
        SETTINGS_GIVEN=yes
        [[ -r $2 ]] || die "cannot read the webhook secret file $2"
        WEBHOOK_SECRET=$(<"$2")
        shift
        ;;
      --name)
        need_value "$@"
        SETTINGS_GIVEN=yes
        NAME=$2
        shift
        ;;
      --region)
        need_value "$@"
        export AWS_REGION=$2 AWS_DEFAULT_REGION=$2
        shift
        ;;
      --profile)
        need_value "$@"
        export AWS_PROFILE=$2
        shift
        ;;
      --zip)
        need_value "$@"
        ZIP=$2
        shift
        ;;
      --skip-build) SKIP_BUILD=yes ;;
      --x86-64 | --x86_64) ARCH=x86_64 ;;
      --yes | -y) YES=yes ;;
      --plan) PLAN_ONLY=yes ;;
      --destroy) DESTROY=yes ;;
      -h | --help)
        usage
        exit 0
        ;;
      *) die "unknown option '$1' (see ./deploy.sh --help)" ;;
    esac
    shift
  done
}

# ---------------------------------------------------------------------------------------------
# Checks, one per kind of answer. Each prints why a value is wrong and returns non-zero.
# ---------------------------------------------------------------------------------------------

check_instance() {
  [[ $1 =~ $RE_INSTANCE ]] || {
    say "  '$1' is not an instance id: expected i- and 8 or 17 lower-case hex digits, like i-0123456789abcdef0."
    return 1
  }
}

check_zone() {
  [[ $1 =~ $RE_ZONE ]] || {
    say "  '$1' is not a hosted zone id: expected upper-case letters and digits, like Z0123456789ABCDEFGHIJ."
    return 1
  }
}

check_record() { # check_record NAME [ZONE_NAME]
  local name=$1 zone_name=${2:-} bare
  bare=${name%.}
  bare=${bare,,}
  if [[ ! $name =~ $RE_RECORD ]] || ((${#bare} > 253)); then
    say "  '$name' is not a record name: expected a full DNS name like app.example.com (letters, digits, - and _; a * only as the whole first label)."
    return 1
  fi
  if [[ -n $zone_name && $bare != "$zone_name" && $bare != *".$zone_name" ]]; then
    say "  '$name' is not inside the zone $zone_name."
    return 1
  fi
}

check_pairing() { # one instance follows every name; several pair with the names in order
  local n_inst=$1 n_rec=$2
  if ((n_inst > 1 && n_inst != n_rec)); then
    say "  $n_inst instance ids need $n_inst record names, one each, in the same order (a record can follow only one instance)."
    return 1
  fi
}

check_webhook() {
  [[ -z $1 || $1 =~ $RE_WEBHOOK ]] || {
    say "  That is not an https:// URL without spaces (the value is not shown: it may hold a token)."
    return 1
  }
}

check_secret() {
  [[ -z $1 ]] && return 0
  if ((${#1} < 16 || ${#1} > 4096)); then
    say "  The secret must be 16 to 4096 characters long."
    return 1
  fi
  if [[ $1 =~ [[:cntrl:]] ]]; then
    say "  The secret must not hold control characters."
    return 1
  fi
}

check_name() {
  [[ $1 =~ $RE_NAME ]] || {
    say "  '$1' is not a usable name: 1 to 40 letters, digits and hyphens, starting with a letter."
    return 1
  }
}

# ---------------------------------------------------------------------------------------------
# Prompts: read from standard input, so that they can be answered by a pipe too. The end of
# input is an error, never a silent default.
# ---------------------------------------------------------------------------------------------

ask() { # ask PROMPT [hidden] -> REPLY
  local prompt=$1 hidden=${2:-}
  printf '%s' "$prompt" >&2
  REPLY=""
  if [[ $hidden == hidden && -t 0 ]]; then
    IFS= read -rs REPLY || die "no answer (input ended)"
    printf '\n' >&2
  else
    IFS= read -r REPLY || die "no answer (input ended)"
    # Answers from a pipe are not echoed by a terminal: end the prompt's line ourselves.
    [[ -t 0 ]] || printf '\n' >&2
  fi
  # Trim surrounding blanks: a pasted value often carries them.
  REPLY="${REPLY#"${REPLY%%[![:space:]]*}"}"
  REPLY="${REPLY%"${REPLY##*[![:space:]]}"}"
}

confirm() { # confirm PROMPT -> 0 only for yes
  ask "$1"
  [[ ${REPLY,,} == yes || ${REPLY,,} == y ]]
}

# Candidates to pick from, when the AWS CLI works: "id<TAB>description" lines.
LIST_INSTANCES=()
LIST_ZONES=()
declare -A ZONE_NAMES=()
AWS_OK=no

aws_cli() {
  aws --cli-connect-timeout 5 --cli-read-timeout 20 "$@"
}

probe_aws() {
  command -v aws >/dev/null || {
    say "(The AWS CLI is not installed: type ids yourself; Terraform still works.)"
    return 0
  }
  local err
  if err=$(aws_cli sts get-caller-identity --query Account --output text 2>&1 >/dev/null); then
    AWS_OK=yes
  else
    say "(The AWS CLI cannot reach your account, so nothing can be listed: ${err%%$'\n'*})"
  fi
}

# shellcheck disable=SC2016 # the backticks are JMESPath literals, not command substitution
load_candidates() {
  [[ $AWS_OK == yes ]] || return 0
  local line id rest
  while IFS= read -r line; do
    [[ -n $line ]] && LIST_INSTANCES+=("$line")
  done < <(aws_cli ec2 describe-instances \
    --filters Name=instance-state-name,Values=running \
    --query 'Reservations[].Instances[].[InstanceId, PublicIpAddress || `"no public IP"`, Tags[?Key==`"Name"`] | [0].Value || `"-"`]' \
    --output text 2>/dev/null || true)
  while IFS=$'\t' read -r id rest; do
    [[ -n $id ]] || continue
    id=${id#/hostedzone/}
    LIST_ZONES+=("$id"$'\t'"$rest")
    ZONE_NAMES[$id]=$(cut -f1 <<<"$rest")
    ZONE_NAMES[$id]=${ZONE_NAMES[$id]%.}
  done < <(aws_cli route53 list-hosted-zones \
    --query 'HostedZones[].[Id, Name, Config.PrivateZone && `"private"` || `"public"`]' \
    --output text 2>/dev/null || true)
}

show_list() { # show_list TITLE ITEM...
  local title=$1 i=1 item
  shift
  (($#)) || return 0
  say "$title"
  for item in "$@"; do
    say "  $i) ${item//$'\t'/   }"
    i=$((i + 1))
  done
}

# A number picks from the list shown; anything else is taken as typed.
pick() { # pick VALUE LIST_ITEM... -> PICKED
  local value=$1
  shift
  PICKED=$value
  if [[ $value =~ ^[0-9]+$ ]] && ((value >= 1 && value <= $#)); then
    PICKED=${!value}
    PICKED=${PICKED%%$'\t'*}
  fi
}

prompt_settings() {
  local item ok zone_name=""
  load_candidates

  show_list "Running instances:" "${LIST_INSTANCES[@]}"
  while true; do
    ask "Instance id(s) to follow, comma-separated (or numbers from the list): "
    INSTANCES=()
    ok=yes
    while IFS= read -r item; do
      pick "$item" "${LIST_INSTANCES[@]}"
      check_instance "$PICKED" || ok=no
      INSTANCES+=("$PICKED")
    done < <(split_list "$REPLY")
    ((${#INSTANCES[@]})) || {
      say "  Give at least one instance id."
      ok=no
    }
    [[ $ok == yes ]] && break
  done

  show_list "Hosted zones:" "${LIST_ZONES[@]}"
  while true; do
    ask "Hosted zone id (or a number from the list): "
    pick "$REPLY" "${LIST_ZONES[@]}"
    check_zone "$PICKED" && break
  done
  ZONE=${PICKED#/hostedzone/}
  zone_name=${ZONE_NAMES[$ZONE]:-}

  while true; do
    ask "Record name(s) to keep pointed at ${INSTANCES[*]}, comma-separated${zone_name:+ (in $zone_name)}: "
    RECORDS=()
    ok=yes
    while IFS= read -r item; do
      check_record "$item" "$zone_name" || ok=no
      RECORDS+=("$item")
    done < <(split_list "$REPLY")
    ((${#RECORDS[@]})) || {
      say "  Give at least one record name."
      ok=no
    }
    [[ $ok == yes ]] && check_pairing "${#INSTANCES[@]}" "${#RECORDS[@]}" && break
  done

  while true; do
    ask "Webhook URL for change notes (input hidden; Enter for none): " hidden
    check_webhook "$REPLY" && break
  done
  WEBHOOK_URL=$REPLY

  WEBHOOK_SECRET=""
  if [[ -n $WEBHOOK_URL ]]; then
    while true; do
      ask "Secret to sign webhook bodies with, 16+ characters (input hidden; Enter for none): " hidden
      check_secret "$REPLY" && break
    done
    WEBHOOK_SECRET=$REPLY
  fi
}

check_flag_settings() {
  local item ok=yes
  local together="settings flags replace the saved settings, so give --instance-id, --zone-id and --record together"
  ((${#INSTANCES[@]})) || die "--instance-id is missing ($together)"
  [[ -n $ZONE ]] || die "--zone-id is missing ($together)"
  ((${#RECORDS[@]})) || die "--record is missing ($together)"
  for item in "${INSTANCES[@]}"; do check_instance "$item" || ok=no; done
  check_zone "$ZONE" || ok=no
  for item in "${RECORDS[@]}"; do check_record "$item" || ok=no; done
  check_pairing "${#INSTANCES[@]}" "${#RECORDS[@]}" || ok=no
  check_webhook "$WEBHOOK_URL" || ok=no
  check_secret "$WEBHOOK_SECRET" || ok=no
  [[ -z $WEBHOOK_SECRET || -n $WEBHOOK_URL ]] || {
    say "  A webhook secret was given without a webhook URL."
    ok=no
  }
  [[ $ok == yes ]] || die "fix the values above"
  ZONE=${ZONE#/hostedzone/}
}

# ---------------------------------------------------------------------------------------------
# The tfvars file: every string goes through hcl_string, so no input can end the string early
# or be read as a template (${...} or %{...}).
# ---------------------------------------------------------------------------------------------

hcl_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//\$\{/\$\$\{}
  s=${s//%\{/%%\{}
  s=${s//$'\t'/\\t}
  [[ ! $s =~ [[:cntrl:]] ]] || die "a value holds a control character"
  printf '"%s"' "$s"
}

hcl_list() {
  local out="" item
  for item in "$@"; do out+="${out:+, }$(hcl_string "$item")"; done
  printf '[%s]' "$out"
}

write_tfvars() {
  local old_version=0 version url_line="" secret_line="" tmp
  if [[ -f $TFVARS ]]; then
    old_version=$(sed -n 's/^webhook_version *= *\([0-9][0-9]*\)$/\1/p' "$TFVARS" | head -n 1)
    old_version=${old_version:-0}
  fi
  [[ -n $WEBHOOK_URL ]] && url_line="webhook_url     = $(hcl_string "$WEBHOOK_URL")"
  [[ -n $WEBHOOK_SECRET ]] && secret_line="webhook_secret  = $(hcl_string "$WEBHOOK_SECRET")"

  # The values are write-only in Terraform, which therefore cannot see them change: raise the
  # version whenever they differ from what the file held.
  version=$old_version
  if [[ -n $url_line ]]; then
    if ((old_version == 0)) ||
      ! grep -qxF -- "$url_line" "$TFVARS" ||
      { [[ -n $secret_line ]] && ! grep -qxF -- "$secret_line" "$TFVARS"; } ||
      { [[ -z $secret_line ]] && grep -q '^webhook_secret ' "$TFVARS"; }; then
      version=$((old_version + 1))
    fi
  fi
  ((version >= 1)) || version=1

  tmp=$(mktemp "$TF_DIR/.tfvars.XXXXXX")
  chmod 600 "$tmp"
  {
    printf '# Written by deploy.sh. Holds the webhook URL and secret when set: keep it private.\n'
    printf 'name_prefix     = %s\n' "$(hcl_string "${NAME:-dynamic-dns-updater}")"
    printf 'instance_ids    = %s\n' "$(hcl_list "${INSTANCES[@]}")"
    printf 'zone_id         = %s\n' "$(hcl_string "$ZONE")"
    printf 'record_names    = %s\n' "$(hcl_list "${RECORDS[@]}")"
    [[ -n $url_line ]] && printf '%s\n' "$url_line"
    [[ -n $secret_line ]] && printf '%s\n' "$secret_line"
    printf 'webhook_version = %s\n' "$version"
  } >"$tmp"
  mv -f "$tmp" "$TFVARS"
  say "Saved the settings in terraform/variables.auto.tfvars (readable by you only)."
}

saved_name() {
  sed -n 's/^name_prefix *= *"\([a-zA-Z0-9-]*\)"$/\1/p' "$TFVARS" | head -n 1
}

# ---------------------------------------------------------------------------------------------
# Terraform
# ---------------------------------------------------------------------------------------------

tf() { terraform -chdir="$TF_DIR" "$@"; }

abs_path() {
  local dir
  dir=$(cd "$(dirname "$1")" && pwd) || return 1
  printf '%s/%s\n' "$dir" "$(basename "$1")"
}

# Resources that exist in AWS but not in Terraform's state would make the apply fail. They are
# never deleted: they are imported with your consent, or the commands to do so are shown.
check_existing() {
  [[ $AWS_OK == yes ]] || return 0
  local name=$1 region=$2 in_state addr id found=()
  in_state=$(tf state list 2>/dev/null || true)
  if ! grep -qx 'aws_cloudwatch_log_group.this' <<<"$in_state" &&
    [[ -n $(aws_cli logs describe-log-groups --log-group-name-prefix "/aws/lambda/$name" \
      --query "logGroups[?logGroupName=='/aws/lambda/$name'].logGroupName" --output text 2>/dev/null) ]]; then
    found+=("aws_cloudwatch_log_group.this" "/aws/lambda/$name")
  fi
  if ! grep -qx 'aws_lambda_function.this' <<<"$in_state" &&
    aws_cli lambda get-function --function-name "$name" >/dev/null 2>&1; then
    found+=("aws_lambda_function.this" "$name")
  fi
  if ! grep -qx 'aws_iam_role.this' <<<"$in_state" &&
    aws_cli iam get-role --role-name "$name-$region" >/dev/null 2>&1; then
    found+=("aws_iam_role.this" "$name-$region")
  fi
  ((${#found[@]})) || return 0

  say ""
  say "These already exist in AWS but are not managed by this Terraform state:"
  local i
  for ((i = 0; i < ${#found[@]}; i += 2)); do say "  ${found[i + 1]}"; done
  say "deploy.sh never deletes them. Import them into the state (keeping them, logs included):"
  for ((i = 0; i < ${#found[@]}; i += 2)); do
    say "  terraform -chdir=terraform import -var zip_path=$(printf '%q' "$ZIP") ${found[i]} $(printf '%q' "${found[i + 1]}")"
  done
  say "or choose another --name. See terraform/README.md, 'Resources that already exist'."
  [[ $YES == no ]] || die "stopped: --yes never imports on its own"
  confirm "Import them now? [y/N] " || die "stopped: nothing was changed"
  for ((i = 0; i < ${#found[@]}; i += 2)); do
    addr=${found[i]}
    id=${found[i + 1]}
    tf import -input=false -var "zip_path=$ZIP" -var "architecture=$ARCH" "$addr" "$id"
  done
}

reuse_saved() {
  [[ $YES == yes ]] && return 0
  ask "Reuse the settings saved in terraform/variables.auto.tfvars? [Y/n] "
  [[ -z $REPLY || ${REPLY,,} == y || ${REPLY,,} == yes ]]
}

main() {
  parse_args "$@"
  command -v terraform >/dev/null || die "terraform is missing: install Terraform 1.11 or later (https://developer.hashicorp.com/terraform/install)"
  [[ -d $TF_DIR ]] || die "no terraform/ folder beside deploy.sh"
  [[ -z ${AWS_ENDPOINT_URL:-} ]] || say "Using the AWS endpoint $AWS_ENDPOINT_URL."
  # Values given as flags are checked before anything else happens.
  if [[ $SETTINGS_GIVEN == yes ]]; then
    [[ -z $NAME ]] || check_name "$NAME" || die "fix --name"
    check_flag_settings
  fi

  probe_aws
  local region=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}
  if [[ -z $region && $AWS_OK == yes ]]; then
    region=$(aws configure get region 2>/dev/null || true)
  fi
  while [[ -z $region ]]; do
    [[ $YES == no ]] || die "no AWS region: pass --region (or set AWS_REGION)"
    ask "AWS region, such as eu-west-1: "
    if [[ $REPLY =~ ^[a-z]{2}(-[a-z]+)+-[0-9]$ ]]; then region=$REPLY; else say "  '$REPLY' is not a region name."; fi
  done
  export AWS_REGION=$region AWS_DEFAULT_REGION=$region

  # Settings: from flags, from the saved file, or asked for.
  if [[ $SETTINGS_GIVEN == yes ]]; then
    write_tfvars
  elif [[ $DESTROY == yes ]]; then
    [[ -f $TFVARS ]] || die "nothing to destroy: there is no terraform/variables.auto.tfvars from an earlier deploy"
  elif [[ -f $TFVARS ]] && reuse_saved; then
    say "Using the settings saved in terraform/variables.auto.tfvars."
  else
    [[ $YES == no ]] || die "--yes needs the settings: --instance-id, --zone-id and --record (see --help)"
    prompt_settings
    write_tfvars
  fi
  NAME=$(saved_name)
  NAME=${NAME:-dynamic-dns-updater}

  # The zip: the one given, the one an earlier build left, or a fresh build.
  if [[ -z $ZIP && ($SKIP_BUILD == yes || $DESTROY == yes) ]]; then
    ZIP=$DEFAULT_ZIP
  fi
  if [[ $DESTROY == yes ]]; then
    if [[ ! -f $ZIP ]]; then
      # Destroying needs no code, but the configuration names a zip: a stand-in will do.
      WORK=$(mktemp -d)
      ZIP="$WORK/placeholder.zip"
      : >"$ZIP"
    fi
  elif [[ -n $ZIP ]]; then
    "$ROOT/build.sh" --check "$ZIP" "--${ARCH/_/-}"
  else
    local build_args=("--${ARCH/_/-}")
    [[ $YES == no ]] || build_args+=(--yes)
    "$ROOT/build.sh" "${build_args[@]}"
    ZIP=$DEFAULT_ZIP
  fi
  ZIP=$(abs_path "$ZIP")

  WORK=${WORK:-$(mktemp -d)}
  local plan="$WORK/deploy.tfplan"
  tf init -input=false
  [[ $DESTROY == yes ]] || check_existing "$NAME" "$region"

  local plan_args=(-input=false -out="$plan" -var "zip_path=$ZIP" -var "architecture=$ARCH")
  [[ $DESTROY == no ]] || plan_args+=(-destroy)
  tf plan "${plan_args[@]}"

  if [[ $PLAN_ONLY == yes ]]; then
    say "Plan only (--plan): nothing was changed."
    return 0
  fi
  if [[ $YES == no ]]; then
    local what="Apply these changes"
    [[ $DESTROY == no ]] || what="Destroy everything listed above"
    confirm "$what? Type yes to go on: " || die "cancelled: nothing was changed"
  fi
  tf apply -input=false "$plan"

  if [[ $DESTROY == yes ]]; then
    say "Destroyed. terraform/variables.auto.tfvars is kept, for a later deploy."
  else
    say ""
    say "Deployed $(tf output -raw function_name). Follow its logs with:"
    say "  $(tf output -raw logs_tail_command)"
  fi
}

main "$@"
