#!/usr/bin/env python3
"""Load for cluster.sh: N nodes register, then wait for their files.

usage: cluster_load.py -n N [-r REGCONC] [-f FETCHCONC] [--after-register CMD]
                       URL[,URL...]

Each node node-0 .. node-(N-1) does what `cfgsync fetch --server LIST`
does: it starts at the URL the FNV-1a hash of its identifier picks, moves
to the next one after a connect error, a timeout or a 5xx, and stays on one
while it answers.  Phase one registers every node (POST /register, REGCONC
at a time); then CMD runs (a shell command: cluster.sh kills an instance
there) and phase two fetches (POST /node?wait=30 until 200, FETCHCONC at a
time, each on its own keep-alive connection).  One line of key=value
figures on stdout.  Loopback only; everything bounded by --deadline.
"""

import argparse
import asyncio
import resource
import subprocess
import sys
import time
import urllib.parse


def fnv1a(s):
    h = 0x811C9DC5
    for b in s.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


class Conn:
    def __init__(self):
        self.r = self.w = None
        self.hostport = None

    async def close(self):
        if self.w is not None:
            self.w.close()
            try:
                await self.w.wait_closed()
            except Exception:
                pass
        self.r = self.w = None

    async def post(self, url, path, body, timeout):
        u = urllib.parse.urlsplit(url)
        hp = (u.hostname, u.port or 80)
        if self.w is None or self.hostport != hp:
            await self.close()
            self.r, self.w = await asyncio.wait_for(
                asyncio.open_connection(*hp), timeout)
            self.hostport = hp
        req = ("POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
               % (path, hp[0], hp[1], len(body))).encode() + body
        self.w.write(req)
        head = await asyncio.wait_for(self.r.readuntil(b"\r\n\r\n"), timeout)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        close = False
        for h in lines[1:]:
            k, _, v = h.partition(":")
            k = k.strip().lower()
            if k == "content-length":
                length = int(v)
            elif k == "connection" and v.strip().lower() == "close":
                close = True
        data = await asyncio.wait_for(self.r.readexactly(length), timeout)
        if close:
            await self.close()
        return status, data


class Stats:
    def __init__(self):
        self.moves = 0
        self.errors = 0
        self.statuses = {}
        self.last_202 = 0.0
        self.last_200 = 0.0


async def node(i, urls, stats, phase, wait_s, deadline):
    ident = "node-%d" % i
    idx = fnv1a(ident) % len(urls)
    body = ('{"identifier":"%s","ip":"10.%d.%d.%d"}'
            % (ident, (i >> 16) & 255, (i >> 8) & 255, i & 255)).encode()
    conn = Conn()
    path = "/register" if phase == "register" else "/node?wait=%d" % wait_s
    try:
        while time.monotonic() < deadline:
            try:
                status, _ = await conn.post(urls[idx], path, body,
                                            wait_s + 10)
            except (OSError, asyncio.TimeoutError,
                    asyncio.IncompleteReadError, ValueError, IndexError):
                stats.errors += 1
                await conn.close()
                idx = (idx + 1) % len(urls)
                stats.moves += 1
                await asyncio.sleep(0.05)
                continue
            stats.statuses[status] = stats.statuses.get(status, 0) + 1
            if phase == "register" and status == 202:
                stats.last_202 = time.monotonic()
                return True
            if phase == "fetch" and status == 200:
                stats.last_200 = time.monotonic()
                return True
            if status >= 500:
                idx = (idx + 1) % len(urls)
                stats.moves += 1
                await asyncio.sleep(0.05)
            elif status != 425:
                await asyncio.sleep(0.25)
        return False
    finally:
        await conn.close()


async def run_phase(n, conc, urls, stats, phase, wait_s, deadline):
    sem = asyncio.Semaphore(conc)

    async def one(i):
        async with sem:
            return await node(i, urls, stats, phase, wait_s, deadline)

    res = await asyncio.gather(*(one(i) for i in range(n)))
    return sum(1 for r in res if not r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, required=True)
    ap.add_argument("-r", type=int, default=200)
    ap.add_argument("-f", type=int, default=4000)
    ap.add_argument("--after-register")
    ap.add_argument("--deadline", type=float, default=240)
    ap.add_argument("urls")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    urls = a.urls.split(",")
    stats = Stats()
    t0 = time.monotonic()
    deadline = t0 + a.deadline
    failed = asyncio.run(run_phase(a.n, a.r, urls, stats, "register", 30,
                                   deadline))
    t_reg = time.monotonic()
    t_event = t_reg
    if a.after_register:
        subprocess.run(a.after_register, shell=True, check=False)
        t_event = time.monotonic()
    failed += asyncio.run(run_phase(a.n, a.f, urls, stats, "fetch", 30,
                                    deadline))
    reg_s = stats.last_202 - t0
    print("n=%d instances=%d reg_s=%.2f reg_per_s=%.0f wall_s=%.2f "
          "event_to_last_200_s=%.2f moves=%d errors=%d failed=%d %s"
          % (a.n, len(urls), reg_s, a.n / reg_s if reg_s > 0 else 0,
             stats.last_200 - t0, stats.last_200 - t_event, stats.moves,
             stats.errors, failed,
             " ".join("s%d=%d" % kv for kv in sorted(stats.statuses.items()))))
    sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
