#!/usr/bin/env python3
"""Writes through an etcd leader's death, for cluster.sh: how long they stop.

usage: failover.py [--etcd] [-c CONNS] [-s SECONDS] [--kill-at S]
                   [--kill CMD] URL[,URL...]

CONNS writers (default 8), each on its own keep-alive connection, write
one after another for SECONDS (default 6): POST /register of a new node to
a cfgsync instance, or with --etcd a put straight into etcd (the
reference: what etcd itself gives a client that moves on).  A writer that
gets a connect error, a timeout or a 5xx moves on to the next URL and
tries the same write again, as `cfgsync fetch --server LIST` does.  At
--kill-at seconds (default 2) CMD runs (cluster.sh kills the etcd leader
there).  One line of key=value figures: writes acknowledged, errors, and
stall_s, the longest time after the kill with no write acknowledged by
any writer.  Loopback only; every request has a 5 s timeout.
"""

import argparse
import base64
import http.client
import json
import subprocess
import threading
import time
import urllib.parse


def writer(idx, urls, args, t_end, acks, lock, errors):
    conn = None
    cur = idx % len(urls)
    n = 0
    while time.monotonic() < t_end:
        u = urllib.parse.urlsplit(urls[cur])
        if args.etcd:
            path = "/v3/kv/put"
            key = "cfgsync/failover/w%d-%d" % (idx, n)
            body = json.dumps({"key": base64.b64encode(key.encode()).decode(),
                               "value": base64.b64encode(b"x" * 200).decode()})
        else:
            path = "/register"
            body = json.dumps({"identifier": "fo-%d-%d" % (idx, n),
                               "ip": "127.0.0.1",
                               "metadata": {"pad": "x" * 100}})
        try:
            if conn is None:
                conn = http.client.HTTPConnection(u.hostname, u.port,
                                                  timeout=5)
            conn.request("POST", path, body,
                         {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            ok = (r.status == 200) if args.etcd else (r.status == 202)
            if r.status >= 500:
                raise OSError("status %d" % r.status)
        except (OSError, http.client.HTTPException):
            with lock:
                errors[0] += 1
            if conn is not None:
                conn.close()
            conn = None
            cur = (cur + 1) % len(urls)
            time.sleep(0.01)
            continue
        if ok:
            with lock:
                acks.append(time.monotonic())
            n += 1
    if conn is not None:
        conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--etcd", action="store_true")
    p.add_argument("-c", type=int, default=8)
    p.add_argument("-s", type=float, default=6.0)
    p.add_argument("--kill-at", type=float, default=2.0)
    p.add_argument("--kill", default="")
    p.add_argument("urls")
    args = p.parse_args()
    urls = args.urls.split(",")
    acks, errors, lock = [], [0], threading.Lock()
    t0 = time.monotonic()
    t_end = t0 + args.s
    ths = [threading.Thread(target=writer,
                            args=(i, urls, args, t_end, acks, lock, errors))
           for i in range(args.c)]
    for t in ths:
        t.start()
    time.sleep(args.kill_at)
    t_kill = time.monotonic()
    if args.kill:
        subprocess.run(args.kill, shell=True, check=False)
    for t in ths:
        t.join()
    after = sorted(a for a in acks if a >= t_kill)
    stall, prev = 0.0, t_kill
    for a in after:
        stall = max(stall, a - prev)
        prev = a
    if not after:
        stall = t_end - t_kill
    print("acked=%d errors=%d stall_s=%.2f" % (len(acks), errors[0], stall))


if __name__ == "__main__":
    main()
