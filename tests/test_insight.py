"""What a reviewer and an operator see: the diagram, the deploy time, the monthly cost (issue 15).

Each assertion is about the content — a node per context, an edge per data connection, both
regions in prod, a critical path through the slowest chain, node pools priced at floor and
ceiling — on the real plans of every stack and cloud.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import struct
from pathlib import Path
from typing import Any

import pytest

import hubctl.cost as cost_module
from hubctl import graph
from hubctl.architecture import DATA_SERVICE_LABEL, build
from hubctl.cli import main
from hubctl.cost import azure_disk_tier
from hubctl.cost import estimate as cost
from hubctl.critical_path import duration, estimate, table
from hubctl.plan import Plan
from settings.cloud import AKS_BOOTSTRAP_NODES
from settings.seed import (
    BUSINESS_CONTEXTS,
    CLUSTER_AUTOSCALING_MAX_NODES,
    ENVIRONMENT_PROFILES,
    SERVICE_DATA_NEEDS,
    SHARED_CONTEXT,
)
from tests.planning import planned, primary_provider


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def doc(plan: Plan) -> dict[str, Any]:
    return plan.to_json()


# ---- the diagram -------------------------------------------------------------------------------


def test_every_context_is_drawn_once_per_cluster_with_its_services(any_plan: Plan) -> None:
    arch = build(doc(any_plan))
    clusters = [g for g in arch.all_groups() if g.kind == "cluster"]
    for cluster in clusters:
        contexts = {g.label: [n.label for n in g.nodes] for g in cluster.groups if g.kind == "context"}
        titles = {f"{c.title} ({c.slug})" for c in (*BUSINESS_CONTEXTS, SHARED_CONTEXT)}
        assert set(contexts) == titles, cluster.label
        assert contexts["Slon Credit (slon-credit)"] == ["slon-finance"]
        assert contexts["All contexts (platform)"] == ["auth-service"]


def test_an_edge_per_data_connection_and_none_elsewhere(any_plan: Plan) -> None:
    """Each service mounts one connection Secret per data service it uses: one edge each."""
    arch = build(doc(any_plan))
    data_nodes = {n.id: n.label for n in arch.all_nodes() if n.kind == "data"}
    services = {n.id: n.label for n in arch.all_nodes() if n.kind == "service"}
    drawn = {(services[e.source], data_nodes[e.target]) for e in arch.edges if e.kind == "data"}
    titles = {"postgres": "PostgreSQL", "mongo": "MongoDB", "redis": "Redis", "kafka": "Kafka"}
    expected = {
        (svc, titles[need]) for svc, needs in SERVICE_DATA_NEEDS.items() if svc != "api-gateway" for need in needs
    }
    assert drawn == expected
    # Prod's secondary cluster connects to the copies in its region (components/dr): its edges too.
    clusters = len([g for g in arch.all_groups() if g.kind == "cluster"])
    assert len([e for e in arch.edges if e.kind == "data"]) == len(expected) * clusters


def test_prod_draws_both_regions_each_with_its_cluster(prod_plan: Plan) -> None:
    arch = build(doc(prod_plan))
    regions = [g for g in arch.groups if g.kind == "region"]
    assert len(regions) == 2
    assert regions[0].label.endswith("· primary") and regions[1].label.endswith("· secondary")
    assert all(any(g.kind == "cluster" for g in r.groups) for r in regions)
    # The data services live in the primary region; the secondary region has their copies, which
    # its services connect to (components/dr), drawn as such.
    copies = [n for n in regions[1].walk_nodes() if n.kind == "data"]
    assert {n.label for n in copies} == {"PostgreSQL", "MongoDB", "Redis", "Kafka"}
    assert all(n.detail.endswith("(copy)") for n in copies)
    assert {n.id for n in copies} <= {e.target for e in arch.edges if e.kind == "data"}
    # The request's path: Internet -> Cloudflare (the Edge component) -> the failover name ->
    # each region's gateway; the cloud zone is drawn beside the path.
    edges = {n.label: n for n in arch.nodes if n.kind == "edge"}
    assert set(edges) == {"Edge", "DnsFailover", "DnsZone"}
    assert edges["DnsFailover"].detail == prod_plan.outputs["failoverName"]
    assert edges["DnsZone"].detail == f"zone {prod_plan.outputs['dnsZone']}"
    ids = {"internet": "internet"} | {label: node.id for label, node in edges.items()}
    targets = {label: {e.target for e in arch.edges if e.source == node_id} for label, node_id in ids.items()}
    gateways = {n.id for n in arch.all_nodes() if n.kind == "gateway"}
    assert len(gateways) == 2
    assert targets["internet"] == {edges["Edge"].id}
    assert targets["Edge"] == {edges["DnsFailover"].id}
    assert targets["DnsFailover"] == gateways and targets["DnsZone"] == set()


def test_staging_s_edge_leads_to_its_one_gateway(staging_plan: Plan) -> None:
    arch = build(doc(staging_plan))
    edges = {n.label: n for n in arch.nodes if n.kind == "edge"}
    assert set(edges) == {"Edge", "DnsZone"}
    (gateway,) = [n for n in arch.all_nodes() if n.kind == "gateway"]
    assert {(e.source, e.target) for e in arch.edges if e.kind == "ingress"} == {
        ("internet", edges["Edge"].id),
        (edges["Edge"].id, gateway.id),
    }


def test_managed_data_sits_in_the_region_in_cluster_data_in_the_cluster(staging_plan: Plan) -> None:
    arch = build(doc(staging_plan))
    [region] = arch.groups
    [cluster] = [g for g in region.groups if g.kind == "cluster"]
    outside = {n.label for n in region.nodes if n.kind == "data"}
    inside = {n.label for n in cluster.nodes if n.kind == "data"}
    assert "MongoDB" in inside  # Percona operator on both clouds
    assert "PostgreSQL" in outside  # RDS / Flexible Server
    assert outside | inside == {"PostgreSQL", "MongoDB", "Redis", "Kafka"}


def _without_front_door(document: dict[str, Any]) -> dict[str, Any]:
    """The plan as it was before the gateway: no Gateway component and no gateway namespace."""
    gone = {r["urn"] for r in document["resources"] if "bakhmach:platform:Gateway" in r["urn"]}
    return document | {"resources": [r for r in document["resources"] if r["urn"] not in gone]}


def test_the_dev_gateway_routes_to_every_service_and_a_missing_one_is_drawn_as_such(dev_plan: Plan) -> None:
    arch = build(doc(dev_plan))
    [gateway] = [n for n in arch.all_nodes() if n.kind == "gateway"]
    assert not gateway.placeholder and gateway.label == "Gateway" and gateway.detail == "gateway-helm v1.9.0"
    services = {n.id for n in arch.all_nodes() if n.kind == "service"}
    assert {e.target for e in arch.edges if e.source == gateway.id and e.kind == "route"} == services
    assert {e.source for e in arch.edges if e.target == gateway.id} == {"internet"}
    # Without the gateway component, the contexts' NetworkPolicies that admit the gateway role
    # are drawn to a dashed placeholder.
    [placeholder] = [n for n in build(_without_front_door(doc(dev_plan))).all_nodes() if n.kind == "gateway"]
    assert placeholder.placeholder and "not in this plan" in placeholder.detail


def test_components_fold_into_the_picture_not_one_box_per_resource(any_plan: Plan) -> None:
    arch = build(doc(any_plan))
    assert len(arch.all_nodes()) < len(any_plan.resources) / 5
    platform = {n.label for n in arch.all_nodes() if n.kind == "platform"}
    assert "ClusterAddons" in platform
    assert not {"ContextNamespace", "ContextService", "ConsumerSecrets", "DataNamespace"} & platform


def test_mermaid_has_a_subgraph_per_group_and_a_line_per_edge(prod_plan: Plan) -> None:
    arch = build(doc(prod_plan))
    text = graph.mermaid(arch)
    assert text.startswith("flowchart TB\n")
    assert text.count("subgraph ") == len(arch.all_groups())
    assert text.count("\n  end\n") + text.count("    end\n") >= len(arch.groups)
    edge_lines = [line for line in text.splitlines() if any(a in line for a in (" --> ", " ==> ", " -.-> "))]
    assert len(edge_lines) == len(arch.edges)
    # A label with quotes or angle brackets cannot break out of its node.
    assert graph._mermaid_text('a "b" <c>') == "a #quot;b#quot; &lt;c&gt;"


def test_svg_is_laid_out_by_graphviz_with_every_node(dev_plan: Plan) -> None:
    arch = build(doc(dev_plan))
    svg = graph.svg(arch).decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert svg.count('class="node"') == len(arch.all_nodes())
    assert svg.count('class="cluster"') == len(arch.all_groups())
    assert "Black Sea Economic Corridor" in svg and "CloudNativePG" in svg


def test_png_has_text_drawn_and_is_refused_without_fonts(dev_plan: Plan, tmp_path: Path) -> None:
    arch = build(doc(dev_plan))
    with_text = graph.png(arch)
    assert with_text[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", with_text[16:24])
    assert width > 1000 and height > 300
    from hubctl.planfile import InputError

    with pytest.raises(InputError, match="no font found"):
        graph.png(arch, dirs=(str(tmp_path),))


def test_graph_command_writes_the_format_asked_for(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(doc(planned("dev", "kind"))))
    code, out, _ = run(["graph", "--plan", str(plan), "--markdown"])
    assert code == 0 and out.startswith("```mermaid\nflowchart TB") and out.endswith("```\n")
    code, out, _ = run(["graph", "--plan", str(plan), "--format", "svg", "--out", str(tmp_path / "g.svg")])
    assert code == 0 and "7 context(s)" in out and (tmp_path / "g.svg").read_text().count('class="node"') > 10
    code, _, err = run(["graph", "--plan", str(plan), "--format", "png"])
    assert code == 2 and "give --out FILE" in err


def test_the_readme_embeds_the_current_dev_diagram() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    expected = "```mermaid\n" + graph.mermaid(build(doc(planned("dev", "kind")))) + "```"
    assert expected in readme, "README.md's dev diagram is stale: python -m hubctl graph dev --markdown"


# ---- the deploy time ---------------------------------------------------------------------------


def test_every_creation_time_names_its_source_or_basis_and_a_date_when_measured() -> None:
    data = table()
    for type_, entry in data["types"].items():
        assert entry["seconds"] >= 0, type_
        assert entry["kind"] in ("measurement", "estimate"), type_
        if entry["kind"] == "measurement":
            assert entry["source"] and entry["url"].startswith("https://") and entry["read"], type_
        else:
            assert entry["basis"], type_
    assert data["default"]["basis"]


def test_the_critical_path_runs_through_the_slowest_chain(staging_plan: Plan) -> None:
    e = estimate(doc(staging_plan))
    # Every step starts when the one before it ends (or later, waiting for a worker).
    for before, after in zip(e.path, e.path[1:], strict=False):
        assert after.start >= before.end - 1e-9
    assert e.path[-1].end == pytest.approx(e.total)
    # The chain includes the slowest managed service of the stack: nothing can end before it.
    slowest = max(duration(r.type)[0] for r in staging_plan.resources if r.custom)
    assert max(s.end - s.start for s in e.path) == slowest
    assert e.total >= slowest


def test_eks_before_its_node_groups_and_kubernetes_objects() -> None:
    e = estimate(doc(planned("prod", "aws")))
    names = [s.name for s in e.path]
    # A region's EKS cluster, then an MSK cluster (prod's slowest chain runs through one of them).
    eks = next(n for n in names if n.endswith("-eks"))
    msk = next(n for n in names if n.endswith("kafka-cluster"))
    assert names.index(eks) < names.index(msk)
    assert e.total > duration("aws:eks/cluster:Cluster")[0] + duration("aws:msk/cluster:Cluster")[0]


def test_parallelism_one_is_the_sum_and_more_workers_never_slow_it(dev_plan: Plan) -> None:
    serial = estimate(doc(dev_plan), parallel=1)
    assert serial.total == pytest.approx(sum(duration(r.type)[0] for r in dev_plan.resources if r.custom))
    assert serial.widest == 1
    wide = estimate(doc(dev_plan), parallel=10_000)
    assert wide.total <= estimate(doc(dev_plan)).total <= serial.total


def test_a_component_is_done_when_its_children_are() -> None:
    """A resource depending on a component waits for the component's slowest child."""
    document = copy.deepcopy(doc(planned("dev", "kind")))
    operators = next(r for r in document["resources"] if r["type"] == "bakhmach:data:DataOperators")
    # A context's Namespace waits for nothing else (what runs in it waits for its data credentials).
    last = next(
        r
        for r in document["resources"]
        if r["name"] == "ns-cannabis-infusion" and r["type"] == "kubernetes:core/v1:Namespace"
    )
    last["dependencies"] = sorted({*last["dependencies"], operators["urn"]})
    before = estimate(doc(planned("dev", "kind"))).ends[last["urn"]]
    e = estimate(document)
    children = [r["urn"] for r in document["resources"] if r["parent"] == operators["urn"]]
    slowest = max(e.ends[c] for c in children)
    assert e.ends[operators["urn"]] == slowest
    assert e.ends[last["urn"]] >= slowest + duration(last["type"])[0] > before


