"""What every data component receives, and the interface its backends share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random
from pulumi_azure_native import authorization

from components.data.backup_store import BackupLocation
from components.data.connection import DataConnection
from components.labels import PLATFORM_CONTEXT, standard_labels
from components.network import AwsNetwork, AzureNetwork, CloudNetwork
from settings.data import Backend, DataComponentSpec

SizeT = TypeVar("SizeT")


@dataclass(frozen=True)
class DataComponentArgs(Generic[SizeT]):
    stack_name: str
    spec: DataComponentSpec
    size: SizeT
    password: pulumi.Output[str]
    # In-cluster backends: the data namespace, its namespace resource and the operator releases.
    namespace: str
    in_cluster_dependencies: tuple[pulumi.Resource, ...] = ()
    # Managed backends: the cloud network (private subnets, the node security group).
    network: CloudNetwork | None = None
    backup: BackupLocation | None = None
    backup_dependencies: tuple[pulumi.Resource, ...] = ()


class DataBackend(Protocol[SizeT]):
    def build(self, name: str, args: DataComponentArgs[SizeT], parent: pulumi.Resource) -> DataConnection: ...


NetworkT = TypeVar("NetworkT", AwsNetwork, AzureNetwork)


def require_network(args: DataComponentArgs[Any], kind: type[NetworkT]) -> NetworkT:
    net = args.network
    if net is None or not isinstance(net, kind):
        raise pulumi.RunError(
            f"data.{args.spec.service}: the managed backend needs the cloud cluster's network "
            f"({kind.__name__}); this stack's cluster provides none"
        )
    return net


def stateful(parent: pulumi.Resource, spec: DataComponentSpec, **extra: object) -> pulumi.ResourceOptions:
    """Options for what holds data: protected in staging/prod, so a stray destroy fails."""
    return pulumi.ResourceOptions(parent=parent, protect=spec.protect, **extra)  # type: ignore[arg-type]


def select(backends: dict[Backend, DataBackend[SizeT]], backend: Backend) -> DataBackend[SizeT]:
    return backends[backend]


def data_meta(
    name: str,
    namespace: str,
    environment: str,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> k8s.meta.v1.ObjectMetaArgs:
    """Metadata for an object of the data layer: it serves every context, so it is the platform's."""
    return k8s.meta.v1.ObjectMetaArgs(
        name=name,
        namespace=namespace,
        labels=standard_labels(context=PLATFORM_CONTEXT, environment=environment, component="data") | (labels or {}),
        annotations=annotations,
    )


def unique_suffix(name: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    """Six lowercase characters, fixed once created, for names a cloud needs globally unique
    (a host name under the provider's shared DNS zone) or reserves after deletion."""
    return random.RandomString(
        f"{name}-suffix", length=6, special=False, upper=False, opts=pulumi.ResourceOptions(parent=parent)
    ).result


def nodes_only_security_group(
    name: str, net: AwsNetwork, description: str, port: int, parent: pulumi.Resource
) -> aws.ec2.SecurityGroup:
    """A managed service's security group: its one port, from the cluster's nodes, nothing else."""
    return aws.ec2.SecurityGroup(
        f"{name}-sg",
        vpc_id=net.vpc_id,
        description=description,
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=port, to_port=port, security_groups=[net.node_security_group_id]
            )
        ],
        tags=net.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def azure_delete_lock(
    name: str,
    resource_id: pulumi.Input[str],
    spec: DataComponentSpec,
    parent: pulumi.Resource,
    after: list[pulumi.Resource],
) -> authorization.ManagementLockByScope | None:
    """Azure's deletion protection: a CanNotDelete lock, so a delete from the portal, the CLI or
    another tool fails too (Pulumi's `protect` only guards this stack). Staging/prod only; it
    is created last (`after`), so it never stands in the way of building what it guards."""
    if not spec.protect:
        return None
    return authorization.ManagementLockByScope(
        f"{name}-delete-lock",
        scope=resource_id,
        lock_name="bakhmach-do-not-delete",
        level=authorization.LockLevel.CAN_NOT_DELETE,
        notes=f"Holds {spec.service} data; remove this lock deliberately before a planned deletion.",
        opts=pulumi.ResourceOptions(parent=parent, depends_on=after),
    )


class DataComponent(pulumi.ComponentResource):
    """What PostgresCluster, MongoCluster, RedisCluster and KafkaCluster share: one backend,
    chosen once from settings, builds the service; the component exposes its connection."""

    connection: DataConnection

    def __init__(
        self,
        type_token: str,
        name: str,
        args: DataComponentArgs[Any],
        backend: DataBackend[Any],
        opts: pulumi.ResourceOptions | None = None,
        extra_outputs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(type_token, name, None, opts)
        self.connection = backend.build(name, args, self)
        self.register_outputs(
            {
                "backend": args.spec.backend,
                "host": self.connection.host,
                "port": self.connection.port,
                "tls": self.connection.tls,
                "secretName": self.connection.secret_name,
                **(extra_outputs or {}),
            }
        )


def operator_credentials(
    name: str,
    cluster_name: str,
    args: DataComponentArgs[Any],
    opts: pulumi.ResourceOptions,
    *,
    suffix: str = "app-credentials",
    username: str | None = None,
) -> k8s.core.v1.Secret:
    """The generated password, in the data namespace, where an operator reads it (as
    `<cluster_name>-<suffix>`, the name its custom resource refers to); with a username it is a
    basic-auth Secret."""
    data: dict[str, pulumi.Input[str]] = {"password": args.password}
    if username is not None:
        data = {"username": username, **data}
    return k8s.core.v1.Secret(
        f"{name}-{suffix}",
        metadata=data_meta(f"{cluster_name}-{suffix}", args.namespace, args.spec.environment),
        type="kubernetes.io/basic-auth" if username is not None else "Opaque",
        string_data=data,
        opts=opts,
    )
