"""bench/cpu_snap.py - CPU seconds a benchmark's own processes have used so far, by kind.

Usage: cpu_snap.py PG_PID [KIND=PID[,PID...]]...
Prints one JSON object: "postgres" (the postmaster, its live backends, and the
backends it already reaped), then each KIND in the order given (the listed processes'
own user + system time; a KIND with no pid, or whose processes are gone, counts 0).
Subtract two snapshots to get what a phase cost.
Owns: reading /proc/PID/stat. Never: reads any process it was not named, except the
postmaster's children. Callers: bench/dispatch, bench/loop, bench/scale.
"""

import json
import os
import sys


def stat_fields(pid):
    """/proc/PID/stat's fields after the command name (field 3 onwards), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    return s[s.rindex(")") + 2:].split()


def main():
    tck = os.sysconf("SC_CLK_TCK")
    pg = sys.argv[1]
    kinds = {}
    for arg in sys.argv[2:]:
        kind, _, pids = arg.partition("=")
        kinds[kind] = {p for p in pids.split(",") if p}
    out = dict.fromkeys(["postgres", *kinds], 0.0)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        f = stat_fields(pid)
        if f is None:
            continue
        own = (int(f[11]) + int(f[12])) / tck  # utime, stime
        if pid == pg:  # and the backends it already reaped
            out["postgres"] += own + (int(f[13]) + int(f[14])) / tck
        elif f[1] == pg:  # a live backend (ppid)
            out["postgres"] += own
        for kind, pids in kinds.items():
            if pid in pids:
                out[kind] += own
    print(json.dumps(out))


if __name__ == "__main__":
    main()
