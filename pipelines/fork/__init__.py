"""Forking the template: `aip init` (fill platform.yaml, render the derived files), `aip render`, the
GitHub settings a fork needs (`settings`, `doctor`) and template updates (`template`)."""
