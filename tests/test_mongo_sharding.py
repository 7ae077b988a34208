"""MongoDB as the seed describes it: sharded on a hashed tenant_id + context_id in staging and
prod, one replica set in dev, one database and user per context, and the hashed key on every
collection a context declares (docs/MONGODB.md).

The plans say what the operator is asked to build; the collections Job's script, which does
what the operator cannot (databases, collections, shard keys), runs here in V8 against a
stand-in for mongosh's API that refuses whatever the Job's role does not grant."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from py_mini_racer import MiniRacer

from components.data.tls import CA_FILE
from hubctl.plan import REPO_ROOT, Plan, run_plan
from settings import SettingsError, load_settings, resolve_stack
from settings.quantity import cpu_millicores, memory_bytes
from tests.planning import STACKS, k8s, of_type, one, planned, primary_provider, resource

SHARD_KEY = {"tenant_id": "hashed", "context_id": 1}
SHARDED = [s for s in STACKS if s[0] != "dev"]
SHARDED_IDS = [f"{stack}-{cloud}" for stack, cloud in SHARDED]
# The seed's contexts whose services keep documents (settings/seed.py SERVICE_DATA_NEEDS), and
# the database each owns.
MONGO_DATABASES = {
    "audityzer-eu": "audityzer_eu",
    "bakhmach-hub": "bakhmach_hub",
    "black-sea-corridor": "black_sea_corridor",
    "debt-defense-agent": "debt_defense_agent",
}
DEFAULT_COLLECTIONS = {
    "audityzer_eu": ["evidence"],
    "bakhmach_hub": ["devices"],
    "black_sea_corridor": ["trade_documents"],
    "debt_defense_agent": ["cases"],
}
ROUTERS = {"app.kubernetes.io/instance": "mongo", "app.kubernetes.io/component": "mongos"}
ROUTERS_HOST = "mongo-mongos.data.svc.cluster.local"
ZONE = "topology.kubernetes.io/zone"
PORT = 27017
# "Storage: 500GB per context (projected)", for each of the seed's six contexts.
SEED_CONTEXT_BYTES = 500 * 10**9
SEED_CONTEXTS = 6
PSMDB_SCHEMA = Path(__file__).resolve().parent / "crd-schemas" / "psmdb.percona.com" / "perconaservermongodb_v1.json"
PSMDB_TYPE = "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB"
JOB_TYPE = "kubernetes:batch/v1:Job"


def psmdb(plan: Plan) -> dict[str, Any]:
    spec: dict[str, Any] = one(plan, "PerconaServerMongoDB", "mongo", "data")["spec"]
    return spec


def job_env(plan: Plan) -> dict[str, str]:
    (container,) = one(plan, "Job", "mongo-collections", "data")["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container["env"]}


def consumer_env(plan: Plan) -> dict[str, dict[str, str]]:
    """namespace -> the MONGO_* env of its services (they agree; tests/test_data_isolation.py)."""
    found: dict[str, dict[str, str]] = {}
    for deployment in k8s(plan, "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            env = {e["name"]: e.get("value") for e in container.get("env", []) if e["name"].startswith("MONGO_")}
            if env:
                found[deployment["metadata"]["namespace"]] = env
    return found


def storage_bytes(replset: dict[str, Any]) -> int:
    return memory_bytes(replset["volumeSpec"]["persistentVolumeClaim"]["resources"]["requests"]["storage"])


def requests(part: dict[str, Any]) -> tuple[int, int]:
    wanted = part["resources"]["requests"]
    return cpu_millicores(wanted["cpu"]), memory_bytes(wanted["memory"])


# ---- topology ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "cloud"), SHARDED, ids=SHARDED_IDS)
def test_staging_and_prod_shard_behind_config_servers_and_routers(stack: str, cloud: str) -> None:
    spec = psmdb(planned(stack, cloud))
    sharding = spec["sharding"]
    assert sharding["enabled"] is True and sharding["balancer"] == {"enabled": True}
    # The first shard is the seed's 3-member replica set.
    assert [(rs["name"], rs["size"]) for rs in spec["replsets"]] == [("rs0", 3)]
    config, routers = sharding["configsvrReplSet"], sharding["mongos"]
    assert config["size"] == 3
    # A router per zone in prod; two in staging (still one zone's loss away from none).
    assert routers["size"] == {"staging": 2, "prod": 3}[stack]
    assert routers["expose"] == {"type": "ClusterIP"}
    for part in (*spec["replsets"], config, routers):
        assert part["affinity"] == {"antiAffinityTopologyKey": ZONE}
        assert part["podDisruptionBudget"] == {"maxUnavailable": 1}
        assert part["priorityClassName"] == "bakhmach-data"
        assert part["resources"]["limits"]["memory"] == part["resources"]["requests"]["memory"]
    # Backups need the agent's identity on every replica set, the config servers' too (they hold
    # the metadata a restore needs); the routers hold no data.
    for replset in (*spec["replsets"], config):
        assert replset["serviceAccountName"] == "mongo"
        assert [s["name"] for s in replset["sidecars"]] == ["mongodb-exporter"]
    assert "volumeSpec" not in routers and "serviceAccountName" not in routers


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_staging_runs_every_mongo_part_at_half_of_prod(cloud: str) -> None:
    """The seed's "Resources: 50% production", for the shards, config servers and routers."""
    staging, prod = psmdb(planned("staging", cloud)), psmdb(planned("prod", cloud))
    for path in (("replsets", 0), ("sharding", "configsvrReplSet"), ("sharding", "mongos")):
        s, p = staging[path[0]][path[1]], prod[path[0]][path[1]]
        assert tuple(2 * x for x in requests(s)) == requests(p), path
    assert 2 * storage_bytes(staging["replsets"][0]) == storage_bytes(prod["replsets"][0])


