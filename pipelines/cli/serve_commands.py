"""Handlers of `aip serve` and `aip bench serving`: parse → call serving / bench → exit code."""

from __future__ import annotations

import argparse
import os
import sys

from pipelines.cli.errors import EXIT_USAGE
from pipelines.repo.layout import Repo


def _progress(message: str) -> None:
    print(message, flush=True)


def cmd_serve(args: argparse.Namespace) -> int:
    from pipelines.serving import ServeOptions, run_server
    from pipelines.serving.contract import resolve

    # Flags first, then the variables that feed them (MODEL_NAME, MODEL_VERSION, MODEL_LABEL, AIP_ENV,
    # AIP_DEVICE): the contract the Kubernetes manifests rely on (pipelines/serving/contract.py).
    contract = resolve(
        models=args.models,
        version=args.version,
        label=args.label,
        env=args.env,
        device=args.device,
        environ=os.environ,
    )
    for name, port in (("--rest-port", args.rest_port), ("--grpc-port", args.grpc_port or 0)):
        if not 0 <= port <= 65535 or (name == "--rest-port" and port == 0):
            print(f"error: {name} {port}: expected a port number (1-65535; 0 disables gRPC)", file=sys.stderr)
            return EXIT_USAGE
    named = args.prompts  # --prompts A,B
    prompts = [p.strip() for p in named.split(",") if p.strip()] if named else None
    options = ServeOptions(
        env=contract.env,
        models=contract.models,
        version=contract.version,
        label=contract.label,
        device=contract.device,
        origin=contract.origin,
        runtime=args.runtime,
        host=args.host,
        rest_port=args.rest_port,
        grpc_port=args.grpc_port,
        max_body_bytes=args.max_body_bytes,
        auth_token_env=args.auth_token_env,
        admin_token_env=args.admin_token_env,
        enable_fault_injection=args.enable_fault_injection,
        prompts=prompts,
        no_prompts=args.no_prompts,
    )
    code: int = run_server(Repo.discover(), options, progress=_progress)
    return code


def cmd_bench_serving(args: argparse.Namespace) -> int:
    from pipelines.bench import BenchOptions, run_benchmark

    options = BenchOptions(
        model=args.model,
        env=args.env,
        version=args.version,
        clients=args.clients,
        duration=args.duration,
        modes=[m.strip() for m in args.modes.split(",") if m.strip()],
        runtimes=[r.strip() for r in (args.runtimes or "").split(",") if r.strip()],
        output=args.output,
        bench_python=args.bench_python,
    )
    return run_benchmark(Repo.discover(), options, progress=_progress)
