"""The pack's inventory (docs/POLICIES.md): generated from the pack, complete, and committed as
generated."""

from __future__ import annotations

from hubctl.plan import REPO_ROOT
from policy.bakhmach_policies import POLICIES
from policy.bakhmach_policies.common import APPLIES_IN
from policy.bakhmach_policies.inventory import PROMISES
from policy.tools import gen_docs

NAMES = {p.name for p in POLICIES}


def test_the_committed_inventory_is_the_generated_one() -> None:
    """Regenerate with `.venv/bin/python policy/tools/gen_docs.py`."""
    assert (REPO_ROOT / "docs" / "POLICIES.md").read_text(encoding="utf-8") == gen_docs.render()


def test_every_policy_guards_a_promise_of_the_seed() -> None:
    guarded = {name for promise in PROMISES for name in promise.policies}
    assert NAMES - guarded == set(), "policies that guard no promise in inventory.py"


def test_every_promise_names_policies_of_the_pack() -> None:
    for promise in PROMISES:
        assert set(promise.policies) <= NAMES, promise


def test_a_promise_left_to_others_says_why() -> None:
    for promise in PROMISES:
        assert promise.policies or len(promise.elsewhere) > 20, promise


def test_every_policy_declares_where_it_applies() -> None:
    assert set(APPLIES_IN) >= NAMES
    for name in NAMES:
        assert APPLIES_IN[name], name


# Policies that report and never block: a weaker TLS floor a service cannot raise, and a shared
# credential a backend cannot avoid (both documented exceptions, kept visible).
ADVISORY_BY_NATURE = {"tls13-where-offered", "shared-data-credentials"}


def test_the_inventory_lists_every_policy_with_its_levels() -> None:
    text = gen_docs.render()
    for policy in POLICIES:
        row = next(line for line in text.splitlines() if f'<a id="{policy.name}"></a>' in line)
        levels = [cell.strip() for cell in row.rstrip("|").split("|")[-3:]]
        for environment, level in zip(("dev", "staging", "prod"), levels, strict=True):
            if environment not in APPLIES_IN[policy.name]:
                assert level == "—"
            elif environment == "dev" or policy.name in ADVISORY_BY_NATURE:
                assert level == "advisory", (policy.name, environment)
            else:
                assert level == "mandatory", (policy.name, environment)
