"""A minimal Lambda Runtime API loop for the Python baseline, as Lambda's Python runtime runs a
handler: import the module (init), then poll for events and post each answer."""

import json
import os
import sys
import traceback
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import handler  # noqa: E402  (init: imports boto3 and builds the clients, as on Lambda)

API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime/invocation"


def post(url, payload):
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()


while True:
    with urllib.request.urlopen(f"{API}/next") as resp:
        request_id = resp.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(resp.read())
    try:
        post(f"{API}/{request_id}/response", handler.handler(event, None))
    except Exception as e:  # the runtime reports any handler error
        post(f"{API}/{request_id}/error", {"errorType": type(e).__name__, "errorMessage": str(e),
                                           "stackTrace": traceback.format_exc().splitlines()})
