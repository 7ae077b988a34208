"""Prometheus scrapes everything the dev plan monitors: for every planned ServiceMonitor and
PodMonitor endpoint it has a scrape job with at least one target, and it reaches every target
(the contexts' and the data namespace's `allow-from-prometheus` policies let it in).

A target that answers with something other than metrics (the dev placeholder image answers every
path with text) is still reached; a timeout or refused connection is not
(`selection.scrape_reached`). Prometheus picks up a new monitor after its config reloads and
scrapes it within one interval, so the targets are polled until each has been scraped once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes.client import ApiClient

from tests.e2e import cluster, selection
from tests.planning import planned

pytestmark = pytest.mark.e2e

PROMETHEUS, POOLS, _ = selection.scrape_pools(planned("dev", "kind"))
# The operator's config reload (a Secret the kubelet refreshes within about a minute), then a
# scrape interval and its timeout.
SCRAPED_WITHIN_SECONDS = 300


@pytest.fixture(scope="module")
def active(kube: ApiClient) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Prometheus' active targets by scrape job, once every planned job has targets that were
    each scraped at least once (or the time is up: the tests then say what is missing)."""
    assert PROMETHEUS is not None, "the dev plan has monitors but no Prometheus to scrape them"
    deadline = time.monotonic() + SCRAPED_WITHIN_SECONDS
    while True:
        by_job: dict[str, list[dict[str, Any]]] = {}
        for target in cluster.prometheus_targets(
            kube, PROMETHEUS.namespace, PROMETHEUS.prometheus_service, PROMETHEUS.prometheus_port
        ):
            by_job.setdefault(str(target.get("scrapePool")), []).append(target)
        settled = all(
            by_job.get(pool.job) and all(t.get("health") in {"up", "down"} for t in by_job[pool.job]) for pool in POOLS
        )
        if settled or time.monotonic() >= deadline:
            yield by_job
            return
        time.sleep(10)


@pytest.mark.parametrize("pool", POOLS, ids=lambda p: p.job)
def test_prometheus_reaches_every_target_of_a_planned_monitor(
    active: dict[str, list[dict[str, Any]]], pool: selection.ScrapePool
) -> None:
    targets = active.get(pool.job)
    assert targets, (
        f"Prometheus has no target for {pool.kind} {pool.namespace}/{pool.name} (job {pool.job}) after "
        f"{SCRAPED_WITHIN_SECONDS} s; jobs it has: {sorted(active)}"
    )
    verdicts = [selection.scrape_reached(t) for t in targets]
    assert all(reached for reached, _ in verdicts), f"{pool.job}: " + "; ".join(why for _, why in verdicts)
