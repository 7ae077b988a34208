"""TLS on every data connection of every stack and cloud: each client's settings, each server's
requirement, and TLS 1.3 wherever the server lets the stack require it (the seed's "In-Transit:
TLS 1.3"; what a managed service cannot require is written down with its source in the code)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.data import kafka, postgres, redis
from components.data.tls import CA_DIR, CA_FILE, CA_ISSUER, CONSUMER_SECRET
from hubctl.plan import Plan
from tests.planning import STACKS, k8s, of_type, one, planned

SHARDED = [s for s in STACKS if s[0] != "dev"]

DATA = ("POSTGRES", "MONGO", "REDIS", "KAFKA")
WORKLOADS = ("Deployment", "StatefulSet", "Job", "CronJob")


def _pod_specs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return [spec["template"]["spec"]]


def plaintext_connections(plan_docs: list[dict[str, Any]]) -> list[str]:
    """Every data connection a workload makes (`<SVC>_HOST`) that is not TLS, or whose CA file is
    not mounted from the namespace's copy of the data CA."""
    problems = []
    for doc in plan_docs:
        for pod in _pod_specs(doc):
            volumes = {v["name"]: v for v in pod.get("volumes", [])}
            for container in pod["containers"]:
                env = {e["name"]: e.get("value") for e in container.get("env", [])}
                where = f"{doc['kind']} {doc['metadata'].get('namespace')}/{doc['metadata']['name']}"
                for prefix in DATA:
                    if f"{prefix}_HOST" not in env:
                        continue
                    if env.get(f"{prefix}_TLS") != "true":
                        problems.append(f"{where}: {prefix} in plaintext")
                    ca_file = env.get(f"{prefix}_CA_FILE")
                    if ca_file is None:
                        continue
                    mounts = [m for m in container.get("volumeMounts", []) if ca_file.startswith(m["mountPath"] + "/")]
                    secrets = [volumes[m["name"]].get("secret", {}).get("secretName") for m in mounts]
                    if secrets != [CONSUMER_SECRET]:
                        problems.append(f"{where}: {prefix}_CA_FILE {ca_file} is not the mounted data CA")
    return problems


def _workloads(plan: Plan) -> list[dict[str, Any]]:
    return [doc for kind in WORKLOADS for doc in k8s(plan, kind)]


def test_every_data_connection_of_every_stack_is_tls(any_plan: Plan) -> None:
    workloads = _workloads(any_plan)
    connections = [
        (doc["metadata"]["name"], prefix)
        for doc in workloads
        for pod in _pod_specs(doc)
        for c in pod["containers"]
        for prefix in DATA
        if any(e["name"] == f"{prefix}_HOST" for e in c.get("env", []))
    ]
    # Every context service uses at least one data service; the walk must find them.
    assert len(connections) >= 7 * 2
    assert plaintext_connections(workloads) == []


def test_the_walk_fails_on_a_plaintext_connection(dev_plan: Plan) -> None:
    workloads = copy.deepcopy(_workloads(dev_plan))
    slon = next(doc for doc in workloads if doc["metadata"]["name"] == "slon-finance")
    container = slon["spec"]["template"]["spec"]["containers"][0]
    next(e for e in container["env"] if e["name"] == "KAFKA_TLS")["value"] = "false"
    assert plaintext_connections(workloads) == ["Deployment slon-credit/slon-finance: KAFKA in plaintext"]
    container["volumeMounts"] = [m for m in container["volumeMounts"] if m["mountPath"] != CA_DIR]
    assert len(plaintext_connections(workloads)) == 4  # + the CA of PostgreSQL, Redis and Kafka


