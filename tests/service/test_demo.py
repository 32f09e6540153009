"""The demo loads real files, re-dated to the last ten weeks, through the real pipeline: every run
is analysed, the long run at the end is flagged, and the warning email is sent (to the outbox)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from service.domain import demo
from service.models import Activity, Delivery, Finding


def test_the_demo_history_ends_with_a_warning(runtime, data_dir):
    seeded = demo.load(runtime, demo.find_files(str(data_dir / "activities")))
    assert seeded["runs"] == len(demo.schedule(datetime.now(UTC)))
    with runtime.db.session() as s:
        runs = s.scalars(select(Activity)).all()
        assert {a.status for a in runs} == {"analyzed"}
        newest = max(runs, key=lambda a: a.start_time)
        assert datetime.now(UTC) - newest.start_time < timedelta(days=2)
        assert min(a.start_time for a in runs) > datetime.now(UTC) - timedelta(weeks=11)
        spike = s.scalar(select(Finding).where(Finding.activity_id == newest.id,
                                               Finding.rule == "single_run_spike"))
        assert spike is not None
        assert s.scalar(select(Delivery).where(Delivery.channel == "email")).status == "sent"


def test_the_demo_finds_the_shared_corpus_without_files_from_any_folder(data_dir, tmp_path,
                                                                       monkeypatch):
    # `kneeguard demo` with no --files, started from an unrelated folder (as the README shows).
    monkeypatch.chdir(tmp_path)
    assert demo.find_files(None) == data_dir / "activities"
