"""`platform.yaml`: the organisation and its environments (the one file a fork must edit)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from pipelines.config._base import Name, StrictModel

EnvName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{1,15}$")]


Repository = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]
TeamSlug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
TEAM_KEYS = ("platform", "ml", "data", "sre")


class Teams(StrictModel):
    """GitHub team slugs (without `@<org>/`): CODEOWNERS, catalogue owners and model owners use them."""

    platform: TeamSlug = "platform-team"
    """Owns the platform itself: infra/, workflows, platform.yaml, the Makefile."""
    ml: TeamSlug = "ml-engineers"
    """Owns models, prompts and the training code."""
    data: TeamSlug = "data-engineers"
    """Owns datasets."""
    sre: TeamSlug = "sre"
    """Co-owns production infrastructure and the alerts."""


class Organisation(StrictModel):
    name: Name
    """Organisation slug; prefixes cloud resources and model names in shared registries."""
    repository: Repository
    """GitHub `owner/name` of the fork; OIDC trust policies pin to it."""
    cloud: str = "aws"
    """Cloud whose Terraform modules infra/ applies (aws today; siblings may be added)."""
    region: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$")] = "eu-west-1"
    """Default cloud region, e.g. `eu-west-1`."""
    cost_center: str = "ml-platform"
    """Value of the required `cost-center` tag on every cloud resource."""
    account_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
    """Cloud account id (12 digits, quoted) that KMS key and IAM role ARNs are built from."""
    domain: Annotated[
        str,
        StringConstraints(pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$"),
    ]
    """Base DNS name of the platform's services: `mlflow.<domain>`, `models.<env>.<domain>`."""
    image_registry: Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+$")]
    """Container registry prefix; images are `<image_registry>/ai-platform-<name>` (e.g. `ghcr.io/<org>`)."""
    upstream: Repository | None = None
    """GitHub `owner/name` of the template this fork was made from; template updates come from it."""
    teams: Teams = Field(default_factory=Teams)
    """GitHub team slugs by role (platform, ml, data, sre)."""

    def team_handle(self, key_or_slug: str) -> str:
        """`@<org>/<slug>` for a team key (`ml`), a team slug (`ml-engineers`) or a full `@org/team`."""
        if key_or_slug.startswith("@"):
            return key_or_slug
        slug = getattr(self.teams, key_or_slug) if key_or_slug in TEAM_KEYS else key_or_slug
        return f"@{self.github_owner}/{slug}"

    @property
    def github_owner(self) -> str:
        """The GitHub organisation (owner part of `repository`) that the teams belong to."""
        return self.repository.split("/", 1)[0]


class OnlineStore(StrictModel):
    """Where an environment's Feast online store lives (docs/features.md): the features `aip serve`
    looks up by entity key, written by `aip features materialize`."""

    type: Literal["sqlite", "redis"] = "sqlite"
    """`sqlite`: a file on this machine (local); `redis`: a Redis server shared by the serving pods."""
    path: str | None = None
    """SQLite file, relative to the repo root; None: `<state_dir>/features/<env>/online.db`."""
    connection_string: str | None = None
    """Redis `host:port` plus Feast's options (`,ssl=true`, `,db=0`); never a password (`password_env`)."""
    password_env: str | None = None
    """Environment variable holding the Redis password (never the password); None: no password."""

    @model_validator(mode="after")
    def _fields_fit_the_type(self) -> OnlineStore:
        if self.type == "redis" and not self.connection_string:
            raise ValueError("type 'redis' requires connection_string (host:port)")
        if self.type == "redis" and self.path is not None:
            raise ValueError("type 'redis' takes no path (that is for sqlite)")
        if self.type == "sqlite" and (self.connection_string or self.password_env):
            raise ValueError("type 'sqlite' takes no connection_string or password_env (those are for redis)")
        if self.connection_string and "password=" in self.connection_string.replace(" ", "").lower():
            raise ValueError("connection_string must not hold a password: name its variable in password_env")
        return self