def test_in_cluster_clients_verify_servers_with_the_data_ca(dev_plan: Plan) -> None:
    # dev: every data service in the cluster, so every connection names the data CA.
    for doc in k8s(dev_plan, "Deployment"):
        if doc["metadata"]["namespace"] in ("data", "monitoring", "telemetry", "istio-system"):
            continue
        (container,) = doc["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        connects = [prefix for prefix in DATA if f"{prefix}_HOST" in env]
        for prefix in connects:
            assert env[f"{prefix}_CA_FILE"] == CA_FILE, (doc["metadata"]["name"], prefix)
        if not connects:
            continue  # no data connection (the Keycloak operator in `identity`)
        certificate = one(dev_plan, "Certificate", CONSUMER_SECRET, doc["metadata"]["namespace"])
        assert certificate["spec"]["issuerRef"] == {
            "name": CA_ISSUER,
            "kind": "ClusterIssuer",
            "group": "cert-manager.io",
        }


def test_the_data_ca_is_cert_managers_and_issues_every_server_certificate(any_plan: Plan) -> None:
    issuers = {i["metadata"]["name"]: i["spec"] for i in k8s(any_plan, "ClusterIssuer")}
    assert issuers[CA_ISSUER] == {"ca": {"secretName": "bakhmach-data-ca"}}
    if any_plan.stack == "prod":
        # Prod: the one CA both regions hold, made outside the clusters (components/data/shared_ca.py).
        assert "bakhmach-data-root" not in issuers
        (ca_cert,) = of_type(any_plan, "tls:index/selfSignedCert:SelfSignedCert")
        assert ca_cert.inputs["isCaCertificate"] is True
        secrets = [r for r in of_type(any_plan, "kubernetes:core/v1:Secret") if r.name.endswith("-tls-ca")]
        assert len({r.provider for r in secrets}) == 2 and len(secrets) == 2
        assert all(s.inputs["metadata"]["name"] == "bakhmach-data-ca" for s in secrets)
        assert all(ca_cert.urn in s.dependencies for s in secrets)
        return
    assert issuers["bakhmach-data-root"] == {"selfSigned": {}}
    ca = one(any_plan, "Certificate", "bakhmach-data-ca", "cert-manager")["spec"]
    assert ca["isCA"] is True and ca["issuerRef"]["name"] == "bakhmach-data-root"
    for certificate in k8s(any_plan, "Certificate", namespace="data"):
        assert certificate["spec"]["issuerRef"]["name"] == CA_ISSUER
        assert certificate["spec"]["duration"] == "2160h" and certificate["spec"]["renewBefore"] == "720h"


def _certificate_names(plan: Plan, secret: str) -> list[str]:
    return one(plan, "Certificate", secret, "data")["spec"]["dnsNames"]


def test_in_cluster_mongodb_requires_tls_13(any_plan: Plan) -> None:
    spec = one(any_plan, "PerconaServerMongoDB", "mongo", "data")["spec"]
    assert spec["tls"] == {"mode": "requireTLS", "allowInvalidCertificates": False}
    # Prod also names the system users and key file both regions' sites share (components/dr).
    assert {k: v for k, v in spec["secrets"].items() if k in ("ssl", "sslInternal")} == {
        "ssl": "mongo-ssl",
        "sslInternal": "mongo-ssl-internal",
    }
    assert "unsafeFlags" not in spec or "tls" not in spec["unsafeFlags"]
    (replset,) = spec["replsets"]
    assert "disabledProtocols: TLS1_0,TLS1_1,TLS1_2" in replset["configuration"]
    # The name clients connect by is on the certificate; the exporter connects over TLS too.
    assert "mongo-rs0.data.svc.cluster.local" in _certificate_names(any_plan, "mongo-ssl")
    assert "localhost" in _certificate_names(any_plan, "mongo-ssl-internal")
    (exporter,) = replset["sidecars"]
    assert "tls=true" in exporter["args"][0] and exporter["volumeMounts"][0]["name"] == "ssl"


@pytest.mark.parametrize(("stack", "cloud"), SHARDED)
def test_sharded_mongodb_requires_tls_13_on_every_part(stack: str, cloud: str) -> None:
    """Shards, config servers and routers each run TLS 1.3 only, and the certificates carry the
    names each part is reached by: clients reach the routers, shards and routers the config servers."""
    plan = planned(stack, cloud)
    spec = one(plan, "PerconaServerMongoDB", "mongo", "data")["spec"]
    sharding = spec["sharding"]
    parts = [*spec["replsets"], sharding["configsvrReplSet"], sharding["mongos"]]
    assert len(parts) >= 3
    for part in parts:
        assert "disabledProtocols: TLS1_0,TLS1_1,TLS1_2" in part["configuration"]
    for replset in (*spec["replsets"], sharding["configsvrReplSet"]):
        (exporter,) = replset["sidecars"]
        assert "tls=true" in exporter["args"][0]
    for secret in ("mongo-ssl", "mongo-ssl-internal"):
        names = _certificate_names(plan, secret)
        for service in ("mongo-mongos", "mongo-cfg", *(f"mongo-{rs['name']}" for rs in spec["replsets"])):
            assert f"{service}.data.svc.cluster.local" in names, (secret, service)
            assert f"*.{service}.data.svc.cluster.local" in names, (secret, service)
    # The services connect to the routers, by a name on the certificate, verifying it with the CA.
    clients = 0
    for doc in k8s(plan, "Deployment"):
        for container in doc["spec"]["template"]["spec"]["containers"]:
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            if "MONGO_HOST" not in env:
                continue
            clients += 1
            assert env["MONGO_HOST"] == "mongo-mongos.data.svc.cluster.local", doc["metadata"]["name"]
            assert env["MONGO_TLS"] == "true" and env["MONGO_CA_FILE"] == CA_FILE, doc["metadata"]["name"]
    assert clients > 0


def test_the_mongo_collections_job_verifies_the_server_with_the_data_ca(any_plan: Plan) -> None:
    job = one(any_plan, "Job", "mongo-collections", "data")
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MONGO_TLS"] == "true" and env["MONGO_CA_FILE"] == CA_FILE
    assert plaintext_connections([job]) == []
    # The certificate only: not the servers' Secrets, whose private keys the Job has no use for.
    (volume,) = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == CONSUMER_SECRET]
    assert volume["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]
    mounted = {v.get("secret", {}).get("secretName") for v in pod["volumes"]}
    assert not mounted & {"mongo-ssl", "mongo-ssl-internal"}
    certificate = one(any_plan, "Certificate", CONSUMER_SECRET, "data")
    assert certificate["spec"]["issuerRef"]["name"] == CA_ISSUER
    # The Job waits for its CA copy, so its pod does not start without the file.
    (ca_copy,) = [
        r
        for r in any_plan.resources
        if r.inputs.get("kind") == "Certificate"
        and r.inputs is not None
        and r.inputs["metadata"] == certificate["metadata"]
    ]
    (job_resource,) = [
        r
        for r in any_plan.resources
        if r.type == "kubernetes:batch/v1:Job" and r.inputs["metadata"]["name"] == "mongo-collections"
    ]
    assert ca_copy.urn in job_resource.dependencies


IN_CLUSTER = {
    "kind": {"postgres", "mongo", "redis", "kafka"},
    "aws": {"mongo"},
    "azure": {"mongo", "kafka"},
}


def test_in_cluster_kafka_takes_only_tls_13_clients(any_plan: Plan) -> None:
    found = k8s(any_plan, "Kafka", "kafka", "data")
    if "kafka" not in IN_CLUSTER[any_plan.cloud]:
        assert found == []
        return
    (cluster,) = found
    for listener in cluster["spec"]["kafka"]["listeners"]:
        assert listener["tls"] is True
        # Prod's listener for MirrorMaker 2 in the other region carries its cross-region name.
        secret = kafka.LISTENER_TLS_SECRET if listener["name"] == "scram" else "kafka-dr-listener"
        assert listener["configuration"]["brokerCertChainAndKey"]["secretName"] == secret
    config = cluster["spec"]["kafka"]["config"]
    assert config["ssl.enabled.protocols"] == config["ssl.protocol"] == "TLSv1.3"
    names = _certificate_names(any_plan, kafka.LISTENER_TLS_SECRET)
    assert "kafka-kafka-bootstrap.data.svc.cluster.local" in names
    assert "*.kafka-kafka-brokers.data.svc" in names


def test_in_cluster_redis_and_postgres_serve_tls_13_only(dev_plan: Plan) -> None:
    cluster = one(dev_plan, "RedisCluster", "redis", "data")["spec"]
    assert cluster["TLS"]["secret"]["secretName"] == redis.TLS_SECRET
    config = one(dev_plan, "ConfigMap", "redis-config", "data")["data"]["redis-additional.conf"]
    assert "tls-protocols TLSv1.3" in config
    assert "redis-leader.data.svc.cluster.local" in _certificate_names(dev_plan, redis.TLS_SECRET)
    pg = one(dev_plan, "Cluster", "postgres", "data")["spec"]
    assert pg["certificates"] == {
        "serverTLSSecret": postgres.SERVER_TLS_SECRET,
        "serverCASecret": postgres.SERVER_TLS_SECRET,
    }
    # hostssl only; CloudNativePG's own ssl_min_protocol_version is TLSv1.3 (pkg/postgres).
    assert [line.split()[0] for line in pg["postgresql"]["pg_hba"]] == ["hostssl", "host"]
    assert pg["postgresql"]["pg_hba"][1].endswith("reject")
    assert "postgres-rw.data.svc.cluster.local" in _certificate_names(dev_plan, postgres.SERVER_TLS_SECRET)


def test_managed_services_on_aws_require_tls(staging_plan: Plan, prod_plan: Plan) -> None:
    for plan in (staging_plan, prod_plan):
        if plan.cloud != "aws":
            continue
        # Prod's copies in the secondary region (components/dr) alike.
        copies = 2 if plan.stack == "prod" else 1
        assert len(of_type(plan, "aws:msk/cluster:Cluster")) == copies
        for msk in [r.inputs for r in of_type(plan, "aws:msk/cluster:Cluster")]:
            assert msk["encryptionInfo"]["encryptionInTransit"] == {"clientBroker": "TLS", "inCluster": True}
        caches = [r.inputs for r in of_type(plan, "aws:elasticache/replicationGroup:ReplicationGroup")]
        (primary,) = [c for c in caches if "globalReplicationGroupId" not in c]
        assert primary["transitEncryptionEnabled"] is True
        # A Global Datastore's secondary member takes its encryption settings from the datastore,
        # whose primary is the one above (the provider refuses them on a member).
        assert len(caches) == copies and all("transitEncryptionEnabled" not in c for c in caches if c is not primary)
        params = {
            p["name"]: p["value"]
            for r in of_type(plan, "aws:rds/parameterGroup:ParameterGroup")
            for p in r.inputs["parameters"]
        }
        assert params["rds.force_ssl"] == "1" and params["ssl_min_protocol_version"] == "TLSv1.3"


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_managed_services_on_azure_take_the_highest_minimum_they_offer(stack: str) -> None:
    from tests.planning import planned

    plan = planned(stack, "azure")
    # Prod's geo-replica in the secondary region (components/dr) alike.
    assert len(of_type(plan, "azure-native:redisenterprise:Database")) == (2 if stack == "prod" else 1)
    for amr in [r.inputs for r in of_type(plan, "azure-native:redisenterprise:RedisEnterprise")]:
        # 1.2 is the highest the API takes; 1.3 is negotiated, not enforceable (components/data/redis.py).
        assert amr["minimumTlsVersion"] == redis.AZURE_MINIMUM_TLS == "1.2"
    for database in [r.inputs for r in of_type(plan, "azure-native:redisenterprise:Database")]:
        assert database["clientProtocol"] == "Encrypted"
    for account in of_type(plan, "azure-native:storage:StorageAccount"):
        # Storage negotiates 1.3 but cannot require it yet (components/data/backup_store.py).
        assert account.inputs["minimumTlsVersion"] == "TLS1_2"
        assert account.inputs.get("enableHttpsTrafficOnly", True) is True
    tls = {
        r.inputs["value"]
        for r in of_type(plan, "azure-native:dbforpostgresql:Configuration")
        if r.inputs["configurationName"] == "ssl_min_protocol_version"
    }
    assert tls == {"TLSv1.3"}
