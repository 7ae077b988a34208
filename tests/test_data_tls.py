"""TLS on every data connection of every stack and cloud: each client's settings, each server's
requirement, and TLS 1.3 wherever the server lets the stack require it (the seed's "In-Transit:
TLS 1.3"; what a managed service cannot require is written down with its source in the code)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.data import kafka, postgres, redis
from components.data.tls import CA_DIR, CA_FILE, CA_ISSUER, CONSUMER_SECRET
from components.data.trust import RDS_CA, RDS_CA_CONFIG_MAP, RDS_CA_IDENTIFIER, rds_bundle
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


# Whom each data service's clients must trust, by where it runs (components/data/trust.py): the
# stack's data CA in the cluster, RDS's bundle for RDS, else the image's trust store (`public`).
IN_CLUSTER_SERVERS = {  # (API group, kind) of the operators' custom resources
    "POSTGRES": ("postgresql.cnpg.io", "Cluster"),
    "MONGO": ("psmdb.percona.com", "PerconaServerMongoDB"),
    "REDIS": ("redis.redis.opstreelabs.in", "RedisCluster"),
    "KAFKA": ("kafka.strimzi.io", "Kafka"),
}
MANAGED_SERVERS_WITH_OWN_CA = {"POSTGRES": ("aws:rds/instance:Instance", "rds")}


def expected_trust(plan: Plan) -> dict[str, str]:
    """Each data service's trust anchor, from the servers the plan creates."""
    types = {r.type for r in plan.resources}
    in_cluster = {(t.split(":")[1].split("/")[0], t.split(":")[-1]) for t in types if t.startswith("kubernetes:")}
    trust = {prefix: "public" for prefix in DATA}
    for prefix, (server, anchor) in MANAGED_SERVERS_WITH_OWN_CA.items():
        if server in types:
            trust[prefix] = anchor
    for prefix, group_kind in IN_CLUSTER_SERVERS.items():
        if group_kind in in_cluster:
            trust[prefix] = "data-ca"
    return trust


def plaintext_connections(plan_docs: list[dict[str, Any]], trust: dict[str, str]) -> list[str]:
    """Every data connection a workload makes (`<SVC>_HOST`) that is not TLS, or does not verify
    its server with what signs that server's certificate: the data CA's Secret (in the cluster) or
    RDS's bundle (the ConfigMap) mounted where `<SVC>_CA_FILE` points, no CA file for a server
    with a public chain (the image's trust store), and PostgreSQL in `verify-full`."""
    sources = {"data-ca": ("secret", "secretName", CONSUMER_SECRET), "rds": ("configMap", "name", RDS_CA_CONFIG_MAP)}
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
                    if prefix == "POSTGRES" and env.get("POSTGRES_SSLMODE") != "verify-full":
                        problems.append(f"{where}: POSTGRES_SSLMODE {env.get('POSTGRES_SSLMODE')} is not verify-full")
                    ca_file = env.get(f"{prefix}_CA_FILE")
                    if trust[prefix] == "public":
                        if ca_file is not None:
                            problems.append(f"{where}: {prefix}_CA_FILE {ca_file} for a server with a public chain")
                        continue
                    if ca_file is None:
                        problems.append(f"{where}: {prefix} without {prefix}_CA_FILE ({trust[prefix]})")
                        continue
                    kind, key, name = sources[trust[prefix]]
                    mounts = [m for m in container.get("volumeMounts", []) if ca_file.startswith(m["mountPath"] + "/")]
                    mounted = [volumes[m["name"]].get(kind, {}).get(key) for m in mounts]
                    if mounted != [name] or not all(m.get("readOnly") for m in mounts):
                        problems.append(f"{where}: {prefix}_CA_FILE {ca_file} is not the mounted {trust[prefix]} CA")
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
    assert plaintext_connections(workloads, expected_trust(any_plan)) == []


def test_each_service_is_trusted_as_where_it_runs(any_plan: Plan) -> None:
    """The walk's expectations follow the stack: in the cluster the data CA, RDS its own CA, every
    other managed service a public chain."""
    trust = expected_trust(any_plan)
    if any_plan.cloud == "kind":
        assert set(trust.values()) == {"data-ca"}
    elif any_plan.cloud == "aws":
        assert trust == {"POSTGRES": "rds", "MONGO": "data-ca", "REDIS": "public", "KAFKA": "public"}
    else:
        assert trust == {"POSTGRES": "public", "MONGO": "data-ca", "REDIS": "public", "KAFKA": "data-ca"}


