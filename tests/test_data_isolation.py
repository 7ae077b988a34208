"""Tenant isolation in the data layer, for every stack and cloud: no credential reaches two
contexts, no context can name another's database, key prefix or topic prefix, and each data
service itself confines every login to what it owns (issue 13; the seed's "a context never holds
another context's credentials").

Where a backend cannot (Azure Managed Redis has no per-user ACLs), the consumers' Secrets say so
and nothing else may."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest

from hubctl.plan import Plan, PlannedResource
from tests.planning import k8s, of_type, one, primary_provider

DATA_SERVICE = "bakhmach.io/data-service"
SCOPE = "bakhmach.io/credential-scope"
SHARED_BECAUSE = "bakhmach.io/credential-shared-because"
RESOURCE_ENV = {
    "postgres": "POSTGRES_DATABASE",
    "mongo": "MONGO_DATABASE",
    "redis": "REDIS_KEY_PREFIX",
    "kafka": "KAFKA_TOPIC_PREFIX",
}
PASSWORD = "random:index/randomPassword:RandomPassword"


def consumer_secrets(plan: Plan) -> dict[tuple[str, str], PlannedResource]:
    """(namespace, data service) -> the namespace's connection Secret, on the primary cluster."""
    found = {}
    for r in plan.resources:
        meta = r.inputs.get("metadata") or {}
        labels = meta.get("labels") or {}
        if r.inputs.get("kind") == "Secret" and DATA_SERVICE in labels and r.provider == primary_provider(plan):
            found[(meta["namespace"], labels[DATA_SERVICE])] = r
    return found


def passwords_of(resource: PlannedResource) -> set[str]:
    return {urn for urn in resource.dependencies if f"${PASSWORD}::" in urn or f"::{PASSWORD}::" in urn}


def owned(plan: Plan) -> dict[str, dict[str, str]]:
    """service -> {namespace: what the namespace's services name as theirs (env)}."""
    found: dict[str, dict[str, str]] = {}
    for deployment in k8s(plan, "Deployment"):
        namespace = deployment["metadata"]["namespace"]
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            for service, name in RESOURCE_ENV.items():
                if f"{service.upper()}_HOST" in env:
                    assert name in env, f"{namespace} uses {service} but its env names no {name}"
                    previous = found.setdefault(service, {}).setdefault(namespace, env[name])
                    assert previous == env[name], f"{namespace}'s services disagree on {name}"
    return found


def test_every_context_receives_credentials_made_for_it_alone(any_plan: Plan) -> None:
    secrets = consumer_secrets(any_plan)
    assert {service for _, service in secrets} == {"postgres", "mongo", "redis", "kafka"}
    readers: dict[str, set[str]] = {}
    for (namespace, service), secret in secrets.items():
        labels = secret.inputs["metadata"]["labels"]
        if labels[SCOPE] == "shared":
            # The one documented exception: Azure Managed Redis' access key (components/data/redis.py).
            assert (any_plan.cloud, service) == ("azure", "redis"), (namespace, service)
            assert "Azure Managed Redis" in secret.inputs["metadata"]["annotations"][SHARED_BECAUSE]
            assert passwords_of(secret) == set()
            continue
        assert labels[SCOPE] == "own"
        (password,) = passwords_of(secret)
        # The password generated for this namespace and this data service, by name.
        assert password.endswith(f"::data-{service}-{namespace}-password"), password
        readers.setdefault(password, set()).add(namespace)
    assert readers and all(len(namespaces) == 1 for namespaces in readers.values()), readers
    # A context's services mount only their own namespace's Secrets (a pod cannot mount another
    # namespace's), and each of them exactly the data services they use.
    for deployment in k8s(any_plan, "Deployment"):
        namespace = deployment["metadata"]["namespace"]
        for volume in deployment["spec"]["template"]["spec"].get("volumes", []):
            name = (volume.get("secret") or {}).get("secretName", "")
            if name.startswith("data-"):
                assert (namespace, name.removeprefix("data-")) in secrets


