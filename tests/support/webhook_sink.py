#!/usr/bin/env python3
"""A webhook receiver on loopback for the demo: answers 200 and appends each body, one JSON line
per request, to OUTPUT. Prints its port on stdout once listening. Stdlib only."""

import argparse
import http.server
import json
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output", help="file to append received bodies to")
    args = parser.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = body.decode(errors="replace")
            with open(args.output, "a") as f:
                f.write(json.dumps({"path": self.path, "body": parsed}) + "\n")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
