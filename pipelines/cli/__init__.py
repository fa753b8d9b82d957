"""The `aip` command line: thin parsing that calls the subpackages."""

from pipelines.cli.main import main

__all__ = ["main"]
