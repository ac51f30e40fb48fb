#!/usr/bin/env python3
"""Small AWS steps for demo.sh against the emulator (AWS_ENDPOINT_URL), and plain-words
renderings of what the function and the webhook receiver said. Needs boto3 (moto brings it)."""

import json
import sys

import boto3


def ec2():
    return boto3.client("ec2")


def r53():
    return boto3.client("route53")


def zone(name):
    out = r53().create_hosted_zone(Name=name, CallerReference=f"demo-{name}")
    print(out["HostedZone"]["Id"].split("/")[-1])


def instance():
    out = ec2().run_instances(ImageId="ami-12c6146b", InstanceType="t3.micro", MinCount=1, MaxCount=1)
    print(out["Instances"][0]["InstanceId"])


def ip(instance_id):
    out = ec2().describe_instances(InstanceIds=[instance_id])
    i = out["Reservations"][0]["Instances"][0]
    print(f"{i['State']['Name']} {i.get('PublicIpAddress', '-')}")


def stop(instance_id):
    ec2().stop_instances(InstanceIds=[instance_id])


def start(instance_id):
    ec2().start_instances(InstanceIds=[instance_id])


def record(zone_id, name):
    name = name.rstrip(".") + "."
    sets = r53().list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=name)["ResourceRecordSets"]
    found = [s for s in sets if s["Name"] == name and s["Type"] == "A"]
    if not found:
        print("(no record)")
    else:
        s = found[0]
        print(f"{name.rstrip('.')} A {', '.join(r['Value'] for r in s['ResourceRecords'])} (TTL {s['TTL']})")


def set_record(zone_id, name, value):
    r53().change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{
        "Action": "UPSERT",
        "ResourceRecordSet": {"Name": name, "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": value}]},
    }]})


def lambda_env(function):
    """The deployed function's environment, one NAME=VALUE per line."""
    out = boto3.client("lambda").get_function_configuration(FunctionName=function)
    cfg = out["Environment"]["Variables"]
    for k, v in sorted(cfg.items()):
        print(f"{k}={v}")
    print(f"# runtime={out['Runtime']} arch={','.join(out.get('Architectures', []))} handler={out['Handler']}", file=sys.stderr)


def answer():
    """Renders one harness answer line (stdin) in plain words."""
    a = json.loads(sys.stdin.readline())
    body = a.get("body") or {}
    timing = f"{body.get('aws_calls', 0)} AWS calls, {a.get('wall_ms', 0):.0f} ms"
    if not a.get("ok"):
        print(f"failed: {body.get('errorType')}: {body.get('errorMessage')}")
        return 1
    changes = body.get("changes", [])
    if not changes:
        print(f"in sync, nothing to change ({timing})")
    for c in changes:
        old, new = c.get("old") or "(none)", c.get("new") or "(deleted)"
        print(f"{c['action']}d {c['name']} {c['type']}: {old} -> {new} ({timing})")
    return 0


def alerts(path, seen):
    """Prints alerts received after the first SEEN lines of PATH; prints the new count last."""
    try:
        lines = open(path).read().splitlines()
    except FileNotFoundError:
        lines = []
    new = lines[int(seen):]
    if not new:
        print("(no alert)")
    for line in new:
        body = json.loads(line)["body"]
        text = body.get("text") or body.get("content") or json.dumps(body)
        print(" | ".join(text.splitlines()))
    print(len(lines), file=sys.stderr)


COMMANDS = {f.__name__.replace("_", "-"): f for f in [zone, instance, ip, stop, start, record, set_record, lambda_env, answer, alerts]}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(f"usage: demo_aws.py {{{','.join(COMMANDS)}}} ARGS...", file=sys.stderr)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]) or 0)
