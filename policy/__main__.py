"""The pack's entry point for the Pulumi CLI: `pulumi preview --policy-pack policy
--policy-pack-config policy/config/<environment>.json`. PolicyPack(...) serves the policies to the
engine and never returns, so nothing else lives here."""

from bakhmach_policies import PACK_NAME, POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

# Without a config file every policy blocks: an unconfigured run is treated like prod.
PolicyPack(name=PACK_NAME, policies=POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
