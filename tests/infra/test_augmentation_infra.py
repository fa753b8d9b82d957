"""The augmentation layer's infrastructure: the Feast online store (infra/modules/feature-store), Optuna's
study database (infra/modules/study-store), their wiring into every environment, and the tuning Job
(infra/k8s/tuning).

HCL is asserted as text (no provider can be downloaded here; infra.yml validates and plans with them);
`terraform test` of both modules runs in step `test` of `make infra-check` (tests/infra/test_terraform_tftest.py).
"""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest
import yaml

from pipelines.cli.usage import usage_problem
from tests.support.infra import INFRA

pytestmark = pytest.mark.infra

MODULES = INFRA / "modules"
ENVS = ["dev", "staging", "prod"]
TUNING = INFRA / "k8s" / "tuning"


def hcl(*parts: str) -> str:
    return "\n".join(p.read_text() for p in sorted((INFRA.joinpath(*parts)).glob("*.tf")))


def block(text: str, header: str) -> str:
    """The body of the top-level block starting with `header` (brace matching)."""
    start = text.index(header)
    depth, i = 0, text.index("{", start)
    while True:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
        if depth == 0:
            return text[start:i]


def test_the_online_store_is_encrypted_at_rest_and_in_transit_and_needs_its_token():
    text = hcl("modules", "feature-store")
    group = block(text, 'resource "aws_elasticache_replication_group" "this"')
    for setting in (
        "at_rest_encryption_enabled = true",
        "kms_key_id                 = local.kms_key_arn",
        "transit_encryption_enabled = true",
        'transit_encryption_mode    = "required"',  # TLS only, no plaintext fallback
        "auth_token                 = aws_secretsmanager_secret_version.auth[0].secret_string",
        "subnet_group_name          = aws_elasticache_subnet_group.this[0].name",
    ):
        assert setting in group, setting
    secret = block(text, 'resource "aws_secretsmanager_secret" "auth"')
    assert "kms_key_id              = local.kms_key_arn" in secret
    # the token is generated once: later plans' values are ignored, so the token never changes by itself
    assert "ignore_changes = [secret_string]" in block(
        text, 'resource "aws_secretsmanager_secret_version" "auth"'
    )


@pytest.mark.parametrize("module", ["feature-store", "study-store"])
def test_the_stores_admit_only_the_named_security_groups(module: str):
    text = hcl("modules", module)
    assert "cidr_ipv4" not in text and "cidr_blocks" not in text  # no address range, public or private
    rules = re.findall(r'resource "aws_vpc_security_group_ingress_rule" "\w+" \{', text)
    assert len(rules) == 1
    assert "referenced_security_group_id = each.value" in text
    assert "for_each = local.create ? var.allowed_security_groups : {}" in text


def test_the_study_database_is_private_encrypted_and_tls_only():
    text = hcl("modules", "study-store")
    db = block(text, 'resource "aws_db_instance" "this"')
    for setting in (
        "storage_encrypted                   = true",
        "publicly_accessible                 = false",
        "db_name                             = local.database",
        "username                            = local.username",
    ):
        assert setting in db, setting
    assert re.search(r'name\s*=\s*"rds.force_ssl"\s*\n\s*value\s*=\s*"1"', text)
    assert 'database            = "optuna"' in text and 'username            = "optuna"' in text
    assert "sslmode=require" in block(text, 'output "storage_url"')


def test_every_environment_gets_an_online_store_and_only_the_training_one_a_study_database():
    platform = hcl("modules", "aws-platform")
    for name in ("feature_store", "study_store"):
        call = block(platform, f'module "{name}"')
        assert "subnet_ids              = module.network.private_subnet_ids" in call
        assert "allowed_security_groups = { cluster = module.eks.cluster_security_group_id }" in call
    for env in ENVS:
        main = (INFRA / "envs" / env / "main.tf").read_text()
        outputs = (INFRA / "envs" / env / "outputs.tf").read_text()
        assert re.search(r"^\s*feature_store\s*=\s*\{ node_type = \"cache\.", main, re.MULTILINE), env
        assert (
            'output "feature_store_endpoint"' in outputs
            and 'output "feature_store_auth_secret_arn"' in outputs
        )
        tunes = re.search(r"^\s*study_store\s*=\s*\{ create = true", main, re.MULTILINE) is not None
        assert tunes is (env == "dev"), env
        assert ('output "study_storage_url"' in outputs) is tunes
        assert ('output "github_tuning_role_arn"' in outputs) is tunes


