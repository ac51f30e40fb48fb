#!/usr/bin/env python3
"""Fleet sweeps at 10,000 tagged instances, and three names of ours in a zone of 20,000 foreign
record sets, with the release binary run as Lambda runs it (tests/support/lambda_harness.py).
Called by `./bench.sh --fleet-10k`; runs alone as well (see --help).

EC2 is bench/ec2_pages.py: recorded pages of EC2's XML on loopback, since moto takes more than
60 s for one page of 1,000 out of 10,000 instances. Route53 is moto. The function finds each
through the SDK's own variables: AWS_ENDPOINT_URL_EC2 for EC2, AWS_ENDPOINT_URL for the rest.

Three cases, each its own function process, its own fleet and its own zones in one moto:
  one      1 tagged instance in 1 zone: the memory that is not per record
  fleet    10,000 tagged instances (and 5,000 untagged that the tag-key filter leaves out), their
           names spread over 4 zones: the first sweep (creates every record and marker), then an
           in-sync sweep. Every record is then read back from moto and checked
  zone     20,000 foreign record sets in one zone plus 3 tagged names in it: the first sweep
           (reads the zone whole), then warm in-sync sweeps (only its names; target ≤ 4 calls)
Per sweep: wall time, own CPU, AWS calls (the function's count, and the EC2 requests the pages
server answered), changes, errors, and peak RSS (VmHWM, reset before each sweep after the first,
so the first sweep's figure includes start-up). Memory per record is the fleet's peak RSS less
the one-instance case's, over the number of names.

Exit status: 1 when a sweep fails or what it wrote is wrong, 3 when a target is not met.
"""

import argparse
import datetime
import json
import os
import platform
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import boto3

from bench import MOTO, free_port, wait_port

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
HARNESS = os.path.join(ROOT, "tests", "support", "lambda_harness.py")
PAGES = os.path.join(HERE, "ec2_pages.py")
EVENT = os.path.join(ROOT, "tests", "fixtures", "scheduled-event.json")
TAG_KEY = "ddns:name"
FLEET_ZONES = ["a.example.test", "b.example.test", "c.example.test", "d.example.test"]
OURS_IN_BIG_ZONE = ["app1", "db1", "web1"]  # before, among and after the foreign names
WARM_IN_SYNC_TARGET = 4
# The most a 10,000-instance fleet's sweep may hold at its peak (issue: scale).
PEAK_RSS_TARGET_MIB = 64
# Variables of the caller's environment that would change what the function does.
CLEARED = ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_SESSION_TOKEN", "INSTANCE_ID",
           "HOSTED_ZONE_ID", "RECORD_NAME", "WEBHOOK_URL", "RUST_LOG")


def public_ip(n):
    """The public address bench/ec2_pages.py gives instance number n of its fleet."""
    return f"54.{160 + n // 65536}.{n // 256 % 256}.{n % 256}"


class Pages:
    """bench/ec2_pages.py serving one fleet: `names` in order, None for an untagged instance."""

    def __init__(self, names, work, label):
        path = os.path.join(work, f"{label}.fleet")
        with open(path, "w") as f:
            f.writelines(f"{name or '-'}\n" for name in names)
        self.err = open(os.path.join(work, f"{label}.pages.log"), "wb")
        self.proc = subprocess.Popen([sys.executable, PAGES, "--names", path, "--tag-key", TAG_KEY],
                                     stdout=subprocess.PIPE, stderr=self.err, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"ec2_pages.py did not start; see {self.err.name}")
        self.info = json.loads(line)
        self.url = f"http://127.0.0.1:{self.info['port']}"

    def count(self):
        with urllib.request.urlopen(self.url + "/_count", timeout=10) as r:
            return json.load(r)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()