def test_dev_is_one_replica_set_without_routers(dev_plan: Plan) -> None:
    spec = psmdb(dev_plan)
    assert spec["sharding"] == {"enabled": False}
    assert [(rs["name"], rs["size"]) for rs in spec["replsets"]] == [("rs0", 1)]
    for namespace, env in consumer_env(dev_plan).items():
        assert env["MONGO_HOST"] == "mongo-rs0.data.svc.cluster.local", namespace
        assert env["MONGO_REPLICA_SET"] == "rs0", namespace
    # Every member is the endpoint: the consumers' rule admits them to every pod on the port.
    policies = {p["metadata"]["name"]: p["spec"] for p in k8s(dev_plan, "NetworkPolicy", namespace="data")}
    assert "allow-from-consumers-27017" not in policies
    assert PORT in {p["port"] for rule in policies["allow-from-consumers"]["ingress"] for p in rule["ports"]}


@pytest.mark.parametrize(("stack", "cloud"), SHARDED, ids=SHARDED_IDS)
def test_services_reach_mongo_only_through_the_routers(stack: str, cloud: str) -> None:
    plan = planned(stack, cloud)
    envs = consumer_env(plan)
    assert set(envs) == set(MONGO_DATABASES)
    for namespace, env in envs.items():
        assert env["MONGO_HOST"] == ROUTERS_HOST and env["MONGO_PORT"] == str(PORT), namespace
        # A router hides the shards: naming a replica set would make drivers bypass it.
        assert "MONGO_REPLICA_SET" not in env, namespace
        assert json.loads(env["MONGO_SHARD_KEY"]) == SHARD_KEY and env["MONGO_AUTH_SOURCE"] == "admin"
        egress = one(plan, "NetworkPolicy", "allow-to-data", namespace)["spec"]["egress"]
        (to_mongo,) = [rule for rule in egress if {p["port"] for p in rule["ports"]} == {PORT}]
        assert to_mongo["to"] == [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "data"}},
                "podSelector": {"matchLabels": ROUTERS},
            }
        ]
    # In the data namespace, the consumers are admitted on 27017 by the routers' own policy only:
    # never to the shards or config servers, which listen on the same port.
    admitting = [
        p["spec"]
        for p in k8s(plan, "NetworkPolicy", namespace="data")
        for rule in p["spec"].get("ingress", [])
        if any(
            peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name") in envs
            for peer in rule.get("from", [])
        )
        and PORT in {port["port"] for port in rule.get("ports", [])}
    ]
    assert [spec["podSelector"] for spec in admitting] == [{"matchLabels": ROUTERS}]