def test_the_walk_fails_on_a_plaintext_connection(dev_plan: Plan) -> None:
    trust = expected_trust(dev_plan)
    workloads = copy.deepcopy(_workloads(dev_plan))
    slon = next(doc for doc in workloads if doc["metadata"]["name"] == "slon-finance")
    container = slon["spec"]["template"]["spec"]["containers"][0]
    next(e for e in container["env"] if e["name"] == "KAFKA_TLS")["value"] = "false"
    assert plaintext_connections(workloads, trust) == ["Deployment slon-credit/slon-finance: KAFKA in plaintext"]
    container["volumeMounts"] = [m for m in container["volumeMounts"] if m["mountPath"] != CA_DIR]
    assert len(plaintext_connections(workloads, trust)) == 4  # + the CA of PostgreSQL, Redis and Kafka


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_walk_fails_on_an_rds_connection_that_does_not_verify(stack: str) -> None:
    plan = planned(stack, "aws")
    trust = expected_trust(plan)
    pristine = _workloads(plan)
    assert plaintext_connections(pristine, trust) == []
    where = "Deployment slon-credit/slon-finance"

    def broken(change: Any) -> list[str]:
        workloads = copy.deepcopy(pristine)
        slon = next(doc for doc in workloads if doc["metadata"]["name"] == "slon-finance")
        change(slon["spec"]["template"]["spec"])
        return plaintext_connections(workloads, trust)

    def env(pod: dict[str, Any]) -> list[dict[str, Any]]:
        return pod["containers"][0]["env"]

    def no_ca_file(pod: dict[str, Any]) -> None:
        pod["containers"][0]["env"] = [e for e in env(pod) if e["name"] != "POSTGRES_CA_FILE"]

    def unmounted(pod: dict[str, Any]) -> None:
        mounts = pod["containers"][0]["volumeMounts"]
        pod["containers"][0]["volumeMounts"] = [m for m in mounts if m["mountPath"] != RDS_CA.directory]

    def other_config_map(pod: dict[str, Any]) -> None:
        next(v for v in pod["volumes"] if v["name"] == RDS_CA.volume)["configMap"]["name"] = "someone-elses-ca"

    def require_only(pod: dict[str, Any]) -> None:
        next(e for e in env(pod) if e["name"] == "POSTGRES_SSLMODE")["value"] = "require"

    def redis_ca_file(pod: dict[str, Any]) -> None:
        env(pod).append({"name": "REDIS_CA_FILE", "value": RDS_CA.file})

    assert broken(no_ca_file) == [f"{where}: POSTGRES without POSTGRES_CA_FILE (rds)"]
    assert broken(unmounted) == [f"{where}: POSTGRES_CA_FILE {RDS_CA.file} is not the mounted rds CA"]
    assert broken(other_config_map) == [f"{where}: POSTGRES_CA_FILE {RDS_CA.file} is not the mounted rds CA"]
    assert broken(require_only) == [f"{where}: POSTGRES_SSLMODE require is not verify-full"]
    # ElastiCache's chain is public: a CA file there would replace the trust store and fail.
    assert broken(redis_ca_file) == [f"{where}: REDIS_CA_FILE {RDS_CA.file} for a server with a public chain"]


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
    assert plaintext_connections([job], expected_trust(any_plan)) == []
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


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_rds_clients_verify_the_server_with_the_vendored_bundle(stack: str) -> None:
    """Every namespace that connects to RDS (the context namespaces and the data namespace's roles
    Job) holds the vendored bundle as a ConfigMap, and the instances sign with the CA it roots."""
    plan = planned(stack, "aws")
    bundle = rds_bundle()
    instances = of_type(plan, "aws:rds/instance:Instance")
    assert len(instances) >= 1
    assert {r.inputs["caCertIdentifier"] for r in instances} == {RDS_CA_IDENTIFIER}
    clients = {
        doc["metadata"]["namespace"]
        for doc in _workloads(plan)
        for pod in _pod_specs(doc)
        for c in pod["containers"]
        if any(e["name"] == "POSTGRES_HOST" for e in c.get("env", []))
    }
    assert len(clients) >= 6
    for namespace in (*clients, "data"):
        config_map = one(plan, "ConfigMap", RDS_CA_CONFIG_MAP, namespace)
        assert config_map["data"] == {RDS_CA.key: bundle}, namespace
    # The roles Job sends the admin login only to a server whose certificate and name it verified.
    job = one(plan, "Job", "postgres-roles", "data")
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["PGSSLMODE"] == "verify-full" and env["PGSSLROOTCERT"] == RDS_CA.file
    assert "PGSSLMODE" not in container["command"][-1]  # the script does not override it
    (volume,) = [v for v in pod["volumes"] if v["name"] == RDS_CA.volume]
    assert volume["configMap"]["name"] == RDS_CA_CONFIG_MAP
    assert {"name": RDS_CA.volume, "mountPath": RDS_CA.directory, "readOnly": True} in container["volumeMounts"]
    # The Job waits for its copy of the bundle.
    (job_resource,) = [
        r
        for r in plan.resources
        if r.type == "kubernetes:batch/v1:Job" and r.inputs["metadata"]["name"] == "postgres-roles"
    ]
    (data_copy,) = [
        r
        for r in plan.resources
        if r.type == "kubernetes:core/v1:ConfigMap"
        and r.inputs["metadata"] == {**r.inputs["metadata"], "name": RDS_CA_CONFIG_MAP, "namespace": "data"}
    ]
    assert data_copy.urn in job_resource.dependencies


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_flexible_server_clients_verify_with_the_system_trust_store(stack: str) -> None:
    """Flexible Server's chain ends in public roots: verify-full, no CA file, no RDS bundle."""
    plan = planned(stack, "azure")
    assert k8s(plan, "ConfigMap", RDS_CA_CONFIG_MAP) == []
    job = one(plan, "Job", "postgres-roles", "data")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["PGSSLMODE"] == "require" and "PGSSLROOTCERT" not in env
