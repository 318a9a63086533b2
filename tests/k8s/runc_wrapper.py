#!/usr/bin/python3
"""runc for CRI-O on this machine, which cannot lower a process's OOM score
and mounts no hugetlb cgroup: at `create`, drops process.oomScoreAdj and
(without a hugetlb hierarchy) linux.resources.hugepageLimits from the
bundle's config.json, then is runc. containerd has restrict_oom_score_adj
for the first and leaves out hugepage limits itself when the controller is
missing; CRI-O has neither, and the kubelet asks for hugepage limits
("cannot set hugetlb limit: container could not join or create cgroup")."""

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
            if not os.path.exists("/sys/fs/cgroup/hugetlb") and not os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
                spec.get("linux", {}).get("resources", {}).pop("hugepageLimits", None)
            with open(config, "w") as handle:
                json.dump(spec, handle)
os.execv(RUNC, [RUNC, *args])
