"""A job worker on a moved clock, for the time-travel tests: `python -m tests.worker_clock`.

Reads one ISO timestamp per line on stdin, sets services.core.clock.now to it, runs every periodic
job once (services.worker.run_once, exactly what the `housekeeping` task runs) and answers one line
of JSON with what the jobs did. Stops at end of input. The database and mail settings come from the
environment the test gives it.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime

from services.core import clock


def main() -> None:
    from services import worker

    for line in sys.stdin:
        moment = datetime.fromisoformat(line.strip())
        clock.now = lambda moment=moment: moment  # type: ignore[misc]
        sys.stdout.write(json.dumps(worker.run_once()) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
