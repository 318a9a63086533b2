#!/usr/bin/python3
"""runc for CRI-O on a machine that cannot lower a process's OOM score:
drops process.oomScoreAdj from the bundle's config.json at `create`, then
is runc. (containerd has restrict_oom_score_adj for this; CRI-O has no such
option.)"""

import json
import os
import sys

RUNC = "/usr/bin/runc"
args = sys.argv[1:]
if "create" in args:
    for flag in ("--bundle", "-b"):
        if flag in args:
            config = os.path.join(args[args.index(flag) + 1], "config.json")
            with open(config) as handle:
                spec = json.load(handle)
            spec.get("process", {}).pop("oomScoreAdj", None)
            with open(config, "w") as handle:
                json.dump(spec, handle)
os.execv(RUNC, [RUNC, *args])
