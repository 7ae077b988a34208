"""Cloudflare's published address ranges (cloudflare.com/ips): the only sources an origin behind
the edge accepts (the gateway's security group on AWS, its load balancer's NSG rules on Azure).

Taken on 2026-10-14 from two mirrors of cloudflare.com/ips that agree exactly: MISP's warning
list `lists/cloudflare/list.json` (version 20261014, "List of known Cloudflare IP ranges
(https://www.cloudflare.com/ips/)") and rezmoss/cloud-provider-ip-addresses `cloudflare/*`
(updated 2026-02-11); the list has not changed since 104.16.0.0/12 was split into /13 + /14.
Cloudflare announces changes in advance; re-check https://www.cloudflare.com/ips-v4 and ips-v6
before a prod change and update both tuples and `TAKEN` together (tests/test_edge.py keeps them
well-formed and checks the rules use exactly these).
"""

from __future__ import annotations

TAKEN = "2026-10-14"
SOURCE = "https://www.cloudflare.com/ips/"

IPV4: tuple[str, ...] = (
    "173.245.48.0/20",
    "103.21.244.0/22",
    "103.22.200.0/22",
    "103.31.4.0/22",
    "141.101.64.0/18",
    "108.162.192.0/18",
    "190.93.240.0/20",
    "188.114.96.0/20",
    "197.234.240.0/22",
    "198.41.128.0/17",
    "162.158.0.0/15",
    "104.16.0.0/13",
    "104.24.0.0/14",
    "172.64.0.0/13",
    "131.0.72.0/22",
)
IPV6: tuple[str, ...] = (
    "2400:cb00::/32",
    "2606:4700::/32",
    "2803:f800::/32",
    "2405:b500::/32",
    "2405:8100::/32",
    "2a06:98c0::/29",
    "2c0f:f248::/32",
)
