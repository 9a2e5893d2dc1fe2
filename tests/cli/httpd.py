#!/usr/bin/env python3
"""httpd.py - a tiny HTTP server for plinth's CLI tests (stdlib only).

usage: httpd.py [--log FILE] DIR

Serves GET and HEAD of the regular files under DIR on 127.0.0.1, on a free
port that it prints as the only line on stdout.  Anything else is 404: a
missing file, a directory, a path with a ".." or dot-file component, a
symlink leading out of DIR.  Each request is logged to FILE (default
DIR/../httpd.log) as "METHOD PATH STATUS" (plus " truncated"), one line,
written as soon as the response is sent, so tests can count requests.

Fault injection, read again on every request so a test can change it while
the server runs:
  DIR/.truncate       one path a line (like /dists/stable/InRelease); also
                      $HTTPD_TRUNCATE, comma-separated: the full
                      Content-Length is sent but only half of the body,
                      then the connection is closed
  DIR/.status         "PATH CODE" lines: PATH is answered with status CODE
                      and an empty body
"""

import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    args = sys.argv[1:]
    log = None
    if len(args) == 3 and args[0] == "--log":
        log, args = args[1], args[2:]
    if len(args) != 1 or not os.path.isdir(args[0]):
        sys.exit("usage: httpd.py [--log FILE] DIR")
    root = os.path.realpath(args[0])
    log = log or os.path.join(os.path.dirname(root), "httpd.log")
    lock = threading.Lock()

    def config(name):
        """The lines of DIR/NAME, or none."""
        try:
            with open(os.path.join(root, name), encoding="utf-8") as f:
                return [line.strip() for line in f if line.strip()]
        except FileNotFoundError:
            return []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "plinth-test-httpd"
        sys_version = ""

        def log_message(self, format, *args):  # noqa: A002 - the base's name
            pass  # the request log is written by note()

        def note(self, status, extra=""):
            with lock, open(log, "a", encoding="utf-8") as f:
                f.write(f"{self.command} {self.path} {status}{extra}\n")

        def resolve(self):
            """The request's normalised path and file, or (path, None)."""
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
            parts = [p for p in path.split("/") if p]
            path = "/" + "/".join(parts)
            if any(p.startswith(".") or "\0" in p for p in parts):
                return path, None
            full = os.path.realpath(os.path.join(root, *parts))
            if os.path.commonpath([root, full]) != root or not os.path.isfile(full):
                return path, None
            return path, full

        def answer(self, body):
            path, full = self.resolve()
            for line in config(".status"):
                p, _, code = line.partition(" ")
                if p == path and code.strip().isdigit():
                    self.send_response(int(code))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    self.note(int(code))
                    return
            if full is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.note(404)
                return
            with open(full, "rb") as f:
                data = f.read()
            truncate = config(".truncate") + [
                p for p in os.environ.get("HTTPD_TRUNCATE", "").split(",") if p
            ]
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            if path in truncate:
                self.send_header("Connection", "close")
            self.end_headers()
            if path in truncate:
                if body:
                    self.wfile.write(data[: len(data) // 2])
                self.close_connection = True
                self.note(200, " truncated")
                return
            if body:
                self.wfile.write(data)
            self.note(200)

        def do_GET(self):  # noqa: N802 - the base's name
            self.answer(True)

        def do_HEAD(self):  # noqa: N802
            self.answer(False)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):
            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)

    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    sys.stdout = open(os.devnull, "w")
    server.serve_forever()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
