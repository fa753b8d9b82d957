"""Turn the engine's errors into one clear message and an exit code, never a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from pipelines.errors import is_expected

EXIT_FAILED = 1  # a step, an expectation or a gate failed
EXIT_USAGE = 2  # bad usage or bad configuration


def run_handler(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    from pipelines.config import ConfigError
    from pipelines.repo.layout import RepoNotFound

    try:
        return handler(args)
    except ConfigError as exc:
        print(f"error: invalid configuration\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    except RepoNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # Engine errors carry their own clear message; anything else is a bug worth a traceback.
        if is_expected(exc):
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
        raise