def test_unknown_types_are_listed_at_the_stated_default(staging_plan: Plan) -> None:
    e = estimate(doc(staging_plan))
    for type_ in e.unknown:
        assert type_ not in table()["types"]
    code, out, _ = run(["critical-path", "--plan", _write(staging_plan)])
    assert code == 0 and "widest step:" in out and out.rstrip().endswith(f"cloud {staging_plan.cloud})")
    if e.unknown:
        assert f"timed at the default {table()['default']['seconds']} s" in out


# ---- the monthly cost --------------------------------------------------------------------------


def _write(plan: Plan | dict[str, Any]) -> str:
    import tempfile

    document = plan if isinstance(plan, dict) else doc(plan)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(document, handle)
    return handle.name


def test_every_price_has_region_sku_unit_date_and_source() -> None:
    from hubctl.cost import table as prices

    for entry in prices()["prices"]:
        assert entry["region"] and entry["sku"] and entry["unit"] and entry["date"] and entry["read"], entry
        assert entry["source"] and entry["url"].startswith("https://"), entry
    assert "refresh" in prices()


def test_node_pools_are_counted_at_floor_and_ceiling(any_plan: Plan) -> None:
    e = cost(doc(any_plan))
    pools = [line.meter for line in e.lines if line.meter.meter in ("ec2-instance", "azure-vm")]
    if any_plan.cloud == "kind":
        assert pools == []
        return
    floors = sum(m.floor for m in pools)
    ceilings = sum(m.ceiling for m in pools)
    clusters = 2 if any_plan.stack == "prod" else 1
    # The seed's 5 (staging) / 15 (prod) nodes per cluster at the floor, its 50 at the ceiling
    # (AKS's system pool counts in both). AKS's bootstrap node is a VM that bills: it is in the
    # floor on top of the seed's nodes, and inside the 50 at the ceiling.
    reserved = AKS_BOOTSTRAP_NODES if any_plan.cloud == "azure" else 0
    assert floors == clusters * (ENVIRONMENT_PROFILES[any_plan.stack].nodes + reserved)  # type: ignore[index]
    assert ceilings == clusters * CLUSTER_AUTOSCALING_MAX_NODES


