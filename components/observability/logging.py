"""Logs: the seed's ELK through ECK: Elasticsearch, Kibana, and Filebeat on every node.

- Applications log JSON lines to stdout (the seed's "Format: JSON"); Filebeat reads every
  container's log on every node (a DaemonSet that tolerates every taint), decodes the JSON into
  fields, adds the pod's Kubernetes metadata, and keeps one in ten debug lines (the seed's "10%
  for debug logs, 100% for errors"). Lines that are not JSON are kept as they are.
- Index lifecycle: 30 days on the hot tier, then the cold tier (staging/prod run cold nodes on
  cheaper disks; a single dev node is every tier), deleted at 90 days (`bakhmach-logs`). ECK's
  StackConfigPolicy would apply it declaratively but needs an Enterprise licence; so a Job owned
  by the stack PUTs the policy through the Elasticsearch API (Basic licence: ILM is free), and
  Filebeat writes with that policy's name, leaving it alone. A changed policy is a new Job.
- Elasticsearch keeps `node.store.allow_mmap: false`: memory-mapped stores need the nodes'
  `vm.max_map_count` raised, which only a privileged init container or node configuration can
  do; niofs costs some search speed on the hot tier (a follow-up: raise the sysctl on the node
  pools, then enable mmap).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import versions
from components.labels import PLATFORM_CONTEXT, instance_of, standard_labels
from components.observability.elastic import (
    ELASTICSEARCH,
    ES_ELASTIC_USER_SECRET,
    curl_pod_spec,
)
from components.observability.endpoints import ELASTIC_OPERATOR_NAMESPACE, TELEMETRY_NAMESPACE
from settings.observability import (
    DEBUG_LOG_SAMPLE_PERCENT,
    ST1_MIN_GIB,
    ElasticNodeSet,
    ObservabilitySpec,
)

LOG_POLICY = "bakhmach-logs"
ILM_CONFIGMAP = "elasticsearch-ilm-policies"
ILM_LABEL = "bakhmach.io/ilm-policies"
JAEGER_ES_USER = "jaeger"
JAEGER_ES_USER_SECRET = "jaeger-es-user"
ES_ROLES_SECRET = "telemetry-es-roles"
FILEBEAT = "filebeat"


def log_lifecycle_policy(spec: ObservabilitySpec) -> dict[str, Any]:
    """30 days hot, then cold, deleted at 90 days (ages count from each index's rollover)."""
    cold = spec.sizes.logging.cold
    cold_replicas = 0 if cold is None or cold.count < 2 else 1
    return {
        "policy": {
            "_meta": {"managed_by": "bakhmach-hub (components/observability/logging.py)"},
            "phases": {
                "hot": {
                    "min_age": "0ms",
                    "actions": {
                        "rollover": {"max_age": "1d", "max_primary_shard_size": "50gb"},
                        "set_priority": {"priority": 100},
                    },
                },
                # The cold phase moves the index to data_cold nodes (ILM's implicit migrate),
                # falling back to the hot tier where there is none (dev).
                "cold": {
                    "min_age": f"{spec.log_hot_days}d",
                    "actions": {"set_priority": {"priority": 0}, "allocate": {"number_of_replicas": cold_replicas}},
                },
                "delete": {"min_age": f"{spec.log_retention_days}d", "actions": {"delete": {}}},
            },
        }
    }


def filebeat_config() -> dict[str, Any]:
    keep = DEBUG_LOG_SAMPLE_PERCENT / 100
    return {
        "filebeat.inputs": [
            {
                "type": "filestream",
                "id": "kubernetes-container-logs",
                "paths": ["/var/log/containers/*.log"],
                "prospector.scanner.symlinks": True,
                "prospector.scanner.fingerprint.enabled": True,
                "file_identity.fingerprint": {},
                "parsers": [
                    {"container": {}},
                    {
                        "ndjson": {
                            "target": "",
                            "message_key": "message",
                            "overwrite_keys": True,
                            "expand_keys": True,
                            "ignore_decoding_error": True,
                        }
                    },
                ],
                "processors": [
                    {
                        "add_kubernetes_metadata": {
                            "host": "${NODE_NAME}",
                            "matchers": [{"logs_path": {"logs_path": "/var/log/containers/"}}],
                        }
                    }
                ],
            }
        ],
        "processors": [
            {
                "script": {
                    "lang": "javascript",
                    "source": (
                        "function process(event) {"
                        ' var level = event.Get("log.level") || event.Get("level");'
                        ' if (level && String(level).toLowerCase() === "debug"'
                        f" && Math.random() >= {keep:g}) {{ event.Cancel(); }}"
                        " }"
                    ),
                }
            },
            {"add_cloud_metadata": {}},
        ],
        "setup.ilm.enabled": True,
        "setup.ilm.policy_name": LOG_POLICY,
        "setup.ilm.check_exists": True,
        "setup.ilm.overwrite": False,
    }


def _node_set(
    node_set: ElasticNodeSet, storage_class: str, priority: dict[str, str], pod_labels: dict[str, str]
) -> dict[str, Any]:
    config: dict[str, Any] = {"node.store.allow_mmap": False}
    if node_set.roles:
        config["node.roles"] = list(node_set.roles)
    compute = node_set.compute
    return {
        "name": node_set.name,
        "count": node_set.count,
        "config": config,
        "podTemplate": {
            "metadata": {"labels": pod_labels},
            "spec": {
                **priority,
                "containers": [
                    {
                        "name": "elasticsearch",
                        "resources": {
                            "requests": {"cpu": compute.cpu, "memory": compute.memory},
                            "limits": {"memory": compute.memory},
                        },
                    }
                ],
            },
        },
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "elasticsearch-data"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": storage_class,
                    "resources": {"requests": {"storage": f"{node_set.storage_gib}Gi"}},
                },
            }
        ],
    }


