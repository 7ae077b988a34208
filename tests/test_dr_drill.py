"""The failover drill (`hubctl dr drill`) against moto: prod's primary database and its replica in
the other region, the failover's health checks and records, the replica-lag metric and the `dr`
topic, as the `dr` stack output names them.

moto's gaps, tested around and said here, not hidden:
- `PromoteReadReplica` answers OK but the replica keeps listing its source. The drill waits until
  RDS reports the instance standalone; the tests that need a promotion to complete make moto's
  promotion unlink the replica (`promotions_complete`), and one test shows that without it the
  drill fails instead of claiming a promotion it did not see;
- `GetHealthCheckStatus` always reports healthy, so "detect" reads a healthy primary (the drill is
  a drill: it fails over regardless, and says what it saw);
- `TestDNSAnswer` is not implemented: the drill says so in its log and judges the switch by the
  primary's health check being inverted (what makes Route 53 answer the secondary);
- S3 replication is accepted as configuration but copies nothing: the test that reads the backup
  copies' freshness puts the copy into the secondary bucket itself, standing in for replication,
  and one test shows that moto's replication alone leaves the copy bucket empty.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.rds.models import RDSBackend

from hubctl.cli import main
from hubctl.drill import Journal, run_drill

ACCOUNT = "123456789012"
PRIMARY, SECONDARY = "eu-central-1", "eu-west-1"
ZONE = "bakhmach-business-hub.com"
ORIGINS = {"primary": f"api-{PRIMARY}.{ZONE}", "secondary": f"api-{SECONDARY}.{ZONE}"}


def clients(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": PRIMARY,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        primary = clients("rds", PRIMARY).create_db_instance(
            DBInstanceIdentifier="prod-postgres",
            Engine="postgres",
            DBInstanceClass="db.r7g.xlarge",
            AllocatedStorage=512,
            MasterUsername="app",
            MasterUserPassword="not-a-real-password-0",
            BackupRetentionPeriod=30,
        )["DBInstance"]
        clients("rds", SECONDARY).create_db_instance_read_replica(
            DBInstanceIdentifier="prod-postgres-dr",
            SourceDBInstanceIdentifier=primary["DBInstanceArn"],
            DBInstanceClass="db.r7g.xlarge",
        )
        route53 = clients("route53", "us-east-1")
        zone = route53.create_hosted_zone(Name=ZONE, CallerReference="zone")["HostedZone"]["Id"]
        checks = {}
        for role, origin in ORIGINS.items():
            checks[role] = route53.create_health_check(
                CallerReference=role,
                HealthCheckConfig={
                    "Type": "HTTPS",
                    "FullyQualifiedDomainName": origin,
                    "Port": 443,
                    "ResourcePath": "/healthz",
                    "RequestInterval": 10,
                    "FailureThreshold": 3,
                },
            )["HealthCheck"]["Id"]
            route53.change_resource_record_sets(
                HostedZoneId=zone,
                ChangeBatch={
                    "Changes": [
                        {
                            "Action": "CREATE",
                            "ResourceRecordSet": {
                                "Name": f"api.{ZONE}",
                                "Type": "CNAME",
                                "SetIdentifier": f"{role}-{PRIMARY if role == 'primary' else SECONDARY}",
                                "Failover": role.upper(),
                                "TTL": 30,
                                "ResourceRecords": [{"Value": origin}],
                                "HealthCheckId": checks[role],
                            },
                        }
                    ]
                },
            )
        sns, sqs = clients("sns", SECONDARY), clients("sqs", SECONDARY)
        topic = sns.create_topic(Name="bakhmach-prod-dr")["TopicArn"]
        queue = sqs.create_queue(QueueName="on-call")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        # The in-cluster databases' backups and their copy bucket, replicated as the stack sets it.
        for region, bucket in ((PRIMARY, "prod-backups"), (SECONDARY, "prod-backups-copy")):
            s3 = clients("s3", region)
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        clients("s3", PRIMARY).put_bucket_replication(
            Bucket="prod-backups",
            ReplicationConfiguration={
                "Role": f"arn:aws:iam::{ACCOUNT}:role/replication",
                "Rules": [
                    {
                        "ID": "to-secondary-region",
                        "Status": "Enabled",
                        "Priority": 1,
                        "Filter": {"Prefix": ""},
                        "DeleteMarkerReplication": {"Status": "Disabled"},
                        "Destination": {"Bucket": "arn:aws:s3:::prod-backups-copy"},
                    }
                ],
            },
        )
        yield {"topic": topic, "queue": queue, "checks": checks, "primary_arn": primary["DBInstanceArn"]}


def replica_lag(seconds: float) -> None:
    clients("cloudwatch", SECONDARY).put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": "ReplicaLag",
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": "prod-postgres-dr"}],
                "Value": seconds,
                "Timestamp": datetime.now(UTC) - timedelta(minutes=2),
            }
        ],
    )


@pytest.fixture
def promotions_complete(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """moto's PromoteReadReplica leaves the source listed; here it unlinks, as RDS does once done."""
    promoted: list[str] = []
    original = RDSBackend.promote_read_replica

    def promote(self: RDSBackend, db_kwargs: dict[str, Any]) -> Any:
        database = original(self, db_kwargs)
        database.source_db_instance_identifier = None
        promoted.append(db_kwargs["db_instance_identifier"])
        return database

    monkeypatch.setattr(RDSBackend, "promote_read_replica", promote)
    return promoted