def test_what_is_not_priced_is_listed_never_guessed(staging_plan: Plan) -> None:
    e = cost(doc(staging_plan))
    assert e.unpriced, "RDS, ElastiCache and MSK have no price in the table: they must be listed"
    for line in e.unpriced:
        assert line.usd is None and line.monthly == (0.0, 0.0)
    code, out, _ = run(["cost", "--plan", _write(staging_plan)])
    assert code == 0 and "not priced (" in out
    for line in e.unpriced:
        assert line.meter.what in out


def test_the_control_plane_is_priced_per_cluster(prod_plan: Plan) -> None:
    e = cost(doc(prod_plan))
    planes = [line for line in e.priced if line.meter.meter == "kubernetes-control-plane"]
    assert len(planes) == 2
    assert sum(line.monthly[0] for line in planes) == pytest.approx(2 * 0.10 * 730)


def test_operator_volumes_are_sized_from_the_custom_resources(any_plan: Plan) -> None:
    e = cost(doc(any_plan))
    # The primary's replica set (prod's secondary cluster runs its replica site, the same size).
    primary = primary_provider(any_plan)
    mongo = [line.meter for line in e.lines if line.meter.what.startswith("PerconaServerMongoDB")]
    spec = next(
        r.inputs["spec"]
        for r in any_plan.resources
        if r.inputs.get("kind") == "PerconaServerMongoDB" and r.provider == primary
    )
    # Each shard's members, and the config servers of a sharded cluster (staging, prod).
    parts = [*spec["replsets"], *([spec["sharding"]["configsvrReplSet"]] if spec["sharding"]["enabled"] else [])]
    assert len(parts) == (1 if any_plan.stack == "dev" else 2)

    def gib(rs: dict[str, Any]) -> int:
        return int(rs["volumeSpec"]["persistentVolumeClaim"]["resources"]["requests"]["storage"].removesuffix("Gi"))

    if any_plan.cloud == "azure":
        # An Azure disk bills per disk at the tier its size rounds up to: one meter per tier.
        # Prod's secondary cluster runs the replica site, the same size: twice the meters.
        assert len(mongo) == len(parts) * (2 if any_plan.stack == "prod" else 1)

        def capacity(m: Any) -> int:
            return int(m.sku.rsplit("(", 1)[1].split()[0])

        per_site = sorted(parts, key=gib) * (2 if any_plan.stack == "prod" else 1)
        for m, rs in zip(sorted(mongo, key=capacity), sorted(per_site, key=gib), strict=True):
            assert m.unit == "disk-month" and m.floor == rs["size"] and gib(rs) <= capacity(m) < 2 * gib(rs)
    else:
        assert len(mongo) == (2 if any_plan.stack == "prod" else 1)
        assert all(m.floor == sum(gib(rs) * rs["size"] for rs in parts) for m in mongo)


