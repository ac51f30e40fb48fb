"""The Python baseline: what the seed's Lambda does, with boto3. Describe one instance, look up
each record, UPSERT it when the address differs, and post a webhook when something changed.
Kept as the seed wrote it, with two mends so that both functions do the same work: it does not
crash on a stopped instance, and it adds the trailing dot before comparing names. Without the
second, a name written without the dot never matches, so every invocation would UPSERT and alert
again, and the baseline would be timed doing three calls where this project does two."""

import json
import os
import urllib.request

import boto3

ec2 = boto3.client("ec2")
route53 = boto3.client("route53")

INSTANCE_ID = os.environ["INSTANCE_ID"]
HOSTED_ZONE_ID = os.environ["HOSTED_ZONE_ID"]
RECORD_NAMES = [n.strip() for n in os.environ["RECORD_NAME"].split(",") if n.strip()]
WEBHOOK_URL = os.environ.get("WEBHOOK_URL")


def handler(event, context):
    reservations = ec2.describe_instances(InstanceIds=[INSTANCE_ID])["Reservations"]
    ip = reservations[0]["Instances"][0].get("PublicIpAddress")
    changes = []
    for name in RECORD_NAMES:
        fqdn = name if name.endswith(".") else name + "."
        found = route53.list_resource_record_sets(
            HostedZoneId=HOSTED_ZONE_ID, StartRecordName=fqdn, StartRecordType="A", MaxItems="1"
        )["ResourceRecordSets"]
        current = None
        if found and found[0]["Name"] == fqdn and found[0]["Type"] == "A":
            current = found[0]["ResourceRecords"][0]["Value"]
        if ip and current != ip:
            route53.change_resource_record_sets(
                HostedZoneId=HOSTED_ZONE_ID,
                ChangeBatch={"Changes": [{
                    "Action": "UPSERT",
                    "ResourceRecordSet": {"Name": fqdn, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": ip}]},
                }]},
            )
            changes.append({"name": name, "old": current, "new": ip})
    if changes and WEBHOOK_URL:
        body = json.dumps({"content": f"DNS updated: {changes}"}).encode()
        req = urllib.request.Request(WEBHOOK_URL, data=body, headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).read()
    return {"changes": changes}