def test_no_context_can_name_another_s_database_or_prefix(any_plan: Plan) -> None:
    for service, by_namespace in owned(any_plan).items():
        names = list(by_namespace.values())
        assert len(set(names)) == len(names), f"{service}: two contexts name the same {names}"
        for namespace, name in by_namespace.items():
            expected = {
                "postgres": namespace.replace("-", "_"),
                "mongo": namespace.replace("-", "_"),
                "redis": f"{namespace}:",
                "kafka": f"{namespace}.",
            }[service]
            assert name == expected, (service, namespace, name)
        if service in ("redis", "kafka"):
            # A prefix that started another's would reach into its keys or topics.
            for a in names:
                assert not [b for b in names if b != a and b.startswith(a)], (service, a)


def platform_databases(plan: Plan) -> dict[str, str]:
    """namespace -> the PostgreSQL database a platform component names as its own: Keycloak's
    (settings/seed.py PLATFORM_DATA_CONSUMERS), which is a custom resource, not a Deployment."""
    return {kc["metadata"]["namespace"]: kc["spec"]["db"]["database"] for kc in k8s(plan, "Keycloak")}


def test_postgres_confines_each_role_to_the_database_it_owns(any_plan: Plan) -> None:
    databases = set(owned(any_plan)["postgres"].values()) | set(platform_databases(any_plan).values())
    clusters = k8s(any_plan, "Cluster", "postgres", "data")
    if clusters:
        spec = clusters[0]["spec"]
        roles = {r["name"]: r for r in spec["managed"]["roles"]}
        assert set(roles) == databases
        assert all(r["login"] is True and not r.get("superuser") and not r.get("createdb") for r in roles.values())
        # A role logs in to the database named after it, nothing else over TCP.
        assert spec["postgresql"]["pg_hba"] == ["hostssl sameuser all all scram-sha-256", "host all all all reject"]
        owners = {d["spec"]["name"]: d["spec"]["owner"] for d in k8s(any_plan, "Database", namespace="data")}
        assert owners == {name: name for name in databases}
        return
    (job,) = k8s(any_plan, "Job", "postgres-roles", "data")
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert set(env["ROLES"].split()) == databases
    script = container["command"][-1]
    assert "CREATE DATABASE %I OWNER %I" in script and "REVOKE ALL ON DATABASE %I FROM PUBLIC" in script
    secret = one(any_plan, "Secret", "postgres-roles", "data")
    assert set(secret["stringData"]) == {"admin-username", "admin-password", *(f"role-{d}" for d in databases)}


def test_mongo_users_read_and_write_their_own_database_only(any_plan: Plan) -> None:
    databases = owned(any_plan)["mongo"]
    spec = one(any_plan, "PerconaServerMongoDB", "mongo", "data")["spec"]
    # Beside the consumers, only the collections Job's user (components/data/mongo.py), whose
    # role reaches the consumers' databases' collections and the shard keys, and no document.
    (collections,) = [u for u in spec["users"] if u["name"] == "bakhmach-collections"]
    assert collections["roles"] == [{"name": "bakhmach-collections", "db": "admin"}]
    (role,) = spec["roles"]
    assert role["role"] == "bakhmach-collections" and role["db"] == "admin"
    for privilege in role["privileges"]:
        assert not {"find", "insert", "update", "remove"} & set(privilege["actions"]) or privilege == {
            "resource": {"db": "config", "collection": "collections"},
            "actions": ["find"],
        }, privilege
    assert {p["resource"]["db"] for p in role["privileges"]} - {"config"} == set(databases.values())
    users = [u for u in spec["users"] if u is not collections]
    assert {u["name"] for u in users} == set(databases.values())
    for user in users:
        assert user["roles"] == [{"name": "readWrite", "db": user["name"]}], user
        namespace = next(ns for ns, db in databases.items() if db == user["name"])
        assert user["passwordSecretRef"]["name"] == f"mongo-user-{namespace}"


