#!/usr/bin/env python3
"""exactly-n.py N [--deadline SECONDS]: a cfgsync materializer (stdlib only).

The first N nodes by seq (order of first registration) form the cluster.
It is ready once all N have registered; nodes registered later are left
out of the bundle, so they get 404 missing_config and their fetch fails
fast (exit 3) instead of waiting for ever.

With --deadline, once SECONDS have passed since the first registration a
quorum of N/2+1 nodes is enough.  Until then it exits 75 (EX_TEMPFAIL), so
cfgsync runs it again after a back-off even if no other node registers.
See cfgsync-materializer(7).
"""

import argparse
import datetime
import json
import sys

EX_TEMPFAIL = 75


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def node_files(me, members):
    peers = "".join(
        "  - %s:%s\n" % (m["ip"], (m.get("metadata") or {}).get(
            "network_port", 3000))
        for m in members if m["identifier"] != me["identifier"])
    return [{"path": "config.yaml",
             "content": "id: %s\nseq: %d\npeers:\n%s" % (
                 me["identifier"], me["seq"], peers)}]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("--deadline", type=float, default=None)
    args = ap.parse_args()
    if args.n < 1:
        ap.error("N must be at least 1")

    snapshot = json.load(sys.stdin)
    regs = sorted(snapshot["registrations"], key=lambda r: r["seq"])
    members = regs[:args.n]

    if len(members) < args.n:
        quorum = args.n // 2 + 1
        if args.deadline is None or not members:
            print('{"ready": false}')
            return 0
        first = min(parse_time(r["registered_at"]) for r in regs)
        now = datetime.datetime.now(datetime.timezone.utc)
        if (now - first).total_seconds() < args.deadline:
            print("exactly-n.py: %d of %d nodes, deadline in %.0f s" % (
                len(members), args.n,
                args.deadline - (now - first).total_seconds()),
                file=sys.stderr)
            return EX_TEMPFAIL
        if len(members) < quorum:
            print("exactly-n.py: deadline passed with %d of %d nodes, "
                  "below the quorum of %d" % (len(members), args.n, quorum),
                  file=sys.stderr)
            return EX_TEMPFAIL

    bundle = {
        "nodes": [{"identifier": m["identifier"],
                   "files": node_files(m, members)} for m in members],
        "shared_files": [{"path": "deployment-settings.yaml",
                          "content": "cluster_size: %d\n" % len(members)}],
    }
    json.dump(bundle, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
