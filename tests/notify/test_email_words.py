"""Words in warning emails: a past run is named by its date, never "today"; numbers carry units and
a plain comparison, never a bare ratio beside a threshold."""

from __future__ import annotations

from workers.notify.email import dated, finding_email

SPIKE = {"rule": "single_run_spike", "severity": "caution", "value": 1.65, "threshold": 1.3,
         "message": "Today's 40.8 km is 65% longer than your longest run of the last 30 days "
                    "(24.7 km).", "sources": ["upload"], "date": "2026-11-29"}
CADENCE = {"rule": "cadence_drop", "severity": "caution", "value": 6.1, "threshold": 5.0,
           "message": "At the same speeds, your cadence was 160 steps/min today vs 170.",
           "sources": ["garmin"], "date": "2026-11-28"}


def _text() -> str:
    msg = finding_email([SPIKE, CADENCE], "runner@example.com",
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


ROLLING = {"rule": "weekly_jump", "severity": "info", "value": 1.4, "threshold": 1.3,
           "message": "In the last 7 days you ran 57.4 km, 40% more than your usual training week.",
           "evidence": {"evidence": "moderate-weak"}, "sources": ["upload"], "date": "2026-11-29"}


def test_a_rolling_week_is_named_by_the_day_it_ends():
    assert dated(ROLLING["message"], "Sun 29 Nov", "Mon 23 Nov").startswith(
        "In the 7 days to Sun 29 Nov you ran 57.4 km")


JUMP = {"rule": "weekly_jump", "severity": "caution", "value": 1.83, "threshold": 1.5,
        "message": "This week so far you ran 75.2 km, 83% more than your usual training week.",
        "evidence": {"evidence": "moderate-weak"}, "sources": ["upload"], "date": "2026-11-29"}
DOWNHILL = {"rule": "downhill_novel", "severity": "caution", "value": 31.9, "threshold": 1.3,
            "message": "Race: This run descended 1596 m; the most in one run before was 26 m.",
            "evidence": {"evidence": "moderate mechanism, expert threshold"},
            "sources": ["upload"], "date": "2026-11-29"}


def _week_mail():
    return finding_email([JUMP, DOWNHILL, {**SPIKE, "date": "2026-11-24"}],
                                "runner@example.com", "https://kg.example/unsubscribe/t",
                                "https://kg.example/me", key="words_2")


def test_a_week_is_named_by_its_days_and_the_email_by_its_week():
    msg = _week_mail()
    text = msg.get_body(("plain",)).get_content()
    assert "From Mon 23 Nov to Sun 29 Nov you ran 75.2 km" in text
    assert "Race: Your run on Sun 29 Nov descended 1596 m" in text
    assert "this week" not in text.lower() and "this run" not in text.lower()
    assert msg["Subject"] == "kneeguard: 3 warnings about your week of 23 Nov (worth a look)"
    assert "your week of Monday 23 Nov" in text


def test_each_finding_carries_its_evidence_line_and_weeks_apart_are_not_one_week():
    text = _week_mail().get_body(("plain",)).get_content()
    assert "evidence: moderate-weak" in text and "evidence: moderate mechanism" in text
    assert "1.8× your usual training week (we flag above 1.5×)" in text
    apart = finding_email([JUMP, {**CADENCE, "date": "2026-11-16"}], "runner@example.com",
                                 "https://kg.example/unsubscribe/t", "https://kg.example/me",
                                 key="words_3")
    assert apart["Subject"] == "kneeguard: 2 warnings about your running (worth a look)"
