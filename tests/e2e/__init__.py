"""The smoke tests of a real `pulumi up -s dev` on kind (scripts/e2e-kind.sh), and what they run on.

What to test is derived from the offline plan of the dev stack (`selection.py`, `netpol.py`), so the
selection is unit-tested without a cluster (tests/test_e2e_selection.py). The tests themselves are
marked `e2e` and deselected in `make test`; the script runs them against the deployed cluster.
"""
