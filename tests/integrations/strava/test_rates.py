"""RateLimitState parsing and RateGovernor planning: pure, with fixed clocks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.integrations.strava.rates import RateGovernor, RateLimitState, next_quarter_hour, retry_after_429

NOW = datetime(2026, 6, 10, 10, 7, 30, tzinfo=UTC)  # 450 s to 10:15, 49,950 s to midnight


def state(read_usage: str = "10,100", overall_usage: str = "20,200",
          when: datetime = NOW) -> RateLimitState:
    headers = {"X-RateLimit-Limit": "200,2000", "X-RateLimit-Usage": overall_usage,
               "X-ReadRateLimit-Limit": "100,1000", "X-ReadRateLimit-Usage": read_usage}
    parsed = RateLimitState.from_headers(headers, when)
    assert parsed is not None
    return parsed


def test_headers_are_parsed_per_bucket_and_window():
    s = state("75,310")
    assert (s.read.limit_short, s.read.limit_daily) == (100, 1000)
    assert (s.read.usage_short, s.read.usage_daily) == (75, 310)
    assert s.overall.limit_short == 200


def test_header_names_are_case_insensitive_and_garbage_is_ignored():
    s = RateLimitState.from_headers({"x-ratelimit-limit": "600,30000",
                                     "X-Ratelimit-Usage": "314,27536",
                                     "X-ReadRateLimit-Limit": "oops"}, NOW)
    assert s.overall.usage_daily == 27536 and s.read is None
    assert RateLimitState.from_headers({"Content-Type": "application/json"}, NOW) is None


def test_state_round_trips_through_a_dict():
    s = state("1,2")
    assert RateLimitState.from_dict(s.to_dict()) == s


def test_live_calls_go_until_the_budget_is_spent():
    gov = RateGovernor()
    assert gov.wait_seconds(state("99,500"), "live", NOW) == 0.0
    assert gov.wait_seconds(state("100,500"), "live", NOW) == 450.0


def test_backfill_keeps_a_fifth_of_the_window_for_live_events():
    gov = RateGovernor()
    assert gov.wait_seconds(state("79,500"), "backfill", NOW) == 0.0
    assert gov.wait_seconds(state("80,500"), "backfill", NOW) == 450.0
    assert gov.wait_seconds(state("80,500"), "live", NOW) == 0.0


def test_backfill_stops_for_the_day_at_its_daily_share():
    assert RateGovernor().wait_seconds(state("1,800"), "backfill", NOW) == 49_950.0
    assert RateGovernor().wait_seconds(state("1,800"), "live", NOW) == 0.0


def test_the_overall_bucket_counts_too():
    assert RateGovernor().wait_seconds(state("1,1", "200,300"), "live", NOW) == 450.0


def test_usage_from_an_earlier_window_is_stale():
    earlier = datetime(2026, 6, 10, 9, 59, tzinfo=UTC)
    assert RateGovernor().wait_seconds(state("100,500", when=earlier), "live", NOW) == 0.0
    yesterday = datetime(2026, 6, 9, 23, 50, tzinfo=UTC)
    assert RateGovernor().wait_seconds(state("100,1000", when=yesterday), "live", NOW) == 0.0


def test_no_state_yet_means_go():
    assert RateGovernor().wait_seconds(None, "backfill", NOW) == 0.0


def test_unknown_priority_is_rejected():
    with pytest.raises(ValueError):
        RateGovernor().wait_seconds(state(), "urgent", NOW)  # type: ignore[arg-type]


def test_429_waits_to_the_quarter_hour_or_to_midnight():
    assert retry_after_429(state("101,500"), NOW) == 450.0
    assert retry_after_429(state("5,1000"), NOW) == 49_950.0
    assert retry_after_429(None, NOW) == 450.0


def test_quarter_hours_are_natural_boundaries():
    assert next_quarter_hour(datetime(2026, 1, 1, 23, 59, 59, tzinfo=UTC)) == datetime(
        2026, 1, 2, 0, 0, tzinfo=UTC)
    assert next_quarter_hour(datetime(2026, 1, 1, 8, 15, tzinfo=UTC)) == datetime(
        2026, 1, 1, 8, 30, tzinfo=UTC)
