"""The analyze job decodes full metrics only for the last FULL_METRICS_DAYS: every rule that reads
more than distance must look back less than that, reminders included."""

from workers.analysis import Thresholds
from workers.analysis.windows import FULL_METRICS_DAYS, rule_windows

NEEDS_FULL_METRICS = ("downhill_novel", "route_repetition", "track_direction", "gct_asymmetry",
                      "cadence_drop")


def test_rules_that_need_full_metrics_look_back_less_than_the_decoded_window():
    t = Thresholds()
    windows = rule_windows(t)
    for rule in NEEDS_FULL_METRICS:
        assert windows[rule] < FULL_METRICS_DAYS, rule
    # a route/track reminder reads the exposure window again `reminder_days` after the alert
    assert max(t.repetition_window_days, t.track_window_days) + t.reminder_days < FULL_METRICS_DAYS
