"""Safe file names for takes: sanitising user text, expanding name templates, reserving a fresh path.

A take name is built from text a recordist typed in the field ("Waldrand Süd", "oak/ridge #2"), so it is
made safe for every common file system (Linux, macOS, Windows/FAT/exFAT SD cards) while staying readable.
"""

import os
import re
import string
import unicodedata
from datetime import datetime
from pathlib import Path

from fieldrec.storage.errors import StorageError, TemplateError

#: Longest sanitised component in bytes of UTF-8 (leaves room for "-NNN.wav" under the usual 255 limit).
MAX_COMPONENT_BYTES = 80

#: Longest single field value in a template (bytes of UTF-8), so that a long location cannot push the
#: date, time or take number out of the capped name.
MAX_FIELD_BYTES = 40

#: Fields a template may use; fields passed to ``expand_template`` as keywords are allowed as well.
KNOWN_FIELDS = ("date", "time", "location", "project", "scene", "take", "device", "recorder", "microphone", "tags")

_WINDOWS_FORBIDDEN = set('<>:"/\\|?*')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
_DROP_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}  # control, format (e.g. RTL override), surrogates, private, unassigned
_SEPARATORS = "-_. "


def _clean_char(ch: str) -> str:
    if ch.isspace() or ch in _WINDOWS_FORBIDDEN:
        return "-"
    if unicodedata.category(ch) in _DROP_CATEGORIES:
        return ""
    return ch


def _cap_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")


def sanitize_component(text: str) -> str:
    """Turn arbitrary text into one safe, readable path component (no folder parts).

    NFC-normalised letters of any script are kept; whitespace, path separators and Windows-forbidden
    characters become ``-``; control/format characters are dropped; runs of dots and dashes collapse (so no
    ``..``); no leading dots, dashes or underscores and no trailing dots; Windows device names (``CON``,
    ``COM1``...) get a ``_`` appended; at most ``MAX_COMPONENT_BYTES`` bytes of UTF-8. Empty → ``"untitled"``.
    """
    text = unicodedata.normalize("NFC", str(text))
    out = "".join(_clean_char(ch) for ch in text)
    out = re.sub(r"\.{2,}", ".", out)
    out = re.sub(r"-{2,}", "-", out)

    def trim(s: str) -> str:
        return s.lstrip("-_.").rstrip("-. ")

    out = trim(_cap_utf8(trim(out), MAX_COMPONENT_BYTES))
    if not out:
        return "untitled"
    if out.split(".")[0].upper() in _WINDOWS_RESERVED:
        head, dot, tail = out.partition(".")
        out = _cap_utf8(f"{head}_{dot}{tail}", MAX_COMPONENT_BYTES).rstrip("-. ")
    return out


def _field_value(value: object, spec: str, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = "-".join(str(v) for v in value)
    try:
        text = format(value, spec) if spec else str(value)
    except (ValueError, TypeError) as exc:
        raise TemplateError(f"field {{{name}:{spec}}} cannot format {value!r}: {exc}") from None
    text = text.strip()
    if not text:
        return ""
    return sanitize_component(_cap_utf8(sanitize_component(text), MAX_FIELD_BYTES))


def expand_template(template: str, when: datetime | None = None, **fields: object) -> str:
    """Expand a name template such as ``"{date}_{time}_{location}"`` into a safe file stem.

    ``{date}`` is ``YYYY-MM-DD`` and ``{time}`` is ``HHMMSS`` of ``when`` (default: local now) unless given
    as keywords. Every value is sanitised; empty or missing known fields vanish together with the separator
    that would be left doubled. An unknown field raises ``TemplateError``.
    """
    when = when or datetime.now().astimezone()
    values: dict[str, object] = {"date": when.strftime("%Y-%m-%d"), "time": when.strftime("%H%M%S")}
    values.update(fields)
    allowed = set(KNOWN_FIELDS) | set(fields)
    pieces: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"name template {template!r} is malformed ({exc}); use fields like {{date}}_{{location}}") from None
    for literal, name, spec, conversion in parsed:
        pieces.append(literal)
        if name is None:
            continue
        if conversion or not name.isidentifier():
            raise TemplateError(f"name template field {{{name}}} is not supported; use plain names like {{location}}")
        if name not in allowed:
            raise TemplateError(f"unknown field {{{name}}} in name template; known fields: {', '.join(sorted(allowed))}")
        pieces.append(_field_value(values.get(name), spec or "", name))
    stem = "".join(pieces)
    stem = re.sub(r"[-_. ]{2,}", lambda m: m.group(0)[0], stem)  # a vanished field leaves no doubled separator
    return sanitize_component(stem.strip(_SEPARATORS))


def reserve_take_path(folder: str | Path, stem: str, ext: str) -> Path:
    """Create and return a new empty file ``folder/stem.ext`` that did not exist before.

    The file is created with ``O_EXCL`` so a take never overwrites anything; on a collision (with the audio
    file or with its sidecar ``stem.json``) ``-2``, ``-3``... is appended to the stem.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise StorageError(f"recording folder {folder} does not exist; create it or choose another folder")
    ext = ext.lstrip(".")
    if not ext or ext.lower() == "json" or not re.fullmatch(r"[A-Za-z0-9]+", ext):
        raise StorageError(f"invalid file extension {ext!r}; use e.g. 'wav' or 'flac'")
    stem = sanitize_component(stem)
    for n in range(1, 100000):
        name = stem if n == 1 else f"{stem}-{n}"
        if (folder / f"{name}.json").exists():
            continue
        path = folder / f"{name}.{ext}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        except OSError as exc:
            raise StorageError(f"cannot create {path}: {exc.strerror}; choose a writable recording folder") from None
        os.close(fd)
        return path
    raise StorageError(f"too many takes named {stem!r} in {folder}; choose another name or folder")