class Function:
    """One function process under the Runtime API harness, invoked one event at a time."""

    def __init__(self, binary, env, log, deadline_ms):
        self.deadline_s = deadline_ms / 1000
        self.harness = subprocess.Popen(
            [sys.executable, HARNESS, "--deadline-ms", str(deadline_ms), "--log", log, "--", binary],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.log = log
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        first = self._next(60)
        if not first.get("ready"):
            raise SystemExit(f"the function did not start: {first}\n{self.tail()}")
        self.cold_start_ms = first["cold_start_ms"]

    def _read(self):
        for line in self.harness.stdout:
            if line.strip():
                self.lines.put(json.loads(line))
        self.lines.put(None)

    def _next(self, timeout):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise SystemExit(f"no answer within {timeout:.0f} s\n{self.tail()}")
        if line is None:
            raise SystemExit(f"the harness ended early (exit {self.harness.wait()})\n{self.tail()}")
        return line

    def tail(self):
        try:
            with open(self.log, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log) - 3000))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def pid(self):
        """The function's own process: the harness's only child."""
        with open(f"/proc/{self.harness.pid}/task/{self.harness.pid}/children") as f:
            return int(f.read().split()[0])

    def reset_peak(self):
        """Sets VmHWM back to the current RSS, so the next figure is this sweep's own peak."""
        try:
            with open(f"/proc/{self.pid()}/clear_refs", "w") as f:
                f.write("5")
            return True
        except (OSError, ValueError, IndexError):
            return False

    def invoke(self, event):
        self.harness.stdin.write(json.dumps(event) + "\n")
        self.harness.stdin.flush()
        return self._next(self.deadline_s + 120)

    def stop(self):
        try:
            self.harness.stdin.close()
        except OSError:
            pass
        try:
            self.harness.wait(30)
        except subprocess.TimeoutExpired:
            self.harness.kill()
            self.harness.wait()


def sweep(function, pages, event, label, reset):
    peak_reset = function.reset_peak() if reset else False
    before = pages.count()
    line = function.invoke(event)
    after = pages.count()
    body = line.get("body") or {}
    if not line.get("ok"):
        raise SystemExit(f"{label}: the invocation failed: {json.dumps(body)[:2000]}\n{function.tail()}")
    return {
        "sweep": label,
        "wall_ms": line["wall_ms"],
        "cpu_ms": line["cpu_ms"],
        "rss_kb": line["rss_kb"],
        "peak_reset": peak_reset,
        "aws_calls": body.get("aws_calls"),
        "ec2_requests": after["requests"] - before["requests"],
        "ec2_instances": after["instances_served"] - before["instances_served"],
        "changes": len(body.get("changes") or []),
        "failed_changes": sum(1 for c in body.get("changes") or [] if c.get("status") == "failed"),
        "unchanged": body.get("unchanged"),
        "markers_changed": body.get("markers_changed"),
        "errors": body.get("errors") or [],
        "problems": body.get("problems") or [],
        "answer_bytes": len(json.dumps(body)),
    }


def zone_records(r53, zone):
    out = []
    for page in r53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone):
        out += page["ResourceRecordSets"]
    return out


def check_zone(r53, zone, expected, foreign=0):
    """Problems with what the function wrote: every expected name's A record with its address and
    its ownership marker, nothing else of ours, and the foreign record sets untouched."""
    problems = []
    records = zone_records(r53, zone)
    a = {r["Name"]: [v["Value"] for v in r.get("ResourceRecords", [])] for r in records if r["Type"] == "A"}
    markers = {r["Name"] for r in records if r["Type"] == "TXT" and r["Name"].startswith("_ddns-owner.")}
    for name, ip in expected.items():
        if a.get(name) != [ip]:
            problems.append(f"{name}: A {a.get(name)}, expected [{ip}]")
        if f"_ddns-owner.{name}" not in markers:
            problems.append(f"{name}: no ownership marker")
    if len(markers) != len(expected):
        problems.append(f"{len(markers)} markers for {len(expected)} names")
    if len(a) != len(expected) + foreign:
        problems.append(f"{len(a)} A records, expected {len(expected)} of ours and {foreign} foreign")
    return problems[:10], len(records)


