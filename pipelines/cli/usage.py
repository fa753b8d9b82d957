"""`aip ci check-commands`: every workflow step names a make target, an `aip` command line that `aip`'s
own parser accepts, and repository paths that exist.

The parser belongs to the CLI: `usage_problem` answers "does `aip ARGV` parse?" and is handed to
`pipelines.gitops.workflows.check_commands`, so gitops never imports the CLI.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from collections.abc import Sequence

from pipelines.cli.errors import EXIT_FAILED

__all__ = ["cmd_ci_check_commands", "usage_problem"]

_UNKNOWN_COMMAND = "argument COMMAND: invalid choice"  # argparse's words for a top-level typo
_RUNTIME_VALUE = "value: 'PLACEHOLDER'"  # check_commands' stand-in for a $VARIABLE, refused by a typed option


def usage_problem(argv: Sequence[str]) -> str | None:
    """None when `aip ARGV` parses (or only asks for help); else the parser's complaint, one line."""
    from pipelines.cli.main import build_parser

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(list(argv))
    except SystemExit as exc:
        if exc.code == 0:
            return None
        message = err.getvalue().strip().splitlines()[-1]
        if _RUNTIME_VALUE in message:  # `--trials "$TRIALS"`: a typed value known only when the step runs
            return None
        return f"`aip {argv[0]}` is not a command" if _UNKNOWN_COMMAND in message else message
    return None


def cmd_ci_check_commands(args: argparse.Namespace) -> int:
    from pipelines.cli.gitops_commands import _repo, _workflows
    from pipelines.gitops.workflows import check_commands

    problems = check_commands(_workflows(args.files), _repo().root, usage_problem)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return EXIT_FAILED
    print("ok: every run: step names a make target, an aip command and paths that exist")
    return 0
