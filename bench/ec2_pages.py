#!/usr/bin/env python3
"""EC2's DescribeInstances on loopback, answered from recorded pages, for benchmarks at fleet scale.

moto needs more than 60 s for one DescribeInstances page of 1,000 out of 10,000 instances, far
past the SDK's timeouts, so bench/scale_10k.py takes EC2 from here and keeps Route53 in moto.
Point only EC2 here: AWS_ENDPOINT_URL_EC2=http://127.0.0.1:PORT beside AWS_ENDPOINT_URL=<moto>.

The shape of every byte comes from bench/ec2_describe_instances.xml, an answer recorded from moto
(re-record it with --record). Its running instance is the template: each instance of the fleet is
that element with its own id, addresses, launch time and tags, rendered once at start-up. Pages
are joined from those bytes and kept, so a second sweep gets the very bytes the first one got.

The fleet is --names FILE: one instance a line, in order; the line is the value of its --tag-key
tag, `-` for an instance without tags, or a JSON object of all its tags ({"ddns:name": ...,
"ddns:group": ...}). Every instance is running; their zones go round us-east-1a, 1b and 1c.

Served: POST / with Action=DescribeInstances in the form body, as the SDKs send it:
  Filter.N.Name / Filter.N.Value.M  tag-key, tag:KEY, instance-id, instance-state-name (values
                                    may use EC2's * and ? wildcards); any other filter is refused
                                    as EC2 refuses an unknown one
  InstanceId.N                      every id must exist (else InvalidInstanceID.NotFound)
  MaxResults (5 to 1,000), NextToken  paging as EC2 does it; MaxResults with InstanceId is refused
GET /_count answers {"requests", "describe_instances", "errors", "instances_served", "bytes_served"}.

Prints one JSON line when it listens ({"port": ..., "instances": ..., "tagged": ...}), then stops
on SIGTERM, SIGINT, or when its parent process goes away. Stdlib only.
"""

import argparse
import ctypes
import datetime
import hashlib
import http.server
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDING = os.path.join(HERE, "ec2_describe_instances.xml")
LAUNCHED = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
TAG = re.compile(r"<(/?)([A-Za-z][\w:.-]*)(?:\s[^>]*?)?(/?)>")
FIELD = re.compile(r"Filter\.(\d+)\.(Name|Value\.(\d+))\Z")
STATES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}


class Element:
    __slots__ = ("name", "start", "inner", "end", "children")

    def __init__(self, name, start, inner):
        self.name, self.start, self.inner, self.end, self.children = name, start, inner, None, []

    def child(self, name):
        return next(c for c in self.children if c.name == name)


def parse(xml):
    """The element tree of the raw text, with offsets, so that pieces can be cut out byte for byte."""
    root = Element("", 0, 0)
    stack = [root]
    for m in TAG.finditer(xml):
        closing, name, empty = m.groups()
        if closing:
            element = stack.pop()
            if element.name != name:
                raise SystemExit(f"{RECORDING}: </{name}> closes <{element.name}>")
            element.end = m.end()
        else:
            element = Element(name, m.start(), m.end())
            stack[-1].children.append(element)
            if empty:
                element.end = m.end()
            else:
                stack.append(element)
    return root.children[0]


def text(xml, element, *path):
    for name in path:
        element = element.child(name)
    return xml[element.inner:element.end - len(element.name) - 3]


