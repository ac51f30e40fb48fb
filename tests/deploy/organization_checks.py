#!/usr/bin/env python3
"""Checks of examples/organization applied against moto, run by tests/deploy/run.sh (organization).

The central account is the credentials' own (moto's 123456789012); each member is reached as
Terraform reaches it, by assuming a role in its account, which moto answers with that account's
credentials. Each subcommand prints one "ok - ..." or "not ok - ..." line per check (through
moto_checks.py, whose pattern probe it reuses) and exits non-zero if any failed.
"""

import argparse
import json
import os
import sys

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moto_checks  # noqa: E402  (beside this file)
from moto_checks import ADDRESS_CALLS, STATES_OF_INTEREST, as_list, check, finish  # noqa: E402

STATE_CHANGE = "EC2 Instance State-change Notification"
CLOUDTRAIL = "AWS API Call via CloudTrail"
SPOT = "EC2 Spot Instance Interruption Warning"
TAG_CHANGE = "Tag Change on Resource"
INSTANCE = "i-0123456789abcdef0"


def member_session(account, region, access_role):
    """A session in a member account, as the example's provider aliases make one."""
    creds = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{access_role}", RoleSessionName="ddns-tests")["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name=region)


def probes(tag_keys):
    """Per kind of rule: events the function acts on, which must come through, and events it
    does not, which must not. Shaped as AWS sends them."""
    def tag(changed, service="ec2"):
        return {"changed-tag-keys": changed, "service": service, "resource-type": "instance", "version": 1}

    def call(name, source="ec2.amazonaws.com"):
        return {"eventSource": source, "eventName": name, "requestParameters": {"instanceId": INSTANCE}}
    return {
        "ec2-state": (
            [(s, "aws.ec2", STATE_CHANGE, {"instance-id": INSTANCE, "state": s}) for s in STATES_OF_INTEREST],
            [("pending", "aws.ec2", STATE_CHANGE, {"instance-id": INSTANCE, "state": "pending"})],
        ),
        "ec2-address": (
            [(n, "aws.ec2", CLOUDTRAIL, call(n)) for n in ADDRESS_CALLS],
            [("RunInstances", "aws.ec2", CLOUDTRAIL, call("RunInstances")),
             ("AssociateAddress from IAM", "aws.ec2", CLOUDTRAIL, call("AssociateAddress", "iam.amazonaws.com"))],
        ),
        "spot-warning": (
            [("interruption", "aws.ec2", SPOT, {"instance-id": INSTANCE, "instance-action": "terminate"})],
            [("rebalance", "aws.ec2", "EC2 Instance Rebalance Recommendation", {"instance-id": INSTANCE})],
        ),
        "tag-change": (
            [(f"{k} changed", "aws.tag", TAG_CHANGE, tag([k])) for k in tag_keys],
            [("Name changed", "aws.tag", TAG_CHANGE, tag(["Name"])),
             (f"{tag_keys[0]} of an RDS instance", "aws.tag", TAG_CHANGE, tag([tag_keys[0]], "rds"))],
        ),
    }


def prove_patterns(where, session, rule_of, tag_keys, on_bus="default"):
    """Each rule passes what the function acts on and nothing else, through moto_checks' probe
    (a probe rule with the rule's pattern on a bus of its own, to a queue), in the session's
    account and region."""
    moto_checks.client = session.client  # the probe makes its clients through this
    for kind, (matching, other) in probes(tag_keys).items():
        delivered = moto_checks.probe(rule_of(kind), matching + other, len(matching), on_bus=on_bus)
        check(delivered == sorted(label for label, *_ in matching),
              f"{where}: rule {rule_of(kind)} passes {', '.join(sorted(label for label, *_ in matching))}, "
              f"not {', '.join(label for label, *_ in other)}", delivered)


def policy_of(iam, role, name):
    doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    return json.loads(doc) if isinstance(doc, str) else doc


