"""`aip`: every lifecycle step as a command that runs the same on a laptop and in CI.

    aip validate                      check every config file and the references between them
    aip run [NAME ...] [--env ENV]    the main job: validate, data, train, evaluate, register, deploy
    aip prompts answer NAME "QUESTION"  a prompt's answer with its citations (prompts/<name>/)
    aip data validate DATASET         Great Expectations on the ingested data (DVC stage)
    aip deploy MODEL --env ENV        canary a registered version; promote or roll back
    aip serve --env ENV               serve the models the environment alias points at
    aip drift MODEL --env ENV         sampled requests against the training reference
    aip affected --base REF           what a git diff touches, as a CI matrix (JSON)
    aip guard ... | aip ci ...        the GitOps rules and the helpers workflow steps call

Only argparse is imported at start-up; each command imports what it needs, so `--help` is quick.
Exit codes: 0 ok, 1 a step or gate failed, 2 bad usage or bad configuration.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from pipelines import __version__

Handler = Callable[[argparse.Namespace], int]


def _env_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env",
        metavar="ENV",
        help="environment from platform.yaml (default: platform.yaml's default_environment, 'local')",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aip",
        description="The AI platform engine: validate, data, train, evaluate, register, deploy, serve, "
        "monitor.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `aip COMMAND --help` for a command's options. Docs: docs/cli.md",
    )
    parser.add_argument("--version", action="version", version=f"aip {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("validate", help="check every config file in the repo and their references")
    p.set_defaults(handler="pipelines.cli.commands:cmd_validate")

    p = sub.add_parser("schema", help="write the JSON Schemas of the config files to schemas/")
    p.add_argument("--check", action="store_true", help="fail if the committed schemas are stale")
    p.set_defaults(handler="pipelines.cli.commands:cmd_schema")

    p = sub.add_parser("affected", help="models, datasets, ... that a git diff touches, as JSON")
    p.add_argument("--base", required=True, metavar="REF", help="git ref to diff against (e.g. origin/main)")
    p.add_argument(
        "--head", default=None, metavar="REF", help="compare with this ref instead of the work tree"
    )
    p.set_defaults(handler="pipelines.cli.commands:cmd_affected")

    data = sub.add_parser("data", help="dataset stages: ingest, validate, split, prepare")
    data_sub = data.add_subparsers(dest="data_command", metavar="STEP", required=True)
    for step, text in (
        ("ingest", "read the source into data/raw.csv (DVC stage)"),
        ("validate", "run the Great Expectations suite; exit 1 with a summary on failure (DVC stage)"),
        ("split", "write the deterministic train/validation/test split (DVC stage)"),
        ("prepare", "pull from the environment's DVC remote, reproduce what is missing, push"),
    ):
        p = data_sub.add_parser(step, help=text, description=text)
        p.add_argument("dataset", help="dataset name (a folder under datasets/)")
        if step == "prepare":
            _env_option(p)
            p.add_argument(
                "--no-push",
                action="store_true",
                help="do not push to the remote (read-only credentials: the drift job's monitoring role)",
            )
        p.set_defaults(handler=f"pipelines.cli.commands:cmd_data_{step}")
    from pipelines.cli.loop_commands import add_loop_ci_parsers, add_refresh_parser  # the training loop
    from pipelines.cli.train_commands import add_distributed_options

    add_refresh_parser(data_sub)

    p = sub.add_parser("train", help="train a model unless its fingerprint is already registered")
    p.add_argument("model", help="model name (a folder under models/)")
    p.add_argument("--force", action="store_true", help="train even if the fingerprint is known")
    _env_option(p)
    add_distributed_options(p)  # --nproc-per-node, --nnodes, ... (docs/distributed-training.md)
    p.set_defaults(handler="pipelines.cli.commands:cmd_train")

    p = sub.add_parser("evaluate", help="evaluate the model's candidate against its gates")
    p.add_argument("model", help="model name")
    _env_option(p)
    p.set_defaults(handler="pipelines.cli.commands:cmd_evaluate")

    p = sub.add_parser("register", help="register the evaluated candidate and set the environment alias")
    p.add_argument("model", help="model name")
    p.add_argument("--no-alias", action="store_true", help="register without moving the alias")
    _env_option(p)
    p.set_defaults(handler="pipelines.cli.commands:cmd_register")

    p = sub.add_parser("run", help="the main job: validate, data, train, evaluate, register, deploy")
    p.add_argument(
        "models",
        nargs="*",
        metavar="NAME",
        help="models and prompts to run (default: every model and prompt)",
    )
    _env_option(p)
    p.add_argument("--summary-json", metavar="FILE", help="also write the summary table as JSON")
    demo = p.add_mutually_exclusive_group()
    demo.add_argument(
        "--canary-demo",
        action="store_const",
        const="always",
        dest="canary_demo",
        help="then canary a seed variant of each tabular model against @ENV, and the repo's version "
        "back if it wins; @ENV ends on the repo's version whatever the decisions (`make demo`)",
    )
    demo.add_argument(
        "--canary-demo-if-new",
        action="store_const",
        const="if-new",
        dest="canary_demo",
        help="the same, only while no demo challenger was ever registered (`make run`: a fresh "
        "machine sees real decisions; a rerun with nothing changed deploys nothing)",
    )
    p.set_defaults(handler="pipelines.cli.commands:cmd_run")

    from pipelines.cli.deploy_commands import add_parser  # argparse only; the engine loads in its handler

    add_parser(sub)

    from pipelines.cli.prompt_commands import add_parser as add_prompt_parser
    from pipelines.cli.vectors_commands import add_parser as add_vectors_parser

    add_prompt_parser(sub)
    add_vectors_parser(sub)

    from pipelines.cli.tune_commands import add_parser as add_tune_parser  # docs/tuning.md

    add_tune_parser(sub)

    from pipelines.cli.features_commands import add_parser as add_features_parser

    add_features_parser(sub)

    from pipelines.cli.cluster_commands import add_parser as add_cluster_parser  # docs/cluster-training.md

    add_cluster_parser(sub)

    p = sub.add_parser("fingerprint", help="print a model's fingerprint and what it is made of")
    p.add_argument("model", help="model name")
    p.set_defaults(handler="pipelines.cli.commands:cmd_fingerprint")

    p = sub.add_parser("reference", help="write docs/cli.md (this reference) from the command definitions")
    p.add_argument("--check", action="store_true", help="fail if docs/cli.md is stale")
    p.set_defaults(handler="pipelines.cli.reference:cmd_reference")

    p = sub.add_parser("ui", help="open the MLflow UI on the environment's tracking store")
    p.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default 5000)")
    _env_option(p)
    p.set_defaults(handler="pipelines.cli.commands:cmd_ui")

    # ---- observability (docs/observability.md) ----
    obs = "pipelines.cli.observability_commands"
    p = sub.add_parser("dashboards", help="Grafana dashboards as code (dashboards/*.dashboard.py)")
    p_sub = p.add_subparsers(dest="dashboards_command", metavar="ACTION", required=True)
    p = p_sub.add_parser("build", help="render dashboards/rendered/*.json and docs/dashboards.md")
    p.add_argument("--check", action="store_true", help="fail if the rendered files differ from the code")
    p.set_defaults(handler=f"{obs}:cmd_dashboards_build")
    p = sub.add_parser("metrics", help="the metric catalogue (pipelines/observability/catalogue.py)")
    p_sub = p.add_subparsers(dest="metrics_command", metavar="ACTION", required=True)
    p = p_sub.add_parser("docs", help="render docs/metrics.md from the catalogue")
    p.add_argument("--check", action="store_true", help="fail if docs/metrics.md is stale")
    p.set_defaults(handler=f"{obs}:cmd_metrics_docs")
    p = sub.add_parser("logs", help="the log store (docs/elasticsearch/, docs/observability.md)")
    p_sub = p.add_subparsers(dest="logs_command", metavar="ACTION", required=True)
    p = p_sub.add_parser(
        "apply-template",
        help="PUT the aip-logs ingest pipeline and index template on Elasticsearch (idempotent); "
        "credentials from $AIP_ELASTICSEARCH_API_KEY or $AIP_ELASTICSEARCH_USERNAME/_PASSWORD",
    )
    p.add_argument("--url", help="the cluster's URL; default $AIP_ELASTICSEARCH_URL")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    p.set_defaults(handler=f"{obs}:cmd_logs_apply_template")
    p = sub.add_parser(
        "drift",
        help="compare sampled requests with the training reference; exit 3 on drift, 4 on too few samples",
        description="Drift of a model's inputs and predictions (and live quality) against its train split; "
        "for a prompt, query drift: the sampled questions of the window against the window of the same "
        "length before it (or, with --reference-predictions labels, the prompt's evaluation questions).",
    )
    p.add_argument("model", help="model or prompt name")
    _env_option(p)
    p.add_argument(
        "--days", type=int, metavar="N", help="window: the last N days (default monitoring.window_days)"
    )
    p.add_argument("--since", metavar="WHEN", help="window start, ISO date/time in UTC (default: now - days)")
    p.add_argument("--until", metavar="WHEN", help="window end, ISO date/time in UTC (default: now)")
    p.add_argument("--version", help="only samples of this model version (default: every version)")
    p.add_argument(
        "--sink", metavar="URI", help="sample sink (default $AIP_SAMPLE_SINK or <state_dir>/samples/<env>)"
    )
    p.add_argument(
        "--feedback", metavar="PATH|URL", help="arrived labels: JSON lines {request_id, index, label}"
    )
    p.add_argument(
        "--reference-predictions",
        choices=["auto", "model", "labels"],
        default="auto",
        help="prediction drift reference: the registered model on the train split, or its labels",
    )
    p.add_argument(
        "--out", metavar="DIR", help="report folder (default <state_dir>/reports/<env>/<model>/drift)"
    )
    p.add_argument("--no-push", action="store_true", help="do not push the aip_drift_* metrics")
    p.set_defaults(handler=f"{obs}:cmd_drift")

    p = sub.add_parser(
        "serve",
        help="serve the models (TF Serving REST + gRPC APIs, canary traffic split); docs/serving.md",
        description="Serve each model's version that the environment alias points at (label 'stable'), "
        "or one pinned version as the stable, canary or baseline track. Each of --models, --version, "
        "--label, --env and --device defaults to an environment variable (MODEL_NAME, MODEL_VERSION, "
        "MODEL_LABEL, AIP_ENV, AIP_DEVICE); a flag wins over its variable (docs/serving.md, "
        "'The server contract').",
    )
    p.add_argument(
        "--env",
        metavar="ENV",
        help="environment from platform.yaml; default $AIP_ENV, else platform.yaml's default_environment",
    )
    p.add_argument(
        "--models",
        metavar="A,B",
        help="models to serve; default $MODEL_NAME, else every model with the env's alias",
    )
    p.add_argument(
        "--version",
        metavar="N",
        help="serve this registry version (exactly one model); default $MODEL_VERSION, else the alias's",
    )
    p.add_argument(
        "--label",
        choices=["stable", "canary", "baseline"],
        help="the track this server is, the label of its requests and metrics; default $MODEL_LABEL, "
        "else stable (canary and baseline need a version)",
    )
    p.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        help="where the weights run; default $AIP_DEVICE, else auto (cuda when torch sees a GPU)",
    )
    p.add_argument(
        "--runtime",
        choices=["torch", "onnx", "onnx-int8"],
        help="CPU runtime for every model (default: model.yaml's serving.runtime)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--rest-port", type=int, default=8501, metavar="PORT", help="REST port (default 8501)")
    p.add_argument("--grpc-port", type=int, metavar="PORT", help="gRPC port, 0: off (8500 with grpc extra)")
    p.add_argument(
        "--max-body-bytes", type=int, default=10 * 1024 * 1024, metavar="N", help="413 above (10 MiB)"
    )
    p.add_argument("--auth-token-env", metavar="NAME", help="predict needs `Authorization: Bearer $NAME`")
    p.add_argument(
        "--admin-token-env", default="AIP_ADMIN_TOKEN", metavar="NAME", help="admin API token variable"
    )
    p.add_argument("--enable-fault-injection", action="store_true", help="chaos endpoints (refused in prod)")
    p.add_argument(
        "--prompts",
        metavar="A,B",
        help="prompts answered on /v1/chat/completions (default: every prompt with the env's alias; "
        "none when --models is given); naming prompts without --models serves no model",
    )
    p.add_argument(
        "--no-prompts", action="store_true", help="serve no prompt: the LLM and the embedder are never loaded"
    )
    p.set_defaults(handler="pipelines.cli.serve_commands:cmd_serve")

    bench = sub.add_parser("bench", help="benchmarks")
    bench_sub = bench.add_subparsers(dest="bench_command", metavar="WHAT", required=True)
    p = bench_sub.add_parser(
        "serving",
        help="aip serve vs in-process, mlflow models serve, LitServe, KServe: closed loop; docs/benchmarks",
        description="One registered version, the same closed-loop load on every server; prints a markdown "
        "table (rows/s of successes, latency percentiles, errors) and optionally writes JSON + markdown.",
    )
    p.add_argument("--model", default="topic-classifier", help="model (default topic-classifier)")
    _env_option(p)
    p.add_argument("--version", help="registry version (default: the environment alias)")
    p.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    p.add_argument("--duration", type=float, default=20.0, help="measured seconds per mode (default 20)")
    p.add_argument(
        "--modes",
        default="inprocess,rest,mlflow,mlflow-tuned,litserve,kserve",
        help="comma-separated subset of inprocess,rest,grpc,mlflow,mlflow-tuned,litserve,kserve",
    )
    p.add_argument(
        "--runtimes", metavar="A,B", help="runtimes for inprocess/rest/grpc (default: model.yaml's)"
    )
    p.add_argument("--bench-python", metavar="PATH", help="python of the bench venv (default .venv-bench)")
    p.add_argument("--output", metavar="PATH", help="also write PATH.json and PATH.md")
    p.set_defaults(handler="pipelines.cli.serve_commands:cmd_bench_serving")

    from pipelines.cli.catalog_commands import add_parser as add_catalog_parser  # docs/catalog.md

    add_catalog_parser(sub)

    from pipelines.cli.gitops_commands import add_gitops_parsers  # `guard` and `ci` (docs/gitops.md)

    ci_sub = add_gitops_parsers(sub)
    from pipelines.cli.gitops_commands import add_rollback_parser  # `aip rollback` (ADR 0022)

    add_rollback_parser(sub)
    add_loop_ci_parsers(ci_sub)  # `ci data-pr`, `ci retrain-pr` (docs/continuous-training.md)
    from pipelines.cli.tune_ci_commands import add_tune_ci_parsers  # docs/tuning-infra.md

    add_tune_ci_parsers(ci_sub)  # `ci tune-plan`, `ci tune-pr` (.github/workflows/tune.yml)

    from pipelines.cli.fork_commands import add_fork_parsers  # `init` and `render` (docs/forking.md)

    add_fork_parsers(sub)

    from pipelines.cli.doctor_commands import add_parser as add_doctor_parser  # docs/github-settings.md

    add_doctor_parser(sub)

    from pipelines.cli.template_commands import add_parser as add_template_parser  # docs/upgrading.md

    add_template_parser(sub)

    from pipelines.cli.card_commands import add_parser as add_card_parser  # docs/model-cards.md

    add_card_parser(sub)
    return parser


def _resolve(spec: str) -> Handler:
    import importlib

    module, _, name = spec.partition(":")
    handler: Handler = getattr(importlib.import_module(module), name)
    return handler


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from pipelines.cli.errors import run_handler
    from pipelines.offline import apply_offline_env

    apply_offline_env()

    return run_handler(_resolve(args.handler), args)


if __name__ == "__main__":
    sys.exit(main())