class Template:
    """The recorded answer cut into a page's head and tail and one instance's element, with the
    recorded instance's own values (id, addresses, time, tags, reservation) turned into slots."""

    def __init__(self, xml):
        root = parse(xml)
        reservations = root.child("reservationSet")
        running = None
        for reservation in reservations.children:
            for item in reservation.child("instancesSet").children:
                if text(xml, item, "instanceState", "name") == "running" and "<ipAddress>" in xml[item.start:item.end]:
                    running = (reservation, item)
                    break
            if running:
                break
        if not running:
            raise SystemExit(f"{RECORDING}: no running instance with a public address to copy")
        reservation, item = running
        instances = reservation.child("instancesSet")
        # A recorded nextToken is not part of the head: pages put their own.
        head = xml[:reservations.start]
        head = re.sub(r"<nextToken>[^<]*</nextToken>", "", head)
        self.head = head.encode()
        self.tail = re.sub(r"<nextToken>[^<]*</nextToken>", "", xml[reservations.end:]).encode()
        recorded = {
            "id": text(xml, item, "instanceId"),
            "public": text(xml, item, "ipAddress"),
            "private": text(xml, item, "privateIpAddress"),
            "launched": text(xml, item, "launchTime"),
            "reservation": text(xml, reservation, "reservationId"),
        }
        tags = item.child("tagSet")
        body = (xml[item.start:tags.start] + "\0tags\0" + xml[tags.end:item.end]).replace("{", "{{").replace("}", "}}")
        body = body.replace(f"<launchTime>{recorded['launched']}</launchTime>", "<launchTime>{launched}</launchTime>")
        body = body.replace("<name>running</name>", "<name>{state}</name>")
        body = body.replace("<code>16</code>", "<code>{code}</code>")
        body = re.sub(r"<availabilityZone>[^<]*</availabilityZone>", "<availabilityZone>{az}</availabilityZone>", body)
        for key in ("id", "public", "private"):
            body = body.replace(recorded[key], "{" + key + "}")
        for key in ("public", "private"):
            body = body.replace(recorded[key].replace(".", "-"), "{" + key + "_dashed}")
        # Interface, attachment and volume ids, unique per instance as on EC2.
        body = re.sub(r"\b(eni-attach|eni|vol)-[0-9a-f]{17}\b", r"\1-{suffix}", body)
        self.instance = body.replace("\0tags\0", "{tags}")
        wrapper = xml[reservation.start:instances.inner] + "\0" + xml[instances.end - len("</instancesSet>"):reservation.end]
        self.before, self.after = wrapper.replace(recorded["reservation"], "{reservation}").replace("{", "{{").replace(
            "}", "}}").replace("{{reservation}}", "{reservation}").split("\0")

    def render(self, n, tags, state="running"):
        """One reservation holding instance number `n`, as bytes."""
        suffix = f"0b{n:015x}"
        public = f"54.{160 + n // 65536}.{n // 256 % 256}.{n % 256}"
        private = f"10.{1 + n // 65536}.{n // 256 % 256}.{n % 256}"
        launched = (LAUNCHED + datetime.timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        tag_xml = "".join(f"<item><key>{escape(k)}</key><value>{escape(v)}</value></item>" for k, v in tags.items())
        instance = self.instance.format(
            id=f"i-{suffix}", public=public, private=private, public_dashed=public.replace(".", "-"),
            private_dashed=private.replace(".", "-"), launched=launched, state=state, code=STATES[state],
            suffix=suffix, az=f"us-east-1{'abc'[n % 3]}", tags=f"<tagSet>{tag_xml}</tagSet>" if tags else "<tagSet/>",
        )
        reservation = f"r-0c{n:015x}"
        return (self.before.format(reservation=reservation) + instance + self.after.format(reservation=reservation)).encode()


class Fleet:
    def __init__(self, template, tag_key, names):
        self.template = template
        self.ids, self.tags, self.states, self.items = [], [], [], []
        for n, name in enumerate(names):
            tags = {} if name == "-" else json.loads(name) if name.startswith("{") else {tag_key: name}
            self.ids.append(f"i-0b{n:015x}")
            self.tags.append(tags)
            self.states.append("running")
            self.items.append(template.render(n, tags))
        self.index = {id_: n for n, id_ in enumerate(self.ids)}
        self.lock = threading.Lock()
        self.pages = {}
        self.count = {"requests": 0, "describe_instances": 0, "errors": 0, "instances_served": 0, "bytes_served": 0}


class Refused(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def pattern(value):
    """EC2's filter wildcards: * any run of characters, ? any one, and a backslash makes the next
    character (*, ? or \\) literal."""
    out, chars = [], iter(value)
    for c in chars:
        if c == "\\":
            out.append(re.escape(next(chars, "\\")))
        else:
            out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
    return re.compile("".join(out) + r"\Z", re.S)


def matcher(name, values):
    patterns = [pattern(v) for v in values]
    if name == "tag-key":
        return lambda f, n: any(p.match(k) for k in f.tags[n] for p in patterns)
    if name.startswith("tag:"):
        key = name[4:]
        return lambda f, n: key in f.tags[n] and any(p.match(f.tags[n][key]) for p in patterns)
    if name == "instance-id":
        return lambda f, n: any(p.match(f.ids[n]) for p in patterns)
    if name == "instance-state-name":
        return lambda f, n: any(p.match(f.states[n]) for p in patterns)
    raise Refused("InvalidParameterValue", f"The filter '{name}' is invalid")


def describe(fleet, form):
    """The answer to one DescribeInstances request: bytes, and how many instances it holds."""
    filters, ids = {}, {}
    for key, value in form.items():
        if m := FIELD.match(key):
            entry = filters.setdefault(int(m.group(1)), {"values": {}})
            if m.group(3):
                entry["values"][int(m.group(3))] = value
            else:
                entry["name"] = value
        elif m := re.match(r"InstanceId\.(\d+)\Z", key):
            ids[int(m.group(1))] = value
    ids = [ids[k] for k in sorted(ids)]
    tests = []
    for k in sorted(filters):
        if "name" not in filters[k]:
            raise Refused("InvalidParameterValue", f"Filter.{k}.Name is missing")
        values = [filters[k]["values"][v] for v in sorted(filters[k]["values"])]
        tests.append((filters[k]["name"], values))
    size = form.get("MaxResults")
    if size is not None:
        if ids:
            raise Refused("InvalidParameterCombination",
                          "The parameter instancesSet cannot be used with the parameter maxResults")
        if not size.isdigit() or not 5 <= int(size) <= 1000:
            raise Refused("InvalidParameterValue",
                          f"Value ( {size} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.")
        size = int(size)
    missing = [i for i in ids if i not in fleet.index]
    if missing:
        raise Refused("InvalidInstanceID.NotFound", f"The instance IDs '{', '.join(missing)}' do not exist")
    query = hashlib.sha256(json.dumps([tests, ids]).encode()).hexdigest()[:16]
    offset = 0
    token = form.get("NextToken")
    if token:
        start, _, signed = token.partition(".")
        if signed != query or not start.isdigit():
            raise Refused("InvalidParameterValue", f"The token '{token}' is invalid for this request")
        offset = int(start)
    key = (query, offset, size)
    with fleet.lock:
        page = fleet.pages.get(key)
    if page is None:
        tests = [matcher(name, values) for name, values in tests]
        chosen = [fleet.index[i] for i in dict.fromkeys(ids)] if ids else range(len(fleet.ids))
        matching = [n for n in chosen if all(t(fleet, n) for t in tests)]
        end = len(matching) if size is None else offset + size
        served = matching[offset:end]
        next_token = f"<nextToken>{end}.{query}</nextToken>".encode() if end < len(matching) else b""
        body = b"".join(fleet.items[n] for n in served)
        body = b"<reservationSet>" + body + b"</reservationSet>" if body else b"<reservationSet/>"
        page = (fleet.template.head + next_token + body + fleet.template.tail, len(served))
        with fleet.lock:
            fleet.pages[key] = page
    return page


def handler(fleet):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, status, body, content_type="text/xml;charset=UTF-8"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-amzn-RequestId", f"bench-{time.monotonic_ns()}")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path.split("?")[0] == "/_count":
                with fleet.lock:
                    body = json.dumps(fleet.count).encode()
                return self.send(200, body, "application/json")
            self.send(404, b"{}", "application/json")

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}
            with fleet.lock:
                fleet.count["requests"] += 1
            try:
                if form.get("Action") != "DescribeInstances":
                    raise Refused("InvalidAction", f"The action {form.get('Action')} is not valid for this web service.")
                body, instances = describe(fleet, form)
            except Refused as e:
                with fleet.lock:
                    fleet.count["errors"] += 1
                error = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{e.code}</Code>'
                         f"<Message>{escape(str(e))}</Message></Error></Errors><RequestID>bench</RequestID></Response>")
                return self.send(400, error.encode())
            with fleet.lock:
                fleet.count["describe_instances"] += 1
                fleet.count["instances_served"] += instances
                fleet.count["bytes_served"] += len(body)
            self.send(200, body)

    return Handler


