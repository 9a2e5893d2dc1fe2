#!/usr/bin/env python3
"""fakereg.py - a registry that misbehaves, for plinth's CLI tests (stdlib only).

usage: fakereg.py MODE LAYOUT [OTHER]

Serves the images of the OCI layout LAYOUT read-only (manifests by tag or
digest, blobs by digest) on 127.0.0.1, on a free port that it prints as the
only line on stdout, and logs every request to LAYOUT/../fakereg-MODE.log
as "METHOD PATH AUTHORIZATION", so a test can see what reached it.  MODE:
  plain          nothing odd
  redirect       a blob GET is redirected to OTHER (http://HOST:PORT)/storage/...
  storage        answers everything with 401 and a Bearer challenge whose
                 realm is itself (a storage host that wants credentials)
  range-stall    a chunked upload's every PATCH is answered 202 with a
                 Range that does not move ("0-0")
  referrers-503  the referrers API answers 503
  tags-elsewhere the tag list's Link names a next page at OTHER
  badsig         the signature tag is a manifest with schemaVersion 1
"""

import json
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE, LAYOUT = sys.argv[1], sys.argv[2]
OTHER = sys.argv[3] if len(sys.argv) > 3 else ""
LOG = open(os.path.join(LAYOUT, "..", "fakereg-%s.log" % MODE), "a", buffering=1)
INDEX = json.load(open(os.path.join(LAYOUT, "index.json")))
REF = "org.opencontainers.image.ref.name"
TAGS = {m["annotations"][REF]: m["digest"] for m in INDEX["manifests"]
        if REF in m.get("annotations", {})}


def blob(digest):
    path = os.path.join(LAYOUT, "blobs", "sha256", digest.split(":", 1)[-1])
    return open(path, "rb").read() if re.fullmatch(r"sha256:[0-9a-f]{64}", digest) and \
        os.path.exists(path) else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_one(self):
        LOG.write("%s %s %s\n" % (self.command, self.path,
                                  self.headers.get("Authorization", "-")))
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        p = self.path
        if MODE == "storage":
            realm = "http://%s/token" % self.headers.get("Host")
            return self.send(401, b"", [("WWW-Authenticate", 'Bearer realm="%s"' % realm)])
        if MODE == "redirect" and "/blobs/sha256:" in p and self.command == "GET":
            return self.send(307, b"", [("Location", OTHER + "/storage" + p)])
        if MODE == "range-stall" and "/blobs/" in p:
            if self.command == "HEAD":
                return self.send(404)
            if self.command in ("POST", "PATCH", "GET"):
                return self.send(202 if self.command != "GET" else 204, b"",
                                 [("Location", "/v2/x/blobs/uploads/u1"), ("Range", "0-0")])
            return self.send(201)
        if MODE == "referrers-503" and "/referrers/" in p:
            return self.send(503)
        if MODE == "tags-elsewhere" and "/tags/list" in p:
            return self.send(200, b'{"name":"x","tags":["a"]}',
                             [("Content-Type", "application/json"),
                              ("Link", '<%s/v2/x/tags/list?n=1>; rel="next"' % OTHER)])
        if MODE == "badsig" and re.search(r"/manifests/sha256-[0-9a-f]+\.sig$", p):
            return self.send(200, b'{"schemaVersion":1,"pad":"' + b"x" * 5000 + b'"}',
                             [("Content-Type", "application/vnd.oci.image.manifest.v1+json")])
        if p == "/v2/":
            return self.send(200, b"{}")
        m = re.match(r"^/v2/(.+)/(manifests|blobs)/([^/?]+)$", p)
        if m and self.command in ("GET", "HEAD"):
            ref = m.group(3)
            if m.group(2) == "manifests":
                digest = TAGS.get(ref, ref)
                data = blob(digest)
                if data is None:
                    return self.send(404)
                mt = json.loads(data).get("mediaType", "application/vnd.oci.image.manifest.v1+json")
                return self.send(200, data, [("Content-Type", mt),
                                             ("Docker-Content-Digest", digest)])
            data = blob(ref)
            if data is None:
                return self.send(404)
            return self.send(200, data, [("Content-Type", "application/octet-stream")])
        return self.send(404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"not here"}]}')

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_one


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
