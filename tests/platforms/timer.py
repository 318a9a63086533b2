"""Times a warm ADD against its interpreter's floor, `python3 -I -S -c pass`.

Runs where the plugin runs (in a chroot: under that root's own python3), so
that neither number includes the way in. Each round runs the floor, then
ADD, then an untimed DEL that removes what ADD added, so every ADD does the
same work; the first round only warms up. Reads its job as JSON on stdin
(rounds, python3, plugin, env: PATH and CNI_* but CNI_COMMAND, config) and
prints the medians in seconds as JSON. Python 3.9+ (bullseye's is the floor).
"""

import json
import statistics
import subprocess
import sys
import time


def timed(argv, env, stdin=b""):
    start = time.perf_counter()
    done = subprocess.run(argv, input=stdin, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{argv} failed ({done.returncode}): {done.stdout!r} {done.stderr!r}")
    return elapsed, done.stdout


def main():
    job = json.load(sys.stdin)
    floors, adds = [], []
    for round_ in range(job["rounds"] + 1):
        floor, _ = timed([job["python3"], "-I", "-S", "-c", "pass"], job["env"])
        add, result = timed([job["plugin"]], {**job["env"], "CNI_COMMAND": "ADD"}, json.dumps(job["config"]).encode())
        chained = {**job["config"], "prevResult": json.loads(result)}
        timed([job["plugin"]], {**job["env"], "CNI_COMMAND": "DEL"}, json.dumps(chained).encode())
        if round_:
            floors.append(floor)
            adds.append(add)
    json.dump({"floor": statistics.median(floors), "add": statistics.median(adds)}, sys.stdout)


main()
