"""``python -m ingest jobs``: the re-index job process (started by :class:`ingest.jobs.Reindexer`).

It reads its settings from stdin, so it indexes exactly what the requesting process would; people
run ``wegwijzer ingest`` instead.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if argv[:1] != ["jobs"]:
        print("usage: python -m ingest jobs  (started by Wegwijzer; use `wegwijzer ingest`)", file=sys.stderr)
        return 2
    from .jobs import job_process_main

    return job_process_main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
