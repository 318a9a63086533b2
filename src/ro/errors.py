"""CNI error codes and the one exception type every layer raises.

The protocol layer (ro.cni) renders a CniError exactly once, as the CNI error
object on stdout; nothing below it prints errors itself.
"""

from __future__ import annotations

# Well-known codes, CNI SPEC "Error" section.
INCOMPATIBLE_VERSION = 1
INVALID_ENVIRONMENT = 4
IO_FAILURE = 5
DECODING_FAILURE = 6
INVALID_CONFIG = 7
TRY_AGAIN_LATER = 11
# 50, the plugin is not available (no python3 new enough), is the launcher's
# and the first lines' to say (build/): they run before ro can be imported.

# Ours (the spec leaves 100 and up to plugins).
KERNEL_REFUSED = 100  # a route change was refused; everything was rolled back
NETNS_UNUSABLE = 101  # CNI_NETNS cannot be opened or is not a network namespace
INTERFACE_MISSING = 102  # a target interface is not in the namespace
CHECK_FAILED = 103  # CHECK found routes that differ from the result
ROLLBACK_INCOMPLETE = 104  # a refused change could not be fully undone
INTERNAL = 999  # a bug: the traceback is on stderr


class CniError(Exception):
    """An error the runtime sees as {"code", "msg", "details"}."""

    def __init__(self, code: int, msg: str, details: str = "") -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.details = details
