"""`aip init` on a copy of this working tree: a made-up organisation's fork, checked end to end."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from pipelines.cli.main import main
from pipelines.config import load_platform
from pipelines.fork import init, render
from tests.support.repo import make_tree_copy

ACME = {
    "org": "nimbus-ai",
    "repo": "nimbus-ai/ml-platform",
    "region": "eu-central-1",
    "account-id": "210987654321",
    "domain": "nimbus.internal",
    "image-registry": "ghcr.io/nimbus-ai",
    "upstream": "example-template/ai-platform",
    "team-platform": "platform",
    "team-ml": "ml",
    "team-data": "data",
    "team-sre": "oncall",
}
# Where the template's own organisation may stay: prose and what is derived from it, and the changelog.
ALLOWED = ("docs/", "datasets/platform-docs/data/", "CHANGELOG.md")
TEMPLATE_LITERALS = re.compile("example" + "-org|1234567890" + "12")  # split: this file is checked too


def _flags(values: dict[str, str]) -> list[str]:
    return [arg for flag, value in values.items() for arg in (f"--{flag}", value)]


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def fork(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """`aip init` (the command, catalogue included) on a copy of this tree; the lines it printed."""
    import contextlib
    import io

    root = make_tree_copy(tmp_path_factory.mktemp("nimbus"))
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out):
        mp.setenv("AIP_REPO", str(root))
        assert main(["init", *_flags(ACME)]) == 0
    changed = [
        line.removeprefix("wrote ") for line in out.getvalue().splitlines() if line.startswith("wrote ")
    ]
    return root, changed


def test_init_leaves_no_template_organisation_outside_docs(fork):
    root, changed = fork
    assert "platform.yaml" in changed and ".github/CODEOWNERS" in changed
    left = [
        f"{p.relative_to(root)}:{n}"
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.relative_to(root).as_posix().startswith(ALLOWED)
        for n, line in enumerate(p.read_text(errors="replace").splitlines(), start=1)
        if TEMPLATE_LITERALS.search(line)
    ]
    assert left == []


def test_init_writes_platform_yaml_keeping_its_comments(fork):
    root, _ = fork
    text = (root / "platform.yaml").read_text()
    org = load_platform(root / "platform.yaml").organisation
    assert (org.name, org.repository, org.region, org.account_id) == (
        "nimbus-ai",
        "nimbus-ai/ml-platform",
        "eu-central-1",
        "210987654321",
    )
    assert (org.domain, org.image_registry, org.upstream) == (
        "nimbus.internal",
        "ghcr.io/nimbus-ai",
        "example-template/ai-platform",
    )
    assert org.team_handle("sre") == "@nimbus-ai/oncall" and org.team_handle("ml") == "@nimbus-ai/ml"
    assert text.startswith("# yaml-language-server: $schema=schemas/platform.schema.json\n")
    assert "# Environments differ here, never in code." in text
    assert re.search(r"^  name: nimbus-ai +# your organisation slug$", text, re.MULTILINE)
    # answered markers are gone; the ones init does not answer (runner scale sets) stay
    organisation = text.split("state_dir:")[0]
    assert "TODO(fork)" not in organisation
    assert text.count("TODO(fork): ARC scale set") == 3


def test_init_derives_the_environments_service_uris(fork):
    root, _ = fork
    platform = load_platform(root / "platform.yaml")
    for env in ("dev", "staging", "prod"):
        settings = platform.environments[env]
        assert settings.tracking_uri == "https://mlflow.nimbus.internal"
        assert settings.artifact_store == "s3://nimbus-ai-ml-artifacts/mlflow"
        assert settings.dvc_remote == "s3://nimbus-ai-ml-data/dvc"
        assert settings.serving_endpoint == f"https://models.{env}.nimbus.internal"
    assert platform.environments["local"].tracking_uri == "sqlite:///.aip/mlflow.db"


def test_init_renders_the_derived_files(fork):
    root, _ = fork
    assert render.stale(root, load_platform(root / "platform.yaml")) == []
    codeowners = (root / ".github" / "CODEOWNERS").read_text()
    assert re.search(r"^/infra/envs/prod/\s+@nimbus-ai/platform @nimbus-ai/oncall$", codeowners, re.MULTILINE)
    backend = (root / "infra" / "envs" / "prod" / "backend.tf").read_text()
    assert 'bucket       = "nimbus-ai-aip-tfstate"' in backend
    assert "arn:aws:kms:eu-central-1:210987654321:alias/s3/nimbus-ai-aip-tfstate" in backend
    overlay = (root / "infra" / "k8s" / "overlays" / "prod" / "kustomization.yaml").read_text()
    assert "- name: ghcr.io/nimbus-ai/ai-platform-serving" in overlay
    assert "models.prod.nimbus.internal" in overlay
    image_yml = (root / ".github" / "workflows" / "image.yml").read_text()
    assert "IMAGE_PREFIX: ghcr.io/nimbus-ai/ai-platform " in image_yml


def test_the_forks_alert_rules_pass_the_house_rules(fork):
    from pipelines.observability.rules import problems

    root, _ = fork
    assert problems(root) == []
    assert (
        "https://github.com/nimbus-ai/ml-platform/blob/main/docs/runbooks/"
        in (root / "infra" / "k8s" / "platform" / "monitoring" / "prometheusrules.yaml").read_text()
    )


def test_init_again_with_the_same_values_changes_nothing(fork):
    root, _ = fork
    before = _digest(root)
    assert init.run(root, ACME, assume_yes=True, ask=None, progress=lambda _: None) == []
    assert _digest(root) == before


def test_aip_init_refuses_bad_values_naming_each_flag_and_writes_nothing(tmp_path, monkeypatch, capsys):
    root = make_tree_copy(tmp_path / "fork")
    monkeypatch.setenv("AIP_REPO", str(root))
    before = _digest(root)
    bad = {**ACME, "account-id": "12345", "repo": "nimbus-ai", "domain": "Acme..internal"}
    assert main(["init", *_flags(bad)]) == 2
    err = capsys.readouterr().err
    assert "nothing was written" in err
    assert "--account-id '12345': expected the 12-digit cloud account id" in err
    assert "--repo 'nimbus-ai': expected GitHub owner/name" in err
    assert "--domain 'Acme..internal': expected a lower-case DNS name" in err
    assert _digest(root) == before


def test_aip_init_without_a_terminal_lists_the_missing_flags(tmp_path, monkeypatch, capsys):
    root = make_tree_copy(tmp_path / "fork")
    monkeypatch.setenv("AIP_REPO", str(root))
    before = _digest(root)
    assert main(["init", "--org", "nimbus-ai"]) == 2  # pytest's stdin is not a terminal
    err = capsys.readouterr().err
    assert "missing --repo, --region, --account-id, --domain" in err
    assert main(["init", "--org", "nimbus-ai", "--yes"]) == 2  # --yes has no default account id
    assert "missing --account-id" in capsys.readouterr().err
    assert _digest(root) == before


def test_aip_init_with_yes_takes_defaults_derived_from_the_organisation(tmp_path, monkeypatch, capsys):
    root = make_tree_copy(tmp_path / "fork")
    monkeypatch.setenv("AIP_REPO", str(root))
    template = load_platform(root / "platform.yaml").organisation
    assert main(["init", "--org", "nimbus-ai", "--account-id", "210987654321", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "wrote platform.yaml" in out
    org = load_platform(root / "platform.yaml").organisation
    assert org.repository == f"nimbus-ai/{template.repository.split('/')[1]}"
    assert (org.domain, org.image_registry) == ("nimbus-ai.internal", "ghcr.io/nimbus-ai")
    assert org.upstream == (template.upstream or template.repository)
    assert org.teams == template.teams


def test_init_keeps_a_service_uri_the_fork_pointed_elsewhere(tmp_path):
    root = make_tree_copy(tmp_path / "fork")
    path = root / "platform.yaml"
    custom = "https://registry.acme.example"
    text = path.read_text()
    first = text.index("    tracking_uri: https://mlflow.")
    end = text.index("\n", first)
    path.write_text(text[:first] + f"    tracking_uri: {custom}" + text[end:])
    init.run(root, ACME, assume_yes=True, ask=None, progress=lambda _: None)
    platform = load_platform(path)
    assert platform.environments["dev"].tracking_uri == custom
    assert platform.environments["staging"].tracking_uri == "https://mlflow.nimbus.internal"


def test_every_init_flag_is_a_question():
    from pipelines.cli.fork_commands import _INIT_FLAGS

    assert list(_INIT_FLAGS) == [q.flag for q in init.QUESTIONS]


def test_on_a_terminal_init_asks_for_each_missing_value_offering_the_default():
    org = load_platform(Path(__file__).resolve().parents[2] / "platform.yaml").organisation
    asked: list[tuple[str, str | None]] = []

    def ask(question: init.Question, default: str | None) -> str:
        asked.append((question.flag, default))
        return {"account-id": "210987654321", "region": "us-east-2"}.get(question.flag, "")

    answers = init.resolve(org, {"org": "nimbus-ai"}, assume_yes=False, ask=ask)
    assert [flag for flag, _ in asked] == [q.flag for q in init.QUESTIONS if q.flag != "org"]
    assert dict(asked)["account-id"] is None  # no default: the answer is required
    assert dict(asked)["repo"] == f"nimbus-ai/{org.repository.split('/')[1]}"
    assert answers["region"] == "us-east-2" and answers["teams.ml"] == org.teams.ml  # Enter keeps the default