def test_dev_on_kind_costs_nothing_and_says_why(dev_plan: Plan) -> None:
    e = cost(doc(dev_plan))
    assert e.floor == e.ceiling == 0 and not e.unpriced
    assert all("developer's machine" in line.source for line in e.priced)


def test_the_cost_delta_names_what_the_change_buys() -> None:
    base = doc(planned("staging", "aws"))
    head = copy.deepcopy(base)
    group = next(r for r in head["resources"] if r["name"] == "staging-compute")
    group["inputs"]["scalingConfig"]["maxSize"] = 40
    nat = next(r for r in head["resources"] if r["type"] == "aws:ec2/natGateway:NatGateway")
    head["resources"].append({**copy.deepcopy(nat), "urn": nat["urn"] + "-2", "name": nat["name"] + "-2"})
    code, out, _ = run(["cost", "--plan", _write(head), "--base", _write(base), "--markdown"])
    assert code == 0
    # The NAT gateway adds to both ends; ten more c7i.2xlarge nodes with their 100 GB roots only
    # to the ceiling. Each figure is the table's.
    nat_month = _usd("nat-gateway", "NAT gateway", "eu-central-1") * 730
    node_month = _usd("ec2-instance", "c7i.2xlarge on-demand", "eu-central-1") * 730
    root_month = _usd("block-storage", "EBS gp3", "eu-central-1") * 100
    ceiling = nat_month + 10 * (node_month + root_month)
    assert f"+{cost_module.money(nat_month)} / +{cost_module.money(ceiling)} against the base branch" in out
    assert "node group staging-compute [c7i.2xlarge on-demand, eu-central-1]: 3–30 instance-hour → 3–40" in out
    assert "added: NAT gateway staging-nat-eu-central-1a-2" in out


