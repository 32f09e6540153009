"""Which recording devices measure altitude with a barometer.

No activity file says where its altitude came from, so this is a heuristic on the device name:
a device whose model has a barometric altimeter (from vendor spec sheets) is assumed to have written
barometric altitude; every other device, an unknown device, a phone app or a web service is assumed
to have written GPS (or map-derived) altitude, which is noisier. Being wrong in the "gps" direction
is the cheap mistake: the analysis then uses a larger noise threshold and lower confidence, never a
false alarm. Extend the patterns when a new family appears; keep them to families we are sure of.
"""

from __future__ import annotations

import re

# Garmin product ids newer than the profile bundled with fitparse 1.2.0 (it prints them as ints).
# Only ids confirmed against the real files in shared/data (named there by the Garmin FIT SDK).
GARMIN_PRODUCT_IDS: dict[int, str] = {
    2158: "fr735xt",
    2888: "fr645m",
    3113: "fr945",
    3290: "fenix6",
    3291: "fenix6x",
    4024: "fr955",
}

# FIT manufacturer ids missing from fitparse 1.2.0's profile.
MANUFACTURER_IDS: dict[int, str] = {294: "coros"}

# Families with a barometric altimeter. Garmin Forerunner: only the 6xx/7xx/9xx multisport line and
# 255/265 have one (fr10/15/25/110/2xx older models do not); all fenix/epix/enduro/instinct do.
_BAROMETRIC = re.compile(
    r"fenix|epix|tactix|enduro|instinct|descent|quatix|marq|"
    r"fr(?:6[0-9]{2}|7[0-9]{2}|9[0-9]{2}|255|265)|forerunner ?(?:6|7|9)\d\d|"
    r"edge ?(?:130|5\d\d|8\d\d|10\d\d|1\d\d\d|explore)|vivo_?active_?hr|"
    r"oregon|gpsmap ?\d+s|etrex ?30|"
    r"coros|suunto 9 baro|\bbaro\b|ambit3? ?peak|ambit3 ?vertical|"
    r"elemnt|vantage|grit ?x",
    re.IGNORECASE,
)


def is_barometric(device: str | None) -> bool:
    """True when the device name belongs to a family known to have a barometric altimeter."""
    return bool(device) and bool(_BAROMETRIC.search(device or ""))


def device_name(manufacturer: object, product: object) -> str | None:
    """'garmin fenix6', 'coros pace 2' — lower case, manufacturer not repeated."""
    if isinstance(manufacturer, int):
        manufacturer = MANUFACTURER_IDS.get(manufacturer, f"manufacturer {manufacturer}")
    maker = str(manufacturer).strip().lower() if manufacturer is not None else ""
    model = str(product).strip().lower() if product is not None else ""
    if maker and model.startswith(maker):
        model = model[len(maker):].strip()
    name = f"{maker} {model}".strip()
    return name or None
