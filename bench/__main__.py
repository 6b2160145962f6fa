"""Run every benchmark and print one JSON line per figure (``make bench``)."""

from __future__ import annotations

import sys

from bench import figures
from fourflow.entrypoints.cli.common import configure_logging


def main() -> int:
    """Run the benchmarks named on the command line, or all of them."""
    configure_logging()
    wanted = set(sys.argv[1:])
    try:
        for name, run in figures.BENCHMARKS:
            if not wanted or name in wanted:
                for line in run():
                    print(line, flush=True)
    finally:
        figures.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
