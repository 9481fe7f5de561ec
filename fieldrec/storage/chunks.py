"""Pack and parse the metadata chunks fieldrec writes and imports: bext v2, iXML, guan, cue + LIST/adtl,
LIST/INFO. Plain values in, bytes out (and back); which model field goes where is ``chunk_map``.

Text encodings: bext text fields are ASCII (EBU Tech 3285; other characters become ``?``); iXML and GUANO
are UTF-8; INFO and labl/ltxt are UTF-8 (RIFF leaves the code page open; readers that assume latin-1
show non-ASCII text garbled but the chunk stays well-formed). Parsers accept what real recorders write:
garbage after a NUL, non-ASCII in ASCII fields (decoded as UTF-8, else latin-1), GUANO without a space
after the colon.
"""

from __future__ import annotations

import re
import struct
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from fieldrec.storage.riff import iter_subchunks, pack_chunk, pack_list

BEXT_FIXED = 602  #: bytes of a version-2 bext before CodingHistory
LOUDNESS_UNKNOWN = 0x7FFF  #: int16 written when a loudness value is unknown
IXML_VERSION = "2.10"
FIELDREC_NS = "https://fieldrec.invalid/ixml/1"
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# ------------------------------------------------------------------------------------------- text helpers
def ascii_text(text: str, keep: str = "") -> str:
    """``text`` as printable ASCII: accents stripped (``é`` → ``e``), other characters ``?``, control
    characters a space (except those in ``keep``, e.g. CR LF in a bext Description)."""
    out = []
    for ch in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(ch):
            continue
        code = ord(ch)
        out.append(ch if 32 <= code < 127 or ch in keep else ("?" if code >= 127 else " "))
    return "".join(out)


def decode_text(raw: bytes) -> str:
    """Bytes of a text field: cut at the first NUL (garbage after it ignored), UTF-8 else latin-1."""
    raw = raw.split(b"\0", 1)[0]
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return raw.decode("latin-1").strip()


def _fixed(text: str, size: int, keep: str = "") -> bytes:
    return ascii_text(text, keep).encode("ascii")[:size].ljust(size, b"\0")


# ------------------------------------------------------------------------------------------- bext
@dataclass
class Bext:
    """EBU Tech 3285 version 2. Loudness values in LUFS/LU/dBTP (None = unknown); time_reference in
    samples since local midnight."""

    description: str = ""
    originator: str = "fieldrec"
    originator_reference: str = ""
    origination_date: str = ""  #: yyyy-mm-dd
    origination_time: str = ""  #: hh:mm:ss
    time_reference: int = 0
    version: int = 2
    umid: bytes = b"\0" * 64
    loudness_value: float | None = None
    loudness_range: float | None = None
    max_true_peak_level: float | None = None
    max_momentary_loudness: float | None = None
    max_short_term_loudness: float | None = None
    coding_history: str = ""

    def pack(self) -> bytes:
        def loud(value: float | None) -> int:
            if value is None:
                return LOUDNESS_UNKNOWN
            return max(-32768, min(32766, round(value * 100)))

        body = b"".join([
            _fixed(self.description, 256, "\r\n"), _fixed(self.originator, 32), _fixed(self.originator_reference, 32),
            _fixed(self.origination_date, 10), _fixed(self.origination_time, 8),
            struct.pack("<IIH", self.time_reference & 0xFFFFFFFF, self.time_reference >> 32, self.version),
            self.umid[:64].ljust(64, b"\0"),
            struct.pack("<5h", *(loud(v) for v in (self.loudness_value, self.loudness_range,
                                                   self.max_true_peak_level, self.max_momentary_loudness,
                                                   self.max_short_term_loudness))),
            b"\0" * 180,
            ascii_text(self.coding_history.replace("\r\n", "\n"), "\n").replace("\n", "\r\n").encode("ascii"),
        ])
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        return body

    @classmethod
    def parse(cls, body: bytes) -> Bext:
        body = body.ljust(BEXT_FIXED, b"\0")
        low, high, version = struct.unpack("<IIH", body[338:348])
        out = cls(
            description=decode_text(body[0:256]), originator=decode_text(body[256:288]),
            originator_reference=decode_text(body[288:320]), origination_date=decode_text(body[320:330]),
            origination_time=decode_text(body[330:338]), time_reference=low | (high << 32), version=version,
            umid=bytes(body[348:412]), coding_history=decode_text(body[BEXT_FIXED:]),
        )
        if version >= 2:
            values = struct.unpack("<5h", body[412:422])
            v = [None if x == LOUDNESS_UNKNOWN else x / 100 for x in values]
            (out.loudness_value, out.loudness_range, out.max_true_peak_level, out.max_momentary_loudness,
             out.max_short_term_loudness) = v
        return out

    def description_fields(self) -> dict[str, str]:
        """``KEY=value`` lines of the Description (Sound Devices ``sSCENE=``, Zoom/Pro Tools ``dSCENE=``…),
        keys without their one-letter prefix."""
        return parse_description(self.description)


