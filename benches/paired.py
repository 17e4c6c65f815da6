#!/usr/bin/env python3
"""Times commands side by side: one run of each command per round, in the same order every
round, so that a machine getting faster or slower during the measurement affects every
command alike and the ratio of two commands can be taken round by round.

Usage: benches/paired.py ROUNDS WARMUP JSON COMMAND...

Writes JSON {"results": [{"command", "times", "cpu"}, ...]}, one entry per command in the
order given: "times" are wall-clock seconds, "cpu" user + system seconds of the command and
its children, both lists indexed by round (warm-up rounds left out). Prints nothing; a
command that fails stops the measurement with its exit status.
"""

import json
import os
import shlex
import subprocess
import sys
import time


def run(argv):
    before = os.times()
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    rounds, warmup, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    commands = sys.argv[4:]
    argvs = [shlex.split(c) for c in commands]
    results = [{"command": c, "times": [], "cpu": []} for c in commands]
    for r in range(warmup + rounds):
        for argv, res in zip(argvs, results):
            wall, cpu = run(argv)
            if r >= warmup:
                res["times"].append(wall)
                res["cpu"].append(cpu)
    with open(out, "w") as f:
        json.dump({"results": results}, f)


if __name__ == "__main__":
    main()
