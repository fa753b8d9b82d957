"""`aip doctor` against a recorded GitHub API (GitHub is unreachable from the test machine).

tests/fixtures/github/ holds the answers of GitHub's documented REST endpoints (API 2022-11-28) for one
made-up fork, acme-ml/ml-platform, twice: half-configured (some environments made by hand, the
env-branches ruleset, two env branches, most secrets and the Actions permission missing) and fully
configured. The CLI runs in-process with GITHUB_API_URL pointed at tests/support/github_api.py."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from pipelines.cli.main import main
from tests.support.github_api import RecordedGitHub
from tests.support.repo import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "github"
SLUG = "acme-ml/ml-platform"
BASE = f"/repos/{SLUG}"
MAIN_SHA = "c0ffee" * 6 + "c0ff"  # main's tip in the recording (a made-up sha)
TEAM_ID = 9876543  # acme-ml/platform-team in the recording
TOKEN = "ghp_recorded"  # pragma: allowlist secret


@pytest.fixture
def fork(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout of acme-ml's fork: this repository's platform.yaml with the recording's organisation
    (repository, region, reviewer team), and this repository's workflows and rulesets."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    data = yaml.load((REPO_ROOT / "platform.yaml").read_text(encoding="utf-8"))
    org = data["organisation"]
    org["name"], org["repository"], org["region"] = "acme-ml", SLUG, "eu-west-1"
    if "teams" in org:  # platform.yaml's reviewer team is the recording's
        org["teams"]["platform"] = "platform-team"
    with (tmp_path / "platform.yaml").open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)
    (tmp_path / ".github").symlink_to(REPO_ROOT / ".github")
    monkeypatch.setenv("AIP_REPO", str(tmp_path))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    return tmp_path


def doctor(gh_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str):
    monkeypatch.setenv("GITHUB_API_URL", gh_url)
    code = main(["doctor", "--repo", SLUG, *args])
    out, err = capsys.readouterr()
    return code, out, err


def failing(report: dict) -> set[tuple[str, str, str]]:
    return {
        (c["area"], c["name"], c["status"])
        for c in report["checks"]
        if c["required"] and c["status"] in ("missing", "wrong")
    }


TUNING_SECRETS = (
    "AIP_STUDY_STORAGE_PASSWORD",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "PROMOTION_TOKEN",
)
HALF_CONFIGURED_PROBLEMS = {
    ("environment", "infra-dev", "missing"),
    ("environment", "staging", "wrong"),  # every branch may deploy
    ("environment", "staging-monitoring", "missing"),
    ("environment", "infra-staging", "missing"),
    ("environment", "prod", "wrong"),  # no required reviewers although platform.yaml requires_approval
    ("environment", "prod-monitoring", "missing"),
    ("environment", "infra-prod", "missing"),
    ("variable", "AIP_GPU_RUNNERS", "wrong"),  # 'false'
    ("variable", "AWS_PLAN_ROLE_ARN", "missing"),
    ("secret", "PROMOTION_TOKEN", "missing"),
    ("secret", "dev: MLFLOW_TRACKING_PASSWORD", "missing"),
    ("variable", "staging: EKS_CLUSTER", "missing"),
    ("variable", "staging: AIP_PROMETHEUS_URL", "missing"),
    ("secret", "staging: MLFLOW_TRACKING_USERNAME", "missing"),
    ("secret", "staging: MLFLOW_TRACKING_PASSWORD", "missing"),
    ("variable", "prod: AWS_ROLE_ARN", "missing"),
    ("variable", "prod: EKS_CLUSTER", "missing"),
    ("variable", "prod: AIP_PROMETHEUS_URL", "missing"),
    ("secret", "prod: MLFLOW_TRACKING_USERNAME", "missing"),
    ("secret", "prod: MLFLOW_TRACKING_PASSWORD", "missing"),
    *{
        (kind, f"{env}-monitoring: {name}", "missing")
        for env in ("staging", "prod")
        for kind, name in (
            ("variable", "AWS_ROLE_ARN"),
            ("variable", "AIP_SAMPLE_SINK"),
            ("secret", "MLFLOW_READONLY_USERNAME"),
            ("secret", "MLFLOW_READONLY_PASSWORD"),
        )
    },
    *{("variable", f"infra-{env}: AWS_ROLE_ARN", "missing") for env in ("dev", "staging", "prod")},
    ("environment", "data", "missing"),  # ingestion and retraining (ingest.yml, drift.yml)
    ("variable", "data: AWS_ROLE_ARN", "missing"),
    ("secret", "data: AIP_DATA_SOURCES", "missing"),
    ("secret", "data: PROMOTION_TOKEN", "missing"),  # neither there nor for the repository
    ("environment", "tuning", "missing"),  # hyper-parameter searches (tune.yml)
    ("variable", "tuning: AWS_ROLE_ARN", "missing"),
    *{("secret", f"tuning: {name}", "missing") for name in TUNING_SECRETS},
    # the Feast online store's password for scheduled materialisation (features.yml)
    *{("secret", f"{env}-monitoring: AIP_REDIS_PASSWORD", "missing") for env in ("dev", "staging", "prod")},
    ("ruleset", "env-branches", "missing"),
    ("actions", "workflow permissions", "wrong"),  # Actions may not open PRs; default token write
    ("branch", "env/staging", "missing"),
    ("branch", "env/prod", "missing"),
}


def test_half_configured_fork_lists_exactly_what_is_missing(fork, monkeypatch, capsys):
    with RecordedGitHub(token=TOKEN) as gh:
        gh.load(FIXTURES / "half-configured")
        code, out, _ = doctor(gh.url, monkeypatch, capsys, "--json")
        assert not [r for r in gh.requests if r.method != "GET"], "doctor without --apply only reads"
    report = json.loads(out)
    assert code == 1
    assert failing(report) == HALF_CONFIGURED_PROBLEMS
    by_name = {c["name"]: c for c in report["checks"]}
    # the repository's AWS_REGION serves every environment; runner groups need an org admin
    assert by_name["infra-prod: AWS_REGION"]["status"] == "ok"
    assert (by_name["runner groups"]["status"], by_name["runner groups"]["required"]) == ("unknown", False)
    assert by_name["dev: GRAFANA_URL"]["status"] == "optional"
    assert by_name["dev"]["status"] == "ok" and by_name["main"]["status"] == "ok"


def test_half_configured_fork_report_fits_one_screen_and_says_what_to_do(fork, monkeypatch, capsys):
    with RecordedGitHub(token=TOKEN) as gh:
        gh.load(FIXTURES / "half-configured")
        code, out, _ = doctor(gh.url, monkeypatch, capsys)
    assert code == 1
    lines = out.splitlines()
    assert len(lines) <= 40, out
    assert f"gh secret set NAME --env prod --repo {SLUG}" in out
    assert "WRONG    environment prod: no required reviewers" in out
    assert "cannot check (HTTP 403): needs an organisation admin" in out
    assert lines[-1].startswith("FAIL ")


def test_fully_configured_fork_passes(fork, monkeypatch, capsys):
    with RecordedGitHub(token=TOKEN) as gh:
        gh.load(FIXTURES / "fully-configured")
        code, out, _ = doctor(gh.url, monkeypatch, capsys)
    assert code == 0, out
    assert "MISSING" not in out and "WRONG" not in out
    assert out.splitlines()[-1].startswith("ok   every required setting is there")


def test_a_ruleset_that_drifted_is_wrong_and_apply_puts_the_committed_one_back(fork, monkeypatch, capsys):
    committed = json.loads((REPO_ROOT / ".github/rulesets/main.json").read_text(encoding="utf-8"))
    # someone set it to evaluate-only and dropped two rules; the fork's own signed-commits rule stays
    rules = [{"type": "deletion"}, {"type": "required_signatures"}]
    drifted = {**committed, "id": 1010, "enforcement": "evaluate", "rules": rules}
    with RecordedGitHub(token=TOKEN) as gh:
        gh.load(FIXTURES / "fully-configured")
        gh.route("GET", rf"{BASE}/rulesets/1010", drifted)
        gh.route("PUT", rf"{BASE}/rulesets/1010", lambda req: (200, req.body))
        code, out, _ = doctor(gh.url, monkeypatch, capsys, "--apply", "--json")
        writes = [r for r in gh.requests if r.method != "GET"]
    report = json.loads(out)
    assert code == 1  # the recording still answers with the drifted ruleset
    main_check = next(c for c in report["checks"] if c["name"] == "main")
    assert main_check["status"] == "wrong"
    for problem in ("enforcement is 'evaluate'", "no pull_request rule", "no required_status_checks rule"):
        assert problem in main_check["detail"]
    assert [(r.method, r.path) for r in writes] == [("PUT", f"{BASE}/rulesets/1010")]
    assert writes[0].body == {**committed, "rules": [*committed["rules"], {"type": "required_signatures"}]}


def test_apply_creates_what_can_be_created_and_never_a_secret(fork, monkeypatch, capsys):
    with RecordedGitHub(token=TOKEN) as gh:
        gh.load(FIXTURES / "half-configured")
        for method, status in (("PUT", 200), ("POST", 201), ("PATCH", 204)):
            gh.route(method, rf"{BASE}/.*", lambda req, s=status: (s, {} if s != 204 else None))
        code, out, _ = doctor(gh.url, monkeypatch, capsys, "--apply")
        writes = [(r.method, r.path, r.body) for r in gh.requests if r.method != "GET"]
    assert code == 1, out  # secrets stay missing: their values are the fork's
    sent = [(m, p) for m, p, _ in writes]
    assert sent == [
        ("PUT", f"{BASE}/environments/infra-dev"),
        ("POST", f"{BASE}/environments/infra-dev/deployment-branch-policies"),
        ("PUT", f"{BASE}/environments/staging"),
        ("POST", f"{BASE}/environments/staging/deployment-branch-policies"),
        ("PUT", f"{BASE}/environments/staging-monitoring"),
        ("POST", f"{BASE}/environments/staging-monitoring/deployment-branch-policies"),
        ("PUT", f"{BASE}/environments/infra-staging"),
        ("POST", f"{BASE}/environments/infra-staging/deployment-branch-policies"),
        ("PUT", f"{BASE}/environments/prod"),
        ("PUT", f"{BASE}/environments/prod-monitoring"),
        ("POST", f"{BASE}/environments/prod-monitoring/deployment-branch-policies"),
        ("PUT", f"{BASE}/environments/infra-prod"),
        ("POST", f"{BASE}/environments/infra-prod/deployment-branch-policies"),
        ("PUT", f"{BASE}/environments/data"),
        ("POST", f"{BASE}/environments/data/deployment-branch-policies"),
        ("PUT", f"{BASE}/environments/tuning"),
        ("POST", f"{BASE}/environments/tuning/deployment-branch-policies"),
        ("PUT", f"{BASE}/actions/permissions/workflow"),
        ("POST", f"{BASE}/git/refs"),
        ("POST", f"{BASE}/git/refs"),
        ("POST", f"{BASE}/rulesets"),
    ]
    assert not [p for _, p, _ in writes if "/secrets" in p]
    body = {(m, p): b for m, p, b in writes}
    branch_only = {"protected_branches": False, "custom_branch_policies": True}
    assert body[("PUT", f"{BASE}/environments/prod")] == {
        "deployment_branch_policy": branch_only,
        "reviewers": [{"type": "Team", "id": TEAM_ID}],
        "prevent_self_review": True,
    }
    assert body[("PUT", f"{BASE}/environments/prod-monitoring")] == {
        "deployment_branch_policy": branch_only,
        "reviewers": [],  # the scheduled drift job must never wait
    }
    policies = [b for m, p, b in writes if p.endswith("/deployment-branch-policies")]
    assert {"name": "env/staging", "type": "branch"} in policies and {
        "name": "main",
        "type": "branch",
    } in policies
    assert [b for m, p, b in writes if p.endswith("/git/refs")] == [
        {"ref": "refs/heads/env/staging", "sha": MAIN_SHA},
        {"ref": "refs/heads/env/prod", "sha": MAIN_SHA},
    ]
    assert body[("PUT", f"{BASE}/actions/permissions/workflow")] == {
        "default_workflow_permissions": "read",
        "can_approve_pull_request_reviews": True,
    }
    committed = json.loads((REPO_ROOT / ".github/rulesets/env-branches.json").read_text(encoding="utf-8"))
    assert body[("POST", f"{BASE}/rulesets")] == committed
    assert "applied:" in out and "ok      create ruleset env-branches" in out


def test_no_token_is_bad_usage_naming_the_variable(fork, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_TOKEN")
    code, _, err = doctor("http://127.0.0.1:9", monkeypatch, capsys)
    assert code == 2
    assert "GITHUB_TOKEN" in err and "--token-env" in err


def test_a_rejected_token_says_so(fork, monkeypatch, capsys):
    with RecordedGitHub(token="ghp_the_right_one") as gh:  # pragma: allowlist secret
        gh.load(FIXTURES / "fully-configured")
        code, _, err = doctor(gh.url, monkeypatch, capsys)
    assert code == 2
    assert "refused the token (HTTP 401" in err and "GITHUB_TOKEN" in err


def test_github_down_is_a_clear_failure(fork, monkeypatch, capsys):
    with socket.socket() as free:  # a loopback port nothing listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    code, out, err = doctor(f"http://127.0.0.1:{port}", monkeypatch, capsys)
    assert code == 1
    assert f"the GitHub API at http://127.0.0.1:{port} did not answer" in err
    assert "nothing was checked" in err and out == ""
