"""A local S3 endpoint for tests: a real `moto_server` process on 127.0.0.1, and buckets in it.

DVC (dvc-s3/s3fs), boto3 and MLflow all honour AWS_ENDPOINT_URL (botocore's standard variable), so a
process given `S3Server.env` talks to this server instead of AWS. Credentials are moto's fixed `test`.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port
from tests.support.server import stop, wait_until_ready

MOTO = Path(sys.executable).parent / "moto_server"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    @property
    def env(self) -> dict[str, str]:
        """What a process needs to use this endpoint (boto3, s3fs/DVC, MLflow's S3 artifact store)."""
        return {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint,
            "MLFLOW_S3_ENDPOINT_URL": self.endpoint,
        }

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name=REGION,
        )

    def create_buckets(self, *names: str) -> None:
        client = self.client()
        for name in names:
            client.create_bucket(Bucket=name)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key under `prefix` (paginated)."""
        found: list[str] = []
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found += [item["Key"] for item in page.get("Contents", [])]
        return found


@contextmanager
def s3_server(log: Path, *buckets: str) -> Iterator[S3Server]:
    """`moto_server -H 127.0.0.1 -p PORT` with `buckets` created; stopped on exit (its state is lost)."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(MOTO), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    server = S3Server(f"http://127.0.0.1:{port}")
    try:
        wait_until_ready(f"{server.endpoint}/moto-api/", process, 60, log=log.read_text)
        server.create_buckets(*buckets)
        yield server
    finally:
        stop(process)
