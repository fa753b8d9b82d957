"""Monitoring: sampled requests (the sink the server writes) and drift against the training reference.

`Sampler`/`SampleSink` are light (the server imports them); `drift.check` and `report.write` import
pandas, scipy, scikit-learn and, for text, torch and transformers when called.
"""

from pipelines.monitoring.sink import SINK_ENV, Sampler, SampleSink, sink_uri

__all__ = ["SINK_ENV", "SampleSink", "Sampler", "sink_uri"]
