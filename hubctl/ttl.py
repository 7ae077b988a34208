"""`hubctl ttl`: which stacks have outlived the seed's environment lifetime, and which may go.

The seed gives every environment a lifetime (`settings/seed.py`: dev 7 days, staging 30 days,
prod indefinite). A stack carries its own as Pulumi stack tags, set when it is created
(`scripts/dev-stack.sh`, which takes them from `hubctl ttl --tags-for ENV`):

    bakhmach:environment  dev | staging | prod
    bakhmach:created      2026-11-29T10:00:00Z
    bakhmach:expires      2026-12-06T10:00:00Z   (created + the environment's TTL; absent for prod)

The input is what `.github/scripts/ttl-stacks.sh` gathers: the JSON array of `pulumi stack ls
--json`, each entry with `tags` (from `pulumi stack tag ls --json`) and `protectedResources` (the
number of resources with `protect` in `pulumi stack export`). Rules, in order:

- **prod is never expired and never destroyed**, whatever its tags say (by name or by tag);
- a stack is **expired** when `bakhmach:expires` (else `bakhmach:created` + the environment's TTL)
  is in the past; a stack with neither tag has no known expiry and is only reported;
- an expired stack is **destroyed** only when it is ephemeral — named `dev-<name>`, made from the
  dev template per developer or per pull request — has no protected resources (the count must be
  present and 0: unknown means keep), and no update is running. Expired shared stacks (`dev`,
  `staging`) are listed for a person to act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hubctl.planfile import InputError, parse
from hubctl.stackfile import DEV_TEMPLATE
from settings.seed import ENVIRONMENT_PROFILES, ENVIRONMENTS

TAG_ENVIRONMENT = "bakhmach:environment"
TAG_CREATED = "bakhmach:created"
TAG_EXPIRES = "bakhmach:expires"
# A stack made from the dev template: `dev-<name>`, the name a DNS label (a developer, `pr-123`).
EPHEMERAL = DEV_TEMPLATE


@dataclass
class Verdict:
    name: str
    environment: str | None
    expires: datetime | None
    expired: bool
    destroy: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "environment": self.environment,
            "expires": self.expires.strftime("%Y-%m-%dT%H:%M:%SZ") if self.expires else None,
            "expired": self.expired,
            "destroy": self.destroy,
            "reason": self.reason,
        }


def parse_time(value: str, what: str) -> datetime:
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{what} {value!r} is not an ISO 8601 time (e.g. 2026-11-29T10:00:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_now(value: str | None) -> datetime:
    return datetime.now(UTC) if value is None else parse_time(value, "--now")


def read_stack_list(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (expected the JSON of `pulumi stack ls --json` with tags)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    try:
        document = parse(text)
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None
    if not isinstance(document, list) or not all(isinstance(e, dict) for e in document):
        raise InputError(f"{path}: not a stack list (expected a JSON array of objects, as `pulumi stack ls --json`)")
    for index, entry in enumerate(document):
        if not isinstance(entry.get("name"), str) or not entry["name"]:
            raise InputError(f"{path}: [{index}] has no stack name (`name`)")
        tags = entry.get("tags", {})
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            raise InputError(f"{path}: [{index}] ({entry['name']}): `tags` must map tag names to strings")
        protected = entry.get("protectedResources")
        if protected is not None and (isinstance(protected, bool) or not isinstance(protected, int) or protected < 0):
            raise InputError(f"{path}: [{index}] ({entry['name']}): `protectedResources` must be a count")
    return document


def short_name(name: str) -> str:
    """`org/project/dev-alice` -> `dev-alice` (Pulumi Cloud lists fully qualified names)."""
    return name.rsplit("/", 1)[-1]


def environment_of(name: str, tags: dict[str, str]) -> str | None:
    short = short_name(name)
    if short in ENVIRONMENTS:
        return short
    if EPHEMERAL.fullmatch(short):
        return "dev"
    tagged = tags.get(TAG_ENVIRONMENT)
    return tagged if tagged in ENVIRONMENTS else None


def judge_one(entry: dict[str, Any], now: datetime) -> Verdict:
    name = entry["name"]
    short = short_name(name)
    tags: dict[str, str] = entry.get("tags") or {}
    env = environment_of(name, tags)
    if env == "prod" or short == "prod" or tags.get(TAG_ENVIRONMENT) == "prod":
        return Verdict(name, "prod", None, False, False, "prod: lifetime indefinite, never destroyed")
    expires: datetime | None = None
    if TAG_EXPIRES in tags:
        expires = parse_time(tags[TAG_EXPIRES], f"{name}: tag {TAG_EXPIRES}")
    elif TAG_CREATED in tags and env is not None and ENVIRONMENT_PROFILES[env].ttl_days is not None:  # type: ignore[index]
        days = ENVIRONMENT_PROFILES[env].ttl_days  # type: ignore[index]
        expires = parse_time(tags[TAG_CREATED], f"{name}: tag {TAG_CREATED}") + timedelta(days=days or 0)
    if expires is None:
        return Verdict(name, env, None, False, False, f"no {TAG_EXPIRES} or {TAG_CREATED} tag: expiry unknown, kept")
    if now < expires:
        left = expires - now
        return Verdict(name, env, expires, False, False, f"live: {left.days} d {left.seconds // 3600} h left")
    ago = now - expires
    expired = f"expired {ago.days} d {ago.seconds // 3600} h ago"
    if not EPHEMERAL.fullmatch(short):
        return Verdict(name, env, expires, True, False, f"{expired}; a shared stack: a person decides")
    protected = entry.get("protectedResources")
    if protected is None:
        return Verdict(name, env, expires, True, False, f"{expired}; protected resources not counted: kept")
    if protected > 0:
        return Verdict(name, env, expires, True, False, f"{expired}; {protected} protected resource(s): kept")
    if entry.get("updateInProgress"):
        return Verdict(name, env, expires, True, False, f"{expired}; an update is running: kept for now")
    return Verdict(name, env, expires, True, True, f"{expired}; ephemeral, nothing protected: destroy")


def judge(entries: list[dict[str, Any]], now: datetime) -> list[Verdict]:
    return [judge_one(entry, now) for entry in entries]


def tags_for(environment: str, now: datetime) -> dict[str, str]:
    """The tags a new stack of an environment carries: created now, expiring after its TTL."""
    if environment not in ENVIRONMENTS:
        raise InputError(f"--tags-for {environment!r} is not an environment (allowed: {', '.join(ENVIRONMENTS)})")
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    tags = {TAG_ENVIRONMENT: environment, TAG_CREATED: now.strftime(stamp)}
    days = ENVIRONMENT_PROFILES[environment].ttl_days
    if days is not None:
        tags[TAG_EXPIRES] = (now + timedelta(days=days)).strftime(stamp)
    return tags


def format_text(verdicts: list[Verdict]) -> str:
    lines = []
    for v in verdicts:
        mark = "DESTROY" if v.destroy else ("EXPIRED" if v.expired else "ok")
        lines.append(f"{mark:8} {v.name}  ({v.environment or 'environment unknown'}) {v.reason}")
    expired = sum(v.expired for v in verdicts)
    destroy = sum(v.destroy for v in verdicts)
    lines.append(f"{len(verdicts)} stack(s): {expired} expired, {destroy} to destroy")
    return "\n".join(lines)