KEYCLOAK_SCALE = 'kubectl -n identity patch keycloak keycloak --type merge -p \'{"spec":{"instances":3}}\''


def dr_output(aws: dict[str, Any]) -> dict[str, Any]:
    """What prod's `dr` stack output holds (components/dr), for the resources above."""
    return {
        "stack": "prod",
        "cloud": "aws",
        "primaryRegion": PRIMARY,
        "secondaryRegion": SECONDARY,
        "rpoMinutes": 5,
        "rtoMinutes": 15,
        "services": {
            "postgres": {
                "backend": "rds",
                "primary": {"id": "prod-postgres", "arn": aws["primary_arn"], "region": PRIMARY},
                "replica": {"id": "prod-postgres-dr", "region": SECONDARY},
                "promote": "rds:PromoteReadReplica",
                "copied": True,
            },
            "redis": {
                "backend": "elasticache-global-datastore",
                "promote": "elasticache:FailoverGlobalReplicationGroup",
                "copied": True,
            },
        },
        "failover": {"zone": ZONE, "record": f"api.{ZONE}", "origins": ORIGINS, "ttlSeconds": 30},
        "notify": {"topicArn": aws["topic"], "region": SECONDARY},
        "backups": {"snapshotEveryHours": 6, "retentionDays": 90, "inClusterBackupsCopiedTo": "prod-backups-copy"},
        "identity": {
            "backend": "Keycloak (operator), standby on the PostgreSQL copy",
            "replica": {"id": "identity/keycloak", "region": SECONDARY, "instances": 0},
            "database": "postgres",
            "promote": KEYCLOAK_SCALE,
        },
    }


def state() -> dict[str, Any]:
    """Everything a drill may change."""
    replica = clients("rds", SECONDARY).describe_db_instances(DBInstanceIdentifier="prod-postgres-dr")["DBInstances"][0]
    checks = clients("route53", "us-east-1").list_health_checks()["HealthChecks"]
    return {
        "replica_source": replica.get("ReadReplicaSourceDBInstanceIdentifier"),
        "inverted": sorted(bool(c["HealthCheckConfig"].get("Inverted")) for c in checks),
    }


def messages(aws: dict[str, Any]) -> list[dict[str, Any]]:
    found = clients("sqs", SECONDARY).receive_message(QueueUrl=aws["queue"], MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in found.get("Messages", [])]


