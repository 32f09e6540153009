"""Plain words for findings on pages: a title, what it means and what to consider, said to the
runner ("you") on /me and about the runner ("they") on the club's member page.

The rule's own message carries the numbers; these lines carry the meaning, so a page never shows a
bare ratio beside a threshold.
"""

from __future__ import annotations

SEVERITY_ORDER = {"high": 0, "caution": 1, "info": 2}
SEVERITY_WORD = {"high": "Act on this", "caution": "Worth a look", "info": "For context"}

# rule: (title, what it means, what to consider) in the second person.
GUIDE: dict[str, tuple[str, str, str]] = {
    "single_run_spike": (
        "One run much longer than usual",
        "You ran a lot further than your longest run of the month before.",
        "Keep the next runs easy and shorter; build long runs by about 10% at a time."),
    "return_to_running": (
        "Back after a break",
        "You are running again after a pause, when tissues have lost some conditioning.",
        "Start shorter than before the break and add distance week by week."),
    "weekly_jump": (
        "Your week jumped",
        "Your last 7 days were much bigger than the same stretch two weeks earlier.",
        "Hold this week's volume steady (or lower) before adding more."),
    "acwr": (
        "This week vs your usual month",
        "Your recent load is high compared with what you have done over the last four weeks.",
        "Background only: spread hard days out if the next weeks stay this big."),
    "weekly_descent": (
        "Much more downhill than usual",
        "You ran far more descent this week than in your usual weeks; downhill loads the knee.",
        "Spread hilly runs over more days, or walk the steepest descents for a while."),
    "downhill_novel": (
        "A steeper or longer descent than you are used to",
        "This run had more downhill than anything in your recent weeks.",
        "Give the knees an easy day after it; add big descents gradually."),
    "route_repetition": (
        "Same route, same direction",
        "Much of your road running repeats the same stretches in the same direction, so the same "
        "leg always takes the road's slope.",
        "Run the loop the other way some days, or vary the route."),
    "track_direction": (
        "Always the same way round the track",
        "Most of your track laps went the same direction; the inside leg takes every bend.",
        "Alternate direction on some days, or use outer lanes for easy laps."),
    "gct_asymmetry": (
        "Uneven ground contact",
        "One foot stayed on the ground noticeably longer than the other (a watch measure, not an "
        "injury test).",
        "If it persists or something hurts, get it looked at."),
    "cadence_drop": (
        "Fewer steps per minute than usual",
        "At the same speeds you took fewer, longer steps, which loads the knee more.",
        "Try slightly quicker, shorter steps (5-10% more per minute)."),
    "shoe_mileage": (
        "Shoes with many kilometres",
        "This pair has carried you a long way; cushioning fades with distance.",
        "Think about a new pair, or rotate two pairs."),
    "knee_load": (
        "Knee load above what you are used to",
        "Your recent runs, weighed for what they ask of the knee (descents, speed, step length), "
        "add up to more than your usual weeks have prepared you for.",
        "Make the next days easy and flat, or rest; build descents and long days back gradually."),
}

_THIRD = (("You ran", "They ran"), ("You are", "They are"), ("you are", "they are"),
          ("you have", "they have"), ("You ", "They "), ("Your ", "Their "), (" your ", " their "),
          (" you ", " them "), (" you.", " them."))


def guide(rule: str, audience: str = "runner") -> dict:
    title, means, consider = GUIDE.get(rule, (rule.replace("_", " ").capitalize(), "", ""))
    if audience == "coach":
        title, means = _third_person(title), _third_person(means)
        consider = _coach_consider(consider)
    return {"title": title, "means": means, "consider": consider}


def _third_person(text: str) -> str:
    for a, b in _THIRD:
        text = text.replace(a, b)
    return text


def _coach_consider(text: str) -> str:
    return f"Suggest to them: {text[0].lower()}{text[1:]}" if text else text


def by_severity(findings: list) -> list:
    """Most severe first, then newest."""
    def key(f):
        sev = f["severity"] if isinstance(f, dict) else f.severity
        day = f["date"] if isinstance(f, dict) else f.date.isoformat()
        return (SEVERITY_ORDER.get(sev, 3), _neg(day))
    return sorted(findings, key=key)


def _neg(day: str) -> str:
    # newest first inside one severity: invert the ISO date's digits
    return "".join(chr(ord("9") - ord(c) + ord("0")) if c.isdigit() else c for c in day)
