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

from lab import LabInterrupted  # noqa: E402


def interrupted(signum, _frame):
    # Not KeyboardInterrupt: unittest lets that escape without running cleanups.
    raise LabInterrupted(f"interrupted by {signal.Signals(signum).name}")


def main() -> int:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(sig, interrupted)
    signal.alarm(int(os.environ.get("TLSGATE_LAB_TIMEOUT", "200")))
    suite = unittest.defaultTestLoader.loadTestsFromNames(sys.argv[1:])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    signal.alarm(0)
    if not result.wasSuccessful():
        return 1
    if result.testsRun and len(result.skipped) == result.testsRun:
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
