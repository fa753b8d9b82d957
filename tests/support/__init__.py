"""Helpers the tests share, one job per module (fixtures stay in the conftest.py files).

- repo:     the checkout's root, fresh repo copies, private copies of a repo with state, YAML edits
- git:      git in a scratch repository, with an author for commits
- cli:      the real `aip` CLI in a subprocess
- ports:    a free TCP port on 127.0.0.1
- server:   wait for a started server to answer, stop it
- serve:    a real `aip serve` process and requests to it
- prepared: the datasets through ingest → validate → split
- registry: the trained registry the serving, deploy, e2e, model and observability tests share
- infra:    where the infrastructure code and its tools venv live
"""
