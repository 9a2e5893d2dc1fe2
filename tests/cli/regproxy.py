#!/usr/bin/env python3
"""regproxy.py - a reverse proxy in front of a registry, for plinth's CLI
tests (stdlib only).

usage: regproxy.py [--bearer USER:PASS] [--faults FILE] [--log FILE] UPSTREAM

Listens on 127.0.0.1, on a free port that it prints as the only line on
stdout, and forwards every request to UPSTREAM (http://HOST:PORT, or
https://... with no certificate check).  Bodies are streamed both ways, in
pieces of 64 KiB: a request body with a Content-Length or in chunked
transfer-encoding, a response body with a Content-Length or without one
(passed on chunked).  "Expect: 100-continue" is answered by the proxy
itself, and only once the request is to be forwarded, so a request refused
by the proxy never sends its body.  Location headers that point at UPSTREAM
are rewritten to point at the proxy.

--bearer USER:PASS  the proxy is a registry with token authentication:
    GET /token?service=regproxy&scope=... wants "Authorization: Basic" with
    USER:PASS (else 401) and answers
        {"token": T, "access_token": T, "expires_in": 300}
    Every /v2/ request without "Authorization: Bearer T" is answered 401 with
        WWW-Authenticate: Bearer realm="http://127.0.0.1:PORT/token",
            service="regproxy",scope="repository:REPO:ACTIONS"
    (ACTIONS is "pull" for GET and HEAD, "pull,push" otherwise; no scope for
    /v2/ itself).  Requests are forwarded without their Authorization.
    Without --bearer, Authorization is passed through to UPSTREAM.

--faults FILE  read again on every request (a test changes it while the
    proxy runs; rewriting it starts every count afresh).  One rule a line:
        METHOD PATH-REGEX CODE COUNT   answer the first COUNT matching
                                       requests with CODE (429 comes with
                                       "Retry-After: 1")
        METHOD PATH-REGEX drop COUNT   close the connection without an answer
    METHOD is a regex matched against the whole method ("*" is any, "PUT|PATCH"
    two); PATH-REGEX is searched for in the request target, query included.
    The first rule that matches and has count left applies.  A refused
    request's body is read and thrown away unless the client waits for
    "100 Continue", which then never comes.

--log FILE  one line per request, written when it is done:
        METHOD PATH STATUS BYTES_IN BYTES_OUT
    BYTES_IN is the request body read from the client, BYTES_OUT the
    response body sent to it (bodies only, after chunked decoding); STATUS is
    "drop" for a dropped connection, and " aborted" is appended when either
    side went away mid-request.  Answers of the proxy's own (401, /token,
    faults) are logged too.
"""

import argparse
import base64
import http.client
import json
import os
import re
import secrets
import socket
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PIECE = 65536
HOP = {
    "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
    "trailer", "upgrade", "proxy-authenticate", "proxy-authorization", "expect",
    "content-length", "host",
}


