"""Observability: the metric catalogue (catalogue.py, rendered by metrics_doc.py), structured ECS
logs (logs.py), pushes of batch jobs' metrics (push.py), dashboards as code (dashboards.py), and the
checks of alert rules (rules.py) and PromQL (promql.py). Drift checks live in pipelines/monitoring/."""

from pipelines.observability.catalogue import CATALOGUE, EXTERNAL_EXPORTERS, Metric, create, known_series

__all__ = ["CATALOGUE", "EXTERNAL_EXPORTERS", "Metric", "create", "known_series"]