def test_redis_users_reach_their_own_keys_only_where_the_backend_has_acls(any_plan: Plan) -> None:
    prefixes = owned(any_plan)["redis"]
    users = of_type(any_plan, "aws:elasticache/user:User")
    clusters = k8s(any_plan, "RedisCluster", "redis", "data")
    if clusters:
        cluster = clusters[0]
        assert cluster["spec"]["acl"] == {"secret": {"secretName": "redis-acl"}}
        assert set(one(any_plan, "Secret", "redis-acl", "data")["stringData"]) == {"user.acl"}
        assert cluster["metadata"]["annotations"]["bakhmach.io/acl-users"] == ",".join(sorted(prefixes))
    elif users:
        # Users are regional: prod's secondary region (the Global Datastore member) has the same.
        regions = {u.provider for u in users}
        assert len(regions) == (2 if any_plan.stack == "prod" else 1)
        for region in regions:
            mine = [u for u in users if u.provider == region]
            by_name = {u.inputs["userName"]: u.inputs for u in mine}
            assert by_name.pop("default")["accessString"].startswith("off ")
            assert set(by_name) == set(prefixes)
            for namespace, user in by_name.items():
                prefix = prefixes[namespace]
                assert user["accessString"] == f"on ~{prefix}* &{prefix}* +@all -@admin -@dangerous"
            (group,) = [g for g in of_type(any_plan, "aws:elasticache/userGroup:UserGroup") if g.provider == region]
            assert sorted(group.inputs["userIds"]) == sorted(u.inputs["userId"] for u in mine)
            (replication,) = [
                r
                for r in of_type(any_plan, "aws:elasticache/replicationGroup:ReplicationGroup")
                if r.provider == region
            ]
            assert replication.inputs["userGroupIds"] == [group.inputs["userGroupId"]]
            assert "authToken" not in replication.inputs
    else:
        assert of_type(any_plan, "azure-native:redisenterprise:Database"), "a Redis backend the test does not know"
        scopes = {
            r.inputs["metadata"]["labels"][SCOPE] for (_, s), r in consumer_secrets(any_plan).items() if s == "redis"
        }
        assert scopes == {"shared"}


def _strimzi_acl_names(user: dict[str, Any]) -> set[tuple[str, str]]:
    return {(a["resource"]["name"], a["resource"]["patternType"]) for a in user["spec"]["authorization"]["acls"]}


def test_kafka_users_reach_their_own_topics_groups_and_transactions_only(any_plan: Plan) -> None:
    prefixes = owned(any_plan)["kafka"]
    users = {u["metadata"]["name"]: u for u in k8s(any_plan, "KafkaUser", namespace="data")}
    # Prod: MirrorMaker 2 in the other region reads every topic as `mirror-maker`, and nothing else.
    mirror = users.pop("mirror-maker", None)
    if mirror is not None:
        assert any_plan.stack == "prod"
        operations = {op for acl in mirror["spec"]["authorization"]["acls"] for op in acl["operations"]}
        assert operations <= {"Read", "Describe", "DescribeConfigs"}
    if users:
        assert set(users) == set(prefixes)
        for namespace, user in users.items():
            assert _strimzi_acl_names(user) == {(prefixes[namespace], "prefix")}, namespace
            kinds = {a["resource"]["type"] for a in user["spec"]["authorization"]["acls"]}
            assert kinds == {"topic", "group", "transactionalId"}
            secret = user["spec"]["authentication"]["password"]["valueFrom"]["secretKeyRef"]["name"]
            assert secret == f"kafka-user-{namespace}"
        return
    # MSK: a SCRAM secret per consumer (and the ACL Job's admin), every ACL on the consumer's prefix;
    # prod's copy in the secondary region (components/dr) has the same logins and ACLs.
    secrets = {r.inputs["namePrefix"] for r in of_type(any_plan, "aws:secretsmanager/secret:Secret")}
    stack = any_plan.stack
    clusters = [stack, f"{stack}-dr"] if stack == "prod" else [stack]
    assert secrets == {f"AmazonMSK_{c}-kafka-{name}-" for c in clusters for name in [*prefixes, "admin"]}
    associations = of_type(any_plan, "aws:msk/scramSecretAssociation:ScramSecretAssociation")
    assert [len(a.inputs["secretArnLists"]) for a in associations] == [len(prefixes) + 1] * len(clusters)
    jobs = [
        j
        for name in ("kafka-acls", "kafka-dr-acls")
        for provider in {r.urn for r in of_type(any_plan, "pulumi:providers:kubernetes")}
        for j in k8s(any_plan, "Job", name, "data", provider=provider)
    ]
    assert len(jobs) == len(clusters)
    scripts = {j["spec"]["template"]["spec"]["containers"][0]["command"][-1] for j in jobs}
    (script,) = scripts  # the same ACLs in both regions
    grants = re.findall(
        r"--allow-principal 'User:([^']+)' --resource-pattern-type prefixed --[a-z-]+ '([^']+)'", script
    )
    assert {user for user, _ in grants} == set(prefixes)
    assert all(prefix == prefixes[user] for user, prefix in grants), grants
    # The admin's wildcard ACLs come first, so MSK's allow-if-no-ACL never applies to a resource.
    assert script.index("--operation All --cluster") < script.index("--resource-pattern-type prefixed")