class Faults:
    """The rules of the fault file and how often each has fired."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.stamp = None
        self.rules = []  # [method_re, path_re, action, left]

    def _reload(self):
        try:
            st = os.stat(self.path)
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            st, text = None, ""
        stamp = (st.st_mtime_ns if st else None, text)
        if stamp == self.stamp:
            return
        self.stamp, self.rules = stamp, []
        for line in text.splitlines():
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            if len(words) != 4 or not words[3].isdigit() or not (
                    words[2] == "drop" or words[2].isdigit()):
                print(f"regproxy: bad fault rule: {line!r}", file=sys.stderr)
                continue
            method = ".*" if words[0] == "*" else words[0]
            self.rules.append([re.compile(method), re.compile(words[1]),
                               words[2], int(words[3])])

    def take(self, method, target):
        """The action ("drop" or a status code) for this request, or None."""
        if not self.path:
            return None
        with self.lock:
            self._reload()
            for rule in self.rules:
                if rule[3] > 0 and rule[0].fullmatch(method) and rule[1].search(target):
                    rule[3] -= 1
                    return rule[2]
        return None


def main():
    ap = argparse.ArgumentParser(prog="regproxy.py")
    ap.add_argument("--bearer", metavar="USER:PASS")
    ap.add_argument("--faults", metavar="FILE")
    ap.add_argument("--log", metavar="FILE")
    ap.add_argument("upstream")
    opts = ap.parse_args()
    up = urllib.parse.urlsplit(opts.upstream)
    if up.scheme not in ("http", "https") or not up.hostname:
        sys.exit("regproxy.py: UPSTREAM must be http://HOST:PORT or https://HOST:PORT")
    up_base = f"{up.scheme}://{up.netloc}"
    faults = Faults(opts.faults)
    token = secrets.token_hex(16)
    basic = None
    if opts.bearer:
        if ":" not in opts.bearer:
            sys.exit("regproxy.py: --bearer wants USER:PASS")
        basic = "Basic " + base64.b64encode(opts.bearer.encode()).decode()
    log_lock = threading.Lock()
    port = None  # known once bound

    def upstream_conn():
        if up.scheme == "https":
            return http.client.HTTPSConnection(
                up.hostname, up.port or 443, timeout=120,
                context=ssl._create_unverified_context())  # noqa: S323 - a test tool
        return http.client.HTTPConnection(up.hostname, up.port or 80, timeout=120)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # an answer's head and body are two writes: without this the body
        # waits for the client's delayed ACK (40 ms a request)
        disable_nagle_algorithm = True
        server_version = "plinth-test-regproxy"
        sys_version = ""

        def log_message(self, format, *args):  # noqa: A002 - the base's name
            pass

        def handle_expect_100(self):
            # Deferred: sent by continue_if_asked() when the body is wanted.
            self.expecting = True
            return True

        def note(self, status, extra=""):
            if not opts.log:
                return
            with log_lock, open(opts.log, "a", encoding="utf-8") as f:
                f.write(f"{self.command} {self.path} {status} {self.bytes_in} {self.bytes_out}{extra}\n")

        def continue_if_asked(self):
            if self.expecting:
                self.expecting = False
                self.send_response_only(100)
                self.end_headers()

        def has_body(self):
            return ("chunked" in self.headers.get("Transfer-Encoding", "").lower()
                    or int(self.headers.get("Content-Length") or 0) > 0)

        def body(self):
            """The request body, piece by piece (chunked encoding decoded)."""
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                while True:
                    line = self.rfile.readline(1024)
                    if not line:
                        raise ConnectionError("client went away in a chunk header")
                    size = int(line.split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return
                    while size:
                        data = self.rfile.read(min(size, PIECE))
                        if not data:
                            raise ConnectionError("client went away in a chunk")
                        size -= len(data)
                        self.bytes_in += len(data)
                        yield data
                    self.rfile.readline(8)
            else:
                left = int(self.headers.get("Content-Length") or 0)
                while left:
                    data = self.rfile.read(min(left, PIECE))
                    if not data:
                        raise ConnectionError("client went away in the body")
                    left -= len(data)
                    self.bytes_in += len(data)
                    yield data

        def refuse_body(self):
            """Throw the body away, or close if the client is waiting for 100."""
            if self.expecting or not self.has_body():
                if self.expecting:
                    self.close_connection = True
                return
            for _ in self.body():
                pass

        def answer(self, code, headers=(), body=b""):
            """An answer of the proxy's own, the request body not forwarded."""
            self.refuse_body()
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
                self.bytes_out += len(body)
            self.note(code)

        def error_body(self, code, message):
            return json.dumps({"errors": [{"code": code, "message": message}]}).encode()

        def handle_one_request(self):
            self.expecting = False
            self.bytes_in = self.bytes_out = 0
            super().handle_one_request()

        def dispatch(self):
            try:
                self.serve()
            except (ConnectionError, socket.timeout, OSError) as e:
                self.close_connection = True
                self.note(getattr(self, "status_sent", "-"), f" aborted ({e.__class__.__name__})")

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = dispatch  # noqa: N815

        def send_response(self, code, message=None):
            self.status_sent = code
            super().send_response(code, message)

        def serve(self):
            self.status_sent = "-"
            action = faults.take(self.command, self.path)
            if action == "drop":
                self.refuse_body()
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self.note("drop")
                return
            if action is not None:
                code = int(action)
                headers = [("Content-Type", "application/json")]
                if code == 429:
                    headers.append(("Retry-After", "1"))
                self.answer(code, headers, self.error_body(
                    "TOOMANYREQUESTS" if code == 429 else "UNAVAILABLE",
                    f"regproxy: injected {code}"))
                return

            path = urllib.parse.urlsplit(self.path).path
            if basic is not None and path == "/token":
                if self.headers.get("Authorization") != basic:
                    self.answer(401, [("WWW-Authenticate", 'Basic realm="regproxy"'),
                                      ("Content-Type", "application/json")],
                                self.error_body("UNAUTHORIZED", "authentication required"))
                    return
                self.answer(200, [("Content-Type", "application/json")], json.dumps(
                    {"token": token, "access_token": token, "expires_in": 300}).encode())
                return
            if basic is not None and (path == "/v2" or path.startswith("/v2/")):
                if self.headers.get("Authorization") != "Bearer " + token:
                    challenge = f'Bearer realm="http://127.0.0.1:{port}/token",service="regproxy"'
                    m = re.match(r"^/v2/(.+?)/(blobs|manifests|tags|referrers)/", path)
                    if m:
                        actions = "pull" if self.command in ("GET", "HEAD") else "pull,push"
                        challenge += f',scope="repository:{m.group(1)}:{actions}"'
                    self.answer(401, [("WWW-Authenticate", challenge),
                                      ("Content-Type", "application/json")],
                                self.error_body("UNAUTHORIZED", "authentication required"))
                    return
            self.forward()

        def forward(self):
            conn = upstream_conn()
            try:
                conn.putrequest(self.command, self.path, skip_host=True,
                                skip_accept_encoding=True)
                conn.putheader("Host", up.netloc)
                for k, v in self.headers.items():
                    lk = k.lower()
                    if lk in HOP or (lk == "authorization" and basic is not None):
                        continue
                    conn.putheader(k, v)
                chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
                if chunked:
                    conn.putheader("Transfer-Encoding", "chunked")
                elif "Content-Length" in self.headers:
                    conn.putheader("Content-Length", self.headers["Content-Length"])
                conn.endheaders()
            except OSError as e:
                conn.close()
                self.answer(502, [("Content-Type", "application/json")],
                            self.error_body("UNAVAILABLE", f"regproxy: upstream: {e}"))
                return
            try:
                self.continue_if_asked()
                try:
                    for data in self.body():
                        if chunked:
                            conn.send(b"%x\r\n" % len(data) + data + b"\r\n")
                        else:
                            conn.send(data)
                    if chunked:
                        conn.send(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    # The upstream answered without reading the whole body
                    # (as docker-registry does to a POST with a body): pass
                    # its answer on; the rest of the body is not read.
                    self.close_connection = True
                resp = conn.getresponse()
                self.relay(resp)
            finally:
                conn.close()

        def relay(self, resp):
            self.send_response(resp.status, resp.reason)
            length = None
            for k, v in resp.getheaders():
                lk = k.lower()
                if lk == "content-length":
                    length = v
                if lk in HOP:
                    continue
                if lk == "location" and v.startswith(up_base):
                    v = "http://" + (self.headers.get("Host") or f"127.0.0.1:{port}") + v[len(up_base):]
                self.send_header(k, v)
            no_body = self.command == "HEAD" or resp.status in (204, 304) or resp.status < 200
            chunked = length is None and not no_body
            if length is not None:
                self.send_header("Content-Length", length)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if not no_body:
                while True:
                    data = resp.read(PIECE)
                    if not data:
                        break
                    self.bytes_out += len(data)
                    self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n" if chunked else data)
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
                if length is not None and self.bytes_out != int(length):
                    self.close_connection = True
                    self.note(resp.status, " aborted (upstream body short)")
                    return
            self.note(resp.status)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        # parallel pushes connect many at once: the default backlog of 5
        # drops SYNs, which cost the client a 1 s retransmission each
        request_queue_size = 1024

        def handle_error(self, request, client_address):
            if not isinstance(sys.exc_info()[1], (ConnectionError, socket.timeout)):
                super().handle_error(request, client_address)

    server = Server(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    print(port, flush=True)
    sys.stdout = open(os.devnull, "w")
    server.serve_forever()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
