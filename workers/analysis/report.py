"""The `kneeguard.analysis/v1` document (DESIGN §5) and its plain-text rendering for a runner.

`analyze_tracks` is the stateless path behind `kneeguard analyze`: parsed tracks in, document out.
Without `as_of` it evaluates the rules on every date that has a run, so a spike in the middle of a
history is reported on its own date; with `as_of` it answers "as if today were that date": runs
after the end of that (local) day are ignored, and the findings dated in the 7 days up to it are
reported (a run yesterday is still current today).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from workers.analysis import kneetolerance as knee
from workers.analysis.config import Thresholds
from workers.analysis.digest import weekly_digests
from workers.analysis.history import Finding, History, HistoryItem, day_number, local_offset
from workers.analysis.metrics import ActivityMetrics, compute_metrics, iso_utc
from workers.analysis.rules import evaluate_dates, history_note, weekly_table
from workers.analysis.severity import sort_key
from workers.parsing.track import Skip, Track

SCHEMA = "kneeguard.analysis/v1"
CURRENT_DAYS = 7  # with --as-of: findings dated in the 7 days up to that date are current
DUPLICATE_WINDOW_S = 120.0  # same start within 2 minutes ...
DUPLICATE_DISTANCE = 0.05  # ... and distance within 5%: one run recorded twice


def analyze_tracks(
    tracks_with_files: list[tuple[str, Track]],
    as_of: date | None = None,
    source: str = "upload",
    thresholds: Thresholds | None = None,
    skipped: Iterable[Skip | dict] = (),
    utc_offset_s: int = 0,
) -> dict[str, Any]:
    skips = [skip_dict(s) for s in skipped]
    items: list[tuple[str, str, ActivityMetrics, str]] = []
    context: list[dict[str, Any]] = []
    used_ids: set[str] = set()
    for file, track in tracks_with_files:
        if track.sport in CONTEXT_SPORTS:
            context.append(context_entry(file, track))
            continue
        if not track.is_run:
            skips.append({"file": file, "reason": f"not a run ({track.sport or 'unknown sport'})"})
            continue
        ident = unique_id(file, track, used_ids)
        items.append((file, ident, compute_metrics(track), source))
    items.sort(key=lambda it: (it[2].start_time, it[1]))
    duplicates = find_duplicates(items)
    history = [HistoryItem(i, s, m) for _, i, m, s in items if i not in duplicates]
    if as_of is None:
        findings = evaluate_dates(history, None, thresholds, utc_offset_s)
    else:
        # "As if today were as_of": later files are ignored (an offset-less run is local to the
        # athlete's offset), and the findings of the last 7 days are still current.
        end = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), UTC)
        history = [h for h in history if local_start(h, utc_offset_s) < end]
        items = [it for it in items if local_start(it[2], utc_offset_s) < end]
        days = [as_of - timedelta(days=k) for k in range(CURRENT_DAYS - 1, -1, -1)]
        findings = evaluate_dates(history, days, thresholds, utc_offset_s)
    weeks = weekly_table(history, as_of, utc_offset_s)
    document = build_document(items, findings, weeks, skips, duplicates)
    document["context"] = sorted(context, key=lambda c: c["start_time"])
    document["digests"] = weekly_digests(document["findings"])
    note = history_note(history, as_of, thresholds, utc_offset_s)
    document["notes"] = [note] if note else []
    add_knee_load(document, history, thresholds or Thresholds(), utc_offset_s)
    return document


def add_knee_load(document: dict, history: list[HistoryItem], cfg: Thresholds,
                  utc_offset_s: int) -> None:
    """Knee-km on every run and week, the week's tolerance, and today's acute load
    (docs/knee-load.md): additions the v1 document allows."""
    h = History.build(history, utc_offset_s)
    s = knee.series(h)
    by_id = {item.id: round(float(km), 2) for item, km in zip(h.items, s.run_km, strict=True)}
    for a in document["activities"]:
        a["knee_load_km"] = by_id.get(a["id"])
    for w in document["weeks"]:
        monday = day_number(date.fromisoformat(w["start"]))
        tol = knee.tolerance(h, s, monday, cfg)
        w["knee_load_km"] = round(s.week_sum(monday, monday + 6), 2)
        w["knee_tolerance_km"] = None if tol is None else round(tol["km"], 2)
    if len(h):
        view = knee.load_view(h, cfg, int(h.day[-1]), 1)
        document["knee_load"] = dict(view["current"], date=view["days"][-1]["date"])


def local_start(item: HistoryItem | ActivityMetrics, default_offset_s: int) -> datetime:
    """Start as a naive-UTC-comparable moment shifted to local time (for the as-of cut)."""
    m = item.metrics if isinstance(item, HistoryItem) else item
    offset = local_offset(m.utc_offset_s, default_offset_s)
    return m.start_time.astimezone(UTC) + timedelta(seconds=offset)


# DESIGN §1: walking and hiking count for no rule, but their descent is reported as context.
CONTEXT_SPORTS = frozenset({"walking", "hiking"})


def context_entry(file: str, track: Track) -> dict[str, Any]:
    e = compute_metrics(track).elevation
    return {"file": file, "sport": track.sport,
            "start_time": track.start_time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "distance_m": round(track.distance_m, 1), "loss_m": round(e.loss_m, 1),
            "altitude_source": e.altitude_source}


def unique_id(file: str, track: Track, used: set[str]) -> str:
    base = f"{file}@{track.start_time.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    ident, n = base, 1
    while ident in used:
        n += 1
        ident = f"{base}#{n}"
    used.add(ident)
    return ident


def find_duplicates(items: list[tuple[str, str, ActivityMetrics, str]]) -> dict[str, str]:
    """id -> id it duplicates (same run from two watches or two exports); keeps the first seen."""
    dupes: dict[str, str] = {}
    for k, (_, ident, m, _) in enumerate(items):
        for _, other, o, _ in items[:k]:
            if other in dupes:
                continue
            close = abs((m.start_time - o.start_time).total_seconds()) <= DUPLICATE_WINDOW_S
            longer = max(m.distance_m, o.distance_m, 1.0)
            if close and abs(m.distance_m - o.distance_m) / longer <= DUPLICATE_DISTANCE:
                dupes[ident] = other
                break
    return dupes


def build_document(
    items: list[tuple[str, str, ActivityMetrics, str]],
    findings: Sequence[Finding | dict],
    weeks: list[dict],
    skipped: Iterable[Skip | dict],
    duplicates: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Exactly the DESIGN §5 document; extra keys only where the contract allows additions."""
    dupes = duplicates or {}
    rows = [f if isinstance(f, dict) else f.to_dict() for f in findings]
    rows.sort(key=lambda f: (f["date"], f["activity"] is None, sort_key(f["severity"])))
    return {
        "schema": SCHEMA,
        "activities": [activity_dict(f, i, m, s, dupes.get(i)) for f, i, m, s in items],
        "weeks": [dict(w) for w in weeks],
        "findings": rows,
        "skipped": [skip_dict(s) for s in skipped],
    }


