"""The cost table in infra/README.md matches the environment roots, and its totals add up.

What a reader plans with is the table; what AWS bills is the code. A pool resized in
infra/envs/<env>/main.tf without the table (or a price changed without its totals) fails here.
"""

from __future__ import annotations

import re

import pytest

from tests.support.infra import INFRA

pytestmark = pytest.mark.infra

ENVS = ["dev", "staging", "prod"]
README = (INFRA / "README.md").read_text()


def table_after(heading: str) -> list[list[str]]:
    """Rows (cells stripped) of the first Markdown table after a heading, without header and rule."""
    lines = README[README.index(heading) :].splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("|"))
    block = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        block.append([c.strip() for c in line.strip("|").split("|")])
    return block[2:]


PRICES = {row[0]: float(row[1]) for row in table_after("Assumed eu-west-1 prices")}
COSTS = {row[0]: row for row in table_after("Idle: the CPU pool")}


def pool(env: str, name: str) -> dict[str, object]:
    main = (INFRA / "envs" / env / "main.tf").read_text()
    body = re.search(rf"{name}\s*=\s*\{{([^}}]*)\}}", main)
    assert body, f"envs/{env}/main.tf has no {name}"
    text = body.group(1)
    return {
        "types": re.findall(r'"([a-z0-9]+\.[a-z0-9]+)"', text),
        "min": int(re.search(r"min_size\s*=\s*(\d+)", text).group(1)),  # type: ignore[union-attr]
        "max": int(re.search(r"max_size\s*=\s*(\d+)", text).group(1)),  # type: ignore[union-attr]
        "spot": bool(re.search(r"spot\s*=\s*true", text)),
    }


def nat_gateways(env: str) -> int:
    main = (INFRA / "envs" / env / "main.tf").read_text()
    if re.search(r"single_nat_gateway\s*=\s*true", main):
        return 1
    return len(re.search(r"azs\s*=\s*\[([^\]]*)\]", main).group(1).split(","))  # type: ignore[union-attr]


def database(env: str) -> str:
    main = (INFRA / "envs" / env / "main.tf").read_text()
    if not re.search(r"host_registry\s*=\s*true", main):
        return "none"
    cls = re.search(r'instance_class\s*=\s*"db\.([a-z0-9.]+)"', main).group(1)  # type: ignore[union-attr]
    multi = "Multi-AZ" if re.search(r"multi_az\s*=\s*true", main) else "Single-AZ"
    return f"db.{cls} {multi}"


def described(p: dict[str, object]) -> str:
    (kind,) = p["types"]  # type: ignore[misc]
    return f"{kind}{' spot' if p['spot'] else ''} {p['min']}-{p['max']}"


def test_every_environment_has_a_cost_row():
    assert sorted(COSTS) == sorted(ENVS)


@pytest.mark.parametrize("env", ENVS)
def test_the_table_describes_the_pools_the_root_creates(env: str):
    row = COSTS[env]
    assert row[1] == described(pool(env, "cpu_pool")), f"{env}: CPU pool in README {row[1]!r}"
    assert row[2] == described(pool(env, "gpu_pool")), f"{env}: GPU pool in README {row[2]!r}"
    assert int(row[3]) == nat_gateways(env)
    assert row[4] == database(env)


@pytest.mark.parametrize("env", ENVS)
def test_idle_and_busy_totals_are_the_sum_of_the_assumed_prices(env: str):
    row = COSTS[env]
    cpu, gpu = pool(env, "cpu_pool"), pool(env, "gpu_pool")

    def price(p: dict[str, object]) -> float:
        (kind,) = p["types"]  # type: ignore[misc]
        return PRICES[f"{kind}{' spot' if p['spot'] else ''}"]

    fixed = PRICES["EKS control plane (standard support)"] + PRICES["tunnel host t4g.nano"]
    fixed += nat_gateways(env) * PRICES["NAT gateway"]
    fixed += PRICES[f"RDS {database(env)}"] if database(env) != "none" else 0.0
    idle = fixed + int(cpu["min"]) * price(cpu)  # type: ignore[call-overload]
    busy = fixed + int(cpu["max"]) * price(cpu) + int(gpu["max"]) * price(gpu)  # type: ignore[call-overload]
    assert float(row[5]) == pytest.approx(idle, abs=0.006), (
        f"{env} idle: table {row[5]}, prices give {idle:.4f}"
    )
    assert float(row[6]) == pytest.approx(busy, abs=0.006), (
        f"{env} busy: table {row[6]}, prices give {busy:.4f}"
    )


def test_every_gpu_pool_floor_is_zero_so_idle_means_no_gpu():
    for env in ENVS:
        assert pool(env, "gpu_pool")["min"] == 0, env


def test_the_prices_are_dated():
    assert re.search(r"## Cost per hour, idle and busy \(assumed prices, \d{4}-\d{2}-\d{2}\)", README)
