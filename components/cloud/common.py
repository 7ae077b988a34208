"""What every cloud resource of a cluster shares: its tags and where it sits."""

from __future__ import annotations

from dataclasses import dataclass

from components.labels import ttl_label
from settings.seed import Environment


@dataclass(frozen=True)
class CloudScope:
    """One cluster's place: which stack, which region, primary or secondary, and its tags."""

    stack_name: str
    environment: Environment
    owner: str
    region: str
    secondary: bool
    protect: bool

    @property
    def prefix(self) -> str:
        """Pulumi names: the secondary region's resources carry its region, the primary's do not."""
        return f"{self.stack_name}-{self.region}" if self.secondary else self.stack_name

    @property
    def cluster_name(self) -> str:
        """The cloud's name of the cluster (unique per stack and region)."""
        base = f"bakhmach-{self.stack_name}"
        return f"{base}-{self.region}" if self.secondary else base

    @property
    def tags(self) -> dict[str, str]:
        # Policy (issue 5) requires environment, owner and managed-by on every cloud resource.
        return {
            "environment": self.environment,
            "owner": self.owner,
            "managed-by": "pulumi",
            "project": "bakhmach-hub",
            "region-role": "secondary" if self.secondary else "primary",
            "ttl": ttl_label(self.environment),
        }

    def named(self, name: str) -> dict[str, str]:
        return {**self.tags, "Name": name}