def activity_dict(file: str, ident: str, m: ActivityMetrics, source: str, dup: str | None) -> dict:
    e, r, d = m.elevation, m.route, m.dynamics
    return {
        "id": ident,
        "file": file,
        "source": source,
        "sport": m.sport,
        "sub_sport": m.sub_sport,
        "start_time": iso_utc(m.start_time),
        "distance_m": round(m.distance_m, 1),
        "moving_time_s": round(m.moving_time_s, 1),
        "indoor": m.indoor,
        "manual": m.manual,
        "elevation": {
            "gain_m": e.gain_m, "loss_m": e.loss_m, "loss_m_per_km": e.loss_m_per_km,
            "km_grade_le_minus5": e.km_grade_le_minus5,
            "km_grade_le_minus10": e.km_grade_le_minus10,
            "altitude_source": e.altitude_source, "device_loss_m": e.device_loss_m,
            # What the rules use (loss_m), where it came from, and the estimate from the samples
            # whatever loss_m is: the engine's own figure stays visible beside the watch's.
            "samples_loss_m": e.engine_loss_m, "loss_source": e.loss_source,
            "longest_descent_m": e.longest_descent_m, "confidence": e.confidence,
        },
        "route": {
            "has_gps": r.has_gps, "shape": r.shape, "direction": r.direction,
            "track_laps": r.track_laps, "track_km_cw": r.track_km_cw,
            "track_km_ccw": r.track_km_ccw,
        },
        "dynamics": {"cadence_spm": d.cadence_spm, "gct_balance_left_pct": d.gct_balance_left_pct},
        "gear_id": m.gear_id,
        "duplicate_of": dup,
    }


def skip_dict(skip: Skip | dict) -> dict[str, str]:
    if isinstance(skip, dict):
        return {"file": str(skip.get("file", "")), "reason": str(skip.get("reason", ""))}
    return {"file": skip.file, "reason": skip.reason}


