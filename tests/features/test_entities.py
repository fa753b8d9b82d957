"""The server's entity-key rewrite (pipelines/serving/_entities.py) around a store that failed to open:
requests that send features never wait for it nor fail with it."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Any

import pytest

from pipelines.features import FeatureStoreError
from pipelines.serving._entities import expand_entities
from pipelines.serving.errors import Code, ServingError


def _failed() -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(FeatureStoreError("environment variable AIP_REDIS_PASSWORD is not set"))
    return future


def test_a_request_sending_features_is_untouched_when_the_store_failed_to_open() -> None:
    body = {"instances": [{"mean radius": 14.1, "mean texture": 20.0}]}
    assert asyncio.run(expand_entities(_failed(), body)) is body


def test_a_request_naming_an_entity_is_a_503_saying_why_the_store_is_unavailable() -> None:
    with pytest.raises(ServingError) as caught:
        asyncio.run(expand_entities(_failed(), {"instances": [{"tumour_id": 17}]}))
    assert caught.value.code == Code.UNAVAILABLE
    assert "AIP_REDIS_PASSWORD is not set" in str(caught.value)
