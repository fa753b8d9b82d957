"""`python -m pipelines` is the same as `aip`."""

from pipelines.cli import main

raise SystemExit(main())
