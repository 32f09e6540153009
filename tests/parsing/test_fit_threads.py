"""FIT files with developer fields decoded at the same time in several threads (a gunicorn gthread
web process answering uploads) each decode as they do alone.

fitparse keeps developer field types in one module-level dict (`fitparse.records.DEV_TYPES`),
shared by every file decoded in the process; two Stryd-field files decoded at once read each
other's types, and a valid file was refused as "corrupt FIT file: Invalid struct format: >0f" or
"No such field 3 for dev_data_index 0" (the fault run's lost upload, reproduced by
bench/faults.py). Real files from ../shared/data; threads, not mocks.
"""

from __future__ import annotations

import threading

from workers.parsing import parse_bytes

# Files whose developer fields differ (Stryd, Garmin Connect IQ, the SDK's sample).
DEV_FILES = ["sportslib__6909950168.fit", "sportslib__6782987395.fit",
             "msimms__20181108_run_garmin_fenix_3_hr.fit", "fitparse__developer-types-sample.fit",
             "tormoder__mornindew-broken.fit"]


def summary(data: bytes) -> list[tuple]:
    return [(t.start_time, round(t.distance_m, 3), t.timestamps.size)
            for t in parse_bytes(data, "x.fit").tracks]


def test_concurrent_decodes_give_the_single_threaded_answer(data_dir):
    files = {n: (data_dir / "activities" / "fit" / n).read_bytes() for n in DEV_FILES}
    alone = {}
    for name, data in files.items():
        try:
            alone[name] = summary(data)
        except Exception as exc:  # a file refused alone must be refused the same way together
            alone[name] = type(exc).__name__
    seen: list[tuple[str, object]] = []
    lock = threading.Lock()

    def decode(name: str) -> None:
        for _ in range(3):
            try:
                got = summary(files[name])
            except Exception as exc:
                got = f"{type(exc).__name__}: {exc}"
            with lock:
                seen.append((name, got))

    threads = [threading.Thread(target=decode, args=(n,)) for n in DEV_FILES for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wrong = [(n, got) for n, got in seen if got != alone[n]]
    assert not wrong, wrong[:3]