def applied(args):
    """What examples/organization created, in the central account and in each member."""
    name, tag_keys, members = args.name, args.tag_keys.split(","), json.loads(args.members)
    central = boto3.Session()
    account, region = central.client("sts").get_caller_identity()["Account"], central.region_name
    bus = f"{name}-members"
    bus_arn = f"arn:aws:events:{region}:{account}:event-bus/{bus}"
    central_role = f"arn:aws:iam::{account}:role/{name}-{region}"
    accounts = sorted({m["account_id"] for m in members})
    readers = [f"arn:aws:iam::{a}:role/{name}-reader" for a in accounts]

    # The central side: the bus, who may put events on it, its rules, the function's settings.
    events, lam, iam = (central.client(n) for n in ("events", "lambda", "iam"))
    policy = json.loads(events.describe_event_bus(Name=bus).get("Policy") or "{}")
    check(policy.get("Statement") == [{
        "Sid": "TargetAccountsForwardEvents", "Effect": "Allow",
        "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in accounts]},
        "Action": "events:PutEvents", "Resource": bus_arn,
    }], f"the bus {bus} lets the members' accounts, and no one else, put events on it", policy)
    rules = {r["Name"]: r for r in events.list_rules(EventBusName=bus)["Rules"]}
    kinds = ("ec2-state", "ec2-address", "spot-warning", "tag-change")
    check(sorted(rules) == sorted(f"{bus}-{k}" for k in kinds),
          f"the bus {bus} has a rule for state changes, address calls, Spot warnings and tag changes", sorted(rules))
    fn = lam.get_function_configuration(FunctionName=name)
    grants = json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]
    for rule in rules.values():
        targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
        check([t["Arn"] for t in targets] == [fn["FunctionArn"]], f"rule {rule['Name']} targets the function", targets)
        allowed = [g for g in grants if g.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn") == rule["Arn"]]
        check(len(allowed) == 1, f"rule {rule['Name']} may invoke the function (a permission scoped to its ARN)", grants)
    env = fn["Environment"]["Variables"]
    expected = [{"account_id": a, "role_arn": f"arn:aws:iam::{a}:role/{name}-reader",
                 "regions": [m["region"] for m in members if m["account_id"] == a], "external_id": args.external_id}
                for a in accounts]
    check(json.loads(env.get("DDNS_TARGETS", "[]")) == expected, "DDNS_TARGETS holds each member account, its regions, reader role and external id",
          env.get("DDNS_TARGETS"))
    check("DDNS_ROUTE53_ROLE_ARN" not in env, "no DDNS_ROUTE53_ROLE_ARN: the zone is the central account's", env)
    statements = policy_of(iam, f"{name}-{region}", "least-privilege")["Statement"]
    assume = [s for s in statements if "sts:AssumeRole" in as_list(s["Action"])]
    check(len(assume) == 1 and sorted(as_list(assume[0]["Resource"])) == readers,
          "the function may assume exactly the members' reader roles", assume)
    prove_patterns("central", central, lambda kind: f"{bus}-{kind}", tag_keys, on_bus=bus)

    # Each member: the forwarding rules, the role they forward with, and the reader role.
    for m in members:
        where = f"member {m['account_id']} {m['region']}"
        session = member_session(m["account_id"], m["region"], args.access_role)
        events, iam, ec2 = (session.client(n) for n in ("events", "iam", "ec2"))
        forward = f"arn:aws:iam::{m['account_id']}:role/{name}-forward-{m['region']}"
        rules = sorted(r["Name"] for r in events.list_rules(NamePrefix=f"{name}-")["Rules"])
        check(rules == sorted(f"{name}-{k}" for k in kinds), f"{where}: a forwarding rule for each kind of event", rules)
        for rule in rules:
            targets = events.list_targets_by_rule(Rule=rule)["Targets"]
            check([(t["Arn"], t.get("RoleArn")) for t in targets] == [(bus_arn, forward)],
                  f"{where}: rule {rule} forwards to the central bus with the forwarding role", targets)
        trust = iam.get_role(RoleName=f"{name}-forward-{m['region']}")["Role"]["AssumeRolePolicyDocument"]
        check(trust["Statement"][0]["Principal"] == {"Service": "events.amazonaws.com"}
              and trust["Statement"][0]["Condition"] == {"StringEquals": {"aws:SourceAccount": m["account_id"]}},
              f"{where}: only this account's EventBridge may use the forwarding role", trust)
        puts = policy_of(iam, f"{name}-forward-{m['region']}", "put-events-on-the-central-bus")["Statement"]
        check([(as_list(s["Action"]), as_list(s["Resource"])) for s in puts] == [(["events:PutEvents"], [bus_arn])],
              f"{where}: the forwarding role may put events on the central bus and nowhere else", puts)
        prove_patterns(where, session, lambda kind: f"{name}-{kind}", tag_keys)
        if not m.get("reader"):
            continue
        trust = iam.get_role(RoleName=f"{name}-reader")["Role"]["AssumeRolePolicyDocument"]
        check(trust["Statement"] == [{"Effect": "Allow", "Principal": {"AWS": central_role}, "Action": "sts:AssumeRole",
                                      "Condition": {"StringEquals": {"sts:ExternalId": args.external_id}}}],
              f"{where}: the reader role trusts the central function's role alone, with the external id", trust)
        reads = policy_of(iam, f"{name}-reader", "describe-instances")["Statement"]
        check([as_list(s["Action"]) for s in reads] == [["ec2:DescribeInstances"]],
              f"{where}: the reader role may call ec2:DescribeInstances and nothing else", reads)
        # What the function does with DDNS_TARGETS: assume the role, then describe. (moto does
        # not enforce trust policies; this shows the ARN leads to the member's instances.)
        image = ec2.describe_images()["Images"][0]["ImageId"]
        mine = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro")["Instances"][0]["InstanceId"]
        creds = boto3.client("sts").assume_role(RoleArn=f"arn:aws:iam::{m['account_id']}:role/{name}-reader",
                                                RoleSessionName="ddns", ExternalId=args.external_id)["Credentials"]
        reader = boto3.client("ec2", region_name=m["region"], aws_access_key_id=creds["AccessKeyId"],
                              aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
        seen = [i["InstanceId"] for r in reader.describe_instances()["Reservations"] for i in r["Instances"]]
        check(mine in seen and args.central_instance not in seen,
              f"{where}: through the reader role the member's instances are described, not the central account's", seen)
    return finish()


def members_gone(args):
    """Nothing of the members is left after the destroy."""
    for m in json.loads(args.members):
        session = member_session(m["account_id"], m["region"], args.access_role)
        rules = [r["Name"] for r in session.client("events").list_rules(NamePrefix=f"{args.name}-")["Rules"]]
        roles = [r["RoleName"] for r in session.client("iam").list_roles()["Roles"] if r["RoleName"].startswith(f"{args.name}-")]
        check(not rules and not roles, f"member {m['account_id']} {m['region']}: no rule or role of {args.name} is left", (rules, roles))
    buses = [b["Name"] for b in boto3.client("events").list_event_buses()["EventBuses"] if b["Name"].startswith(args.name)]
    check(not buses, f"the central account keeps no bus of {args.name}", buses)
    return finish()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for command, func in (("applied", applied), ("members-gone", members_gone)):
        p = sub.add_parser(command)
        p.add_argument("--name", required=True)
        p.add_argument("--members", required=True, help='JSON: [{"account_id", "region", "reader": true|false}, ...]')
        p.add_argument("--access-role", default="OrganizationAccountAccessRole")
        p.set_defaults(func=func)
        if command == "applied":
            p.add_argument("--tag-keys", required=True, help="comma-separated")
            p.add_argument("--external-id", required=True)
            p.add_argument("--central-instance", required=True, help="an instance of the central account")
    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
