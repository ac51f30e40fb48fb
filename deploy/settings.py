#!/usr/bin/env python3
"""deploy.sh's JSON side: the settings file, and the checks of a plan before it is applied.

  settings.py write SETTINGS FLAGS [--webhook] [--secret]
      Writes SETTINGS (terraform/variables.auto.tfvars.json, mode 600) with the flag lines of
      FLAGS ("key<TAB>kind<TAB>value") over what it held. Strings stay strings, whatever they
      hold. --webhook / --secret: the URL / the secret was given this run, so its version is
      raised and its write-only parameter rewritten.
  settings.py target FILE [--region REGION] [--profile NAME]
      Where the stack is deployed: saves the region and profile given into FILE
      (terraform/deploy-target.json, mode 600), and prints the ones to use, given or else saved,
      as "region<TAB>profile" (each empty when neither).
  settings.py deployed-region  < outputs.json
      Prints the region of the stack that `terraform output -json` describes (its region output,
      or its function's ARN for a stack deployed before that output); nothing without a stack.
  settings.py check-plan ZIP [--webhook] [--secret]  < plan.json
      Exit 3, printing the import commands, when the plan would create a function, role or log
      group that exists outside the state; exit 1 when it would write a webhook parameter (a
      new one, or a raised version) whose value this run did not give.
"""

import argparse
import json
import os
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
    # A write-only value is written when its version changes: each given value raises its own
    # (unless --set already did).
    for given_now, switch, version in ((args.webhook, "webhook_enabled", "webhook_version"),
                                       (args.secret, "webhook_signed", "webhook_secret_version")):
        if given_now:
            new[switch] = True
        before, value = old.get(version, 0), new.get(version, 0)
        new[version] = before + 1 if given_now and value == before else max(value, 1)
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


def target(args):
    saved = json.load(open(args.file)) if os.path.exists(args.file) else {}
    given = {k: v for k, v in (("region", args.region), ("profile", args.profile)) if v}
    if given:
        save(args.file, dict(saved, **given))
    use = dict(saved, **given)
    print(f"{use.get('region', '')}\t{use.get('profile', '')}")
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


def deployed_region(_args):
    outputs = json.load(sys.stdin)
    arn = outputs.get("function_arn", {}).get("value") or ""
    print(outputs.get("region", {}).get("value") or (arn.split(":")[3] if arn.count(":") >= 3 else ""))
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
    t = sub.add_parser("target")
    t.add_argument("file")
    t.add_argument("--region")
    t.add_argument("--profile")
    sub.add_parser("deployed-region")
    args = parser.parse_args()
    return {"write": write, "check-plan": check_plan, "target": target, "deployed-region": deployed_region}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
