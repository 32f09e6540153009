"""Words in warning emails: a past run is named by its date, never "today"; numbers carry units and
a plain comparison, never a bare ratio beside a threshold."""

from __future__ import annotations

from workers.notify.email import render_finding_email

SPIKE = {"rule": "single_run_spike", "severity": "caution", "value": 1.65, "threshold": 1.3,
         "message": "Today's 40.8 km is 65% longer than your longest run of the last 30 days "
                    "(24.7 km).", "sources": ["upload"], "date": "2026-11-29"}
CADENCE = {"rule": "cadence_drop", "severity": "caution", "value": 6.1, "threshold": 5.0,
           "message": "At the same speeds, your cadence was 160 steps/min today vs 170.",
           "sources": ["garmin"], "date": "2026-11-28"}


def _text() -> str:
    msg = render_finding_email([SPIKE, CADENCE], "runner@example.com",
                               "https://kg.example/unsubscribe/t", "https://kg.example/me",
                               key="words_1")
    return msg.get_body(("plain",)).get_content()


def test_a_past_run_is_named_by_its_date():
    text = _text()
    assert "Your 40.8 km run on Sun 29 Nov is 65% longer" in text
    assert "160 steps/min on Sat 28 Nov vs 170" in text
    assert "today" not in text.lower()


def test_numbers_come_with_a_plain_comparison():
    text = _text()
    assert "1.6× your longest run of the 30 days before (we flag above 1.3×)" in text
    assert "threshold" not in text