@pytest.mark.parametrize("service", ["postgres", "mongo", "redis", "kafka"])
def test_the_isolation_tests_know_every_backend_the_stacks_use(any_plan: Plan, service: str) -> None:
    """A backend added later must come with its isolation check above (each test branches on
    the backend's resources; this pins the combinations they cover)."""
    known = {
        ("postgres", "kind"): "Cluster",
        ("postgres", "aws"): "Job",
        ("postgres", "azure"): "Job",
        ("mongo", "kind"): "PerconaServerMongoDB",
        ("mongo", "aws"): "PerconaServerMongoDB",
        ("mongo", "azure"): "PerconaServerMongoDB",
        ("redis", "kind"): "RedisCluster",
        ("redis", "aws"): "aws:elasticache/user:User",
        ("redis", "azure"): "azure-native:redisenterprise:Database",
        ("kafka", "kind"): "KafkaUser",
        ("kafka", "aws"): "Job",
        ("kafka", "azure"): "KafkaUser",
    }[(service, any_plan.cloud)]
    if ":" in known:
        assert of_type(any_plan, known)
    else:
        assert k8s(any_plan, known, namespace="data")


def test_the_in_cluster_redis_acl_file_confines_each_user_to_its_prefix() -> None:
    """The ACL file is a secret in the plan; its rendering is checked here."""
    from components.data.redis import render_acl
    from settings.data import grant_for

    grants = [grant_for(ns, "redis") for ns in ("platform", "slon-credit")]
    text = render_acl("admin-password-1", [(grants[0], "first-password-1"), (grants[1], "second-password")])
    lines = text.splitlines()
    assert lines[0].startswith("user default on #") and lines[0].endswith(" ~* &* +@all")
    assert lines[1:] == [
        f"user {g.username} on #{hashlib.sha256(p.encode()).hexdigest()} resetkeys resetchannels "
        f"~{g.resource}* &{g.resource}* +@all -@admin -@dangerous"
        for g, p in zip(grants, ("first-password-1", "second-password"), strict=True)
    ]
    assert "password" not in text  # only hashes


def test_keycloak_is_a_platform_consumer_with_a_database_and_login_of_its_own(any_plan: Plan) -> None:
    """`"identity": ("postgres",)` in seed.PLATFORM_DATA_CONSUMERS gives Keycloak a role and a
    database of its own, credentials only in its namespace, and nothing of any context's."""
    assert platform_databases(any_plan) == {"identity": "identity"}
    (keycloak,) = k8s(any_plan, "Keycloak", "keycloak", "identity")
    secret_name = keycloak["spec"]["db"]["usernameSecret"]["name"]
    assert keycloak["spec"]["db"]["passwordSecret"]["name"] == secret_name
    secrets = consumer_secrets(any_plan)
    assert secrets[("identity", "postgres")].inputs["metadata"]["name"] == secret_name
    assert {ns for ns, service in secrets if ns == "identity"} == {"identity"}
    assert [service for ns, service in secrets if ns == "identity"] == ["postgres"]
    # Its password was generated for it, and no other namespace's Secret carries it.
    (password,) = passwords_of(secrets[("identity", "postgres")])
    assert password.endswith("::data-postgres-identity-password")
    assert not [key for key, r in secrets.items() if key != ("identity", "postgres") and password in passwords_of(r)]
    if any_plan.stack == "dev":
        spec = one(any_plan, "Cluster", "postgres", "data")["spec"]
        assert "identity" in {r["name"] for r in spec["managed"]["roles"]}
        owners = {d["spec"]["name"]: d["spec"]["owner"] for d in k8s(any_plan, "Database", namespace="data")}
        assert owners["identity"] == "identity"
        # Its namespace may reach PostgreSQL, and only PostgreSQL.
        ingress = one(any_plan, "NetworkPolicy", "allow-from-consumers", "data")["spec"]["ingress"]
        ports = {
            rule["ports"][0]["port"]
            for rule in ingress
            for peer in rule["from"]
            if peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "identity"
        }
        assert ports == {5432}
