"""`kneeguard import` as a person and as a script see it (issue 25): on a terminal, progress per
file and a summary in words; through a pipe, JSON and no bar; a mistyped --athlete creates
nobody; the 1901-dated GPX that `analyze` refuses is skipped by import too, for the same reason."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import shutil
import struct
import subprocess
import termios
from pathlib import Path

from sqlalchemy import func, select

from service.models import Athlete
from tests.helpers import CLI, cli_env, invoke_cli

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "activities"
FILES = ("fit/msimms__20181108_run_garmin_fenix_3_hr.fit", "gpx/msimms__run_03_garmin.gpx",
         "fit/workoutizer__2019-09-14-17-22-05.fit")
UNSET_CLOCK = DATA / "gpx" / "gpxpy__Mojstrovka.gpx"  # its track points say 1901-12-13


def on_a_terminal(cmd: list[str], env: dict, timeout: float = 600) -> tuple[int, str]:
    """Run `cmd` with stdout and stderr on a pseudo-terminal, as in a shell; (exit code, all
    it wrote)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))  # 160 columns
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                            stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return proc.wait(timeout=timeout), b"".join(chunks).decode(errors="replace")


def _folder(tmp_path: Path, extra: tuple[Path, ...] = ()) -> Path:
    folder = tmp_path / "runs"
    folder.mkdir()
    for name in FILES:
        shutil.copy(DATA / name, folder / Path(name).name)
    for path in extra:
        shutil.copy(path, folder / path.name)
    return folder


def test_on_a_terminal_each_file_shows_in_the_progress_then_a_summary(settings, tmp_path):
    folder = _folder(tmp_path)
    code, out = on_a_terminal([CLI, "import", str(folder), "--athlete", "tty@example.com",
                               "--create-athlete"], cli_env(settings))
    assert code == 0, out[-3000:]
    for name in FILES:  # the bar names each file as it is read
        assert Path(name).name[-40:] in out, out[-3000:]
    assert f"{len(FILES)}/{len(FILES)}" in out  # tqdm's count reached the end
    assert "analysing the whole history" in out
    # With Redis the command enqueues the analysis for the workers and says so; embedded, it waits.
    analysis = "Analysis queued:" if settings.redis_url else "Analysis done:"
    assert "3 activities created" in out and analysis in out
    assert not out.lstrip().startswith("{")


def test_through_a_pipe_it_prints_json_and_no_progress(settings, tmp_path):
    """A real process on purpose: the installed entry point, and what it prints when its stdout
    is a pipe (the other commands' tests run in-process)."""
    folder = _folder(tmp_path)
    done = subprocess.run([CLI, "import", str(folder), "--athlete", "pipe@example.com",
                           "--create-athlete"], env=cli_env(settings), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["counts"]["created"] == len(FILES)
    assert "file/s" not in done.stderr and "analysing" not in done.stderr


def test_a_mistyped_athlete_creates_nobody_and_says_how_to_create(settings, runtime, tmp_path):
    folder = _folder(tmp_path)
    with runtime.db.session() as s:
        before = s.scalar(select(func.count(Athlete.id)))
    done = invoke_cli(cli_env(settings), "import", str(folder), "--athlete", "runnner@exmaple.com")
    assert done.returncode == 2
    assert "no runner has the email 'runnner@exmaple.com'" in done.stderr
    assert "--create-athlete" in done.stderr
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Athlete.id))) == before


def test_the_1901_gpx_is_skipped_by_import_as_analyze_skips_it(settings, tmp_path):
    folder = _folder(tmp_path, (UNSET_CLOCK,))
    done = invoke_cli(cli_env(settings), "import", str(folder), "--athlete", "clock@example.com",
                      "--create-athlete", "--json")
    summary = json.loads(done.stdout)
    skipped = {Path(s["file"]).name: s["reason"] for s in summary["skipped"]}
    assert "1901-12-13" in skipped[UNSET_CLOCK.name] and "clock was not set" in \
        skipped[UNSET_CLOCK.name]
    assert UNSET_CLOCK.name not in {Path(a["file"]).name for a in summary["activities"]}
    analysed = invoke_cli(cli_env(settings), "analyze", str(UNSET_CLOCK), "--json")
    assert json.loads(analysed.stdout)["skipped"][0]["reason"] == skipped[UNSET_CLOCK.name]