K8sName = Annotated[str, StringConstraints(pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$", max_length=63)]
Quantity = Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")]


class ClusterTraining(StrictModel):
    """How an environment trains on its cluster when `training: cluster` (docs/cluster-training.md):
    a Kubeflow Trainer TrainJob per model, admitted by Kueue within this environment's quota. Read
    by `aip cluster render|train`, which render the queue, the runtime and the job from here and
    from model.yaml's `environments.<env>.training` (nodes, processes per node)."""

    namespace: K8sName = "ml-training"
    """Namespace of the TrainJobs, their LocalQueue and service account."""
    local_queue: K8sName = "training"
    """Kueue LocalQueue the jobs name in their `kueue.x-k8s.io/queue-name` label."""
    cluster_queue: K8sName = "training"
    """Kueue ClusterQueue holding the quota (one cluster per environment, so one name suffices)."""
    device: Literal["gpu", "cpu"] = "gpu"
    """`gpu`: the GPU pool (taint tolerated, one `nvidia.com/gpu` per process); `cpu`: the CPU pool."""
    gpu_quota: int = Field(1, ge=0)
    """GPUs the ClusterQueue admits at once (at most the GPU pool's max nodes x GPUs per node)."""
    cpu_quota: Quantity = "16"
    """CPU the ClusterQueue admits at once, all jobs together."""
    memory_quota: Quantity = "64Gi"
    """Memory the ClusterQueue admits at once, all jobs together."""
    cpu_per_node: Quantity = "3"
    """CPU each training node (pod) requests."""
    memory_per_node: Quantity = "12Gi"
    """Memory each training node (pod) requests and is limited to."""
    image: str | None = None
    """Training image, best by digest (`<image_registry>/ai-platform-training@sha256:...`); None:
    `<image_registry>/ai-platform-training:latest`. `aip cluster train --image` overrides it."""
    service_account_role_arn: str | None = None
    """IAM role the jobs' service account assumes (IRSA: S3 for DVC and MLflow artifacts); None: none."""
    credentials_secret: K8sName = "aip-training"
    """Secret in `namespace` with keys `mlflow-username` and `mlflow-password` (made by hand, never git)."""
    timeout_seconds: int = Field(21600, ge=60)
    """How long a job may run (TrainJob activeDeadlineSeconds) and `aip cluster train` waits by default."""


class Environment(StrictModel):
    tracking_uri: str
    """MLflow tracking and registry URI: `sqlite:///<path>` (relative to the repo root) or http(s)."""
    artifact_store: str
    """Where MLflow stores run artifacts: a folder (relative to the repo root) or s3://, gs://, ..."""
    dvc_remote: str
    """DVC remote for the datasets: a folder (relative to the repo root) or s3://, gs://, ..."""
    serving_endpoint: str
    """Base URL of the model server of this environment (TF Serving REST API)."""
    runner_labels: list[str] = Field(default_factory=list)
    """GitHub Actions `runs-on` labels for this environment's training jobs (self-hosted VM runners);
    used when `runner` is not set."""
    runner: str | None = None
    """Name of the actions-runner-controller (ARC) runner scale set that runs this environment's GPU
    jobs (`runs-on: <name>`; on github.com ARC scale sets are selected by name, never by labels).
    infra/modules/gpu-runners names it `<name>-<environment>-gpu`, e.g. `aip-dev-gpu`. When unset,
    the jobs ask for `runner_labels`."""
    train: bool = True
    """Whether this environment may train a fingerprint that is not registered yet. The first
    environment (dev) trains; later ones (staging, prod) set false: they only deploy versions that
    are already registered (promoted by alias, never retrained), and `aip train`/`aip run`/`aip
    deploy` there stop with a message when the commit's fingerprint was never registered."""
    requires_approval: bool = False
    """Whether deploys need a reviewer. `aip ci plan` outputs it; the deploy job runs in the GitHub
    environment of the same name, which must then have required reviewers (docs/gitops.md)."""
    kubernetes_namespace: str | None = None
    """Namespace that the model server runs in; None for processes on this machine."""
    generator_endpoint: str | None = None
    """OpenAI-compatible base URL (ending in `/v1`) that answers this environment's prompts: vLLM on
    the cluster or a managed API. None: the local SmolLM2-135M-Instruct (docs/generation.md)."""
    generator_model: str | None = None
    """Model name sent to `generator_endpoint`; None sends the prompt's own `generator.model`."""
    generator_api_key_env: str | None = None
    """Environment variable holding the bearer token for `generator_endpoint` (never the token)."""
    vector_store: Literal["faiss", "milvus"] = "faiss"
    """Where prompts retrieve from: the FAISS index versioned with the documents dataset, or Milvus."""
    milvus_uri: str | None = None
    """Milvus server (`http(s)://host:19530`) or a milvus-lite file; None: `<state_dir>/milvus.db`."""
    online_store: OnlineStore = Field(default_factory=OnlineStore)
    """Feast online store of the datasets with `features` (docs/features.md): SQLite under state_dir
    by default, Redis for the shared environments."""
    study_storage: str | None = None
    """Optuna storage that `aip tune` workers share (docs/tuning.md): `sqlite:///<path>` (relative to
    the repo root) or `postgresql+psycopg://user@host:5432/db`, the password coming from the
    AIP_STUDY_STORAGE_PASSWORD environment variable (never written here). None:
    `sqlite:///<state_dir>/optuna.db`."""
    training: Literal["runner", "cluster"] = "runner"
    """Where the deploy workflow trains (when `train` is true): `runner` runs `aip train` on the
    environment's GPU runner; `cluster` submits a Kubeflow Trainer job through Kueue and waits for it
    (`aip cluster train`, docs/cluster-training.md)."""
    cluster_training: ClusterTraining = Field(default_factory=ClusterTraining)
    """Queue, quota and pod resources of cluster training (used when `training: cluster`, and by
    `aip cluster render` in any environment)."""
    dask_scheduler: str | None = None
    """Dask scheduler (`tcp://host:8786`) that datasets with `engine: dask` prepare on: a DaskCluster
    of the Dask Kubernetes operator (docs/data-preparation.md). None: a LocalCluster of 2 processes."""


class PlatformConfig(StrictModel):
    organisation: Organisation
    """Who owns this fork."""
    state_dir: str = ".aip"
    """Git-ignored folder for local state (MLflow SQLite, DVC remote, reports), relative to the repo root."""
    default_environment: EnvName = "local"
    """Environment used when a command is given no `--env`."""
    environments: dict[EnvName, Environment]
    """Every environment by name; promotion runs through them in the order written (local first)."""

    @model_validator(mode="after")
    def _default_environment_exists(self) -> PlatformConfig:
        if self.default_environment not in self.environments:
            allowed = ", ".join(self.environments)
            raise ValueError(
                f"default_environment '{self.default_environment}' is not an environment (allowed: {allowed})"
            )
        return self

    @property
    def promotion_order(self) -> list[str]:
        """Environments that models are promoted through, excluding the local sandbox."""
        return [name for name in self.environments if name != "local"]
