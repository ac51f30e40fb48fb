#!/usr/bin/env python3
"""deploy.sh's JSON side: the settings file, and the checks of a plan before it is applied.

  settings.py write SETTINGS FLAGS [--webhook] [--secret] [--new-webhook] [--new-secret]
      Writes SETTINGS (mode 600; deploy.sh's candidate settings, which become
      terraform/variables.auto.tfvars.json only once applied) with the flag lines of FLAGS
      ("key<TAB>kind<TAB>value") over what it held. Strings stay strings, whatever they hold.
      --webhook / --secret: the URL / the secret was given this run, which turns it on;
      --new-webhook / --new-secret: and it is not the one last applied, so its version is raised
      and its write-only parameter rewritten.
  settings.py target FILE
      Prints what FILE (terraform/deploy-target.json) saved of where the stack is deployed, as
      "region|profile|account" (each empty when not saved).
  settings.py remember FILE [--profile NAME] [--forget-account]  < outputs.json
      After an apply: saves into FILE (mode 600) the region and account of the stack that
      `terraform output -json` describes, the profile given, and a salted hash of each webhook
      value given (DEPLOY_WEBHOOK_URL, DEPLOY_WEBHOOK_SECRET in the environment), never the
      value. --forget-account after a destroy: a deploy may then go to another account.
  settings.py webhook-changed FILE
      Prints --new-webhook / --new-secret for each webhook value given in the environment
      (DEPLOY_WEBHOOK_URL, DEPLOY_WEBHOOK_SECRET) whose hash is not the one FILE saved when it
      was last applied: only those raise a version.
  settings.py deployed  < outputs.json
      Prints the region and account of the stack that `terraform output -json` describes, as
      "region|account" (from its region output or its function's ARN); empty without a stack.
  settings.py account  < plan.json
      Prints the account id that a plan's read of data.aws_caller_identity.current found.
  settings.py get SETTINGS NAME DEFAULT
      Prints the setting NAME of SETTINGS, or DEFAULT when SETTINGS does not hold it.
  settings.py check-plan ZIP [--webhook] [--secret]  < plan.json
      Exit 3, printing the import commands, when the plan would create a function, role or log
      group that exists outside the state; exit 1 when it would write a webhook parameter (a
      new one, or a raised version) whose value this run did not give.
"""

import argparse
import hashlib
import hmac
import json
import os
import secrets
import shlex
import sys


def split(value):
    return [x for x in value.replace(",", " ").split() if x]


SWITCHES = {"--api-call-events": "ddns_api_call_events", "--spot-events": "ddns_spot_interruption_events"}
SWITCH = {"on": True, "true": True, "yes": True, "off": False, "false": False, "no": False}
ADDRESSES = ("auto", "public", "private")


def record(item):
    """NAME[:TYPES][:TTL][:ADDRESS]: after the name, an address word is the address, digits the
    TTL, and the first other part the types; anything else is handed on as the TTL, for the
    module to refuse by name."""
    name, *parts = item.split(":")
    out = {"name": name}
    for i, part in enumerate(parts):
        if part in ADDRESSES:
            out["address"] = part
        elif i == 0 and not part.isdigit():
            if part:
                out["types"] = part.split("+")
        elif part:
            out["ttl"] = int(part) if part.isdigit() else part
    return out


def write(args):
    old = json.load(open(args.settings)) if os.path.exists(args.settings) else {}
    given, instances, zone, records = {}, [], None, []
    for line in open(args.flags).read().splitlines():
        if not line:
            continue
        key, kind, value = line.split("\t", 2)
        if key == "instance_ids":
            instances += split(value)
        elif key == "zone_id":
            zone = value
        elif kind == "record":
            records += [record(item) for item in split(value)]
        elif kind == "list":
            given[key] = given.get(key, []) + split(value)
        elif kind == "bool":
            given[key] = value == "true"
        elif kind == "switch":  # key is the flag
            if value.lower() not in SWITCH:
                sys.exit(f"deploy.sh: {key} takes on or off, not {value!r}")
            given[SWITCHES[key]] = SWITCH[value.lower()]
        elif kind == "json":
            try:
                given[key] = json.loads(value)
            except ValueError:
                sys.exit(f"deploy.sh: {key}: {value!r} is not JSON (quote strings: --set 'name=\"x\"')")
        else:
            given[key] = value
    new = dict(old, **given)
    if (zone or instances) and not records:
        given_flags = " and ".join(f for f, v in (("--zone-id", zone), ("--instance-id", instances)) if v)
        sys.exit(f"deploy.sh: {given_flags} needs --record: give the names to keep pointed at the instance(s)")
    if records or instances:
        if len(instances) > 1 and len(instances) != len(records):
            sys.exit(f"deploy.sh: {len(instances)} instance ids need {len(instances)} records, one each, in order")
        follows = lambda i: instances[i if len(instances) > 1 else 0] if instances else ""
        new["records"] = [dict(r, instance_id=follows(i), zone_id=zone or "") for i, r in enumerate(records)]
    # A write-only value is written when its version changes: each new value raises its own
    # (unless --set already did); one given again as it was applied changes nothing.
    for given_now, new_now, switch, version in ((args.webhook, args.new_webhook, "webhook_enabled", "webhook_version"),
                                                (args.secret, args.new_secret, "webhook_signed", "webhook_secret_version")):
        if given_now:
            new[switch] = True
        before, value = old.get(version, 0), new.get(version, 0)
        new[version] = before + 1 if new_now and value == before else max(value, 1)
    # The exact function name is function_name now; name_prefix, its older name, gives way.
    if "function_name" in given:
        new.pop("name_prefix", None)
    save(args.settings, new)


