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
