#!/usr/bin/env python3
"""park_many.py PORT N READY_FILE [SOURCES]: holds N long polls
(POST /node?wait=60 for node-1) against serve-exec on 127.0.0.1:PORT, one
connection each, spread over SOURCES loopback addresses (default 4:
127.0.0.2 ...), writes READY_FILE once all are sent, then waits (at most
90 s) for every answer and prints "STATUS:COUNT ... spread_ms=S": the time
from the first answer to the last."""

import collections
import selectors
import socket
import sys
import time

port, n, ready_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
nsrc = int(sys.argv[4]) if len(sys.argv) > 4 else 4
body = b'{"identifier":"node-1","ip":"10.0.0.1"}'
req = (b"POST /node?wait=60 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
       b"Content-Type: application/json\r\nConnection: close\r\n"
       b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
sel = selectors.DefaultSelector()
answers = {}
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.%d" % (2 + i % nsrc), 0))
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    s.sendall(req)
    s.setblocking(False)
    answers[s] = b""
    sel.register(s, selectors.EVENT_READ)
open(ready_file, "w").close()
deadline = time.time() + 90
statuses = collections.Counter()
first = last = None
while answers and time.time() < deadline:
    for key, _ in sel.select(timeout=1):
        s = key.fileobj
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if data:
            answers[s] += data
            continue
        now = time.time()
        first = first or now
        last = now
        sel.unregister(s)
        got = answers.pop(s).split(b" ", 2)
        statuses[got[1].decode() if len(got) > 1 else "closed"] += 1
        s.close()
statuses["unanswered"] += len(answers)
print(" ".join("%s:%d" % kv for kv in sorted(statuses.items()) if kv[1]),
      "spread_ms=%.0f" % ((last - first) * 1000 if first else 0))
