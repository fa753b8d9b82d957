"""The model server's security counters (docs/metrics.md) behind dashboards/alerts/security.rules.yml:
refused credentials by route class, from the real Service checks into the real Prometheus exposition."""

from __future__ import annotations

import pytest

from pipelines.serving._metrics import ServerMetrics
from pipelines.serving._service import Service
from pipelines.serving.errors import ServingError


def _sample(metrics: ServerMetrics, name: str, **labels: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def _service(auth: str | None, admin: str | None) -> Service:
    # The checks never touch the model manager: no model needs loading to exercise them.
    return Service(manager=None, metrics=ServerMetrics(), env="prod", auth_token=auth, admin_token=admin)  # type: ignore[arg-type]


def test_refused_model_and_admin_requests_are_counted_by_route_class_and_code():
    service = _service("model-token", "admin-token")
    for header in (None, "Bearer wrong", "Basic abc"):
        with pytest.raises(ServingError):
            service.check_auth(header)
    with pytest.raises(ServingError):
        service.check_admin("Bearer model-token")
    service.check_auth("Bearer model-token")  # accepted: not counted
    service.check_admin("Bearer admin-token")
    name = "aip_serving_auth_failures_total"
    assert _sample(service.metrics, name, route_class="model", code="401") == 3
    assert _sample(service.metrics, name, route_class="admin", code="401") == 1
    assert _sample(service.metrics, name, route_class="admin", code="403") == 0


def test_a_disabled_admin_api_counts_403():
    service = _service(None, None)
    service.check_auth(None)  # no model token configured: open, not a failure
    with pytest.raises(ServingError, match="the admin API is disabled"):
        service.check_admin("Bearer anything")
    assert _sample(service.metrics, "aip_serving_auth_failures_total", route_class="admin", code="403") == 1
    assert _sample(service.metrics, "aip_serving_auth_failures_total", route_class="model") == 0


def test_admin_changes_are_exported_by_model_and_action():
    metrics = ServerMetrics()
    metrics.admin_change("tumor-classifier", "traffic")
    metrics.admin_change("tumor-classifier", "traffic")
    metrics.admin_change("tumor-classifier", "promote")
    name = "aip_serving_admin_changes_total"
    assert _sample(metrics, name, model="tumor-classifier", action="traffic") == 2
    assert _sample(metrics, name, model="tumor-classifier", action="promote") == 1
