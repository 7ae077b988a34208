"""`cloudCluster`: bad regions, ranges and pools fail before anything registers, saying what is allowed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from hubctl.plan import run_plan
from settings import SettingsError, load_settings
from settings.cloud import (
    AKS_BOOTSTRAP_NODES,
    AWS_DEFAULT_POOLS,
    AZURE_DEFAULT_POOLS,
    CloudSettings,
    pool_sizes,
    split,
)
from tests.test_settings import prod_values


def with_cloud(cloud_cluster: dict[str, Any], environment: str = "prod", cloud: str = "aws") -> dict[str, Any]:
    values = copy.deepcopy(prod_values())
    values.update(environment=environment, cloud=cloud, cloudCluster=cloud_cluster)
    return values


def validation_error(cloud_cluster: dict[str, Any]) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(with_cloud(cloud_cluster), source="Pulumi.prod.yaml")
    return str(caught.value)


@pytest.mark.parametrize(
    ("cloud_cluster", "expected"),
    [
        (
            {"aws": {"region": "eu-central-1", "secondaryRegion": "eu-central-1"}},
            ["cloudCluster.aws", "secondaryRegion: 'eu-central-1' is the primary region"],
        ),
        (
            {"aws": {"region": "Frankfurt"}},
            ["cloudCluster.aws.region", "'Frankfurt' is not an AWS region", "eu-central-1"],
        ),
        ({"aws": {"region": "eu-central-1", "vpcCidr": "10.40.0.0/33"}}, ["vpcCidr", "is not a network CIDR"]),
        ({"aws": {"region": "eu-central-1", "vpcCidr": "8.8.0.0/16"}}, ["vpcCidr", "not a private IPv4 range"]),
        ({"aws": {"region": "eu-central-1", "vpcCidr": "10.40.0.0/24"}}, ["vpcCidr", "too small", "/16 or larger"]),
        (
            {"aws": {"region": "eu-central-1", "secondaryRegion": "eu-west-1", "secondaryVpcCidr": "10.40.0.0/16"}},
            ["secondaryVpcCidr", "overlaps vpcCidr"],
        ),
        (
            {"aws": {"region": "eu-central-1", "apiAccess": {"mode": "allowed-cidrs", "cidrs": ["0.0.0.0/0"]}}},
            ["apiAccess", "opens the API"],
        ),
        (
            {
                "azure": {
                    "location": "germanywestcentral",
                    "nodePools": [
                        {"name": "bootstrap", "role": "system", "instanceTypes": ["Standard_D4s_v5"], "share": 20},
                        {"name": "compute", "role": "compute", "instanceTypes": ["Standard_F8s_v2"], "share": 50},
                        {"name": "memory", "role": "memory", "instanceTypes": ["Standard_E8s_v5"], "share": 30},
                    ],
                }
            },
            ["nodePools", "'bootstrap' is the name of the pool AKS clusters are created with"],
        ),
        (
            {"aws": {"region": "eu-central-1", "availabilityZones": ["eu-west-1a", "eu-west-1b", "eu-west-1c"]}},
            ["availabilityZones", "three zones of eu-central-1"],
        ),
        (
            {
                "aws": {
                    "region": "eu-central-1",
                    "nodePools": [{"name": "compute", "role": "compute", "instanceTypes": ["c7i.large"], "share": 100}],
                }
            },
            ["nodePools", "'compute' and a 'memory' pool"],
        ),
        (
            {
                "aws": {
                    "region": "eu-central-1",
                    "nodePools": [
                        {"name": "compute", "role": "compute", "instanceTypes": ["c7i.large"], "share": 50},
                        {"name": "memory", "role": "memory", "instanceTypes": ["r7i.large"], "share": 40},
                    ],
                }
            },
            ["nodePools", "add up to 90", "add up to 100"],
        ),
        ({"azure": {"location": "germanywestcentral", "podCidr": "10.50.0.0/16"}}, ["podCidr", "overlaps vnetCidr"]),
        ({"azure": {"location": "West Europe"}}, ["cloudCluster.azure.location", "not an Azure location"]),
        ({"dns": {"zone": "not a zone"}}, ["cloudCluster.dns.zone", "not a DNS zone name"]),
        ({"clusterAutoscaler": {}}, ["cloudCluster.clusterAutoscaler", "unknown key"]),
    ],
)
def test_bad_cloud_settings_are_named_with_what_is_allowed(cloud_cluster: dict[str, Any], expected: list[str]) -> None:
    message = validation_error(cloud_cluster)
    for fragment in expected:
        assert fragment in message


@pytest.mark.parametrize(
    ("environment", "cloud", "cloud_cluster", "expected"),
    [
        (
            "prod",
            "aws",
            {"aws": {"region": "eu-central-1"}, "dns": {"zone": "hub.example.com"}},
            "cloudCluster.aws.secondaryRegion: required in prod",
        ),
        (
            "prod",
            "azure",
            {"azure": {"location": "germanywestcentral", "secondaryLocation": "northeurope"}},
            "cloudCluster.dns: required in prod",
        ),
        ("staging", "aws", {"azure": {"location": "germanywestcentral"}}, "cloudCluster.aws: required for cloud 'aws'"),
        (
            "staging",
            "aws",
            {"aws": {"region": "eu-central-1", "secondaryRegion": "eu-west-1"}},
            "cloudCluster.aws.secondaryRegion: only prod runs a secondary region",
        ),
    ],
)
def test_rules_across_environment_and_cloud(
    environment: str, cloud: str, cloud_cluster: dict[str, Any], expected: str
) -> None:
    settings = load_settings(with_cloud(cloud_cluster, environment, cloud))
    problems = settings.cloud_cluster.check(settings.environment, settings.cloud)
    assert expected in [f"{key}: {message}"[: len(expected)] for key, message in problems]


def test_prod_without_a_secondary_region_stops_before_any_registration(tmp_path: Path) -> None:
    values = with_cloud({"aws": {"region": "eu-central-1"}, "dns": {"zone": "hub.example.com"}})
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump({"config": {f"bakhmach-hub:{k}": v for k, v in values.items()}}))
    with pytest.raises(SettingsError) as caught:
        run_plan("prod", stack_file=path)
    assert "bakhmach-hub:cloudCluster.aws.secondaryRegion: required in prod" in str(caught.value)
    assert caught.value.resources_registered == 0  # type: ignore[attr-defined]


def test_dev_needs_no_cloud_cluster() -> None:
    assert CloudSettings().check("dev", "kind") == []


def test_pools_split_the_seeds_node_counts_and_the_50_node_ceiling() -> None:
    assert split(5, [60, 40]) == [3, 2]
    assert split(5, [20, 50, 30]) == [1, 3, 1]
    # EKS runs every node in its groups; AKS keeps its one-node bootstrap pool outside the settings'.
    for pools, reserved in ((AWS_DEFAULT_POOLS, 0), (AZURE_DEFAULT_POOLS, AKS_BOOTSTRAP_NODES)):
        for environment in ("staging", "prod"):
            sizes = pool_sizes(pools, environment, reserved=reserved)  # type: ignore[arg-type]
            # The seed: staging "5-node", prod "15-node"; "Max Nodes: 50", reserved nodes included.
            assert sum(s.minimum for s in sizes) == {"staging": 5, "prod": 15}[environment]
            assert sum(s.maximum for s in sizes) + reserved == 50
            assert all(1 <= s.minimum <= s.maximum for s in sizes)
    assert AKS_BOOTSTRAP_NODES == 1


def test_reserved_nodes_that_leave_a_pool_no_room_are_refused() -> None:
    pools = AZURE_DEFAULT_POOLS
    assert sum(s.maximum for s in pool_sizes(pools, "prod", reserved=47)) == 3
    with pytest.raises(ValueError, match="reserved: 48 nodes"):
        pool_sizes(pools, "prod", reserved=48)


def test_the_stack_files_agree_on_the_primary_region() -> None:
    from hubctl.plan import REPO_ROOT

    for stack in ("staging", "prod"):
        config = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        cloud = config["bakhmach-hub:cloudCluster"]
        assert config["aws:region"] == cloud["aws"]["region"]
        assert config["azure-native:location"] == cloud["azure"]["location"]