def drill(tmp_path: Path, aws: dict[str, Any], **options: Any) -> Any:
    return run_drill(
        dr_output(aws),
        clients,
        journal=Journal(tmp_path / "journal.json", "prod"),
        sleep=lambda _: None,
        **{"execute": True, "force": False, **options},
    )


def test_a_report_only_run_changes_nothing(tmp_path: Path, aws: dict[str, Any]) -> None:
    replica_lag(12.0)
    before = state()
    report = drill(tmp_path, aws, execute=False)
    assert state() == before and messages(aws) == []
    assert not (tmp_path / "journal.json").exists()
    assert [s.name for s in report.steps] == ["detect", "promote", "switch-dns", "verify", "notify", "stop"]
    assert {s.status for s in report.steps} == {"would"} and report.ok
    said = "\n".join(line for s in report.steps for line in s.detail)
    assert "would promote prod-postgres-dr" in said and "would invert health check" in said
    assert "elasticache:FailoverGlobalReplicationGroup" in said  # what the drill leaves to a person
    # Keycloak's standby is started by hand once PostgreSQL is promoted.
    assert (
        f"by hand: identity (Keycloak (operator), standby on the PostgreSQL copy), after PostgreSQL: {KEYCLOAK_SCALE}"
        in said
    )


def test_a_healthy_drill_fails_over_within_the_rto_and_notifies(
    tmp_path: Path, aws: dict[str, Any], promotions_complete: list[str]
) -> None:
    replica_lag(12.0)
    report = drill(tmp_path, aws)
    assert [(s.name, s.status) for s in report.steps] == [
        (name, "done") for name in ("detect", "promote", "switch-dns", "verify", "notify", "stop")
    ]
    assert promotions_complete == ["prod-postgres-dr"]
    assert state() == {"replica_source": None, "inverted": [False, True]}
    (note,) = messages(aws)
    assert "failed over" in note["Subject"] and "achieved" in note["Message"]
    assert report.ok and report.achieved_seconds <= 15 * 60
    # Every step is logged with its timestamps; moto's missing TestDNSAnswer is said, not hidden.
    assert all(s.started and s.finished for s in report.steps)
    verify = next(s for s in report.steps if s.name == "verify")
    assert any("TestDNSAnswer unavailable" in line for line in verify.detail)
    assert any("standalone (writable)" in line for line in verify.detail)
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert set(journal["steps"]) == {"detect", "promote", "switch-dns", "verify", "notify", "stop"}


def test_a_replica_lagging_beyond_the_rpo_is_not_promoted(tmp_path: Path, aws: dict[str, Any]) -> None:
    replica_lag(600.0)
    before = state()
    report = drill(tmp_path, aws)
    promote = next(s for s in report.steps if s.name == "promote")
    assert promote.status == "refused" and any("exceeds the RPO" in line for line in promote.detail)
    assert [s.name for s in report.steps] == ["detect", "promote"]  # nothing after a refusal
    assert state() == before and not report.ok


def test_force_promotes_despite_the_lag(tmp_path: Path, aws: dict[str, Any], promotions_complete: list[str]) -> None:
    replica_lag(600.0)
    report = drill(tmp_path, aws, force=True)
    promote = next(s for s in report.steps if s.name == "promote")
    assert promote.status == "done" and any("--force" in line for line in promote.detail)
    assert promotions_complete == ["prod-postgres-dr"] and report.ok