# ---- databases, users, collections ------------------------------------------------------------


def test_each_mongo_context_owns_a_database_and_a_user(any_plan: Plan) -> None:
    spec = psmdb(any_plan)
    users = {u["name"]: u for u in spec["users"] if u["name"] != "bakhmach-collections"}
    assert set(users) == set(MONGO_DATABASES.values())
    for namespace, database in MONGO_DATABASES.items():
        assert consumer_env(any_plan)[namespace]["MONGO_DATABASE"] == database
        assert users[database]["roles"] == [{"name": "readWrite", "db": database}]
        assert users[database]["passwordSecretRef"] == {"name": f"mongo-user-{namespace}", "key": "password"}
        assert one(any_plan, "Secret", "data-mongo", namespace)


def test_the_collections_job_shards_each_declared_collection_on_the_hashed_key(any_plan: Plan) -> None:
    env = job_env(any_plan)
    sharded = any_plan.stack != "dev"
    assert json.loads(env["MONGO_DATABASES"]) == DEFAULT_COLLECTIONS
    assert json.loads(env["MONGO_SHARD_KEY"]) == SHARD_KEY
    assert env["MONGO_SHARDED"] == ("true" if sharded else "false")
    # The Job connects where the services do (the routers, or dev's replica set), as its own user.
    (first, *_) = consumer_env(any_plan).values()
    assert env["MONGO_HOST"] == first["MONGO_HOST"] and env.get("MONGO_REPLICA_SET") == first.get("MONGO_REPLICA_SET")
    users = {u["name"]: u for u in psmdb(any_plan)["users"]}
    assert users["bakhmach-collections"]["roles"] == [{"name": "bakhmach-collections", "db": "admin"}]
    egress = one(any_plan, "NetworkPolicy", "mongo-collections-egress", "data")["spec"]["egress"]
    assert [peer.get("podSelector") for rule in egress for peer in rule["to"]] == [
        {"matchLabels": ROUTERS} if sharded else None
    ]
    # It runs once the cluster is asked for, and a context's Secret (so its services) waits for it.
    job = resource(any_plan, JOB_TYPE, "data-mongo-collections")
    (cluster,) = [r for r in of_type(any_plan, PSMDB_TYPE) if r.provider == primary_provider(any_plan)]
    assert cluster.urn in job.dependencies
    for namespace in MONGO_DATABASES:
        secret = resource(any_plan, "kubernetes:core/v1:Secret", f"ns-{namespace}-data-mongo")
        assert job.urn in secret.dependencies, namespace


def test_the_shard_key_is_recorded_on_the_cluster_and_in_its_outputs(any_plan: Plan) -> None:
    cluster = one(any_plan, "PerconaServerMongoDB", "mongo", "data")
    assert json.loads(cluster["metadata"]["annotations"]["bakhmach.io/shard-key"]) == SHARD_KEY


# ---- storage ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "cloud"), SHARDED, ids=SHARDED_IDS)
def test_every_shard_holds_the_seeds_500gb_per_context(stack: str, cloud: str) -> None:
    """Each member of each shard has room for every context's projected 500 GB (staging: half,
    as every staging resource), so the figure holds per shard as shards are added."""
    share = {"staging": 0.5, "prod": 1.0}[stack]
    for replset in psmdb(planned(stack, cloud))["replsets"]:
        assert storage_bytes(replset) >= share * SEED_CONTEXTS * SEED_CONTEXT_BYTES, replset["name"]


# ---- a stack file that adds shards and declares collections ----------------------------------

WITH_SHARDS = """
  bakhmach-hub:data:
    mongo:
      shards: 3
      collections:
        bakhmach-hub: [devices, sensor_readings, wallet.events]
        audityzer-eu: []
"""


