"""Where the shared corpus is: real activity files and real provider responses in `../shared/data`,
the sibling folder of a checkout. Only a checkout has it (an installed wheel does not); the demo, the
provider sandboxes, the tests and the benches read it. Computed from this file's place, so it holds
whatever the working folder."""

from __future__ import annotations

from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]  # service/infra/corpus.py -> the repository
SHARED_DATA = CHECKOUT.parent / "shared" / "data"
ACTIVITIES = SHARED_DATA / "activities"  # fit/, gpx/, ... and MANIFEST.md
