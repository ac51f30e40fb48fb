#!/usr/bin/env python3
"""A Lambda Runtime API on loopback that runs one function process the way Lambda does.

It starts COMMAND with AWS_LAMBDA_RUNTIME_API pointing at itself, then reads one JSON event per
line on stdin, hands each to the function, and writes one JSON line per answer on stdout:

  {"ready": true, "cold_start_ms": 12.3}           once, when the function first polls
  {"ok": true, "body": {...}, "wall_ms": 4.5, "cpu_ms": 1.2, "rss_kb": 9876}

cold_start_ms is process start to its first poll for an event; cpu_ms is the process's own CPU
time (all threads, from /proc schedstat) spent on that invocation; rss_kb is its peak resident set so far.
The function's own output goes to --log. Used by demo.sh and bench.sh; stdlib only.
"""

import argparse
import http.server
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time

def cpu_ms(pid):
    """CPU time of every thread of the process so far, from schedstat (nanosecond resolution)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total / 1e6


def peak_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class Runtime:
    def __init__(self, deadline_ms, function_name):
        self.deadline_ms = deadline_ms
        self.function_name = function_name
        self.events = queue.Queue()
        self.answers = queue.Queue()
        self.first_poll = threading.Event()
        self.first_poll_at = None
        self.count = 0

    def handler(runtime):
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body, headers=()):
                data = body.encode()
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    return self.reply(404, "{}")
                if not runtime.first_poll.is_set():
                    runtime.first_poll_at = time.monotonic()
                    runtime.first_poll.set()
                event = runtime.events.get()
                if event is None:
                    return self.reply(500, "{}")
                runtime.count += 1
                deadline = int((time.time() * 1000) + runtime.deadline_ms)
                arn = f"arn:aws:lambda:us-east-1:123456789012:function:{runtime.function_name}"
                self.reply(200, event, [
                    ("Lambda-Runtime-Aws-Request-Id", f"req-{runtime.count}"),
                    ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                    ("Lambda-Runtime-Invoked-Function-Arn", arn),
                    ("Lambda-Runtime-Trace-Id", f"Root=1-00000000-{runtime.count:024d}"),
                ])

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode() if length else ""
                ok = self.path.endswith("/response")
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = body
                if "/init/error" in self.path:
                    runtime.first_poll.set()
                runtime.answers.put((ok, parsed))
                self.reply(202, "{}")

        return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deadline-ms", type=int, default=30000, help="time each invocation gets (default 30000)")
    parser.add_argument("--function-name", default="dynamic-dns-updater")
    parser.add_argument("--log", default=os.devnull, help="file for the function's own output")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- the function command")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the function command after --")

    runtime = Runtime(args.deadline_ms, args.function_name)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), runtime.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": args.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{args.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "harness",
    })
    log = open(args.log, "ab")
    started = time.monotonic()
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=log)

    def emit(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    try:
        while not runtime.first_poll.wait(0.05):
            if proc.poll() is not None:
                emit({"ready": False, "exit_code": proc.returncode})
                return 1
        if not runtime.answers.empty():
            ok, body = runtime.answers.get()
            emit({"ready": False, "init_error": body})
            return 1
        emit({"ready": True, "cold_start_ms": round((runtime.first_poll_at - started) * 1000, 3)})
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            cpu_before = cpu_ms(proc.pid)
            t0 = time.monotonic()
            runtime.events.put(line)
            while True:
                try:
                    ok, body = runtime.answers.get(timeout=0.05)
                    break
                except queue.Empty:
                    if proc.poll() is not None:
                        emit({"ok": False, "body": {"errorType": "ProcessExited", "exit_code": proc.returncode}})
                        return 1
            wall = (time.monotonic() - t0) * 1000
            # The function polls again right after answering; give it a moment to settle.
            time.sleep(0.01)
            emit({"ok": ok, "body": body, "wall_ms": round(wall, 3),
                  "cpu_ms": round(cpu_ms(proc.pid) - cpu_before, 3), "rss_kb": peak_rss_kb(proc.pid)})
        return 0
    finally:
        proc.kill()
        proc.wait()
        server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