def parse_description(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in re.split(r"[\r\n]+", text):
        m = re.match(r"^([a-z]?)([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if m:
            out.setdefault(m.group(2), m.group(3).strip())
    return out


def description_lines(values: list[tuple[str, str]], prefix: str = "s", limit: int = 256) -> str:
    """``sKEY=value`` lines joined by CR LF, ASCII, cut so the whole fits ``limit`` bytes (whole lines
    first; the NOTE line is cut last)."""
    lines = []
    for key, value in values:
        clean = ascii_text(" ".join(str(value).split()))
        lines.append(f"{prefix}{key}={clean}")
    out = ""
    for line in lines:
        candidate = out + line + "\r\n"
        if len(candidate) > limit:
            room = limit - len(out) - 2
            if room > len(line.split("=", 1)[0]) + 1:
                out += line[:room] + "\r\n"
            break
        out = candidate
    return out


# ------------------------------------------------------------------------------------------- iXML
def xml_text(value: Any) -> str:
    """Text that XML 1.0 can hold (escaping is ElementTree's; characters XML forbids are dropped)."""
    return _XML_ILLEGAL.sub("", "" if value is None else str(value))


def ixml_pack(root: ET.Element) -> bytes:
    ET.indent(root, space=" ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8",
                                                                     xml_declaration=False) + b"\n"


def sub(parent: ET.Element, tag: str, text: Any = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = xml_text(text)
    return el


def ixml_parse(body: bytes) -> ET.Element:
    """The iXML root element; raises ``ValueError`` (one line) when the XML is not well-formed."""
    text = body.split(b"\0", 1)[0].strip()
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"iXML is not well-formed XML ({exc})") from None


def ixml_values(root: ET.Element) -> dict[str, Any]:
    """The iXML as nested plain values: element → text, repeated elements → lists (namespaces dropped)."""

    def tag(el: ET.Element) -> str:
        return el.tag.split("}", 1)[-1]

    def conv(el: ET.Element) -> Any:
        kids = list(el)
        if not kids:
            return (el.text or "").strip()
        out: dict[str, Any] = {}
        for kid in kids:
            value = conv(kid)
            name = tag(kid)
            if name in out:
                if not isinstance(out[name], list):
                    out[name] = [out[name]]
                out[name].append(value)
            else:
                out[name] = value
        return out

    return {tag(root): conv(root)}


# ------------------------------------------------------------------------------------------- GUANO
def guano_escape(value: Any) -> str:
    return str(value).replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def guano_pack(values: list[tuple[str, Any]]) -> bytes:
    """GUANO 1.0 text (``GUANO|Version: 1.0`` first), UTF-8, padded with a newline to an even length."""
    lines = ["GUANO|Version: 1.0"]
    for key, value in values:
        if value is None or value == "" or key == "GUANO|Version":
            continue
        lines.append(f"{key}: {guano_escape(value)}")
    body = ("\n".join(lines) + "\n").encode("utf-8")
    return body + (b"\n" if len(body) & 1 else b"")


def guano_parse(body: bytes) -> dict[str, str]:
    """GUANO ``key: value`` lines (a missing space after the colon tolerated; ``\\n`` unescaped)."""
    text = body.split(b"\0", 1)[0].decode("utf-8", errors="replace")
    out: dict[str, str] = {}
    for line in text.splitlines():
        if ":" not in line:
            continue
        key, value = line.split(":", 1)
        key = key.strip()
        if not key:
            continue
        value = value.strip()
        value = value.replace("\\n", "\n")  # as the GUANO spec and guano-py: only newlines are escaped
        out[key] = value
    return out


# ------------------------------------------------------------------------------------------- cue / adtl
@dataclass
class CuePoint:
    """A cue point at ``frame``; ``length`` > 0 makes a region (an ``ltxt`` with purpose ``rgn ``)."""

    id: int
    frame: int
    label: str = ""
    length: int = 0
    note: str = ""


def cue_pack(points: list[CuePoint]) -> bytes:
    body = struct.pack("<I", len(points))
    for p in points:
        body += struct.pack("<II4sIII", p.id, p.frame, b"data", 0, 0, p.frame)
    return pack_chunk(b"cue ", body)


def _zstr(text: str) -> bytes:
    return text.replace("\0", "").encode("utf-8") + b"\0"


def adtl_pack(points: list[CuePoint]) -> bytes:
    subs: list[tuple[bytes, bytes]] = []
    for p in points:
        if p.label:
            subs.append((b"labl", struct.pack("<I", p.id) + _zstr(p.label)))
        if p.note:
            subs.append((b"note", struct.pack("<I", p.id) + _zstr(p.note)))
        if p.length > 0:
            subs.append((b"ltxt", struct.pack("<II4sHHHH", p.id, p.length, b"rgn ", 0, 0, 0, 0)))
    return pack_list(b"adtl", subs)


def cue_parse(cue_body: bytes | None, adtl_body: bytes | None) -> list[CuePoint]:
    points: dict[int, CuePoint] = {}
    if cue_body and len(cue_body) >= 4:
        count = struct.unpack("<I", cue_body[:4])[0]
        for i in range(min(count, (len(cue_body) - 4) // 24)):
            cid, _pos, _fcc, _cs, _bs, offset = struct.unpack("<II4sIII", cue_body[4 + 24 * i:28 + 24 * i])
            points[cid] = CuePoint(cid, offset)
    if adtl_body:
        for sid, body in iter_subchunks(adtl_body):
            if len(body) < 4:
                continue
            cid = struct.unpack("<I", body[:4])[0]
            point = points.setdefault(cid, CuePoint(cid, 0))
            if sid == b"labl":
                point.label = decode_text(body[4:])
            elif sid == b"note":
                point.note = decode_text(body[4:])
            elif sid == b"ltxt" and len(body) >= 8:
                point.length = struct.unpack("<I", body[4:8])[0]
    return sorted(points.values(), key=lambda p: (p.frame, p.id))


# ------------------------------------------------------------------------------------------- INFO
INFO_KEYS = ("INAM", "ICMT", "IART", "ICRD", "ISFT", "IKEY", "ICOP", "ISBJ", "IPRD")


def info_pack(values: dict[str, str]) -> bytes:
    subs = [(key.encode("ascii"), _zstr(text)) for key, text in values.items() if text]
    return pack_list(b"INFO", subs)


def info_parse(body: bytes) -> dict[str, str]:
    return {sid.decode("latin-1"): decode_text(sbody) for sid, sbody in iter_subchunks(body)}


@dataclass
class Embedded:
    """Everything a WAV carries that fieldrec reads: each part as parsed, plus ``raw`` verbatim values."""

    bext: Bext | None = None
    ixml: ET.Element | None = None
    guano: dict[str, str] | None = None
    info: dict[str, str] | None = None
    cues: list[CuePoint] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
