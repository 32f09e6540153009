"""Which recording devices measure altitude with a barometer.

No activity file says where its altitude came from. FIT files do say which device wrote them
(`file_id.manufacturer` + `product` / `garmin_product`), so the first answer is a table keyed by
those ids (`BAROMETER_BY_ID`); device names (GPX `creator`, Strava `device_name`, FIT product names)
fall back to family patterns. Sources:
* product ids: the Garmin FIT SDK profile (as bundled with fitparse 1.2.0, `garmin_product` and
  `manufacturer` types), and the ids the real files in shared/data carry next to their product
  names (COROS 802 "COROS PACE 2", 841 "COROS APEX Pro"; Suunto 34 "Suunto 9 Baro");
* barometer or not: the vendors' spec sheets for each model (Garmin "barometric altimeter" in the
  sensor list; Forerunner 10/15/25/110/2xx/310XT/610/620/630/735XT have none, so they record GPS
  altitude). The FR630 is *not* barometric although its number looks like the 6xx line that is;
  a FIT written by the Stryd app carries the footpod's barometric altitude.
Being wrong in the "gps" direction is the cheaper mistake (a larger noise threshold); every entry
here is a model we are sure of. Extend the table, not the patterns, when a new model appears.
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

_GARMIN_BARO = {
    1328: "fr910xt", 1765: "fr920xt", 2691: "fr935", 3113: "fr945", 4024: "fr955",
    2888: "fr645m", 1551: "fenix", 1967: "fenix2", 2050: "fenix3", 2413: "fenix3_hr",
    2697: "fenix5", 2544: "fenix5s", 2604: "fenix5x", 3290: "fenix6", 3291: "fenix6x",
    2337: "vivo_active_hr", 1567: "edge810",
}
_GARMIN_GPS_ONLY = {
    1482: "fr10", 1903: "fr15", 1932: "fr15", 2148: "fr25", 1124: "fr110", 1632: "fr220",
    2153: "fr225", 2157: "fr230", 2431: "fr235", 1018: "fr310xt", 1446: "fr310xt_4t",
    717: "fr405", 988: "fr60", 1436: "fr70", 782: "fr50", 1345: "fr610", 1623: "fr620",
    2156: "fr630", 2158: "fr735xt",
}
# (manufacturer, product id) -> has a barometer. Manufacturer as fitparse names it.
BAROMETER_BY_ID: dict[tuple[str, int], bool] = {
    **{("garmin", pid): True for pid in _GARMIN_BARO},
    **{("garmin", pid): False for pid in _GARMIN_GPS_ONLY},
    ("coros", 802): True,  # PACE 2
    ("coros", 841): True,  # APEX Pro
    ("suunto", 34): True,  # Suunto 9 Baro
}
# Makers whose every activity file carries barometric altitude (the Stryd footpod has one).
BAROMETER_BY_MAKER: dict[str, bool] = {"stryd": True}

# Families with a barometric altimeter, for names without ids (GPX creator, Strava device_name).
# Garmin Forerunner: only 645, 745, 9x5 and 255/265 (not 10/15/25/110/2x0/2x5/310XT/6x0/735XT).
_BAROMETRIC = re.compile(
    r"fenix|epix|tactix|enduro|instinct|descent|quatix|marq|"
    r"fr(?:645m?|745|9[1-7]\dx?t?|255s?|265s?)\b|forerunner ?(?:645|745|9[1-7]\d|255|265)|"
    r"edge ?(?:130|5\d\d|8\d\d|10\d\d|1\d\d\d|explore)|vivo_?active_?hr|"
    r"oregon|gpsmap ?\d+s|etrex ?30|"
    r"coros|suunto ?9.{0,3}baro|\bbaro\b|ambit ?3? ?peak|ambit ?3 ?vertical|stryd|"
    r"elemnt|vantage|grit ?x",
    re.IGNORECASE,
)


def is_barometric(device: str | None) -> bool:
    """True when the device name belongs to a family known to have a barometric altimeter."""
    return bool(device) and bool(_BAROMETRIC.search(device or ""))


def barometer_by_id(manufacturer: object, product: object, product_name: object = None
                    ) -> bool | None:
    """The table's answer for a FIT creator, or None when the table does not know the device."""
    if isinstance(manufacturer, int):
        manufacturer = MANUFACTURER_IDS.get(manufacturer, manufacturer)
    maker = str(manufacturer).strip().lower() if manufacturer is not None else ""
    if maker in BAROMETER_BY_MAKER:
        return BAROMETER_BY_MAKER[maker]
    if isinstance(product, str):  # fitparse named it: map back to the id
        ids = {name: pid for pid, name in {**_GARMIN_BARO, **_GARMIN_GPS_ONLY}.items()}
        product = ids.get(product, product)
    if isinstance(product, int) and (maker, product) in BAROMETER_BY_ID:
        return BAROMETER_BY_ID[(maker, product)]
    if isinstance(product_name, str) and is_barometric(product_name):
        return True
    return None


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
