"""`route-override`: a CNI plugin when CNI_COMMAND is set, a tool for humans otherwise."""

from __future__ import annotations

import os


def main() -> None:
    if os.environ.get("CNI_COMMAND"):
        from .cni import main as cni_main

        cni_main()
    else:
        from .cli import main as cli_main

        raise SystemExit(cli_main())


if __name__ == "__main__":
    main()
