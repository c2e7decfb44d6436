"""Where the battery's tests record each case's outcome, for battery_table.py.

One JSON line per case run, appended to $TLSGATE_BATTERY_RESULTS (CMake sets
<build>/tests/lab/battery-results.jsonl; default below). The table uses the
latest line of each case.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib

DEFAULT_PATH = pathlib.Path("/tmp/tlsgate-battery-results.jsonl")


def results_path() -> pathlib.Path:
    return pathlib.Path(os.environ.get("TLSGATE_BATTERY_RESULTS", DEFAULT_PATH))


def record(case_id: str, status: str, actual: str, failure: str, test_id: str) -> None:
    """status: pass | fail (an assertion) | error (the test could not observe)."""
    line = {
        "ts": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "case": case_id, "status": status, "actual": actual, "failure": failure,
        "test": test_id, "gateway": _binary_stamp(),
    }
    path = results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(line) + "\n")


def latest(path: pathlib.Path | None = None) -> dict[str, dict]:
    path = path or results_path()
    found: dict[str, dict] = {}
    if not path.exists():
        return found
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        found[entry["case"]] = entry
    return found


def _binary_stamp() -> str:
    """Which tlsgated produced the result: its path's modification time."""
    path = os.environ.get("TLSGATED", "")
    try:
        mtime = datetime.datetime.fromtimestamp(os.stat(path).st_mtime, datetime.timezone.utc)
    except OSError:
        return ""
    return f"tlsgated built {mtime.isoformat(timespec='seconds')}"
