#!/usr/bin/env python3
"""regproxy-bench.py - tests/cli/regproxy.py, unchanged, with two socket
settings of its server that cost a benchmark time the client did not spend.

usage: regproxy-bench.py [regproxy.py's arguments]

regproxy.py's server is a socketserver.ThreadingHTTPServer:

- It listens with socketserver's default backlog of 5.  When more clients
  connect at once than the accept loop takes in (a push moves 4 blobs at
  once, each on a connection of its own, and 'plinth rebuild -j2' runs two
  pushes), the kernel drops the SYN (TcpExtListenOverflows in nstat) and
  the client sends it again after its 1 s initial retransmission timeout.
  Here the backlog is 1024.
- Its accepted sockets keep Nagle's algorithm, and it writes an answer's
  head and body in two writes.  On a connection past its first few
  segments, the body then waits for the client's delayed ACK of the head:
  40 ms.  A client that reuses its connection for a GET whose answer has a
  body (plinth's GET of the referrers tag, 404 with a JSON error) waits
  that long each time.  Here the accepted sockets have TCP_NODELAY, as the
  proxy's own connections to the registry have (http.client sets it).
"""

import os
import runpy
import socketserver
import sys

socketserver.TCPServer.request_queue_size = 1024
socketserver.StreamRequestHandler.disable_nagle_algorithm = True
here = os.path.dirname(os.path.abspath(__file__))
proxy = os.path.join(here, "..", "tests", "cli", "regproxy.py")
sys.argv[0] = proxy
runpy.run_path(proxy, run_name="__main__")
