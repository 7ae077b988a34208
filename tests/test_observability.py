"""Observability as each stack creates it: the seed's numbers (30 s, 15 d, 5xx > 5%, 30/90 d, 5%,
72 h), a monitor and alert rules for every context, a dashboard per business context, on-call
routing, logs and traces sized per environment, and everything in the order a fresh cluster needs.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from components.observability.dashboards import committed, generated
from hubctl.plan import Plan
from settings import seed
from settings.frameworks import FRAMEWORKS
from tests.planning import k8s, of_type, one, planned, primary_provider

RELEASE = "kubernetes:helm.sh/v3:Release"
CONTEXTS = [seed.SHARED_CONTEXT.slug, *(c.slug for c in seed.BUSINESS_CONTEXTS)]
SERVICES = [row for row in seed.SERVICE_MATRIX if row.name in seed.APPLICATION_SERVICES]
SERVICE_PORT = {row.name: FRAMEWORKS[row.framework].port for row in SERVICES}
IN_CLUSTER_DATA = {
    "kind": {"postgres", "mongo", "redis", "kafka"},
    "aws": {"mongo"},
    "azure": {"mongo", "kafka"},
}
EXPORTER_PORTS = {"postgres": 9187, "mongo": 9216, "redis": 9121, "kafka": 9404}


def release(plan: Plan, chart: str) -> Any:
    (found,) = [
        r for r in of_type(plan, RELEASE) if r.inputs["chart"] == chart and r.provider == primary_provider(plan)
    ]
    return found


def kps(plan: Plan) -> dict[str, Any]:
    values: dict[str, Any] = release(plan, "kube-prometheus-stack").inputs["values"]
    return values


def urn_of(plan: Plan, kind: str, name: str, namespace: str | None = None) -> str:
    provider = primary_provider(plan)
    found = [
        r.urn
        for r in plan.resources
        if r.provider == provider
        and r.inputs.get("kind") == kind
        and r.inputs.get("metadata", {}).get("name") == name
        and (namespace is None or r.inputs["metadata"].get("namespace") == namespace)
    ]
    assert len(found) == 1, f"{kind} {namespace}/{name}: {found}"
    return found[0]


def resource_of(plan: Plan, kind: str, name: str, namespace: str | None = None) -> Any:
    urn = urn_of(plan, kind, name, namespace)
    return next(r for r in plan.resources if r.urn == urn)


# ---- metrics ----------------------------------------------------------------------------------


def test_prometheus_scrapes_every_30_seconds_and_keeps_15_days(any_plan: Plan) -> None:
    chart = release(any_plan, "kube-prometheus-stack").inputs
    assert chart["version"] == "88.5.3"
    assert chart["repositoryOpts"]["repo"] == "https://prometheus-community.github.io/helm-charts"
    spec = kps(any_plan)["prometheus"]["prometheusSpec"]
    assert spec["scrapeInterval"] == "30s" and spec["evaluationInterval"] == "30s"
    assert spec["retention"] == "15d"


PROMETHEUS_SIZE = {"dev": (10, 1), "staging": (100, 2), "prod": (250, 2)}


def test_prometheus_storage_is_sized_per_environment_with_a_size_guard(any_plan: Plan) -> None:
    gib, replicas = PROMETHEUS_SIZE[any_plan.stack]
    spec = kps(any_plan)["prometheus"]["prometheusSpec"]
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == f"{gib}Gi"
    assert spec["retentionSize"] == f"{gib * 85 // 100}GB"  # below the volume, so compaction never fills it
    assert spec["replicas"] == replicas
    assert (
        claim["storageClassName"]
        == {"kind": "standard", "aws": "ebs-csi-default-sc", "azure": "managed-csi-premium"}[any_plan.cloud]
    )


def test_prometheus_selects_monitors_and_rules_in_every_namespace(any_plan: Plan) -> None:
    spec = kps(any_plan)["prometheus"]["prometheusSpec"]
    for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"):
        assert spec[f"{kind}SelectorNilUsesHelmValues"] is False
    assert spec["serviceMonitorNamespaceSelector"] == {} and spec["ruleNamespaceSelector"] == {}


@pytest.mark.parametrize("service", SERVICES, ids=lambda row: row.name)
def test_every_context_service_is_scraped_where_it_runs(any_plan: Plan, service: seed.ServiceRow) -> None:
    # In the mesh the service's port takes mTLS only: Prometheus scrapes each pod's sidecar agent,
    # which serves the app's metrics (found through the pod's annotations) merged with Envoy's.
    monitor = one(any_plan, "PodMonitor", service.name, service.context)
    deployment = one(any_plan, "Deployment", service.name, service.context)
    template = deployment["spec"]["template"]["metadata"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector == {"app.kubernetes.io/instance": f"{service.name}-{any_plan.stack}"}
    assert selector.items() <= template["labels"].items()
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["portNumber"] == 15020 and endpoint["path"] == "/stats/prometheus"
    assert template["annotations"] == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(FRAMEWORKS[service.framework].port),
        "prometheus.io/path": FRAMEWORKS[service.framework].metrics_path,
    }
    assert endpoint["interval"] == "30s"
    # The rules group by `service`: the name, also for a canary's `<name>-primary` pods.
    (relabel,) = endpoint["relabelings"]
    assert relabel["targetLabel"] == "service" and relabel["replacement"] == "$1"
    assert re.fullmatch(relabel["regex"], f"{service.name}-primary")[1] == service.name  # type: ignore[index]
    assert re.fullmatch(relabel["regex"], service.name)[1] == service.name  # type: ignore[index]
    # Created once its namespace and the monitoring CRDs exist.
    deps = resource_of(any_plan, "PodMonitor", service.name, service.context).dependencies
    assert urn_of(any_plan, "Namespace", service.context) in deps
    assert release(any_plan, "kube-prometheus-stack").urn in deps


@pytest.mark.parametrize("context", CONTEXTS)
def test_only_prometheus_reaches_the_metrics_port_and_only_otlp_leaves_for_traces(any_plan: Plan, context: str) -> None:
    scrape = one(any_plan, "NetworkPolicy", "allow-from-prometheus", context)["spec"]
    (rule,) = scrape["ingress"]
    assert rule["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        }
    ]
    # The sidecar agent's port, not the services' own (those take mTLS only).
    assert {p["port"] for p in rule["ports"]} == {15020}
    otlp = one(any_plan, "NetworkPolicy", "allow-to-trace-collector", context)["spec"]
    (egress,) = otlp["egress"]
    assert egress["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "telemetry"}
    assert {p["port"] for p in egress["ports"]} == {4317, 4318}


def test_each_in_cluster_data_service_is_scraped_through_its_operator(any_plan: Plan) -> None:
    running = IN_CLUSTER_DATA[any_plan.cloud]
    monitors = {m["metadata"]["name"]: m for m in k8s(any_plan, "PodMonitor", namespace="data")}
    assert set(monitors) == running
    allow = one(any_plan, "NetworkPolicy", "allow-from-prometheus", "data")["spec"]
    assert {p["port"] for p in allow["ingress"][0]["ports"]} == {EXPORTER_PORTS[s] for s in running}
    if "mongo" in running:
        (sidecar,) = one(any_plan, "PerconaServerMongoDB", "mongo", "data")["spec"]["replsets"][0]["sidecars"]
        assert sidecar["image"] == "percona/mongodb_exporter:0.49.0"
        assert sidecar["ports"][0]["containerPort"] == 9216
    if "redis" in running:
        exporter = one(any_plan, "RedisCluster", "redis", "data")["spec"]["redisExporter"]
        assert exporter["enabled"] is True and exporter["image"] == "oliver006/redis_exporter:v1.88.0"
    if "kafka" in running:
        kafka = one(any_plan, "Kafka", "kafka", "data")["spec"]
        assert kafka["kafka"]["metricsConfig"] == {"type": "strimziMetricsReporter"}
        assert kafka["kafkaExporter"]["groupRegex"] == ".*"  # consumer lag of every group
    # The monitors and the policy wait for the data layer (its namespace, its clusters).
    namespace = urn_of(any_plan, "Namespace", "data")
    for name in running:
        assert namespace in resource_of(any_plan, "PodMonitor", name, "data").dependencies
    assert namespace in resource_of(any_plan, "NetworkPolicy", "allow-from-prometheus", "data").dependencies


def test_backup_objects_become_metrics_where_the_operators_run(any_plan: Plan) -> None:
    ksm = kps(any_plan)["kube-state-metrics"]
    kinds = {r["groupVersionKind"]["kind"] for r in ksm["customResourceState"]["config"]["spec"]["resources"]}
    expected = {"postgres": "Backup", "mongo": "PerconaServerMongoDBBackup"}
    assert kinds == {kind for service, kind in expected.items() if service in IN_CLUSTER_DATA[any_plan.cloud]}
    assert {g for rule in ksm["rbac"]["extraRules"] for g in rule["apiGroups"]} <= {
        "postgresql.cnpg.io",
        "psmdb.percona.com",
    }


# ---- alerts -----------------------------------------------------------------------------------


def rules_of(plan: Plan, name: str) -> dict[str, dict[str, Any]]:
    spec = one(plan, "PrometheusRule", name, "monitoring")["spec"]
    return {rule.get("alert") or rule["record"]: rule for group in spec["groups"] for rule in group["rules"]}


@pytest.mark.parametrize("context", CONTEXTS)
def test_every_context_has_its_error_latency_and_slo_alerts(any_plan: Plan, context: str) -> None:
    rules = rules_of(any_plan, f"context-{context}")
    error = rules["ServiceErrorRateHigh"]
    assert f'namespace="{context}"' in error["expr"] and "[5m]" in error["expr"] and error["expr"].endswith("> 0.05")
    assert error["labels"] == {"severity": "critical", "context": context}
    assert rules["ServiceLatencyP95High"]["expr"].startswith("histogram_quantile(0.95,")
    assert rules["ServiceLatencyP95High"]["expr"].endswith("> 0.5")  # the settings' default, 500 ms
    assert rules["ServiceLatencyP99High"]["expr"].endswith("> 1")
    # 99.95%: a 0.05% budget; 14.4x and 6x page, 3x and 1x ticket.
    fast = rules["AvailabilitySLOFastBurn"]["expr"]
    assert "rate1h" in fast and "rate5m" in fast and "> 0.0072" in fast and "> 0.003" in fast
    slow = rules["AvailabilitySLOSlowBurn"]["expr"]
    assert "rate3d" in slow and "> 0.0015" in slow and "> 0.0005" in slow
    needs = {n for row in SERVICES if row.context == context for n in seed.SERVICE_DATA_NEEDS[row.name]}
    assert ("KafkaConsumerLagHigh" in rules) == ("kafka" in needs)
    assert ("DatabasePoolSaturated" in rules) == bool(needs & {"postgres", "mongo"})


def test_platform_rules_cover_certificates_volumes_backups_replicas_cache_and_nodes(any_plan: Plan) -> None:
    rules = rules_of(any_plan, "platform")
    assert set(rules) == {
        "CertificateExpiringSoon",
        "PersistentVolumeFillingUp",
        "PersistentVolumeAlmostFull",
        "DataBackupFailed",
        "DataBackupMissing",
        "PostgresReplicaLagAboveRPO",
        "MongoReplicaLagAboveRPO",
        "RedisHitRatioLow",
        "PostgresConnectionsSaturated",
        "NodeUnderPressure",
    }
    # The seed's RPO: 5 minutes.
    assert rules["PostgresReplicaLagAboveRPO"]["expr"].endswith("> 300")
    assert rules["MongoReplicaLagAboveRPO"]["expr"].endswith("> 300")


def test_rules_wait_for_the_prometheus_operator(any_plan: Plan) -> None:
    kps_urn = release(any_plan, "kube-prometheus-stack").urn
    for rule in k8s(any_plan, "PrometheusRule"):
        assert kps_urn in resource_of(any_plan, "PrometheusRule", rule["metadata"]["name"], "monitoring").dependencies


# ---- alert routing ----------------------------------------------------------------------------


def test_dev_routes_alerts_nowhere_by_default(dev_plan: Plan) -> None:
    config = kps(dev_plan)["alertmanager"]["config"]
    assert [r["name"] for r in config["receivers"]] == ["null"]

    def receivers(route: dict[str, Any]) -> set[str]:
        return {route["receiver"]} | {r for child in route.get("routes", []) for r in receivers(child)}

    assert receivers(config["route"]) == {"null"}
    assert "secrets" not in kps(dev_plan)["alertmanager"]["alertmanagerSpec"]
    assert k8s(dev_plan, "Secret", "alertmanager-on-call", "monitoring") == []


@pytest.mark.parametrize(
    ("stack", "cloud"), [("staging", "aws"), ("staging", "azure"), ("prod", "aws"), ("prod", "azure")]
)
def test_staging_and_prod_route_by_severity_and_context_to_on_call(stack: str, cloud: str) -> None:
    any_plan = planned(stack, cloud)
    values = kps(any_plan)["alertmanager"]
    config = values["config"]
    routes = {tuple(r["matchers"]): r for r in config["route"]["routes"]}
    critical = routes[('severity = "critical"',)]
    warning = routes[('severity = "warning"',)]
    assert critical["receiver"] == "on-call-critical" and critical["repeat_interval"] == "1h"
    assert warning["receiver"] == "on-call-warning"
    for route in (critical, warning):
        assert [child["matchers"] for child in route["routes"]] == [[f'context = "{c}"'] for c in CONTEXTS]
        assert {child["receiver"] for child in route["routes"]} == {route["receiver"]}
    receivers = {r["name"]: r for r in config["receivers"]}
    page = receivers["on-call-critical"]["pagerduty_configs"][0]
    # The routing key is read from the mounted Secret: never in the chart's values.
    assert page["routing_key_file"] == "/etc/alertmanager/secrets/alertmanager-on-call/endpoint"
    assert page["severity"] == "critical"
    assert values["alertmanagerSpec"]["secrets"] == ["alertmanager-on-call"]
    # The Secret carries the key the receiver reads, and only masked: the plan keeps a secret
    # mapping's keys and shows every value as "[secret]".
    secret_key = page["routing_key_file"].rsplit("/", 1)[1]
    assert one(any_plan, "Secret", "alertmanager-on-call", "monitoring")["stringData"] == {secret_key: "[secret]"}
    assert (
        urn_of(any_plan, "Secret", "alertmanager-on-call", "monitoring")
        in release(any_plan, "kube-prometheus-stack").dependencies
    )


# ---- dashboards -------------------------------------------------------------------------------


def test_dashboards_in_the_repository_are_the_generated_ones() -> None:
    assert committed() == generated(), "run: .venv/bin/python scripts/gen_dashboards.py"


def test_grafana_loads_one_dashboard_per_business_context_and_a_platform_overview(any_plan: Plan) -> None:
    maps = {m["metadata"]["name"]: m for m in k8s(any_plan, "ConfigMap", namespace="monitoring")}
    dashboards = {name: m for name, m in maps.items() if m["metadata"]["labels"].get("grafana_dashboard") == "1"}
    assert set(dashboards) == {f"dashboard-{c.slug}" for c in seed.BUSINESS_CONTEXTS} | {"dashboard-platform-overview"}
    sidecar = kps(any_plan)["grafana"]["sidecar"]["dashboards"]
    assert sidecar["enabled"] is True and sidecar["label"] == "grafana_dashboard"
    for name, config_map in dashboards.items():
        (text,) = config_map["data"].values()
        assert json.loads(text)["uid"].startswith("bakhmach-"), name


@pytest.mark.parametrize("context", seed.BUSINESS_CONTEXTS, ids=lambda c: c.slug)
def test_each_context_dashboard_shows_requests_errors_latency_saturation_and_its_data(
    context: seed.BusinessContext,
) -> None:
    doc = json.loads(committed()[f"{context.slug}.json"])
    panels = {p["title"]: p for p in doc["panels"] if p["type"] != "row"}
    exprs = " ".join(t["expr"] for p in panels.values() for t in p["targets"])
    assert f'namespace="{context.slug}"' in exprs
    for title in ("Requests per second", "Error ratio (4xx, 5xx)", "Latency percentiles", "CPU used / requested"):
        assert title in panels
    for quantile in ("0.5", "0.95", "0.99"):
        assert f"histogram_quantile({quantile}," in exprs
    needs = {n for row in SERVICES if row.context == context.slug for n in seed.SERVICE_DATA_NEEDS[row.name]}
    assert ("Kafka consumer lag (queue depth)" in panels) == ("kafka" in needs)
    assert ("Cache hit ratio (shared Redis)" in panels) == ("redis" in needs)
    assert ("MongoDB replication lag" in panels) == ("mongo" in needs)


def test_grafana_admin_password_is_generated_and_traces_are_a_datasource(any_plan: Plan) -> None:
    grafana = kps(any_plan)["grafana"]
    assert grafana["admin"]["existingSecret"] == "grafana-admin"
    # Both keys the chart reads are there, each masked in the plan.
    admin = grafana["admin"]
    assert one(any_plan, "Secret", "grafana-admin", "monitoring")["stringData"] == {
        admin["userKey"]: "[secret]",
        admin["passwordKey"]: "[secret]",
    }
    (jaeger,) = grafana["additionalDataSources"]
    assert jaeger["type"] == "jaeger" and jaeger["url"].startswith("http://jaeger-query.telemetry.svc")


# ---- logs -------------------------------------------------------------------------------------


def test_dev_switches_logging_off_by_default(dev_plan: Plan) -> None:
    assert k8s(dev_plan, "Elasticsearch") == []
    assert [r for r in of_type(dev_plan, RELEASE) if r.inputs["chart"] == "eck-operator"] == []


def ilm_policy(plan: Plan) -> dict[str, Any]:
    (config,) = k8s(plan, "ConfigMap", "elasticsearch-ilm-policies", "telemetry")
    policy: dict[str, Any] = json.loads(config["data"]["bakhmach-logs.json"])
    return policy


def test_logs_are_hot_30_days_then_cold_and_deleted_at_90(staging_plan: Plan, prod_plan: Plan) -> None:
    for plan in (staging_plan, prod_plan):
        phases = ilm_policy(plan)["policy"]["phases"]
        assert phases["cold"]["min_age"] == "30d"
        assert phases["delete"] == {"min_age": "90d", "actions": {"delete": {}}}
        assert "rollover" in phases["hot"]["actions"]


def test_elasticsearch_kibana_and_a_shipper_on_every_node(staging_plan: Plan, prod_plan: Plan) -> None:
    for plan in (staging_plan, prod_plan):
        assert release(plan, "eck-operator").inputs["version"] == "3.5.0"
        es = one(plan, "Elasticsearch", "logs", "telemetry")["spec"]
        assert es["version"] == "9.5.1"
        sets = {s["name"]: s for s in es["nodeSets"]}
        assert sets["hot"]["count"] == 3 and "data_hot" in sets["hot"]["config"]["node.roles"]
        assert sets["cold"]["config"]["node.roles"] == ["data_cold"]
        assert one(plan, "Kibana", "logs", "telemetry")["spec"]["elasticsearchRef"] == {"name": "logs"}
        beat = one(plan, "Beat", "filebeat", "telemetry")["spec"]
        assert beat["type"] == "filebeat" and "daemonSet" in beat
        pod = beat["daemonSet"]["podTemplate"]["spec"]
        assert pod["tolerations"] == [{"operator": "Exists"}]
        config = beat["config"]
        (parsers,) = [i["parsers"] for i in config["filebeat.inputs"]]
        assert {"container": {}} in parsers and any("ndjson" in p for p in parsers)  # JSON logs become fields
        assert config["setup.ilm.policy_name"] == "bakhmach-logs" and config["setup.ilm.overwrite"] is False
        assert "Math.random() >= 0.1" in config["processors"][0]["script"]["source"]  # 10% of debug lines


def test_prod_keeps_more_logs_than_staging(staging_plan: Plan, prod_plan: Plan) -> None:
    def storage(plan: Plan, tier: str) -> int:
        sets = {s["name"]: s for s in one(plan, "Elasticsearch", "logs", "telemetry")["spec"]["nodeSets"]}
        claim = sets[tier]["volumeClaimTemplates"][0]["spec"]
        return int(claim["resources"]["requests"]["storage"].removesuffix("Gi"))

    assert storage(prod_plan, "hot") > storage(staging_plan, "hot")
    assert storage(prod_plan, "cold") > storage(staging_plan, "cold")


def test_the_lifecycle_is_applied_by_a_job_before_logs_are_shipped(staging_plan: Plan) -> None:
    jobs = [r for r in of_type(staging_plan, "kubernetes:batch/v1:Job") if r.provider == primary_provider(staging_plan)]
    (job,) = [j for j in jobs if j.inputs["metadata"]["name"].startswith("apply-ilm-")]
    assert urn_of(staging_plan, "Elasticsearch", "logs", "telemetry") in job.dependencies
    assert job.urn in resource_of(staging_plan, "Beat", "filebeat", "telemetry").dependencies
    container = job.inputs["spec"]["template"]["spec"]["containers"][0]
    assert "_ilm/policy/" in container["command"][-1]
    assert "env" not in container or all("valueFrom" not in e for e in container["env"])  # password is a file
    es = resource_of(staging_plan, "Elasticsearch", "logs", "telemetry")
    assert es.protect  # logs are records: protected in staging and prod
    assert release(staging_plan, "eck-operator").urn in es.dependencies


def test_eks_cold_logs_get_an_encrypted_hdd_class(staging_plan: Plan) -> None:
    classes = k8s(staging_plan, "StorageClass", "bakhmach-logs-cold")
    if staging_plan.cloud != "aws":
        assert classes == []
        return
    (cls,) = classes
    assert cls["provisioner"] == "ebs.csi.aws.com" and cls["parameters"] == {"type": "st1", "encrypted": "true"}


# ---- traces -----------------------------------------------------------------------------------


def jaeger_config(plan: Plan) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(one(plan, "ConfigMap", "jaeger-config", "telemetry")["data"]["config.yaml"])
    return config


def test_dev_keeps_traces_72_hours_in_jaegers_local_store(dev_plan: Plan) -> None:
    backend = jaeger_config(dev_plan)["extensions"]["jaeger_storage"]["backends"]["traces"]
    assert backend["badger"]["ttl"] == {"spans": "72h"}
    deployment = one(dev_plan, "Deployment", "jaeger", "telemetry")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "jaegertracing/jaeger:2.20.0"
    assert one(dev_plan, "PersistentVolumeClaim", "jaeger-badger", "telemetry")


def test_staging_and_prod_keep_traces_in_elasticsearch_for_72_hours(staging_plan: Plan, prod_plan: Plan) -> None:
    for plan, replicas in ((staging_plan, 2), (prod_plan, 3)):
        backend = jaeger_config(plan)["extensions"]["jaeger_storage"]["backends"]["traces"]["elasticsearch"]
        assert backend["auth"]["basic"]["password_file"] == "/es-user/password"
        assert backend["indices"]["spans"]["rotation"]["periodic"]["rollover_frequency"] == "hour"
        assert one(plan, "Deployment", "jaeger", "telemetry")["spec"]["replicas"] == replicas
        assert one(plan, "PodDisruptionBudget", "jaeger", "telemetry")["spec"]["maxUnavailable"] == 1
        cron = one(plan, "CronJob", "jaeger-trace-retention", "telemetry")
        script = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"][-1]
        assert "259200" in script  # 72 hours
        es = one(plan, "Elasticsearch", "logs", "telemetry")["spec"]
        assert es["auth"]["fileRealm"] == [{"secretName": "jaeger-es-user"}]


@pytest.mark.parametrize("service", SERVICES, ids=lambda row: row.name)
def test_services_send_5_percent_of_traces_following_the_parent_with_w3c_context(
    any_plan: Plan, service: seed.ServiceRow
) -> None:
    (container,) = one(any_plan, "Deployment", service.name, service.context)["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger-collector.telemetry.svc.cluster.local:4318"
    assert env["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"
    assert env["OTEL_TRACES_SAMPLER_ARG"] == "0.05"
    assert env["OTEL_PROPAGATORS"] == "tracecontext,baggage"
    assert env["OTEL_SERVICE_NAME"] == service.name
    assert f"service.namespace={service.context}" in env["OTEL_RESOURCE_ATTRIBUTES"]
    collector = one(any_plan, "Service", "jaeger-collector", "telemetry")
    assert {p["port"] for p in collector["spec"]["ports"]} >= {4317, 4318}


# ---- every cluster ----------------------------------------------------------------------------


def test_prods_secondary_region_has_its_own_monitoring_without_data_monitors(prod_plan: Plan) -> None:
    primary = primary_provider(prod_plan)
    secondary = {r.provider for r in of_type(prod_plan, RELEASE) if r.provider != primary}
    (provider,) = secondary
    # The services (through their sidecars) and the region's own gateway; no data service (the
    # data layer is the primary's), and its standby Keycloak (scraped once a failover starts it).
    pod_monitors = [m["metadata"]["name"] for m in k8s(prod_plan, "PodMonitor", provider=provider)]
    assert len(pod_monitors) == len(SERVICES) + 1 and "gateway" in pod_monitors
    assert {m["metadata"]["name"] for m in k8s(prod_plan, "ServiceMonitor", provider=provider)} == {
        "jaeger",
        "istiod",
        "cert-manager",
        "keycloak",
    }
    (values,) = [
        r.inputs["values"]
        for r in of_type(prod_plan, RELEASE)
        if r.provider == provider and r.inputs["chart"] == "kube-prometheus-stack"
    ]
    assert (
        values["prometheus"]["prometheusSpec"]["externalLabels"]["cluster"]
        != kps(prod_plan)["prometheus"]["prometheusSpec"]["externalLabels"]["cluster"]
    )


def test_grafana_logs_its_users_in_through_the_realm(any_plan: Plan) -> None:
    """Observability's `grafana_login` seam, wired to Keycloak (components/platform.py): the
    browser goes to the public issuer, Grafana itself calls the realm inside the cluster, and the
    realm's system admins are Grafana's admins."""
    values = kps(any_plan)
    oauth = values["grafana"]["grafana.ini"]["auth.generic_oauth"]
    issuer = (
        "https://auth.localhost/realms/bakhmach"
        if any_plan.stack == "dev"
        else f"https://{'auth-staging' if any_plan.stack == 'staging' else 'auth'}.bakhmach-business-hub.com"
        "/realms/bakhmach"
    )
    inside = "http://keycloak-service.identity.svc.cluster.local:8080/realms/bakhmach"
    assert oauth["enabled"] is True and oauth["client_id"] == "grafana" and oauth["use_pkce"] is True
    assert oauth["auth_url"] == f"{issuer}/protocol/openid-connect/auth"
    assert oauth["token_url"] == f"{inside}/protocol/openid-connect/token"
    assert oauth["api_url"] == f"{inside}/protocol/openid-connect/userinfo"
    assert oauth["role_attribute_path"] == "contains(roles[*], 'system-admin') && 'Admin' || 'Viewer'"
    assert oauth["client_secret"] == "$__env{GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET}"
    secret_ref = values["grafana"]["envValueFrom"]["GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET"]["secretKeyRef"]
    assert secret_ref == {"name": "grafana-oidc", "key": "client-secret"}
    secret = one(any_plan, "Secret", "grafana-oidc", "monitoring")
    assert secret["stringData"] == {"client-secret": "[secret]"}
    # The realm's Grafana client carries the realm roles the mapping reads.
    (client,) = [
        c
        for c in one(any_plan, "KeycloakRealmImport", "bakhmach", "identity")["spec"]["realm"]["clients"]
        if c["clientId"] == "grafana"
    ]
    assert {m["config"]["claim.name"] for m in client["protocolMappers"]} == {"roles"}


def test_the_front_door_is_monitored(any_plan: Plan) -> None:
    """Observability's `extra_targets` seam: the gateway's proxies (Envoy's own metrics), cert-manager
    (certificate expiry) and Keycloak's management port, each after what it watches exists."""
    (gateway,) = k8s(any_plan, "PodMonitor", "gateway", "gateway")
    (endpoint,) = gateway["spec"]["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("metrics", "/stats/prometheus")
    assert gateway["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "envoy",
        "app.kubernetes.io/component": "proxy",
    }
    (cert_manager,) = k8s(any_plan, "ServiceMonitor", "cert-manager", "cert-manager")
    assert cert_manager["spec"]["endpoints"][0]["port"] == "tcp-prometheus-servicemonitor"
    (keycloak,) = k8s(any_plan, "ServiceMonitor", "keycloak", "identity")
    assert keycloak["spec"]["endpoints"][0]["port"] == "management"
    assert keycloak["spec"]["selector"]["matchLabels"] == {"app": "keycloak", "app.kubernetes.io/instance": "keycloak"}


def test_grafana_keeps_its_own_admin_without_a_realm_and_slack_reads_its_webhook_from_a_file() -> None:
    from components.observability.metrics import kube_prometheus_stack_values
    from settings.observability import ObservabilitySettings, resolve_observability

    spec = resolve_observability(
        ObservabilitySettings.model_validate({"onCall": {"receiver": "slack"}}),
        "staging",
        "aws",
        on_call_endpoint_set=True,
    )
    values = kube_prometheus_stack_values(spec, cluster_name="staging", contexts=("platform",))
    assert "auth.generic_oauth" not in values["grafana"]["grafana.ini"]
    # Slack: the webhook URL is read from the mounted Secret as well.
    receivers = {r["name"]: r for r in values["alertmanager"]["config"]["receivers"]}
    assert receivers["on-call-critical"]["slack_configs"][0]["api_url_file"].endswith("/alertmanager-on-call/endpoint")