def save(path, value):
    tmp = path + ".tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


# Between the fields printed for deploy.sh's `read`: not white space, which `read` would merge
# around an empty field.
SEP = "|"


def load(path):
    return json.load(open(path)) if os.path.exists(path) else {}


def target(args):
    saved = load(args.file)
    print(SEP.join(saved.get(k, "") for k in ("region", "profile", "account")))
    return 0


# The webhook values deploy.sh may be given, and the key under which each one's hash is kept.
GIVEN = (("DEPLOY_WEBHOOK_URL", "webhook_url_hash", "--new-webhook"),
         ("DEPLOY_WEBHOOK_SECRET", "webhook_secret_hash", "--new-secret"))


def digest(salt, value):
    return hmac.new(bytes.fromhex(salt), value.encode(), hashlib.sha256).hexdigest()


def webhook_changed(args):
    saved = load(args.file)
    salt = saved.get("salt")
    for env, key, flag in GIVEN:
        value = os.environ.get(env)
        if value and not (salt and hmac.compare_digest(saved.get(key, ""), digest(salt, value))):
            print(flag)
    return 0


def deployed_place(outputs):
    arn = outputs.get("function_arn", {}).get("value") or ""
    fields = arn.split(":")
    region = outputs.get("region", {}).get("value") or (fields[3] if len(fields) > 4 else "")
    return region, fields[4] if len(fields) > 4 else ""


def remember(args):
    saved = load(args.file)
    region, account = deployed_place(json.load(sys.stdin))
    new = dict(saved, **{k: v for k, v in (("region", region), ("account", account), ("profile", args.profile)) if v})
    if args.forget_account:
        new.pop("account", None)
    # Salted, so that the file cannot confirm a guessed URL; a new salt changes nothing but the hashes.
    new.setdefault("salt", secrets.token_hex(16))
    for env, key, _ in GIVEN:
        if os.environ.get(env):
            new[key] = digest(new["salt"], os.environ[env])
    save(args.file, new)
    return 0


# The resources deploy.sh checks for, and where the plan's lookup of existing ones lists them.
EXISTING = {
    "aws_lambda_function.this": ("data.aws_lambda_functions.existing[0]", "function_names", "function_name"),
    "aws_iam_role.this": ("data.aws_iam_roles.existing[0]", "names", "name"),
    "aws_cloudwatch_log_group.this": ("data.aws_cloudwatch_log_groups.existing[0]", "log_group_names", "name"),
}
PARAMETERS = {"aws_ssm_parameter.webhook_url[0]": "webhook", "aws_ssm_parameter.webhook_secret[0]": "secret"}


def check_plan(args):
    plan = json.load(sys.stdin)
    resources = plan.get("prior_state", {}).get("values", {}).get("root_module", {}).get("resources", [])
    looked_up = {r["address"]: r["values"] for r in resources}
    clash = []
    for rc in plan.get("resource_changes", []):
        creates = "create" in rc["change"]["actions"]
        if rc["address"] in EXISTING and rc["change"]["actions"] == ["create"]:
            data, field, attribute = EXISTING[rc["address"]]
            name = rc["change"]["after"][attribute]
            if name in (looked_up.get(data, {}).get(field) or []):
                clash.append((rc["address"], name))
        if rc["address"] in PARAMETERS and not getattr(args, PARAMETERS[rc["address"]]):
            before, after = rc["change"]["before"] or {}, rc["change"]["after"] or {}
            if creates or before.get("value_wo_version") != after.get("value_wo_version"):
                flag = "--webhook-url" if PARAMETERS[rc["address"]] == "webhook" else "--webhook-secret-file"
                why = "is new" if creates else "is to be rewritten (its version was raised)"
                sys.exit(f"deploy.sh: the webhook parameter {after['name']} {why}, so its value is needed: give {flag}")
    for address, name in clash:
        print(f"  terraform -chdir=terraform import -var zip_path={shlex.quote(args.zip)} {address} {shlex.quote(name)}",
              file=sys.stderr)
    return 3 if clash else 0


def deployed(_args):
    print(SEP.join(deployed_place(json.load(sys.stdin))))
    return 0


def account(_args):
    plan = json.load(sys.stdin)
    resources = plan.get("prior_state", {}).get("values", {}).get("root_module", {}).get("resources", [])
    ids = [r["values"].get("account_id") for r in resources if r["address"] == "data.aws_caller_identity.current"]
    if not ids or not ids[0]:
        sys.exit("deploy.sh: the plan did not read the account of these credentials")
    print(ids[0])
    return 0


def get(args):
    print(load(args.settings).get(args.name, args.default))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write")
    w.add_argument("settings")
    w.add_argument("flags")
    c = sub.add_parser("check-plan")
    c.add_argument("zip")
    for p in (w, c):
        p.add_argument("--webhook", action="store_true")
        p.add_argument("--secret", action="store_true")
    w.add_argument("--new-webhook", action="store_true")
    w.add_argument("--new-secret", action="store_true")
    t = sub.add_parser("target")
    t.add_argument("file")
    r = sub.add_parser("remember")
    r.add_argument("file")
    r.add_argument("--profile")
    r.add_argument("--forget-account", action="store_true")
    h = sub.add_parser("webhook-changed")
    h.add_argument("file")
    sub.add_parser("deployed")
    sub.add_parser("account")
    g = sub.add_parser("get")
    g.add_argument("settings")
    g.add_argument("name")
    g.add_argument("default")
    args = parser.parse_args()
    commands = {"write": write, "check-plan": check_plan, "target": target, "remember": remember,
                "webhook-changed": webhook_changed, "deployed": deployed, "account": account, "get": get}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
