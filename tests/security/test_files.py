"""Item 10: files holding personal data are owner-only, and erasure leaves no copy behind.

Before: kneeguard.db and its -wal/-shm were 0644 (emails, raw GPS readable by every local user),
an old secrets file stayed as loose as it was, the outbox folder was world-listable, and after
DELETE /v1/athletes/<id> the runner's .eml files stayed in the outbox and the SQLite WAL still
held their email address until some later checkpoint."""

from __future__ import annotations

import json
import os
import stat
from email.message import EmailMessage
from pathlib import Path

import pytest

from service import create_app
from service.domain import accounts
from service.infra import migrate
from service.infra.settings import LOCAL_SECRETS_FILE, Settings
from service.models import Delivery
from workers.notify import email as mail
from workers.notify import mailer

EMAIL = "erase-me-7f3a91@example.com"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask():
    old = os.umask(0o022)  # the usual default: new files 0644, folders 0755
    yield
    os.umask(old)


@pytest.fixture
def settings(base_settings, tmp_path, loose_umask):
    """A fresh SQLite file per test (the WAL is the point), migrated like `kneeguard serve`."""
    url = f"sqlite:///{tmp_path / 'kneeguard.db'}"
    migrate.upgrade(url)
    return base_settings.with_overrides(database_url=url,
                                        email_outbox_dir=str(tmp_path / "outbox"))


def test_the_sqlite_files_are_owner_only(app, runtime, tmp_path):
    accounts.add_athlete(runtime, EMAIL)  # a write: the -wal and -shm exist now
    files = [tmp_path / name for name in ("kneeguard.db", "kneeguard.db-wal", "kneeguard.db-shm")]
    assert all(f.exists() for f in files), [f.name for f in files if not f.exists()]
    assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}


def test_an_existing_loose_database_is_tightened(tmp_path, loose_umask, base_settings):
    db = tmp_path / "old.db"
    url = f"sqlite:///{db}"
    migrate.upgrade(url)
    db.chmod(0o644)  # as older versions left it
    app = create_app(base_settings.with_overrides(database_url=url))
    try:
        accounts.add_athlete(app.extensions["kneeguard"], EMAIL)
        assert _mode(db) == 0o600
    finally:
        app.extensions["kneeguard"].close()


def test_the_secrets_file_is_owner_only_also_when_it_existed(tmp_path, loose_umask):
    Settings().with_local_secrets(tmp_path)
    path = tmp_path / LOCAL_SECRETS_FILE
    assert _mode(path) == 0o600
    path.chmod(0o644)
    again = Settings().with_local_secrets(tmp_path)
    assert again.secret_key == json.loads(path.read_text())["secret_key"]
    assert _mode(path) == 0o600


def _message(key: str, to: str) -> EmailMessage:
    msg = EmailMessage(policy=mail.MAIL_POLICY)
    msg["Subject"], msg["From"], msg["To"] = "kneeguard: a warning", "kg@localhost", to
    msg[mail.KEY_HEADER] = key
    msg.set_content(f"Hello {to}, your long run was 60% longer than usual.")
    return msg


def test_outbox_messages_and_folder_are_owner_only(runtime, tmp_path):
    path, written = mailer.write_outbox(_message("msg_1", EMAIL), runtime.settings.email_outbox_dir)
    assert written and _mode(path) == 0o600
    assert _mode(path.parent) == 0o700


def test_erasure_removes_outbox_files_and_leaves_no_copy_in_the_wal(client, runtime, tmp_path):
    athlete_id, token = accounts.add_athlete(runtime, EMAIL)
    other_id, _ = accounts.add_athlete(runtime, "someone-else@example.com")
    outbox = runtime.settings.email_outbox_dir
    with runtime.db.session() as s:
        mine = Delivery(channel="email", dedupe_key="k1", athlete_id=athlete_id, target=EMAIL,
                        event_type="finding.created", payload={}, status="sent")
        theirs = Delivery(channel="email", dedupe_key="k2", athlete_id=other_id,
                          target="someone-else@example.com", event_type="finding.created",
                          payload={}, status="sent")
        s.add_all([mine, theirs])
        s.flush()
        ids = mine.id, theirs.id
    mine_path, _ = mailer.write_outbox(_message(ids[0], EMAIL), outbox)
    theirs_path, _ = mailer.write_outbox(_message(ids[1], "someone-else@example.com"), outbox)

    r = client.delete(f"/v1/athletes/{athlete_id}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.get_json()["deleted"] is True

    assert not mine_path.exists()
    assert theirs_path.exists()  # only that runner's messages go
    wal = tmp_path / "kneeguard.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed and truncated
    for f in (tmp_path / "kneeguard.db", wal):
        if f.exists():
            assert EMAIL.encode() not in f.read_bytes(), f.name