def test_the_tuning_role_exists_where_the_study_database_does_and_trusts_the_tuning_environment():
    main = (MODULES / "aws-platform" / "main.tf").read_text()
    assert re.search(
        r'var\.study_store\.create \? \{.*?"\$\{var\.environment\}-tuning" = \{\s*environment\s*=\s*"tuning"',
        main,
        re.DOTALL,
    )
    roles = block((MODULES / "aws-platform" / "roles.tf").read_text(), "locals")
    tuning = roles[roles.index("tuning_statements") : roles.index("deploy_statements")]
    assert '"s3:DeleteObject"' not in tuning and "eks:" not in tuning  # reads data, logs trials; no cluster


# -- the tuning Job -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tuning_objects() -> list[dict]:
    out = subprocess.run(["kubectl", "kustomize", str(TUNING)], capture_output=True, text=True, check=True)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def test_the_tuning_kustomization_renders_a_namespaced_job_outside_the_overlays(tuning_objects):
    kinds = {
        (
            o["kind"],
            o["metadata"]["name"].rsplit("-", 1)[0] if o["kind"] == "ConfigMap" else o["metadata"]["name"],
        )
        for o in tuning_objects
    }
    assert {
        ("Namespace", "ml-tuning"),
        ("ServiceAccount", "tune-worker"),
        ("Job", "tune-workers"),
        ("ConfigMap", "tune-settings"),
    } == kinds
    for overlay in ENVS:  # a Job is run on demand, never kept in step by `kubectl apply -k overlays/<env>`
        assert "tuning" not in (INFRA / "k8s" / "overlays" / overlay / "kustomization.yaml").read_text()


def test_every_worker_runs_an_aip_tune_command_that_the_cli_accepts(tuning_objects):
    job = next(o for o in tuning_objects if o["kind"] == "Job")
    settings = next(o for o in tuning_objects if o["kind"] == "ConfigMap")["data"]
    spec = job["spec"]
    assert spec["parallelism"] == spec["completions"] >= 2  # several workers, one study
    container = spec["template"]["spec"]["containers"][0]
    argv = [re.sub(r"\$\((\w+)\)", lambda m: settings[m.group(1)], a) for a in container["args"]]
    assert argv[:2] == ["tune", settings["MODEL"]] and "--study" in argv
    assert usage_problem(argv) is None, shlex.join(argv)
    assert (INFRA.parent / "models" / settings["MODEL"] / "model.yaml").is_file()
    env = {e["name"]: e for e in container["env"]}
    assert env["AIP_STUDY_STORAGE_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "optuna-study-storage"


def test_the_tuning_pods_meet_the_restricted_pod_security_standard(tuning_objects):
    namespace = next(o for o in tuning_objects if o["kind"] == "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    pod = next(o for o in tuning_objects if o["kind"] == "Job")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    container = pod["containers"][0]["securityContext"]
    assert container["allowPrivilegeEscalation"] is False and container["capabilities"]["drop"] == ["ALL"]


def test_the_tuning_kustomization_validates_against_the_kubernetes_schemas(tools_python):
    code = f"""
import json, sys
sys.path.insert(0, {str(INFRA / "k8s" / "schemas")!r})
import infra_check, validate
from pathlib import Path
print(json.dumps(validate.validate_manifests(infra_check.kustomize(Path({str(TUNING)!r})), infra_check.KUBERNETES_VERSION)))
"""
    assert tools_python(code) == []
