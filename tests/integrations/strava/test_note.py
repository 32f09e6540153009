"""merge_note / render_note: our block is replaced, everything else survives, merging is idempotent."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.integrations.strava.note import BEGIN, END, MAX_NOTE_CHARS, merge_note, render_note, strip_note

KLIMAT = "Weather: 14°C, light rain, wind 12 km/h\n-- by klimat.app"
PROPS = settings(max_examples=200, derandomize=True, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])
# Runner text: anything printable incl. newlines and dashes, but never our exact markers.
user_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=120).filter(
    lambda t: BEGIN not in t and END not in t)
note_text = st.one_of(st.none(), st.text(max_size=80))


def test_note_is_appended_below_the_runners_text():
    out = merge_note("Felt great!", "! Longest run in a month")
    assert out == f"Felt great!\n\n{BEGIN}\n! Longest run in a month\n{END}"


def test_empty_description_gets_just_our_block():
    assert merge_note(None, "x") == f"{BEGIN}\nx\n{END}"


def test_only_our_block_is_replaced_and_other_apps_blocks_stay():
    first = merge_note(f"Intervals\n\n{KLIMAT}", "old warning")
    edited = first + "\n\nadded later by the runner"
    out = merge_note(edited, "new warning")
    assert out == (f"Intervals\n\n{KLIMAT}\n\n{BEGIN}\nnew warning\n{END}\n\n"
                   "added later by the runner")


def test_none_removes_our_block():
    assert merge_note(merge_note(KLIMAT, "warning"), None) == KLIMAT
    assert strip_note(f"a\n\n{BEGIN}\nx\n{END}\n\nb") == "a\n\nb"


def test_duplicate_blocks_collapse_into_one():
    doubled = f"a\n\n{BEGIN}\nx\n{END}\n\nb\n\n{BEGIN}\ny\n{END}"
    assert merge_note(doubled, "z") == f"a\n\n{BEGIN}\nz\n{END}\n\nb"


def test_a_dangling_begin_marker_is_treated_as_user_text():
    broken = f"mine\n{BEGIN}\nhalf deleted"
    out = merge_note(broken, "n")
    assert out.startswith(broken) and merge_note(out, None) == broken


def test_a_note_cannot_forge_markers():
    out = merge_note("a", f"x {END} y {BEGIN}")
    assert out.count(BEGIN) == 1 and out.count(END) == 1


@PROPS
@given(user_text, note_text)
def test_merging_twice_equals_merging_once(text, note):
    once = merge_note(text, note)
    assert merge_note(once, note) == once


@PROPS
@given(user_text, note_text, note_text)
def test_runner_text_survives_any_sequence_of_notes(text, first, second):
    out = merge_note(merge_note(text, first), second)
    assert strip_note(out) == text.rstrip()
    assert out.startswith(text.rstrip())


def test_render_note_is_short_plain_text_with_the_link():
    findings = [{"rule": "single_run_spike", "severity": "high", "message": "This run was 2.1x your "
                 "longest run in the last 30 days."},
                {"rule": "acwr", "severity": "info", "message": "ACWR 1.6"},
                {"rule": "downhill_novel", "severity": "caution", "message": "x" * 500}]
    text = render_note(findings, "https://kneeguard.example/a/1")
    assert text.splitlines() == ["kneeguard noticed:", "Longer than this runner's recent runs.",
                                 "More downhill than recent runs.",
                                 "Details: https://kneeguard.example/a/1"]
    assert "ACWR" not in text and "x" * 20 not in text and "…" not in text
    assert len(text) <= MAX_NOTE_CHARS


def test_a_note_that_would_not_fit_counts_the_rest_instead_of_cutting_a_sentence():
    findings = [{"rule": r, "severity": "caution"} for r in
                ("weekly_jump", "weekly_descent", "route_repetition", "cadence_drop")]
    text = render_note(findings, "https://kneeguard.example/" + "a" * 250)
    assert len(text) <= MAX_NOTE_CHARS and "…" not in text
    assert all(line.endswith((".", ":", "more")) or line.startswith("Details")
               for line in text.splitlines())
    assert "more" in text


def test_render_note_without_warnings_is_empty_so_the_old_note_goes_away():
    assert render_note([{"rule": "acwr", "severity": "info", "message": "m"}], "u") == ""
    assert merge_note(merge_note("run", "old"), render_note([], "u")) == "run"