@pytest.fixture(scope="module", params=["aws", "azure"])
def three_shards(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Plan:
    path = tmp_path_factory.mktemp("shards") / "Pulumi.prod.yaml"
    path.write_text((REPO_ROOT / "Pulumi.prod.yaml").read_text() + WITH_SHARDS)
    return run_plan("prod", request.param, stack_file=path)


def test_added_shards_are_replica_sets_of_the_first_ones_size(three_shards: Plan) -> None:
    spec = psmdb(three_shards)
    assert [rs["name"] for rs in spec["replsets"]] == ["rs0", "rs1", "rs2"]
    first = spec["replsets"][0]
    # Each replica set's own cross-region members (prod's DR, tests/test_dr.py) set aside.
    own = ("name", "externalNodes", "replsetOverrides")
    for replset in spec["replsets"]:
        assert {k: v for k, v in replset.items() if k not in own} == {k: v for k, v in first.items() if k not in own}
        assert storage_bytes(replset) >= SEED_CONTEXTS * SEED_CONTEXT_BYTES
    # Config servers and routers do not grow with the shards.
    assert spec["sharding"]["configsvrReplSet"]["size"] == 3 and spec["sharding"]["mongos"]["size"] == 3
    # The data namespace's quota makes room for the added members and their volumes.
    base = one(planned("prod", three_shards.cloud), "ResourceQuota", "data-quota", "data")["spec"]["hard"]
    grown = one(three_shards, "ResourceQuota", "data-quota", "data")["spec"]["hard"]
    added = 2 * first["size"]
    assert memory_bytes(grown["requests.storage"]) - memory_bytes(base["requests.storage"]) == added * storage_bytes(
        first
    )
    assert cpu_millicores(grown["requests.cpu"]) >= cpu_millicores(base["requests.cpu"]) + added * requests(first)[0]


def test_declared_collections_replace_a_contexts_default_only(three_shards: Plan) -> None:
    assert json.loads(job_env(three_shards)["MONGO_DATABASES"]) == DEFAULT_COLLECTIONS | {
        "bakhmach_hub": ["devices", "sensor_readings", "wallet.events"],
        "audityzer_eu": [],
    }


def test_a_sharded_cluster_of_any_size_is_valid_for_the_pinned_operators_crd(three_shards: Plan) -> None:
    cluster = one(three_shards, "PerconaServerMongoDB", "mongo", "data")
    doc = {"apiVersion": cluster["apiVersion"], "kind": cluster["kind"], **cluster}
    errors = list(jsonschema.Draft7Validator(json.loads(PSMDB_SCHEMA.read_text())).iter_errors(doc))
    assert [f"{e.json_path}: {e.message}" for e in errors] == []


# ---- settings ---------------------------------------------------------------------------------


def _settings_error(values: dict[str, Any], stack_file: str) -> str:
    with pytest.raises(SettingsError) as caught:
        resolve_stack(load_settings(values), stack_file)
    return str(caught.value)


def _prod(mongo: dict[str, Any]) -> dict[str, Any]:
    from tests.test_settings import prod_values

    return {**prod_values(), "data": {"mongo": mongo}}


def test_dev_takes_no_shard_count() -> None:
    values = {
        "environment": "dev",
        "cloud": "kind",
        "owner": "platform-team",
        "cluster": {"kubeconfigContext": "kind-bakhmach-dev"},
        "data": {"mongo": {"shards": 2}},
    }
    message = _settings_error(values, "Pulumi.dev.yaml")
    assert "bakhmach-hub:data.mongo.shards: 2: dev runs MongoDB as one replica set, not sharded" in message
    assert "(allowed: leave the key out)" in message


def test_a_cluster_needs_at_least_one_shard() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(_prod({"shards": 0}))
    assert "data.mongo.shards" in str(caught.value) and "greater than or equal to 1" in str(caught.value)


@pytest.mark.parametrize(
    ("collections", "expected"),
    [
        (
            {"slon-credit": ["loans"]},
            "bakhmach-hub:data.mongo.collections.slon-credit: 'slon-credit' uses no MongoDB (allowed: audityzer-eu, "
            "bakhmach-hub, black-sea-corridor, debt-defense-agent)",
        ),
        ({"bakhmach-hub": ["system.users"]}, "'system.users' is not a collection name the stack creates"),
        ({"bakhmach-hub": ["sensor readings"]}, "'sensor readings' is not a collection name the stack creates"),
        ({"bakhmach-hub": ["$cmd"]}, "'$cmd' is not a collection name the stack creates"),
        ({"bakhmach-hub": [""]}, "'' is not a collection name the stack creates"),
        ({"bakhmach-hub": ["a" * 121]}, "at most 120 characters"),
        (
            {"bakhmach-hub": ["devices", "events", "devices"]},
            "bakhmach-hub:data.mongo.collections.bakhmach-hub: devices listed more than once (allowed: each name once)",
        ),
    ],
    ids=["context-without-mongo", "system", "space", "dollar", "empty", "too-long", "duplicate"],
)
def test_a_collection_the_stack_cannot_create_is_refused_naming_the_key(
    collections: dict[str, list[str]], expected: str
) -> None:
    assert expected in _settings_error(_prod({"collections": collections}), "Pulumi.prod.yaml")


def test_every_mongo_setting_that_does_not_fit_is_named_in_one_error() -> None:
    message = _settings_error(
        _prod({"collections": {"slon-credit": ["loans"], "bakhmach-hub": ["system.x"]}}), "Pulumi.prod.yaml"
    )
    assert "data.mongo.collections.slon-credit" in message and "data.mongo.collections.bakhmach-hub" in message


def test_collections_must_be_a_list_per_context() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(_prod({"collections": {"bakhmach-hub": "devices"}}))
    assert "data.mongo.collections.bakhmach-hub" in str(caught.value)


# ---- the collections Job's script, run against a stand-in for mongosh --------------------------

# mongosh's globals as the script uses them, over an in-memory cluster: `Mongo`, `sleep`,
# `print`, `require("fs")`, `process.env`. Every operation is checked against the Job's role
# (MongoDB's rules: a `{db, collection: ""}` resource covers every collection of the database)
# and fails as MongoDB would where the role does not grant it. `sleep` moves a clock of its own.
HARNESS = r"""
var __state, __calls, __clock;
Date.now = () => __clock;
function sleep(ms) { __clock += ms; }
function print(...parts) { __calls.push(["print", parts.join(" ")]); }
function __authorise(action, db, collection) {
  const granted = __state.role.privileges.some((p) =>
    p.actions.includes(action) && p.resource.db === db &&
    (p.resource.collection === collection || (p.resource.collection === "" && !collection.startsWith("system."))));
  if (!granted) throw new Error("not authorized on " + db + "." + collection + " to " + action);
}
function require(name) {
  if (name !== "fs") throw new Error("no module " + name);
  return { readFileSync(path) {
    if (!(path in __state.files)) throw new Error("ENOENT " + path);
    return __state.files[path];
  } };
}
var process = { env: {} };
class Mongo {
  constructor(uri) {
    if (__state.unreachable > 0) { __state.unreachable -= 1; throw new Error("connect ECONNREFUSED"); }
    const login = /^mongodb:\/\/([^:@]+):([^@]+)@([^/]+)\/\?(.*)$/.exec(uri);
    if (login === null || decodeURIComponent(login[1]) !== __state.user ||
        decodeURIComponent(login[2]) !== __state.password) throw new Error("Authentication failed");
    __calls.push(["connect", login[3], login[4]]);
  }
  getDB(name) { return new __Db(name); }
}
class __Db {
  constructor(name) { this.name = name; }
  runCommand(command) {
    const op = Object.keys(command)[0];
    if (op === "ping") return { ok: 1 };
    if (op === "enableSharding") {
      __authorise("enableSharding", command.enableSharding, "");
      __calls.push(["enableSharding", command.enableSharding]);
      return { ok: 1 };
    }
    if (op === "shardCollection") {
      const ns = command.shardCollection, dot = ns.indexOf(".");
      __authorise("enableSharding", ns.slice(0, dot), ns.slice(dot + 1));
      const current = __state.sharded[ns];
      if (current !== undefined && JSON.stringify(current) !== JSON.stringify(command.key)) {
        throw new Error("MongoServerError: already sharded with different options");
      }
      const indexed = (__state.indexes[ns] || []).some((k) => JSON.stringify(k) === JSON.stringify(command.key));
      if ((__state.documents[ns] || 0) > 0 && !indexed) {
        throw new Error("MongoServerError: Please create an index that starts with the proposed shard key");
      }
      __state.sharded[ns] = command.key;
      delete __state.unsplittable[ns];
      __calls.push(["shardCollection", ns, command.key]);
      return { ok: 1 };
    }
    if (op === "create") {
      __authorise("createCollection", this.name, command.create);
      (__state.collections[this.name] = __state.collections[this.name] || []).push(command.create);
      __calls.push(["create", this.name + "." + command.create]);
      return { ok: 1 };
    }
    throw new Error("the stand-in does not know " + op);
  }
  getCollectionNames() {
    __authorise("listCollections", this.name, "");
    return [...(__state.collections[this.name] || [])];
  }
  getCollection(name) {
    const db = this.name;
    return {
      createIndex(key) {
        __authorise("createIndex", db, name);
        // Like MongoDB, an index on a collection that does not exist creates the collection.
        const names = (__state.collections[db] = __state.collections[db] || []);
        if (!names.includes(name)) names.push(name);
        (__state.indexes[db + "." + name] = __state.indexes[db + "." + name] || []).push(key);
        __calls.push(["createIndex", db + "." + name, key]);
        return "index";
      },
      findOne(filter) {
        __authorise("find", db, name);
        if (db !== "config" || name !== "collections") throw new Error("the stand-in reads config.collections only");
        if (__state.unsplittable[filter._id]) return { _id: filter._id, key: { _id: 1 }, unsplittable: true };
        const key = __state.sharded[filter._id];
        return key === undefined ? null : { _id: filter._id, key: key };
      },
    };
  }
}
function __run(state, env, script) {
  __state = state; __calls = []; __clock = 0; process.env = env;
  let error = null;
  try { script(); } catch (e) { error = String(e.message || e); }
  return JSON.stringify({ error: error, calls: __calls, state: __state });
}
"""


def _script(plan: Plan) -> str:
    """The JavaScript the planned Job hands mongosh (`sh -c` → `exec mongosh --eval '…'`)."""
    (container,) = one(plan, "Job", "mongo-collections", "data")["spec"]["template"]["spec"]["containers"]
    command = container["command"]
    assert command[:2] == ["sh", "-c"]
    head, _, rest = command[2].partition("exec mongosh --nodb --quiet --eval '")
    assert head == "set -eu\n" and rest.endswith("'\n"), command[2]
    script = rest[: -len("'\n")]
    # Single-quoted for sh: a quote inside would end the argument.
    assert "'" not in script
    return script


class Cluster:
    """The in-memory cluster one plan's Job runs against, kept between runs."""

    def __init__(self, plan: Plan, password: str = "p@ss:w/rd%") -> None:
        self.plan, self.js = plan, MiniRacer()
        self.js.eval(HARNESS)
        self.js.eval(f"var __script = function () {{\n{_script(plan)}\n}};")
        secrets = "/var/run/secrets/bakhmach/provisioning"
        (role,) = psmdb(plan)["roles"]
        self.state: dict[str, Any] = {
            "role": role,
            "user": "bakhmach-collections",
            "password": password,
            "files": {f"{secrets}/username": "bakhmach-collections\n", f"{secrets}/password": password},
            "sharded": {},  # namespace -> shard key
            "unsplittable": {},  # namespace -> True: MongoDB 8.0 tracks it unsharded
            "collections": {},  # database -> collection names
            "documents": {},  # namespace -> how many
            "indexes": {},  # namespace -> index keys
            "unreachable": 0,
        }

    def run(self, **env: str) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(
            self.js.eval(f"__run({json.dumps(self.state)}, {json.dumps(job_env(self.plan) | env)}, __script)")
        )
        self.state = result["state"]
        return result


@pytest.fixture(scope="module")
def prod_cluster_plan() -> Plan:
    return planned("prod", "aws")


def operations(result: dict[str, Any]) -> list[list[Any]]:
    return [c for c in result["calls"] if c[0] not in ("print", "connect")]


def test_the_job_shards_every_declared_collection_and_a_rerun_changes_nothing(prod_cluster_plan: Plan) -> None:
    cluster = Cluster(prod_cluster_plan)
    first = cluster.run()
    assert first["error"] is None
    (_, host, params) = next(c for c in first["calls"] if c[0] == "connect")
    assert host == f"{ROUTERS_HOST}:{PORT}" and "replicaSet" not in params and "authSource=admin" in params
    # Over TLS, verifying the routers' certificate with the data CA the Job mounts.
    assert "tls=true" in params.split("&") and f"tlsCAFile={CA_FILE}" in params.split("&")
    expected: list[list[Any]] = []
    for database, collections in DEFAULT_COLLECTIONS.items():
        expected.append(["enableSharding", database])
        for c in collections:
            expected += [
                ["createIndex", f"{database}.{c}", SHARD_KEY],
                ["shardCollection", f"{database}.{c}", SHARD_KEY],
            ]
    assert operations(first) == expected
    assert cluster.state["sharded"] == {f"{d}.{c[0]}": SHARD_KEY for d, c in DEFAULT_COLLECTIONS.items()}
    # Re-run (a changed setting replaces the Job): nothing is indexed or sharded again.
    before = dict(cluster.state["sharded"])
    again = cluster.run()
    assert again["error"] is None and cluster.state["sharded"] == before
    assert operations(again) == [["enableSharding", d] for d in DEFAULT_COLLECTIONS]


def test_the_job_shards_a_collection_an_application_made_first(prod_cluster_plan: Plan) -> None:
    """A collection that holds documents can be sharded only once an index starts with the key;
    one MongoDB 8.0 tracks as unsharded (moved, or unsharded by hand) is sharded as well."""
    cluster = Cluster(prod_cluster_plan)
    cluster.state["collections"] = {"bakhmach_hub": ["devices"], "audityzer_eu": ["evidence"]}
    cluster.state["documents"] = {"bakhmach_hub.devices": 1200, "audityzer_eu.evidence": 40}
    cluster.state["unsplittable"] = {"audityzer_eu.evidence": True}
    assert cluster.run()["error"] is None
    assert cluster.state["sharded"]["bakhmach_hub.devices"] == SHARD_KEY
    assert cluster.state["sharded"]["audityzer_eu.evidence"] == SHARD_KEY


def test_the_job_fails_on_a_collection_sharded_on_another_key(prod_cluster_plan: Plan) -> None:
    cluster = Cluster(prod_cluster_plan)
    cluster.state["sharded"]["bakhmach_hub.devices"] = {"_id": "hashed"}
    result = cluster.run()
    assert result["error"] == 'bakhmach_hub.devices is sharded on {"_id":"hashed"}'
    # Changing a key is a resharding: the Job touches nothing of that collection.
    assert not [op for op in operations(result) if op[0] != "enableSharding" and op[1] == "bakhmach_hub.devices"]
    assert cluster.state["sharded"]["bakhmach_hub.devices"] == {"_id": "hashed"}


def test_the_job_may_do_nothing_its_role_does_not_grant(prod_cluster_plan: Plan) -> None:
    cluster = Cluster(prod_cluster_plan)
    cluster.state["role"] = {
        **cluster.state["role"],
        "privileges": [p for p in cluster.state["role"]["privileges"] if p["resource"]["db"] != "config"],
    }
    assert cluster.run()["error"] == "not authorized on config.collections to find"


def test_on_dev_the_job_creates_and_indexes_each_collection(dev_plan: Plan) -> None:
    cluster = Cluster(dev_plan)
    cluster.state["collections"] = {"bakhmach_hub": ["devices"]}  # made earlier, by an application
    result = cluster.run()
    assert result["error"] is None
    (_, host, params) = next(c for c in result["calls"] if c[0] == "connect")
    assert host == f"mongo-rs0.data.svc.cluster.local:{PORT}" and "replicaSet=rs0" in params
    done = operations(result)
    created = [c[1] for c in done if c[0] == "create"]
    indexed = [c[1] for c in done if c[0] == "createIndex" and c[2] == SHARD_KEY]
    assert created == ["audityzer_eu.evidence", "black_sea_corridor.trade_documents", "debt_defense_agent.cases"]
    assert sorted(indexed) == sorted(f"{d}.{c[0]}" for d, c in DEFAULT_COLLECTIONS.items())
    assert not [c for c in done if c[0] in ("enableSharding", "shardCollection")]


def test_the_job_waits_for_the_cluster_within_its_deadline(prod_cluster_plan: Plan) -> None:
    cluster = Cluster(prod_cluster_plan)
    cluster.state["unreachable"] = 2
    assert cluster.run(MONGO_WAIT_SECONDS="60")["error"] is None
    cluster.state["unreachable"] = 100
    assert cluster.run(MONGO_WAIT_SECONDS="60")["error"] == "connect ECONNREFUSED"
    assert cluster.state["unreachable"] == 100 - 8  # tried at 0, 10, ... 70 s, then gave up
    # The Job's deadline leaves it room to report the last error itself.
    job = one(prod_cluster_plan, "Job", "mongo-collections", "data")
    assert int(job_env(prod_cluster_plan)["MONGO_WAIT_SECONDS"]) < job["spec"]["activeDeadlineSeconds"]


def test_every_shard_and_the_config_servers_have_members_in_the_secondary_region(three_shards: Plan) -> None:
    """Prod's Percona cross-site replication covers the whole sharded cluster: each of the three
    shards' replica sets and the config servers' list the secondary region's members of the same
    replica set as non-voting, never-primary external nodes, and the secondary cluster runs them
    (an unmanaged site with the same replica sets, config servers and routers of its own)."""
    dr = three_shards.outputs["dr"]
    primary_region, secondary_region = dr["primaryRegion"], dr["secondaryRegion"]
    spec = psmdb(three_shards)
    sets = [*spec["replsets"], {"name": "cfg", **spec["sharding"]["configsvrReplSet"]}]
    assert [rs["name"] for rs in sets] == ["rs0", "rs1", "rs2", "cfg"]
    for rs in sets:
        name, size = rs["name"], rs["size"]
        members = [f"mongo-{name}-{i}" for i in range(size)]
        assert rs["externalNodes"] == [
            {"host": f"{m}.{secondary_region}.bakhmach.internal", "port": 27017, "votes": 0, "priority": 0}
            for m in members
        ], name
        assert rs["replsetOverrides"] == {
            m: {"host": f"{m}.{primary_region}.bakhmach.internal:27017"} for m in members
        }, name
    (secondary,) = [
        r.inputs["spec"] for r in of_type(three_shards, PSMDB_TYPE) if r.provider != primary_provider(three_shards)
    ]
    assert secondary["unmanaged"] is True and secondary["backup"]["enabled"] is False
    assert secondary["updateStrategy"] == "OnDelete"
    replica_sets = [*secondary["replsets"], {"name": "cfg", **secondary["sharding"]["configsvrReplSet"]}]
    assert [rs["name"] for rs in replica_sets] == ["rs0", "rs1", "rs2", "cfg"]
    for rs, main in zip(replica_sets, sets, strict=True):
        assert rs["size"] == main["size"] and "externalNodes" not in rs
        assert rs["replsetOverrides"] == {
            f"mongo-{rs['name']}-{i}": {"host": f"mongo-{rs['name']}-{i}.{secondary_region}.bakhmach.internal:27017"}
            for i in range(rs["size"])
        }
    assert secondary["sharding"]["mongos"]["size"] == spec["sharding"]["mongos"]["size"]
    # Both sites share the system users and key file; their certificates are each cluster's own.
    assert secondary["secrets"] == spec["secrets"]
    # Every member is published for the other region, in each cluster.
    published = {
        r.inputs["metadata"]["annotations"]["external-dns.alpha.kubernetes.io/hostname"]
        for r in of_type(three_shards, "kubernetes:core/v1:Service")
        if r.inputs["metadata"].get("labels", {}).get("bakhmach.io/dr-endpoint") == "true"
        and r.inputs["spec"]["ports"][0]["port"] == 27017
    }
    expected = {
        f"mongo-{rs['name']}-{i}.{region}.bakhmach.internal"
        for rs in sets
        for i in range(rs["size"])
        for region in (primary_region, secondary_region)
    }
    assert published == expected
