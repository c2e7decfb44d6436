#!/usr/bin/python3
"""Runs lab tests by unittest name for ctest: exit 0 passed, 1 failed, 77 skipped.

    run_lab_test.py test_gateway.GatewayTest.test_inspected [...]

SIGINT, SIGTERM, SIGHUP and an internal deadline (TLSGATE_LAB_TIMEOUT seconds,
default 200, below ctest's TIMEOUT, which kills without warning) end the test
through an exception, so the lab's teardown always runs.
"""

import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lab  # noqa: E402
from lab import LabInterrupted  # noqa: E402

_results: list[unittest.TestResult] = []


class _Runner(unittest.TextTestRunner):
    def _makeResult(self):
        result = super()._makeResult()
        _results.append(result)
        return result


def interrupted(signum, _frame):
    # Not KeyboardInterrupt: unittest lets that escape without running cleanups.
    # unittest records the exception as an error and would go on with the next
    # test (of a class sharing one lab): stop the run, and let the battery's
    # remaining cases end at once (lab.INTERRUPTED), so class cleanups run.
    lab.INTERRUPTED = True
    for result in _results:
        result.stop()
    raise LabInterrupted(f"interrupted by {signal.Signals(signum).name}")


def main() -> int:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(sig, interrupted)
    signal.alarm(int(os.environ.get("TLSGATE_LAB_TIMEOUT", "200")))
    suite = unittest.defaultTestLoader.loadTestsFromNames(sys.argv[1:])
    result = _Runner(verbosity=2, stream=sys.stdout).run(suite)
    signal.alarm(0)
    if not result.wasSuccessful():
        return 1
    if result.testsRun and len(result.skipped) == result.testsRun:
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