def test_a_resumed_run_continues_where_the_first_stopped(
    tmp_path: Path, aws: dict[str, Any], promotions_complete: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    replica_lag(12.0)
    from moto.route53.models import Route53Backend

    original = Route53Backend.update_health_check

    def unavailable(self: Route53Backend, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Route 53 is unavailable")

    monkeypatch.setattr(Route53Backend, "update_health_check", unavailable)
    first = drill(tmp_path, aws)
    assert [(s.name, s.status) for s in first.steps] == [
        ("detect", "done"),
        ("promote", "done"),
        ("switch-dns", "failed"),
    ]
    assert not first.ok and state()["inverted"] == [False, False]

    monkeypatch.setattr(Route53Backend, "update_health_check", original)
    second = drill(tmp_path, aws)
    assert second.resumed and second.ok
    assert promotions_complete == ["prod-postgres-dr"]  # promoted once, not again
    promote = next(s for s in second.steps if s.name == "promote")
    assert promote.detail[0].startswith("done in an earlier run")
    assert state() == {"replica_source": None, "inverted": [False, True]}


def test_without_seeing_the_promotion_complete_the_drill_fails_rather_than_claim_it(
    tmp_path: Path, aws: dict[str, Any]
) -> None:
    """moto's promotion never unlinks the replica: the drill waits its limit, then fails."""
    replica_lag(12.0)
    report = run_drill(
        dr_output(aws),
        clients,
        execute=True,
        force=False,
        journal=Journal(tmp_path / "journal.json", "prod"),
        sleep=lambda _: None,
        wait_seconds=60,
    )
    promote = next(s for s in report.steps if s.name == "promote")
    assert promote.status == "failed" and "still lists its source" in promote.detail[-1]
    assert not report.ok and state()["inverted"] == [False, False]


def test_the_command_reads_the_stack_output_and_exits_by_the_result(
    tmp_path: Path, aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    replica_lag(600.0)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"environment": "prod", "dr": dr_output(aws)}))
    journal = tmp_path / "drill.json"
    assert main(["dr", "drill", "--outputs", str(outputs), "--state", str(journal)]) == 1  # lag over the RPO
    printed = capsys.readouterr().out
    assert "report only (nothing changed)" in printed and "refused" in printed
    report = tmp_path / "report.json"
    replica_lag(1.0)
    args = ["dr", "drill", "--outputs", str(outputs), "--state", str(journal), "--force", "--json-out", str(report)]
    assert main(args) == 0
    assert json.loads(report.read_text())["execute"] is False and not journal.exists()


def test_a_file_that_is_not_prods_output_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"environment": "staging"}))
    assert main(["dr", "drill", "--outputs", str(outputs)]) == 2
    assert "no `dr` output" in capsys.readouterr().err


def test_the_azure_path_lists_the_steps_and_refuses_to_execute(tmp_path: Path) -> None:
    dr = {
        "stack": "prod",
        "cloud": "azure",
        "rtoMinutes": 15,
        "services": {"postgres": {"backend": "flexible-server", "promote": "replica promote", "copied": True}},
    }
    journal = Journal(tmp_path / "journal.json", "prod")
    listed = run_drill(dr, clients, execute=False, force=False, journal=journal)
    assert listed.ok and "replica promote" in "\n".join(listed.steps[0].detail)
    refused = run_drill(dr, clients, execute=True, force=False, journal=journal)
    assert not refused.ok and "not built yet" in refused.steps[0].detail[0]


def test_the_backup_copies_freshness_is_reported_and_moto_replicates_nothing(
    tmp_path: Path, aws: dict[str, Any]
) -> None:
    replica_lag(12.0)
    clients("s3", PRIMARY).put_object(Bucket="prod-backups", Key="mongo/2026-11-29T00:30:00Z", Body=b"dump")
    verify = next(s for s in drill(tmp_path, aws, execute=False).steps if s.name == "verify")
    assert "backup copies in prod-backups-copy (eu-west-1): none yet" in verify.detail
    # What S3 replication would have copied, put there by hand.
    clients("s3", SECONDARY).put_object(Bucket="prod-backups-copy", Key="mongo/2026-11-29T00:30:00Z", Body=b"dump")
    verify = next(s for s in drill(tmp_path, aws, execute=False).steps if s.name == "verify")
    (line,) = [x for x in verify.detail if x.startswith("backup copies")]
    assert "newest" in line and "h old" in line
