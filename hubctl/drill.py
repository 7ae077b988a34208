"""`hubctl dr drill`: the seed's failover procedure against prod, from its `dr` stack output.

    python -m hubctl dr drill --outputs FILE [--execute] [--force] [--endpoint-url URL] [--state FILE]

FILE is `pulumi stack output --json` of prod. The steps are the seed's "Failover Procedure":

1. detect: the primary origin's Route 53 health check and the primary database's state;
2. promote: the PostgreSQL replica in the secondary region (RDS `PromoteReadReplica`), refused when
   its replica lag exceeds the RPO unless `--force` (the writes in that lag would be lost), then
   waited for until RDS reports it standalone; the other data services' promotion and the standby
   Keycloak's start (listed in the output) are printed as the steps to take by hand;
3. switch DNS: the primary origin's health check is inverted, so Route 53 answers the failover
   name with the secondary origin (the record is not touched; un-inverting it switches back);
4. verify: the promoted database is available and standalone (writable), and Route 53 answers the
   failover name with the secondary origin (`TestDNSAnswer`);
5. notify: a message on the `dr` topic (SNS);
6. stop: the checks a person makes before restoring the primary, which the drill never does.

Without `--execute` the drill reads what it can (read-only calls) and says what each step would
do; it changes nothing. With it, every step is logged with its timestamps and written to a
journal (`--state`, default `build/dr-drill-<stack>.json`): a run that stopped part way continues
from the first step not done, and a step already done is not repeated. The report ends with the
achieved time (the steps' durations) against the RTO.

Azure: the same steps would promote the Flexible Server replica and switch Traffic Manager through
the Azure SDK; that path is not built yet (docs/DR.md says why and gives the manual steps), so
`--execute` on an Azure output is refused; report mode lists the steps.

Exit codes: 0 done (or reported), 1 refused or failed (a lag above the RPO without --force, a step
that failed, the achieved time over the RTO), 2 bad input.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hubctl.planfile import InputError

STEPS = ("detect", "promote", "switch-dns", "verify", "notify", "stop")
# How long the drill waits for RDS to finish a promotion (RDS reboots the replica: minutes).
PROMOTION_WAIT_SECONDS = 20 * 60
POLL_SECONDS = 15.0


@dataclass
class StepLog:
    name: str
    status: str  # done, would, skipped, refused, failed
    started: str
    finished: str
    seconds: float
    detail: list[str] = field(default_factory=list)


@dataclass
class DrillReport:
    stack: str
    cloud: str
    execute: bool
    steps: list[StepLog]
    rto_seconds: float
    resumed: bool = False

    @property
    def achieved_seconds(self) -> float:
        return sum(s.seconds for s in self.steps if s.name in ("detect", "promote", "switch-dns", "verify"))

    @property
    def ok(self) -> bool:
        if any(s.status in ("refused", "failed") for s in self.steps):
            return False
        return not self.execute or self.achieved_seconds <= self.rto_seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "cloud": self.cloud,
            "execute": self.execute,
            "resumed": self.resumed,
            "rtoSeconds": self.rto_seconds,
            "achievedSeconds": self.achieved_seconds,
            "ok": self.ok,
            "steps": [asdict(s) for s in self.steps],
        }


class RefusedError(Exception):
    """A step that must not go ahead (the replica lags more than the RPO)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_outputs(path: Path) -> dict[str, Any]:
    """The `dr` output of `pulumi stack output --json`, checked for what the drill needs."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (allowed: `pulumi stack output --json` of prod)") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a JSON stack output ({exc})") from None
    dr = document.get("dr") if isinstance(document, dict) else None
    if not isinstance(dr, dict):
        raise InputError(f"{path}: no `dr` output (allowed: the stack output of prod, which exports `dr`)")
    missing = [
        k
        for k in ("cloud", "primaryRegion", "secondaryRegion", "rpoMinutes", "rtoMinutes", "services", "failover")
        if k not in dr
    ]
    if missing:
        raise InputError(f"{path}: the `dr` output lacks {', '.join(missing)}")
    return dr


class Journal:
    """The steps done so far, so that a second run continues where the first stopped."""

    def __init__(self, path: Path, stack: str) -> None:
        self.path = path
        self.stack = stack
        self.done: dict[str, dict[str, Any]] = {}
        if path.exists():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(f"{path}: not a drill journal ({exc}); remove it to start over") from None
            if loaded.get("stack") != stack:
                raise InputError(f"{path}: the journal of stack {loaded.get('stack')!r}, not {stack!r}")
            self.done = {k: v for k, v in loaded.get("steps", {}).items() if v.get("status") == "done"}

    def record(self, step: StepLog) -> None:
        if step.status == "done":
            self.done[step.name] = asdict(step)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"stack": self.stack, "steps": self.done}, indent=2) + "\n")


ClientFactory = Callable[[str, str], Any]


class AwsDrill:
    """The steps on AWS, through boto3 clients (`client(service, region)`)."""

    def __init__(
        self,
        dr: dict[str, Any],
        client: ClientFactory,
        *,
        execute: bool,
        force: bool,
        sleep: Callable[[float], None] = time.sleep,
        wait_seconds: float = PROMOTION_WAIT_SECONDS,
    ) -> None:
        self.dr, self.client, self.execute, self.force = dr, client, execute, force
        self.sleep, self.wait_seconds = sleep, wait_seconds
        self.primary, self.secondary = dr["primaryRegion"], dr["secondaryRegion"]
        postgres = dr["services"].get("postgres") or {}
        if postgres.get("backend") != "rds":
            raise InputError("the `dr` output has no RDS replica to promote (services.postgres.backend is not rds)")
        self.replica = postgres["replica"]["id"]
        self.source = postgres["primary"]["id"]

    # ---- helpers -----------------------------------------------------------------------------------

    def _health_checks(self) -> dict[str, dict[str, Any]]:
        """The failover's health checks by the origin they probe."""
        route53 = self.client("route53", "us-east-1")
        checks: dict[str, dict[str, Any]] = {}
        for check in route53.list_health_checks().get("HealthChecks", []):
            fqdn = check.get("HealthCheckConfig", {}).get("FullyQualifiedDomainName")
            if fqdn:
                checks[fqdn] = check
        return checks

    def _replica(self) -> dict[str, Any]:
        rds = self.client("rds", self.secondary)
        return dict(rds.describe_db_instances(DBInstanceIdentifier=self.replica)["DBInstances"][0])

    def _lag_seconds(self) -> float | None:
        cloudwatch = self.client("cloudwatch", self.secondary)
        end = datetime.now(UTC)
        found = cloudwatch.get_metric_statistics(
            Namespace="AWS/RDS",
            MetricName="ReplicaLag",
            Dimensions=[{"Name": "DBInstanceIdentifier", "Value": self.replica}],
            StartTime=datetime.fromtimestamp(end.timestamp() - 600, UTC),
            EndTime=end,
            Period=60,
            Statistics=["Maximum"],
        )
        points = found.get("Datapoints", [])
        return max(p["Maximum"] for p in points) if points else None

    # ---- the seed's steps --------------------------------------------------------------------------

    def detect(self, log: list[str]) -> None:
        origin = self.dr["failover"]["origins"]["primary"]
        check = self._health_checks().get(origin)
        if check is None:
            log.append(f"no Route 53 health check probes {origin} yet (the gateway publishes the origins)")
        else:
            route53 = self.client("route53", "us-east-1")
            status = route53.get_health_check_status(HealthCheckId=check["Id"])
            observations = [o["StatusReport"]["Status"] for o in status.get("HealthCheckObservations", [])]
            healthy = sum(1 for s in observations if s.startswith("Success"))
            log.append(f"health check {check['Id']} ({origin}): {healthy}/{len(observations)} checkers report healthy")
        rds = self.client("rds", self.primary)
        try:
            primary = rds.describe_db_instances(DBInstanceIdentifier=self.source)["DBInstances"][0]
            log.append(f"primary database {self.source} in {self.primary}: {primary['DBInstanceStatus']}")
        except Exception as exc:  # the primary region may be the one that failed
            log.append(f"primary database {self.source} in {self.primary}: unreachable ({type(exc).__name__})")

    def promote(self, log: list[str]) -> None:
        rpo = float(self.dr["rpoMinutes"]) * 60
        lag = self._lag_seconds()
        log.append(f"replica lag of {self.replica}: {'unknown' if lag is None else f'{lag:g} s'} (RPO {rpo:g} s)")
        if lag is None or lag > rpo:
            why = "no ReplicaLag data in the last 10 minutes" if lag is None else f"lag {lag:g} s exceeds the RPO"
            if not self.force:
                raise RefusedError(f"{why}: promoting would lose writes beyond the RPO; --force promotes anyway")
            log.append(f"{why}: promoting anyway (--force)")
        replica = self._replica()
        if not replica.get("ReadReplicaSourceDBInstanceIdentifier"):
            log.append(f"{self.replica} is already standalone: nothing to promote")
            return
        if not self.execute:
            log.append(f"would promote {self.replica} in {self.secondary} (rds:PromoteReadReplica)")
            return
        rds = self.client("rds", self.secondary)
        rds.promote_read_replica(DBInstanceIdentifier=self.replica, BackupRetentionPeriod=30)
        log.append(f"promote requested for {self.replica}")
        waited = 0.0
        while True:
            replica = self._replica()
            if not replica.get("ReadReplicaSourceDBInstanceIdentifier") and replica["DBInstanceStatus"] == "available":
                log.append(f"{self.replica} is standalone and available after {waited:g} s of waiting")
                return
            if waited >= self.wait_seconds:
                raise RuntimeError(
                    f"{self.replica} still lists its source after {waited:g} s (status {replica['DBInstanceStatus']})"
                )
            self.sleep(POLL_SECONDS)
            waited += POLL_SECONDS

    def switch_dns(self, log: list[str]) -> None:
        origin = self.dr["failover"]["origins"]["primary"]
        check = self._health_checks().get(origin)
        if check is None:
            raise RuntimeError(f"no Route 53 health check probes {origin}: there is no failover record to switch")
        if check["HealthCheckConfig"].get("Inverted"):
            log.append(f"health check {check['Id']} is already inverted: Route 53 already answers the secondary")
            return
        if not self.execute:
            log.append(f"would invert health check {check['Id']} ({origin}), so Route 53 answers the secondary origin")
            return
        route53 = self.client("route53", "us-east-1")
        route53.update_health_check(HealthCheckId=check["Id"], Inverted=True)
        log.append(f"inverted health check {check['Id']} ({origin}): the failover record now answers the secondary")

    def verify(self, log: list[str]) -> None:
        replica = self._replica()
        writable = not replica.get("ReadReplicaSourceDBInstanceIdentifier")
        log.append(
            f"{self.replica}: {replica['DBInstanceStatus']}, "
            + (
                "standalone (writable)"
                if writable
                else f"still a replica of {replica['ReadReplicaSourceDBInstanceIdentifier']}"
            )
        )
        failover = self.dr["failover"]
        route53 = self.client("route53", "us-east-1")
        zones = [z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"].rstrip(".") == failover["zone"]]
        answer = None
        if zones:
            try:
                found = route53.test_dns_answer(
                    HostedZoneId=zones[0]["Id"].rsplit("/", 1)[-1], RecordName=failover["record"], RecordType="CNAME"
                )
                answer = [a.rstrip(".") for a in found.get("RecordData", [])]
            except Exception as exc:  # moto does not implement TestDNSAnswer: said in the log, not hidden
                log.append(f"TestDNSAnswer unavailable ({type(exc).__name__}): judged by the health check instead")
        secondary = failover["origins"]["secondary"]
        if answer is not None:
            log.append(f"{failover['record']} answers {answer}")
            dns_ok = secondary in answer
        else:
            check = self._health_checks().get(failover["origins"]["primary"])
            dns_ok = bool(check and check["HealthCheckConfig"].get("Inverted"))
            log.append(f"primary health check inverted: {dns_ok} (the record then answers {secondary})")
        self._backup_copies(log)
        if self.execute and not (writable and dns_ok):
            raise RuntimeError(
                "verification failed: "
                + ("database not writable; " if not writable else "")
                + ("DNS not switched" if not dns_ok else "")
            )

    def _backup_copies(self, log: list[str]) -> None:
        """How fresh the in-cluster databases' backup copies in the secondary region are (read only;
        reported, not judged: a new stack has none yet)."""
        bucket = (self.dr.get("backups") or {}).get("inClusterBackupsCopiedTo")
        if not bucket:
            return
        s3 = self.client("s3", self.secondary)
        newest = None
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                if newest is None or item["LastModified"] > newest:
                    newest = item["LastModified"]
        if newest is None:
            log.append(f"backup copies in {bucket} ({self.secondary}): none yet")
            return
        hours = (datetime.now(UTC) - newest).total_seconds() / 3600
        log.append(f"backup copies in {bucket} ({self.secondary}): newest {newest.isoformat()} ({hours:.1f} h old)")

    def notify(self, log: list[str], summary: str) -> None:
        topic = (self.dr.get("notify") or {}).get("topicArn")
        if not topic:
            log.append("no notification topic in the `dr` output")
            return
        if not self.execute:
            log.append(f"would publish the drill's summary to {topic}")
            return
        sns = self.client("sns", self.secondary)
        sns.publish(TopicArn=topic, Subject=f"DR drill: {self.dr.get('stack', 'prod')} failed over", Message=summary)
        log.append(f"published to {topic}")

    def others(self) -> list[str]:
        """The data services the drill does not promote itself, with what their promotion is."""
        lines = []
        for service, entry in sorted(self.dr["services"].items()):
            if service != "postgres" and entry.get("copied"):
                lines.append(f"{service} ({entry.get('backend')}): {entry.get('promote')}")
        # Keycloak's standby starts once its database (PostgreSQL, above) is promoted.
        identity = self.dr.get("identity")
        if identity:
            lines.append(f"identity ({identity.get('backend')}), after PostgreSQL: {identity.get('promote')}")
        return lines


RESTORE_CHECKLIST = [
    "confirm the promoted database took the traffic (connections, errors) and the data is as expected",
    "find and fix the primary region's failure; keep the old primary out of reach of the services",
    "before restoring: create a new replica in the primary region from the promoted database, let it catch up",
    "switch back in a planned window: un-invert the health check after the new primary is promoted there",
]


def run_drill(
    dr: dict[str, Any],
    client: ClientFactory,
    *,
    execute: bool,
    force: bool,
    journal: Journal,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    wait_seconds: float = PROMOTION_WAIT_SECONDS,
) -> DrillReport:
    stack, cloud = str(dr.get("stack", "prod")), str(dr["cloud"])
    report = DrillReport(stack, cloud, execute, [], float(dr["rtoMinutes"]) * 60, resumed=bool(journal.done))
    if cloud != "aws":
        started = _now()
        log = ["the Azure path (Flexible Server promotion, Traffic Manager) is not built yet: docs/DR.md"]
        log += [
            f"{s} ({e.get('backend')}): {e.get('promote')}"
            for s, e in sorted(dr["services"].items())
            if e.get("copied")
        ]
        if dr.get("identity"):
            identity = dr["identity"]
            log.append(f"identity ({identity.get('backend')}), after PostgreSQL: {identity.get('promote')}")
        status = "refused" if execute else "would"
        report.steps.append(StepLog("detect", status, started, _now(), 0.0, log))
        return report
    drill = AwsDrill(dr, client, execute=execute, force=force, sleep=sleep, wait_seconds=wait_seconds)
    for name in STEPS:
        if execute and name in journal.done:
            earlier = journal.done[name]
            report.steps.append(
                StepLog(
                    name,
                    "done",
                    earlier["started"],
                    earlier["finished"],
                    float(earlier["seconds"]),
                    [f"done in an earlier run ({earlier['finished']})", *earlier.get("detail", [])],
                )
            )
            continue
        started, begin, log = _now(), clock(), []
        status = "done" if execute else "would"
        try:
            if name == "detect":
                drill.detect(log)
            elif name == "promote":
                drill.promote(log)
                log += [f"by hand: {line}" for line in drill.others()]
            elif name == "switch-dns":
                drill.switch_dns(log)
            elif name == "verify":
                drill.verify(log)
            elif name == "notify":
                drill.notify(log, summary(report))
            else:
                log += [f"before restoring the primary: {item}" for item in RESTORE_CHECKLIST]
                log.append("the drill stops here: restoring the primary is a person's decision")
        except RefusedError as exc:
            status = "refused"
            log.append(str(exc))
        except Exception as exc:
            status = "failed"
            log.append(f"{type(exc).__name__}: {exc}")
        step = StepLog(name, status, started, _now(), round(clock() - begin, 3), log)
        report.steps.append(step)
        if execute:
            journal.record(step)
        if status in ("refused", "failed"):
            break
    return report


def summary(report: DrillReport) -> str:
    done = ", ".join(f"{s.name} {s.status} {s.seconds:g} s" for s in report.steps)
    achieved = f"achieved {report.achieved_seconds:g} s against the RTO of {report.rto_seconds:g} s"
    return f"stack {report.stack}: {done}; {achieved}"


def format_text(report: DrillReport) -> str:
    mode = "execute" if report.execute else "report only (nothing changed)"
    lines = [
        f"DR drill of stack {report.stack}, cloud {report.cloud}: {mode}" + (", resumed" if report.resumed else "")
    ]
    for step in report.steps:
        lines.append(f"[{step.started} .. {step.finished}] {step.name}: {step.status} ({step.seconds:g} s)")
        lines += [f"    {line}" for line in step.detail]
    if report.execute:
        verdict = "within" if report.achieved_seconds <= report.rto_seconds else "OVER"
        lines.append(
            f"achieved {report.achieved_seconds:g} s ({report.achieved_seconds / 60:.1f} min): {verdict} the RTO of "
            f"{report.rto_seconds / 60:g} min"
        )
    lines.append("result: " + ("ok" if report.ok else "NOT OK"))
    return "\n".join(lines)


def boto3_clients(endpoint_url: str | None) -> ClientFactory:
    import boto3

    def client(service: str, region: str) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=endpoint_url)

    return client
