"""`route-override`: a CNI plugin when CNI_COMMAND is set, a tool for humans otherwise."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Mapping


def plugin_commands() -> Mapping[str, Callable]:
    """ADD, CHECK, DEL, STATUS and GC, for the protocol layer: imported only
    by the requests that reach them (not VERSION, nor an invalid request)."""
    from .plugin import COMMANDS

    return COMMANDS


def main() -> None:
    if os.environ.get("CNI_COMMAND"):
        from .cni import main as cni_main

        cni_main(plugin_commands)
    else:
        from .cli import main as cli_main

        raise SystemExit(cli_main())


if __name__ == "__main__":
    main()
