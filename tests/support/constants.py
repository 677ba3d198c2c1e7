"""The test configuration's numbers in one place: the demo profile's entry
points and ANIs (config/demo.toml), the test tenants' entry points (added by
tests/integration/conftest.py), and the PSTN simulator's numbers
(dialplans/README.md)."""

from __future__ import annotations

from pathlib import Path

# Entry points of the demo profile (config/demo.toml)
SUPPORT = "8005550100"  # acme: queue support (priority 1, team tier1)
VIP = "8005550101"  # acme: queue vip
SALES = "8005550102"  # acme: queue sales
GLOBEX = "8005550300"  # globex

# Entry points of the test tenants (tests/integration/conftest.py)
BILLING_ENTRY_POINT = "8005550103"  # acme: flow billing, queue billing (TR-4)
BETA_ENTRY_POINT = "8005550200"  # beta: auto wrap-up (END-2)
GAMMA_ENTRY_POINT = "8005550400"  # gamma: unanswered transfers go back to the queue (TR-2)

# acme's ANIs (profile "standard"); the campaign "renewals" calls from OTHER_ANI
DEFAULT_ANI = "+15550001000"
OTHER_ANI = "+15550001001"

# The caller most tests use
CUSTOMER = "+15551234567"

# The PSTN simulator (dialplans/README.md)
ECHO = "+15551000000"  # answers at once and echoes
ANSWERS_AFTER_2S = "+15552000002"
NEVER_ANSWERS = "+15553000000"
BUSY = "+15554000000"  # cause 17
CONGESTION = "+15555000000"  # cause 34
REJECTS = "+15557000000"  # cause 21

# The demo profile itself, and its datacenter's Redis key prefix
DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.toml"
DC_PREFIX = "cp:{dc1}:"

# The supervisor's desk phone, and the datacenter's supervisor browser-phone
# seats (WebRTC endpoints 2101..2110)
SUPERVISOR_EXTENSION = "1009"
SEATS = tuple(str(n) for n in range(2101, 2111))

# The AMI user operators' dashboards read with (asterisk-conf/etc/manager.conf;
# LOCAL-DEMO credentials, loopback only). The control plane's own user reads
# device states only.
DASHBOARD_AMI_USER = "dashboard"
DASHBOARD_AMI_SECRET = "demo-dashboard-secret"