@dataclass
class Logging:
    elasticsearch: k8s.apiextensions.CustomResource
    ilm_job: k8s.batch.v1.Job
    jaeger_user: k8s.core.v1.Secret | None


def build_logging(
    name: str,
    spec: ObservabilitySpec,
    *,
    telemetry_namespace: k8s.core.v1.Namespace,
    operator_namespace: k8s.core.v1.Namespace,
    priority_class: str | None,
    scheduling: tuple[pulumi.Resource, ...],
    parent: pulumi.Resource,
) -> Logging:
    env = spec.environment
    labels = standard_labels(context=PLATFORM_CONTEXT, environment=env, component="logging")
    priority = {"priorityClassName": priority_class} if priority_class else {}

    def meta(object_name: str, extra: dict[str, str] | None = None) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(
            name=object_name, namespace=TELEMETRY_NAMESPACE, labels=labels | (extra or {})
        )

    def workload(object_name: str) -> tuple[k8s.meta.v1.ObjectMetaArgs, dict[str, str]]:
        """A workload's metadata and its pods' labels, both naming its instance."""
        instance = instance_of(object_name, env)
        return meta(object_name, instance), labels | instance

    operator = versions.ECK_OPERATOR.release(
        f"{name}-eck-operator",
        name="elastic-operator",
        namespace=ELASTIC_OPERATOR_NAMESPACE,
        values={
            "installCRDs": True,
            "resources": {"requests": {"cpu": "100m", "memory": "150Mi"}, "limits": {"memory": "1Gi"}},
            **priority,
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[operator_namespace, *scheduling]),
    )
    after_operator = [telemetry_namespace, operator]
    storage_classes = dict(spec.storage_classes)
    sizes = spec.sizes.logging
    if spec.cloud == "aws" and sizes.cold is not None:
        # EKS ships no HDD class; throughput-optimised st1 suits logs read in long scans.
        assert sizes.cold.storage_gib >= ST1_MIN_GIB, "st1 volumes are at least 125 GiB"
        cold_class = k8s.storage.v1.StorageClass(
            f"{name}-cold-storage",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=spec.storage_classes["cold"],
                labels=standard_labels(context=PLATFORM_CONTEXT, environment=env, component="logging"),
            ),
            provisioner="ebs.csi.aws.com",
            parameters={"type": "st1", "encrypted": "true"},
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Delete",
            opts=pulumi.ResourceOptions(parent=parent),
        )
        after_operator.append(cold_class)

    auth: dict[str, Any] = {}
    jaeger_user = None
    es_dependencies: list[pulumi.Resource] = []
    if spec.trace_store == "elasticsearch":
        # Jaeger's own user: a file-realm user with a role limited to the jaeger-* indices.
        password = random.RandomPassword(
            f"{name}-jaeger-es-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=parent)
        )
        jaeger_user = k8s.core.v1.Secret(
            f"{name}-jaeger-es-user",
            metadata=meta(JAEGER_ES_USER_SECRET),
            type="kubernetes.io/basic-auth",
            string_data={"username": JAEGER_ES_USER, "password": password.result, "roles": "jaeger_writer"},
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[telemetry_namespace]),
        )
        roles = {
            "jaeger_writer": {
                "cluster": ["monitor", "manage_index_templates"],
                "indices": [
                    {
                        "names": ["jaeger-*"],
                        "privileges": [
                            "create_index",
                            "write",
                            "read",
                            "view_index_metadata",
                            "monitor",
                            "delete_index",
                        ],
                    }
                ],
            }
        }
        roles_secret = k8s.core.v1.Secret(
            f"{name}-es-roles",
            metadata=meta(ES_ROLES_SECRET),
            string_data={"roles.yml": json.dumps(roles, indent=2)},
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[telemetry_namespace]),
        )
        auth = {
            "auth": {"fileRealm": [{"secretName": JAEGER_ES_USER_SECRET}], "roles": [{"secretName": ES_ROLES_SECRET}]}
        }
        es_dependencies = [jaeger_user, roles_secret]

    es_meta, es_pods = workload(ELASTICSEARCH)
    node_sets = [_node_set(sizes.hot, storage_classes["hot"], priority, es_pods)]
    if sizes.cold is not None:
        node_sets.append(_node_set(sizes.cold, storage_classes["cold"], priority, es_pods))
    elasticsearch = k8s.apiextensions.CustomResource(
        f"{name}-elasticsearch",
        api_version="elasticsearch.k8s.elastic.co/v1",
        kind="Elasticsearch",
        metadata=es_meta,
        spec={"version": versions.ELASTIC_STACK_VERSION, "nodeSets": node_sets, **auth},
        # Logs are records the seed keeps for 90 days: a stray destroy must not take them.
        opts=pulumi.ResourceOptions(
            parent=parent, protect=spec.protect, depends_on=[*after_operator, *es_dependencies, *scheduling]
        ),
    )
    kibana_compute = sizes.kibana
    kibana_meta, kibana_pods = workload(ELASTICSEARCH)
    k8s.apiextensions.CustomResource(
        f"{name}-kibana",
        api_version="kibana.k8s.elastic.co/v1",
        kind="Kibana",
        metadata=kibana_meta,
        spec={
            "version": versions.ELASTIC_STACK_VERSION,
            "count": sizes.kibana_replicas,
            "elasticsearchRef": {"name": ELASTICSEARCH},
            "podTemplate": {
                "metadata": {"labels": kibana_pods},
                "spec": {
                    **priority,
                    "containers": [
                        {
                            "name": "kibana",
                            "resources": {
                                "requests": {"cpu": kibana_compute.cpu, "memory": kibana_compute.memory},
                                "limits": {"memory": kibana_compute.memory},
                            },
                        }
                    ],
                },
            },
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[elasticsearch, *scheduling]),
    )

    # The ILM policies, applied by a Job whose name carries their hash: a change runs a new Job.
    policies = {f"{LOG_POLICY}.json": json.dumps(log_lifecycle_policy(spec), indent=2, sort_keys=True)}
    digest = hashlib.sha256(json.dumps(policies, sort_keys=True).encode()).hexdigest()[:10]
    config = k8s.core.v1.ConfigMap(
        f"{name}-ilm-policies",
        metadata=meta(ILM_CONFIGMAP, {ILM_LABEL: "true"}),
        data=policies,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[telemetry_namespace]),
    )
    script = r"""
for file in /policies/*.json; do
  policy=$(basename "$file" .json)
  es -X PUT -H 'Content-Type: application/json' --data-binary "@$file" "$ES_URL/_ilm/policy/$policy"
  echo " <- $policy"
done
"""
    ilm_meta, ilm_pods = workload(f"apply-ilm-{digest}")
    ilm_job = k8s.batch.v1.Job(
        f"{name}-apply-ilm",
        metadata=ilm_meta,
        spec=k8s.batch.v1.JobSpecArgs(
            backoff_limit=6,
            # ECK needs a few minutes for a new cluster; the script waits for it within this.
            active_deadline_seconds=1800,
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=ilm_pods),
                spec=curl_pod_spec(
                    script,
                    priority_class=priority_class,
                    user="elastic",
                    password_secret=ES_ELASTIC_USER_SECRET,
                    password_key="elastic",
                    extra_volumes=[
                        k8s.core.v1.VolumeArgs(
                            name="policies", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=ILM_CONFIGMAP)
                        )
                    ],
                    extra_mounts=[k8s.core.v1.VolumeMountArgs(name="policies", mount_path="/policies", read_only=True)],
                ),
            ),
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[elasticsearch, config, *scheduling]),
    )

    # Filebeat: a DaemonSet through ECK's Beat resource (ECK creates its Elasticsearch user and
    # hands it the CA), with read access to the Kubernetes objects whose metadata it adds.
    account = k8s.core.v1.ServiceAccount(
        f"{name}-filebeat-sa",
        metadata=meta(FILEBEAT),
        automount_service_account_token=False,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[telemetry_namespace]),
    )
    cluster_labels = standard_labels(context=PLATFORM_CONTEXT, environment=env, component="logging")
    role = k8s.rbac.v1.ClusterRole(
        f"{name}-filebeat-role",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="bakhmach-filebeat", labels=cluster_labels),
        rules=[
            k8s.rbac.v1.PolicyRuleArgs(
                api_groups=[""], resources=["namespaces", "pods", "nodes"], verbs=["get", "list", "watch"]
            ),
            k8s.rbac.v1.PolicyRuleArgs(api_groups=["apps"], resources=["replicasets"], verbs=["get", "list", "watch"]),
            k8s.rbac.v1.PolicyRuleArgs(api_groups=["batch"], resources=["jobs"], verbs=["get", "list", "watch"]),
        ],
        opts=pulumi.ResourceOptions(parent=parent),
    )
    binding = k8s.rbac.v1.ClusterRoleBinding(
        f"{name}-filebeat-binding",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="bakhmach-filebeat", labels=cluster_labels),
        role_ref=k8s.rbac.v1.RoleRefArgs(
            api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="bakhmach-filebeat"
        ),
        subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=FILEBEAT, namespace=TELEMETRY_NAMESPACE)],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[role, account]),
    )
    shipper = sizes.shipper
    host_paths = (("varlogcontainers", "/var/log/containers"), ("varlogpods", "/var/log/pods"))
    beat_meta, beat_pods = workload(FILEBEAT)
    k8s.apiextensions.CustomResource(
        f"{name}-filebeat",
        api_version="beat.k8s.elastic.co/v1beta1",
        kind="Beat",
        metadata=beat_meta,
        spec={
            "type": "filebeat",
            "version": versions.ELASTIC_STACK_VERSION,
            "elasticsearchRef": {"name": ELASTICSEARCH},
            "config": filebeat_config(),
            "daemonSet": {
                "podTemplate": {
                    "metadata": {"labels": beat_pods},
                    "spec": {
                        **priority,
                        "serviceAccountName": FILEBEAT,
                        "automountServiceAccountToken": True,
                        "terminationGracePeriodSeconds": 30,
                        # A shipper on every node, the tainted system pools included.
                        "tolerations": [{"operator": "Exists"}],
                        "containers": [
                            {
                                "name": "filebeat",
                                # The kubelet writes container logs readable by root only.
                                "securityContext": {
                                    "runAsUser": 0,
                                    "allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"], "add": ["DAC_READ_SEARCH"]},
                                },
                                "resources": {
                                    "requests": {"cpu": shipper.cpu, "memory": shipper.memory},
                                    "limits": {"memory": shipper.memory},
                                },
                                "env": [
                                    {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}
                                ],
                                "volumeMounts": [
                                    {"name": volume, "mountPath": path, "readOnly": True} for volume, path in host_paths
                                ],
                            }
                        ],
                        "volumes": [{"name": volume, "hostPath": {"path": path}} for volume, path in host_paths],
                    },
                }
            },
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[elasticsearch, ilm_job, binding, *scheduling]),
    )
    return Logging(elasticsearch=elasticsearch, ilm_job=ilm_job, jaeger_user=jaeger_user)
