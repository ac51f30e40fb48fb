#!/usr/bin/env python3
"""Side-by-side benchmark of dynamic-dns-updater against the Python/boto3 baseline, both run as
Lambda runs them (tests/support/lambda_harness.py) against one moto server. Called by bench.sh.

For each of --runs rounds, alternating the functions: a fresh process (cold start), one invocation that
brings the record in sync, then --warm in-sync invocations. Reported figures are medians over
rounds (cold start, warm CPU and wall time) and the peak RSS. AWS calls per invocation are
counted by a proxy in front of moto, on a separate round so that it never skews the timings.

With --floor, a third function takes part in the same rounds: bench/sdk_floor.rs, which makes
the same two AWS calls through lambda_runtime and the SDK, with every optional client layer off,
and nothing else. Its figures are the floor that the dependencies set under our own.
"""

import argparse
import http.client
import http.server
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.join(HERE, "..", "tests", "support", "lambda_harness.py")
# moto as Route53 behaves (moto_server's arguments follow), run by this Python, which has moto.
MOTO = [sys.executable, os.path.join(HERE, "..", "tests", "support", "moto_route53.py")]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port):
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


class CountingProxy:
    """Forwards to moto and counts the requests that pass."""

    def __init__(self, upstream):
        proxy = self
        self.count = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def forward(self):
                proxy.count += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def run_round(command, env, events, log):
    """Runs one fresh process through the harness; returns its JSON lines."""
    proc = subprocess.run(
        [sys.executable, HARNESS, "--log", log, "--"] + command,
        input="".join(json.dumps(e) + "\n" for e in events),
        capture_output=True, text=True, env=env, timeout=600,
    )
    lines = [json.loads(l) for l in proc.stdout.splitlines() if l.strip()]
    if not lines or not lines[0].get("ready"):
        raise SystemExit(f"{command[0]} did not start: {proc.stdout} {proc.stderr}\n{open(log).read()[-2000:]}")
    bad = [l for l in lines[1:] if not l.get("ok")]
    if bad:
        raise SystemExit(f"{command[0]} failed: {bad[0]}\n{open(log).read()[-2000:]}")
    return lines


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ours", required=True, help="the function binary (release build)")
    p.add_argument("--ours-zip", required=True)
    p.add_argument("--baseline-zip", required=True)
    p.add_argument("--floor", help="the SDK floor function (bench/sdk_floor.rs, release build)")
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--warm", type=int, default=20)
    p.add_argument("--work", required=True)
    p.add_argument("--output", help="write the report (markdown) here too")
    args = p.parse_args()

    port = free_port()
    moto = subprocess.Popen([*MOTO, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        base_env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="bench",
                        AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
                        AWS_EC2_METADATA_DISABLED="true")
        base_env.pop("AWS_PROFILE", None)
        os.environ.update(base_env)
        zone = boto3.client("route53").create_hosted_zone(Name="example.com", CallerReference="bench")["HostedZone"]["Id"].split("/")[-1]
        instance = boto3.client("ec2").run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
        # DDNS_OWNER_ID as the Terraform module always sets it (without it, start-up asks STS for the account).
        config = {"INSTANCE_ID": instance, "HOSTED_ZONE_ID": zone, "RECORD_NAME": "app.example.com", "DDNS_OWNER_ID": "bench"}
        event = {"version": "0", "id": "bench", "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
                 "resources": [], "detail": {}}
        impls = {
            "dynamic-dns-updater": [args.ours],
            "Python baseline": [sys.executable, os.path.join(args.work, "baseline", "bootstrap.py")],
        }
        if args.floor:
            impls["SDK floor"] = [args.floor]
        # The baseline runs from its unpacked zip, with the boto3 it ships.
        results = {name: {"cold": [], "cpu": [], "wall": [], "rss": []} for name in impls}
        for r in range(args.runs):
            for name, command in impls.items():
                env = dict(base_env, **config)
                if name == "Python baseline":
                    env["PYTHONPATH"] = os.path.join(args.work, "baseline")
                lines = run_round(command, env, [event] * (1 + args.warm), os.path.join(args.work, f"{r}.log"))
                warm = lines[2:]
                res = results[name]
                res["cold"].append(lines[0]["cold_start_ms"])
                res["cpu"].append(statistics.median(l["cpu_ms"] for l in warm))
                res["wall"].append(statistics.median(l["wall_ms"] for l in warm))
                res["rss"].append(max(l["rss_kb"] for l in lines[1:]))
        # AWS calls per in-sync invocation, through the counting proxy.
        calls = {}
        for name, command in impls.items():
            if name == "SDK floor":
                continue
            proxy = CountingProxy(port)
            env = dict(base_env, **config, AWS_ENDPOINT_URL=f"http://127.0.0.1:{proxy.port}")
            if name == "Python baseline":
                env["PYTHONPATH"] = os.path.join(args.work, "baseline")
            run_round(command, env, [event], os.path.join(args.work, "calls.log"))
            before = proxy.count
            run_round(command, env, [event], os.path.join(args.work, "calls.log"))
            calls[name] = proxy.count - before
            proxy.server.shutdown()
    finally:
        moto.kill()
        moto.wait()

    ours, base = results["dynamic-dns-updater"], results["Python baseline"]
    med = statistics.median
    zip_ours, zip_base = os.path.getsize(args.ours_zip), os.path.getsize(args.baseline_zip)
    rows = [
        ("Cold start (process start to first poll)", f"{med(ours['cold']):.1f} ms", f"{med(base['cold']):.1f} ms",
         med(base["cold"]) / med(ours["cold"]), 40),
        ("Own CPU per warm invocation", f"{med(ours['cpu']):.2f} ms", f"{med(base['cpu']):.2f} ms",
         med(base["cpu"]) / max(med(ours["cpu"]), 1e-3), 5),
        ("Wall time per warm invocation", f"{med(ours['wall']):.1f} ms", f"{med(base['wall']):.1f} ms",
         med(base["wall"]) / med(ours["wall"]), None),
        ("Peak RSS", f"{max(ours['rss']) / 1024:.1f} MiB", f"{max(base['rss']) / 1024:.1f} MiB",
         max(base["rss"]) / max(ours["rss"]), 7),
        ("AWS calls per in-sync invocation", str(calls["dynamic-dns-updater"]), str(calls["Python baseline"]),
         calls["Python baseline"] / max(calls["dynamic-dns-updater"], 1), None),
        ("Deployment zip", f"{zip_ours / 1e6:.2f} MB", f"{zip_base / 1e6:.2f} MB", zip_base / zip_ours, 4),
    ]
    out = ["| Measure | dynamic-dns-updater | Python baseline | Ratio | Target |", "| --- | --- | --- | --- | --- |"]
    met = True
    for label, a, b, ratio, target in rows:
        verdict = "" if target is None else (f"≥ {target}× {'met' if ratio >= target else 'NOT met'}")
        met &= target is None or ratio >= target
        out.append(f"| {label} | {a} | {b} | {ratio:.1f}× | {verdict} |")
    if args.floor:
        floor = results["SDK floor"]
        cpu_floor = med(floor["cpu"])
        out += ["", "The floor under warm CPU: the same two AWS calls through lambda_runtime and the SDK, with every",
                "optional client layer off and nothing else (bench/sdk_floor.rs), measured in the same rounds:", "",
                "| Measure | SDK floor | dynamic-dns-updater | Python baseline | Baseline / floor |",
                "| --- | --- | --- | --- | --- |",
                f"| Own CPU per warm invocation | {cpu_floor:.2f} ms | {med(ours['cpu']):.2f} ms | {med(base['cpu']):.2f} ms "
                f"| {med(base['cpu']) / max(cpu_floor, 1e-3):.1f}× |",
                f"| Wall time per warm invocation | {med(floor['wall']):.1f} ms | {med(ours['wall']):.1f} ms | "
                f"{med(base['wall']):.1f} ms | {med(base['wall']) / med(floor['wall']):.1f}× |"]
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    machine = f"{platform.system()} {platform.release()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"
    report = "\n".join(out) + f"\n\nMedians of {args.runs} rounds, {args.warm} warm invocations each; moto in server mode on loopback.\nMachine: {machine}.\n"
    print(report)
    if args.output:
        with open(args.output, "w") as f:
            f.write(report)
    return 0 if met else 3


if __name__ == "__main__":
    sys.exit(main())
