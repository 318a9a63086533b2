#!/usr/bin/python3
"""ro-recorder: a CNI plugin for the end of a test chain that records how the
runtime called it (command, CNI_ARGS, its config) as one JSON line in the file
named by its config's `recordTo`, and passes prevResult on unchanged. It shows
what reached route-override just before it in the same chain: runtimes pass
every plugin of a chain the same CNI_ARGS, args and runtimeConfig."""

import json
import os
import sys

config = json.load(sys.stdin) if os.environ.get("CNI_COMMAND") != "VERSION" else {}
command = os.environ.get("CNI_COMMAND", "")
if command == "VERSION":
    print(json.dumps({"cniVersion": "1.0.0", "supportedVersions": ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]}))
    sys.exit(0)
line = {"command": command, "args": os.environ.get("CNI_ARGS", ""), "netns": os.environ.get("CNI_NETNS", ""), "config": config}
with open(config["recordTo"], "a") as record:
    record.write(json.dumps(line) + "\n")
if command == "ADD":
    print(json.dumps({**config.get("prevResult", {}), "cniVersion": config["cniVersion"]}))