def stop_with_parent():
    """SIGTERM when the process that started this one goes away: at once through the kernel
    (PR_SET_PDEATHSIG), and by polling in case that is not to be had."""
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()


def record(moto_server, out):
    """Records one DescribeInstances answer from a fresh moto: one tagged instance running, one
    tagged and stopped, filtered on the tag key, as the function asks."""
    import socket
    import subprocess
    import urllib.request

    import boto3

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    moto = subprocess.Popen([moto_server, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        ec2 = boto3.client("ec2", endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
                           aws_secret_access_key="bench")
        ids = [i["InstanceId"] for i in
               ec2.run_instances(ImageId="ami-12c6146b", MinCount=2, MaxCount=2, InstanceType="t3.micro")["Instances"]]
        for n, i in enumerate(ids):
            ec2.create_tags(Resources=[i], Tags=[{"Key": "ddns:name", "Value": f"host-{n}.a.example.test"}])
        ec2.stop_instances(InstanceIds=ids[1:])
        body = urllib.parse.urlencode({"Action": "DescribeInstances", "Version": "2016-11-15", "Filter.1.Name": "tag-key",
                                       "Filter.1.Value.1": "ddns:name", "MaxResults": "1000"}).encode()
        request = urllib.request.Request(url + "/", data=body, headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "Authorization": "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/ec2/aws4_request, "
                             "SignedHeaders=host, Signature=0"})
        with urllib.request.urlopen(request) as answer, open(out, "wb") as f:
            f.write(answer.read())
    finally:
        moto.kill()
        moto.wait()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--names", help="the fleet: one instance a line, its tag value or - for none")
    p.add_argument("--tag-key", default="ddns:name")
    p.add_argument("--recording", default=RECORDING, help="the recorded answer to copy (default: %(default)s)")
    p.add_argument("--record", metavar="MOTO_SERVER", help="record --recording afresh from this moto_server, then exit")
    args = p.parse_args()
    if args.record:
        record(args.record, args.recording)
        print(f"recorded {args.recording}")
        return 0
    if not args.names:
        p.error("--names is required")
    stop_with_parent()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(args.recording, encoding="utf-8") as f:
        template = Template(f.read())
    with open(args.names, encoding="utf-8") as f:
        names = [line.strip() for line in f if line.strip()]
    fleet = Fleet(template, args.tag_key, names)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler(fleet))
    server.daemon_threads = True
    tagged = sum(1 for t in fleet.tags if t)
    print(json.dumps({"port": server.server_address[1], "instances": len(names), "tagged": tagged,
                      "bytes_per_instance": round(sum(map(len, fleet.items)) / max(len(names), 1))}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