def render_text(document: dict[str, Any]) -> str:
    """A readable report: runs, weeks, then findings with their explanations."""
    out = ["kneeguard analysis", ""]
    out += runs_table(document["activities"]) + [""]
    out += weeks_table(document["weeks"]) + [""]
    out += knee_load_text(document.get("knee_load"))
    out += [f"Note: {n}" for n in document.get("notes", [])]
    out += digest_text(document.get("digests", []))
    out += findings_text(document["findings"])
    if document.get("context"):
        out += ["", "Walking and hiking (context only, no rules):"]
        out += [f"  {c['start_time'][:10]}  {c['sport']:<8} {c['distance_m'] / 1000:6.2f} km  "
                f"descent {c['loss_m']:.0f} m  {c['file']}" for c in document["context"]]
    if document["skipped"]:
        out += ["", "Skipped:"] + [f"  {s['file']}: {s['reason']}" for s in document["skipped"]]
    return "\n".join(out).rstrip() + "\n"


def runs_table(activities: list[dict]) -> list[str]:
    if not activities:
        return ["No runs found."]
    lines = [f"Runs ({len(activities)})",
             f"  {'date':<10} {'km':>6} {'knee-km':>7} {'time':>8} {'loss m':>7} {'m/km':>5} "
             f"{'route':<15} {'spm':>5}  file"]
    for a in activities:
        e, r = a["elevation"], a["route"]
        route = r["shape"] + (f" {r['direction']}" if r["direction"] else "")
        if r["track_laps"]:
            route += f" {r['track_laps']}L"
        loss = "-" if e["altitude_source"] == "none" else f"{e['loss_m']:.0f}"
        per_km = "-" if e["altitude_source"] == "none" else f"{e['loss_m_per_km']:.1f}"
        spm = a["dynamics"]["cadence_spm"]
        note = " (indoor)" if a["indoor"] else (" (duplicate)" if a.get("duplicate_of") else "")
        lines.append(
            f"  {a['start_time'][:10]:<10} {a['distance_m'] / 1000:>6.2f} "
            f"{knee_km(a.get('knee_load_km')):>7} {hms(a['moving_time_s']):>8} {loss:>7} "
            f"{per_km:>5} {route:<15} "
            f"{'-' if spm is None else f'{spm:.0f}':>5}  {a['file']}{note}"
        )
    return lines


def weeks_table(weeks: list[dict]) -> list[str]:
    if not weeks:
        return ["No weeks."]
    active = [w for w in weeks if w["runs"]]
    empty = len(weeks) - len(active)
    title = "Weeks (Monday, local time)" + (f"; {empty} weeks without runs not shown" if empty else "")
    lines = [title, f"  {'week':<10} {'km':>7} {'knee-km':>7} {'tolerance':>9} {'loss m':>7} "
                    f"{'runs':>5}"]
    lines += [f"  {w['start']:<10} {w['distance_m'] / 1000:>7.1f} "
              f"{knee_km(w.get('knee_load_km')):>7} {knee_km(w.get('knee_tolerance_km')):>9} "
              f"{w['loss_m']:>7.0f} {w['runs']:>5}" for w in active]
    return lines


def knee_load_text(current: dict | None) -> list[str]:
    if not current:
        return []
    tol = current.get("tolerance_km")
    return [f"Knee load on {current['date']}: {current['acute_km']:.0f} knee-km acute"
            + (f", tolerance {tol:.0f} ({100 * current['ratio']:.0f}%)" if tol else
               "; no tolerance yet (needs 28 days of history)")
            + ". 1 knee-km = one easy flat km at your usual pace (docs/knee-load.md).", ""]


def knee_km(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def digest_text(digests: list[dict]) -> list[str]:
    if not digests:
        return []
    lines = ["Week by week (one line per week with findings)"]
    lines += [f"  {d['week']}  {d['severity'].upper():<7} {d['headline']}" for d in digests]
    return lines + [""]


def findings_text(findings: list[dict]) -> list[str]:
    if not findings:
        return ["Findings: none. Nothing in this history crossed a threshold."]
    lines = [f"Findings ({len(findings)})"]
    for f in findings:
        lines.append(f"  {f['date']}  {f['severity'].upper():<7} {f['rule']}")
        lines += ["      " + chunk for chunk in wrap(f["message"], 90)]
    return lines


def wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width) or [""]


def hms(seconds: float) -> str:
    s = int(round(seconds or 0))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
