#!/usr/bin/env python3
"""Times commands side by side: one run of each command per round, in the same order every
round, so that a machine getting faster or slower during the measurement affects every
command alike and the ratio of two commands can be taken round by round.

Usage: benches/paired.py ROUNDS WARMUP JSON COMMAND...

Writes JSON {"results": [{"command", "times", "cpu", "rss"}, ...]}, one entry per command in
the order given: "times" are wall-clock seconds, "cpu" user + system seconds of the command
(all its threads), "rss" its peak resident memory in KiB, each list indexed by round (warm-up
rounds left out). Prints nothing; a command that fails stops the measurement with its exit
status.
"""

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time


def run(argv):
    """Wall seconds, CPU seconds and peak RSS (KiB) of one run. The command is started by
    /usr/bin/time, which reports its peak memory: a child started from this interpreter would
    count the interpreter's memory it was forked with in its own peak."""
    with tempfile.NamedTemporaryFile("r") as rss:
        start = time.perf_counter()
        child = subprocess.Popen(
            ["/usr/bin/time", "-f", "%M", "-o", rss.name] + argv, stdout=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise subprocess.CalledProcessError(code, argv)
        return wall, usage.ru_utime + usage.ru_stime, int(rss.read().split()[-1])


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    rounds, warmup, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    commands = sys.argv[4:]
    argvs = [shlex.split(c) for c in commands]
    results = [{"command": c, "times": [], "cpu": [], "rss": []} for c in commands]
    for r in range(warmup + rounds):
        for argv, res in zip(argvs, results):
            wall, cpu, rss = run(argv)
            if r >= warmup:
                res["times"].append(wall)
                res["cpu"].append(cpu)
                res["rss"].append(rss)
    with open(out, "w") as f:
        json.dump({"results": results}, f)


if __name__ == "__main__":
    main()