def _usd(meter: str, sku: str, region: str, prices: dict[str, Any] | None = None) -> float:
    """The table's price for a meter, found here without hubctl.cost's lookup."""
    entries = (prices or cost_module.table())["prices"]
    return float(
        next(
            e["usd"] for e in entries if e["meter"] == meter and e["sku"] in (sku, "*") and e["region"] in (region, "*")
        )
    )


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_total_is_each_meter_times_its_table_price(stack: str) -> None:
    e = cost(doc(planned(stack, "aws")))
    hours = cost_module.table()["hours_per_month"]
    floor = ceiling = 0.0
    for line in e.priced:
        m = line.meter
        usd = _usd(m.meter, m.sku, m.region)
        factor = hours if m.unit.endswith("-hour") else 1
        assert line.usd == usd, m
        floor += usd * m.floor * factor
        ceiling += usd * m.ceiling * factor
    assert e.floor == pytest.approx(floor) and e.ceiling == pytest.approx(ceiling)
    # What the plan buys most of is priced: every node group, its root volumes, the volumes.
    priced = {line.meter.meter for line in e.priced}
    assert {"ec2-instance", "kubernetes-control-plane", "nat-gateway", "block-storage"} <= priced
    assert not [line for line in e.unpriced if line.meter.meter == "ec2-instance"]
    assert not [line for line in e.unpriced if line.meter.sku == "EBS gp3"]
    # The two regions are priced at their own list prices, not one at the other's.
    regions = {line.meter.region for line in e.priced if line.meter.meter == "ec2-instance"}
    assert regions == ({"eu-central-1", "eu-west-1"} if stack == "prod" else {"eu-central-1"})