def fleet_names(instances, untagged):
    """Instance order as the pages server numbers them: the untagged spread evenly among the tagged,
    the names taking the four zones in turn. Returns the fleet and {name: address}."""
    fleet, expected = [], {}
    t = u = 0
    while t < instances or u < untagged:
        # Keep untagged/tagged at the asked ratio as the fleet is laid out.
        if u < untagged and (t >= instances or u * instances < t * untagged):
            fleet.append(None)
            u += 1
        else:
            name = f"host-{t:05d}.{FLEET_ZONES[t % len(FLEET_ZONES)]}"
            expected[name + "."] = public_ip(len(fleet))
            fleet.append(name)
            t += 1
    return fleet, expected


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", required=True, help="the function (release build: target/release/dynamic-dns-updater)")
    p.add_argument("--instances", type=int, default=10_000, help="tagged instances in the fleet case (default 10000)")
    p.add_argument("--untagged", type=int, help="untagged instances beside them (default half as many)")
    p.add_argument("--foreign", type=int, default=20_000, help="foreign record sets in the zone case (default 20000)")
    p.add_argument("--warm", type=int, default=3, help="warm in-sync sweeps in the zone case (default 3)")
    p.add_argument("--deadline-ms", type=int, default=900_000,
                   help="each invocation's time, as Lambda's deadline (default 900000, Lambda's longest)")
    p.add_argument("--work", help="directory for the logs, kept (default: a temporary one, kept only on failure)")
    p.add_argument("--output", help="write the report (markdown) here too")
    p.add_argument("--json", help="write every figure (JSON) here")
    args = p.parse_args()
    untagged = args.instances // 2 if args.untagged is None else args.untagged
    args.binary = os.path.abspath(args.binary)
    if not (os.path.isfile(args.binary) and os.access(args.binary, os.X_OK)):
        raise SystemExit(f"no function binary at {args.binary}: build it first (cargo build --release --locked)")
    work = args.work or tempfile.mkdtemp(prefix="ddns-scale-10k.")
    os.makedirs(work, exist_ok=True)
    # Every case runs this copy, so a rebuild during the run cannot mix two binaries.
    built = os.stat(args.binary)
    binary = os.path.join(work, "dynamic-dns-updater")
    shutil.copy2(args.binary, binary)
    with open(EVENT) as f:
        event = json.load(f)

    port = free_port()
    moto_log = open(os.path.join(work, "moto.log"), "wb")
    moto = subprocess.Popen([*MOTO, "-H", "127.0.0.1", "-p", str(port)], stdout=moto_log, stderr=moto_log)
    started = []
    failures = []
    results = {}
    try:
        wait_port(port)
        moto_url = f"http://127.0.0.1:{port}"
        aws = dict(region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench")
        r53 = boto3.client("route53", endpoint_url=moto_url, **aws)

        def zone(name):
            z = r53.create_hosted_zone(Name=name, CallerReference=f"bench-{name}")
            return z["HostedZone"]["Id"].split("/")[-1]

        def run(label, names, zones, sweeps):
            """Starts the pages server and the function for one case, and sweeps."""
            pages = Pages(names, work, label)
            started.append(pages)
            env = {k: v for k, v in os.environ.items()
                   if k not in CLEARED and not k.startswith(("DDNS_", "AWS_ENDPOINT_URL"))}
            env.update(AWS_ENDPOINT_URL=moto_url, AWS_ENDPOINT_URL_EC2=pages.url, AWS_ACCESS_KEY_ID="bench",
                       AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
                       AWS_EC2_METADATA_DISABLED="true", DDNS_OWNER_ID="bench", DDNS_TAG_KEY=TAG_KEY,
                       DDNS_ZONES=",".join(zones), DDNS_TIMEOUT=f"{args.deadline_ms // 60_000 or 1}m")
            function = Function(binary, env, os.path.join(work, f"{label}.log"), args.deadline_ms)
            started.append(function)
            rows = []
            try:
                for n, sweep_label in enumerate(sweeps):
                    print(f"  {label}: {sweep_label} sweep ...", file=sys.stderr, flush=True)
                    rows.append(sweep(function, pages, event, sweep_label, reset=n > 0))
                    r = rows[-1]
                    print(f"    {r['wall_ms'] / 1000:.2f} s, {r['aws_calls']} AWS calls ({r['ec2_requests']} EC2), "
                          f"{r['changes']} changes, {len(r['errors'])} errors, {r['rss_kb'] / 1024:.1f} MiB",
                          file=sys.stderr, flush=True)
            finally:
                function.stop()
                pages.stop()
            for r in rows:
                if r["errors"] or r["failed_changes"]:
                    failures.append(f"{label}, {r['sweep']} sweep: {r['failed_changes']} changes failed, "
                                    f"errors {json.dumps(r['errors'])[:500]}")
            return {"cold_start_ms": function.cold_start_ms, "pages": pages.info, "sweeps": rows}

        # One instance: the memory that does not grow with the records.
        print("==> one tagged instance, one zone", file=sys.stderr, flush=True)
        one = zone("one.example.test")
        results["one"] = run("one", ["host-00000.one.example.test"], [one], ["first", "in-sync"])

        # The fleet.
        print(f"==> {args.instances} tagged instances ({untagged} untagged beside them), {len(FLEET_ZONES)} zones",
              file=sys.stderr, flush=True)
        names, expected = fleet_names(args.instances, untagged)
        zones = [zone(z) for z in FLEET_ZONES]
        results["fleet"] = fleet = run("fleet", names, zones, ["first", "in-sync"])
        first, second = fleet["sweeps"]
        if first["changes"] < args.instances:
            failures.append(f"fleet, first sweep: {first['changes']} changes for {args.instances} names")
        if second["changes"] or second["unchanged"] != args.instances:
            failures.append(f"fleet, in-sync sweep: {second['changes']} changes, {second['unchanged']} unchanged")
        t0 = time.monotonic()
        fleet["record_sets"] = 0
        # As tests/scale.rs counts it: one DescribeInstances page per 1,000 tagged instances, and
        # one listing page per 300 record sets in each zone.
        fleet["minimum"] = -(-args.instances // 1000)
        for z, domain in zip(zones, FLEET_ZONES):
            want = {n: ip for n, ip in expected.items() if n.endswith(f".{domain}.")}
            problems, count = check_zone(r53, z, want)
            fleet["record_sets"] += count
            fleet["minimum"] += -(-count // 300)
            failures += [f"fleet, zone {domain}: {x}" for x in problems]
        fleet["check_secs"] = time.monotonic() - t0

        # Three names of ours among 20,000 foreign record sets.
        print(f"==> {len(OURS_IN_BIG_ZONE)} tagged names in a zone of {args.foreign} foreign record sets",
              file=sys.stderr, flush=True)
        big = zone("big.example.test")
        t0 = time.monotonic()
        for start in range(0, args.foreign, 1000):
            changes = [{"Action": "CREATE", "ResourceRecordSet": {
                "Name": f"host-{i:05d}.big.example.test", "Type": "A", "TTL": 300,
                "ResourceRecords": [{"Value": f"192.0.2.{i % 254 + 1}"}]}} for i in range(start, min(start + 1000, args.foreign))]
            r53.change_resource_record_sets(HostedZoneId=big, ChangeBatch={"Changes": changes})
        seed_secs = time.monotonic() - t0
        names = [f"{n}.big.example.test" for n in OURS_IN_BIG_ZONE]
        results["zone"] = big_zone = run("zone", names, [big], ["first"] + ["warm, in-sync"] * args.warm)
        big_zone["seed_secs"] = seed_secs
        big_zone["seed_calls"] = -(-args.foreign // 1000)
        problems, count = check_zone(r53, big, {f"{n}.": public_ip(i) for i, n in enumerate(names)}, args.foreign)
        big_zone["record_sets"] = count
        failures += [f"zone: {x}" for x in problems]
        for r in big_zone["sweeps"][1:]:
            if r["changes"]:
                failures.append(f"zone, {r['sweep']} sweep: {r['changes']} changes")
    except SystemExit:
        print(f"logs: {work}", file=sys.stderr)
        raise
    finally:
        for thing in reversed(started):
            try:
                thing.stop()
            except Exception:
                pass
        moto.kill()
        moto.wait()
        moto_log.close()

    report, met = render(args, untagged, results, built)
    if failures:
        report += "\nFAILED:\n" + "".join(f"- {f}\n" for f in failures)
    print(report)
    if args.output:
        with open(args.output, "w") as f:
            f.write(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "failures": failures}, f, indent=1)
    if failures or args.work:
        print(f"logs: {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        return 1
    return 0 if met else 3


def render(args, untagged, results, st):
    mib = lambda kb: f"{kb / 1024:.1f} MiB"
    one, fleet, big = results["one"], results["fleet"], results["zone"]
    rows = [
        ("1 tagged instance, 1 zone", one),
        (f"{args.instances:,} tagged (+{untagged:,} untagged), {len(FLEET_ZONES)} zones", fleet),
        (f"{len(OURS_IN_BIG_ZONE)} tagged names in a zone of {args.foreign:,} foreign record sets", big),
    ]
    out = ["| Case | Sweep | Wall time | Own CPU | AWS calls | of them EC2 | Changes | Unchanged | Errors | Peak RSS |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for label, case in rows:
        for r in case["sweeps"]:
            out.append(f"| {label} | {r['sweep']} | {r['wall_ms'] / 1000:.2f} s | {r['cpu_ms'] / 1000:.2f} s | "
                       f"{r['aws_calls']} | {r['ec2_requests']} | {r['changes']:,} | {r['unchanged']:,} | "
                       f"{len(r['errors'])} | {mib(r['rss_kb'])} |")
    f1, f2 = fleet["sweeps"]
    o1, o2 = one["sweeps"]
    per_first = (f1["rss_kb"] - o1["rss_kb"]) / args.instances
    per_sync = (f2["rss_kb"] - o2["rss_kb"]) / args.instances
    warm = [r["aws_calls"] for r in big["sweeps"][1:]]
    warm_met = bool(warm) and max(warm) <= WARM_IN_SYNC_TARGET
    peak_mib = max(f1["rss_kb"], f2["rss_kb"]) / 1024
    rss_met = peak_mib <= PEAK_RSS_TARGET_MIB
    met = warm_met and rss_met and f2["aws_calls"] <= fleet["minimum"]
    out += [
        "",
        f"- Peak RSS of the {args.instances:,}-instance sweeps: {peak_mib:.1f} MiB; target ≤ {PEAK_RSS_TARGET_MIB} MiB: "
        f"{'met' if rss_met else 'NOT met'}.",
        f"- Memory per record: ({mib(f1['rss_kb'])} − {mib(o1['rss_kb'])}) / {args.instances:,} names = "
        f"{per_first:.2f} KiB per name in the first sweep; {per_sync:.2f} KiB in the in-sync sweep "
        f"({mib(f2['rss_kb'])} against {mib(o2['rss_kb'])}). Each name is an A record and its ownership marker.",
        f"- In-sync sweep of the fleet: {f2['aws_calls']} AWS calls against a minimum of {fleet['minimum']} "
        f"({'met' if f2['aws_calls'] <= fleet['minimum'] else 'NOT met'}) "
        f"(one DescribeInstances page per 1,000 tagged instances, one listing page per 300 record sets in "
        f"each zone: {fleet['record_sets']:,} record sets, the names, their markers, each zone's SOA and NS).",
        f"- Warm in-sync sweep of {len(OURS_IN_BIG_ZONE)} names in a zone of {args.foreign:,} foreign record sets: "
        f"{', '.join(map(str, warm))} AWS calls; target ≤ {WARM_IN_SYNC_TARGET}: {'met' if warm_met else 'NOT met'}. "
        f"The first sweep read the zone whole ({big['record_sets']:,} record sets after it).",
        f"- The first fleet sweep's answer is {f1['answer_bytes'] / 1e6:.2f} MB of JSON "
        f"({f1['changes']:,} changes listed); Lambda's Runtime API takes at most 6 MB.",
        f"- EC2 from bench/ec2_pages.py ({fleet['pages']['instances']:,} instances, "
        f"{fleet['pages']['bytes_per_instance']:,} bytes of XML each as moto writes them, "
        f"{f1['ec2_instances']:,} tagged ones served per sweep); Route53 in moto. Cold start "
        f"{fleet['cold_start_ms']:.1f} ms. The fleet's {fleet['record_sets']:,} record sets were read back "
        f"and checked in {fleet['check_secs']:.1f} s.",
        f"- Set-up: {args.foreign:,} foreign record sets took {big['seed_secs']:.1f} s to create in moto "
        f"({big['seed_calls']} ChangeResourceRecordSets of 1,000).",
        "- Peak RSS is VmHWM: the first sweep's includes start-up; before each later sweep it is reset to the "
        "resident size, so it is that sweep's own peak over what the process kept."
        + ("" if all(r["peak_reset"] for c in results.values() for r in c["sweeps"][1:]) else
           " (The reset failed here, so later figures are the process's peak so far.)"),
    ]
    built = datetime.datetime.fromtimestamp(st.st_mtime, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    shown = os.path.relpath(args.binary, ROOT) if args.binary.startswith(ROOT + os.sep) else args.binary
    out += ["", f"Binary: {shown} "
                f"({st.st_size / 1e6:.1f} MB, built {built}). Deadline {args.deadline_ms / 1000:.0f} s per invocation.",
            f"Machine: {platform.system()} {platform.release()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), "
            f"Python {platform.python_version()}."]
    return "\n".join(out) + "\n", met


if __name__ == "__main__":
    sys.exit(main())
