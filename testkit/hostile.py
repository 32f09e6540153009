"""Hostile inputs, built in memory; used by tests/parsing (refused cleanly) and bench/parse.py (how
fast)."""

from __future__ import annotations

import io
import zipfile
import zlib

GPX_HEAD = b'<?xml version="1.0"?>\n'
GPX_BODY = (b'<gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1">'
            b"<trk><name>&x;</name><trkseg><trkpt lat=\"1\" lon=\"1\">"
            b"<time>2020-01-01T00:00:00Z</time></trkpt></trkseg></trk></gpx>")


def billion_laughs_gpx() -> bytes:
    entities = [b'<!ENTITY x0 "ha">']
    entities += [b'<!ENTITY x%d "%s">' % (i, b"&x%d;" % (i - 1) * 10) for i in range(1, 10)]
    dtd = b"<!DOCTYPE gpx [" + b"".join(entities) + b'<!ENTITY x "&x9;">]>'
    return GPX_HEAD + dtd + GPX_BODY


def xxe_gpx() -> bytes:
    return GPX_HEAD + b'<!DOCTYPE gpx [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + GPX_BODY


def xmlns_bomb_gpx(size: int = 200_000) -> bytes:
    """gpxpy's namespace regex is quadratic in runs of ' xmlns' (reliability.md §5.4)."""
    return GPX_HEAD + b"<!-- " + b" xmlns" * (size // 6) + b" -->" + GPX_BODY.replace(b"&x;", b"")


def zeros_deflated(size: int) -> bytes:
    """Raw deflate of `size` zero bytes, built in 1 MiB steps (no big buffer)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    parts = [packer.compress(chunk) for _ in range(size >> 20)]
    return b"".join(parts) + packer.flush()


def gzip_of_zeros(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    return b"".join(packer.compress(chunk) for _ in range(size >> 20)) + packer.flush()


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


def zip_bomb(size: int = 256 << 20) -> bytes:
    """One member declaring `size` bytes of zeros (~250 KB on disk for 256 MiB)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("activities/bomb.fit")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as handle:
            chunk = bytes(1 << 20)
            for _ in range(size >> 20):
                handle.write(chunk)
    return buffer.getvalue()


def lying_zip_bomb(size: int = 64 << 20) -> bytes:
    """Declares a modest size (ratio 10:1) in the central directory but inflates to `size`."""
    data = bytearray(zip_of({"activities/liar.fit": bytes(size)}))
    central = data.rfind(b"PK\x01\x02")
    compressed = int.from_bytes(data[central + 20:central + 24], "little")
    data[central + 24:central + 28] = (compressed * 10).to_bytes(4, "little")
    return bytes(data)


def nested_zip_bomb(depth: int = 4) -> bytes:
    payload = zip_of({f"activities/{i}.fit": bytes(8 << 20) for i in range(4)})
    for level in range(depth):
        payload = zip_of({f"level{level}.zip": payload, f"copy{level}.zip": payload})
    return payload


def many_entries_zip(count: int) -> bytes:
    return zip_of({f"activities/{i}.fit": b"" for i in range(count)})


def traversal_zip(fit: bytes) -> bytes:
    return zip_of({"../../etc/evil.fit": fit, "/abs/evil.gpx": b"<gpx/>",
                   "C:\\win\\evil.fit": fit, "activities/ok.fit": fit})


def gzip_bomb_zip() -> bytes:
    # Stored, as exports store their .gz files: only the gzip layer is a bomb.
    return zip_of({"activities/bomb.fit.gz": gzip_of_zeros(64 << 20)}, zipfile.ZIP_STORED)