def _with_prices(monkeypatch: pytest.MonkeyPatch, change: Any) -> dict[str, Any]:
    prices = copy.deepcopy(cost_module.table())
    change(prices)
    monkeypatch.setattr(cost_module, "table", lambda: prices)
    return prices


def test_a_changed_price_moves_the_total_by_its_quantity(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = doc(planned("staging", "aws"))
    before = cost(plan)

    def dearer(prices: dict[str, Any]) -> None:
        for entry in prices["prices"]:
            if entry["sku"] == "c7i.2xlarge on-demand" and entry["region"] == "eu-central-1":
                entry["usd"] += 0.1

    _with_prices(monkeypatch, dearer)
    after = cost(plan)
    group = next(r for r in plan["resources"] if r["name"] == "staging-compute")["inputs"]["scalingConfig"]
    assert after.floor - before.floor == pytest.approx(0.1 * 730 * group["minSize"])
    assert after.ceiling - before.ceiling == pytest.approx(0.1 * 730 * group["maxSize"])


def test_a_sku_without_a_price_is_listed_and_leaves_the_total(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = doc(planned("staging", "aws"))
    before = cost(plan)
    memory = [line for line in before.priced if line.meter.sku == "r7i.2xlarge on-demand"]
    assert len(memory) == 3

    def forget(prices: dict[str, Any]) -> None:
        prices["prices"] = [e for e in prices["prices"] if e["sku"] != "r7i.2xlarge on-demand"]

    _with_prices(monkeypatch, forget)
    after = cost(plan)
    listed = [line for line in after.unpriced if line.meter.sku == "r7i.2xlarge on-demand"]
    assert [(m.meter.floor, m.meter.ceiling) for m in listed] == [(m.meter.floor, m.meter.ceiling) for m in memory]
    assert all(line.usd is None and line.monthly == (0.0, 0.0) for line in listed)
    assert after.floor == pytest.approx(before.floor - sum(line.monthly[0] for line in memory))
    assert after.ceiling == pytest.approx(before.ceiling - sum(line.monthly[1] for line in memory))
    code, out, _ = run(["cost", "--plan", _write(plan)])
    assert (
        code == 0
        and "node group staging-memory-a (1–7 nodes) [r7i.2xlarge on-demand, eu-central-1, 1–7 instance-hour]" in out
    )


def test_a_price_on_another_basis_is_marked_and_totalled_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = doc(planned("staging", "aws"))
    group = next(r for r in plan["resources"] if r["name"] == "staging-memory-a")
    group["inputs"]["instanceTypes"] = ["r6i.2xlarge"]
    e = cost(plan)
    [line] = [line for line in e.priced if line.meter.sku == "r6i.2xlarge on-demand"]
    entry = next(
        x
        for x in cost_module.table()["prices"]
        if x["sku"] == "r6i.2xlarge on-demand" and x["region"] == "eu-central-1"
    )
    assert line.basis == entry["basis"] and line in e.on_basis
    assert all(line.basis for line in e.on_basis) and not [x for x in e.priced if x.basis and x not in e.on_basis]
    code, out, _ = run(["cost", "--plan", _write(plan)])
    assert code == 0 and f"× ${entry['usd']:g}] ≈ {entry['basis']}" in out
    share = sum(x.monthly[1] for x in e.on_basis)
    assert f"{len(e.on_basis)} priced line(s) (≈, {cost_module.money(share)} at the ceiling)" in out
    # Without a basis the same line is the region's own price and carries no mark.
    _with_prices(monkeypatch, lambda prices: [x.pop("basis", None) for x in prices["prices"]])
    assert not cost(plan).on_basis


def test_rds_storage_runs_from_allocated_to_the_autoscaling_maximum() -> None:
    plan = planned("staging", "aws")
    primary = next(r for r in plan.resources if r.name == "data-postgres-primary").inputs
    e = cost(doc(plan))
    [storage] = [line.meter for line in e.lines if line.meter.what == "RDS data-postgres-primary: storage"]
    # Multi-AZ keeps a second copy of the volume.
    assert (storage.floor, storage.ceiling) == (2 * primary["allocatedStorage"], 2 * primary["maxAllocatedStorage"])
    [replica] = [line.meter for line in e.lines if line.meter.what == "RDS data-postgres-replica-1: storage"]
    assert (replica.floor, replica.ceiling) == (primary["allocatedStorage"], primary["maxAllocatedStorage"])


def test_volumes_are_priced_by_their_storage_class() -> None:
    plan = planned("staging", "aws")
    e = cost(doc(plan))
    es = next(r for r in plan.resources if r.inputs.get("kind") == "Elasticsearch")
    by_sku = {line.meter.sku: line for line in e.lines if line.meter.what.startswith("Elasticsearch")}
    sizes: dict[str, float] = {}
    for node_set in es.inputs["spec"]["nodeSets"]:
        for claim in node_set["volumeClaimTemplates"]:
            klass = claim["spec"]["storageClassName"]
            # The cold tier's class is one the plan creates (st1); the hot tier uses EBS's default.
            kind = "st1" if klass == "bakhmach-logs-cold" else "gp3"
            gi = float(claim["spec"]["resources"]["requests"]["storage"].removesuffix("Gi"))
            sizes[f"EBS {kind}"] = sizes.get(f"EBS {kind}", 0) + gi * node_set["count"]
    assert {sku: line.meter.floor for sku, line in by_sku.items()} == sizes
    assert by_sku["EBS gp3"].usd is not None and by_sku["EBS st1"].usd is None  # st1: no price yet, listed
    chart = [line.meter for line in e.lines if line.meter.what.startswith("chart kube-prometheus-stack")]
    values = next(r for r in plan.resources if r.name == "observability-kube-prometheus-stack").inputs["values"]
    prometheus, alertmanager = values["prometheus"]["prometheusSpec"], values["alertmanager"]["alertmanagerSpec"]

    def claimed(storage: dict[str, Any]) -> float:
        return float(storage["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"].removesuffix("Gi"))

    expected = prometheus["replicas"] * claimed(prometheus["storageSpec"])
    expected += alertmanager["replicas"] * claimed(alertmanager["storage"])
    assert [m.floor for m in chart] == [expected]


def test_azure_disks_bill_per_disk_at_their_tier_and_the_load_balancer_is_listed() -> None:
    assert azure_disk_tier("StandardSSD_LRS", 200) == "StandardSSD_LRS E15 (256 GiB)"
    assert azure_disk_tier("Premium_LRS", 128) == "Premium_LRS P10 (128 GiB)"
    assert azure_disk_tier("StandardSSD_LRS", 1500) == "StandardSSD_LRS E40 (2048 GiB)"
    e = cost(doc(planned("staging", "azure")))
    lb = [line for line in e.lines if line.meter.meter == "load-balancer"]
    assert len(lb) == 1 and lb[0].usd is None and lb[0] in e.unpriced
    assert [
        line.meter.floor
        for line in e.lines
        if line.meter.what.startswith("AKS load balancer") and line.meter.meter == "public-ipv4"
    ] == [1]
    redis = next(line.meter for line in e.lines if line.meter.meter == "azure-redis")
    assert redis.sku == "Balanced_B50 high availability"


# ---- the data connection label the diagram reads ----------------------------------------------


def test_connection_secrets_carry_the_label_the_diagram_reads(dev_plan: Plan) -> None:
    """Every data Secret a service mounts (each context namespace's own `data-<service>`) carries
    the label naming its data service, and nothing else does."""
    labelled = {
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): r.inputs["metadata"]["labels"][
            DATA_SERVICE_LABEL
        ]
        for r in dev_plan.resources
        if r.inputs.get("kind") == "Secret" and DATA_SERVICE_LABEL in (r.inputs.get("metadata") or {}).get("labels", {})
    }
    mounted = {
        (r.inputs["metadata"]["namespace"], volume["secret"]["secretName"])
        for r in dev_plan.resources
        if r.inputs.get("kind") == "Deployment"
        for volume in r.inputs["spec"]["template"]["spec"].get("volumes", [])
        if "secret" in volume and volume["secret"]["secretName"].startswith("data-")
    } | {
        # Keycloak's database login (a platform consumer's), which its operator mounts.
        (r.inputs["metadata"]["namespace"], r.inputs["spec"]["db"]["usernameSecret"]["name"])
        for r in dev_plan.resources
        if r.inputs.get("kind") == "Keycloak"
    }
    assert mounted and set(labelled) == mounted
    assert all(name == f"data-{service}" for (_, name), service in labelled.items())
