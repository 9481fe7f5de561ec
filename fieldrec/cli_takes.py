"""The command line for takes on disk and for metadata flags: ``fieldrec edit|check|import|preset`` and the
metadata flags ``record`` shares with them. Exit 0 done, 1 some files had problems (each named in one line),
2 bad input."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAULT, EXIT_USAGE = 0, 1, 2


class FlagError(Exception):
    """Bad flag value; printed as one line, exit 2."""


def add_metadata_flags(p: argparse.ArgumentParser, edit: bool = False) -> None:
    """The metadata flags of record, edit and preset save."""
    p.add_argument("--location", help="place name")
    p.add_argument("--lat", help="latitude in decimal degrees (-90..90)")
    p.add_argument("--lon", help="longitude in decimal degrees (-180..180)")
    p.add_argument("--elevation", help="metres above sea level")
    p.add_argument("--equipment", help="recorder or interface")
    p.add_argument("--microphone", help="microphone")
    p.add_argument("--notes", help="free text")
    p.add_argument("--tag", action="append", help="a tag (repeatable)")
    p.add_argument("--project", help="project name")
    p.add_argument("--session", help="session name")
    p.add_argument("--scene", help="scene (e.g. 12A)")
    p.add_argument("--take", help="take number (default for record: the next free one of the scene)")
    p.add_argument("--circled", action=argparse.BooleanOptionalAction, default=None, help="the good take")
    p.add_argument("--recordist", help="who recorded")
    p.add_argument("--licence", help="licence, e.g. CC-BY-4.0")
    p.add_argument("--channel-name", action="append", metavar="N=NAME", help="name of channel N (from 1)")
    if edit:
        p.add_argument("--clear-tags", action="store_true", help="start the tag list afresh")


def patch_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """A partial metadata dict holding only the flags that were given."""
    patch: dict[str, Any] = {}
    loc: dict[str, Any] = {}
    for flag, key in (("location", "name"), ("lat", "latitude"), ("lon", "longitude"), ("elevation", "elevation_m")):
        value = getattr(args, flag, None)
        if value is not None:
            loc[key] = value
    if "latitude" in loc or "longitude" in loc:
        loc["source"] = "manual"
    if loc:
        patch["location"] = loc
    eq: dict[str, Any] = {}
    if getattr(args, "equipment", None) is not None:
        eq["recorder"] = args.equipment
    if getattr(args, "microphone", None) is not None:
        eq["microphone"] = args.microphone
    channels = []
    for item in getattr(args, "channel_name", None) or []:
        index, sep, name = item.partition("=")
        if not sep or not index.strip().isdigit() or int(index) < 1:
            raise FlagError(f"--channel-name {item!r}: use N=NAME with N a channel number from 1")
        channels.append({"index": int(index), "name": name})
    if channels:
        eq["channels"] = channels
    if eq:
        patch["equipment"] = eq
    for key in ("notes", "project", "session", "scene", "take", "circled", "recordist", "licence"):
        value = getattr(args, key, None)
        if value is not None:
            patch[key] = value
    if getattr(args, "tag", None):
        patch["tags"] = list(args.tag)
    return patch


_FLAG = {"location.latitude": "--lat", "location.longitude": "--lon", "location.elevation_m": "--elevation",
         "location.name": "--location", "equipment.recorder": "--equipment", "equipment.microphone": "--microphone"}


def validated(meta: dict[str, Any]) -> dict[str, Any]:
    from fieldrec.metadata import validate_metadata

    clean, errors = validate_metadata(meta)
    if errors:
        field, message = next(iter(errors.items()))
        flag = _FLAG.get(field, "--" + field.split(".")[0].replace("_", "-"))
        if field.startswith("equipment.channels"):
            flag = "--channel-name"
        raise FlagError(f"{flag}: {message}")
    return clean


def _take_paths(items: list[str]) -> list[Path]:
    from fieldrec.library.check import find_takes

    audio, _ = find_takes([Path(x) for x in items])
    for x in items:
        p = Path(x)
        if p.suffix.lower() == ".json":
            for ext in (".wav", ".flac"):
                if p.with_suffix(ext).exists():
                    audio.append(p.with_suffix(ext))
    return sorted(set(audio))


def cmd_edit(args: argparse.Namespace) -> int:
    from fieldrec.metadata.presets import merge
    from fieldrec.review.take_metadata import write_take_metadata
    from fieldrec.storage.errors import StorageError
    from fieldrec.storage.sidecar import read_sidecar_model, sidecar_path

    patch = patch_from_args(args)
    missing = [x for x in args.takes if not Path(x).exists()]
    if missing:
        raise FlagError(f"no such take: {missing[0]}")
    takes = _take_paths(args.takes)
    if not takes:
        raise FlagError("no takes (.wav/.flac with a sidecar) found in " + ", ".join(args.takes))
    status = EXIT_OK
    for audio in takes:
        try:
            sc = read_sidecar_model(sidecar_path(audio))
            base = sc.metadata.model_dump(mode="json")
            if args.clear_tags:
                base["tags"] = []
            if "tags" in patch and not args.clear_tags:
                patch_here = dict(patch, tags=base["tags"] + [t for t in patch["tags"] if t not in base["tags"]])
            else:
                patch_here = patch
            write_take_metadata(audio, sc, validated(merge(base, patch_here)))
            print(f"edited {audio}")
        except StorageError as err:
            print(f"error: {err}", file=sys.stderr)
            status = EXIT_FAULT
    return status


def cmd_check(args: argparse.Namespace) -> int:
    from fieldrec.library.check import check_paths

    paths = [Path(x) for x in args.paths]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise FlagError(f"no such file or folder: {missing[0]}")
    reports = check_paths(paths, repair=args.repair)
    for r in reports:
        if args.json:
            print(json.dumps(r.as_dict(), ensure_ascii=False))
            continue
        for line in r.repaired:
            print(f"repaired: {r.path}: {line}")
        for line in r.problems:
            print(f"problem: {r.path}: {line}")
        if r.ok:
            print(f"ok: {r.path}" + (f" ({'; '.join(r.notes)})" if r.notes else ""))
    if not reports:
        print("no takes found", file=sys.stderr)
    return EXIT_OK if all(r.ok for r in reports) else EXIT_FAULT


def cmd_import(args: argparse.Namespace) -> int:
    from fieldrec.library.importer import import_file, iter_sources
    from fieldrec.storage.errors import StorageError

    sources = iter_sources([Path(x) for x in args.sources])
    missing = [x for x in args.sources if not Path(x).exists()]
    if missing:
        raise FlagError(f"no such file or folder: {missing[0]}")
    out = Path(args.out).expanduser()
    status = EXIT_OK
    for src in sources:
        try:
            dest, sc, notes = import_file(src, out)
        except (StorageError, OSError) as err:
            print(f"error: {err}", file=sys.stderr)
            status = EXIT_FAULT
            continue
        if args.json:
            print(json.dumps({"source": str(src), "audio": str(dest), "notes": notes}, ensure_ascii=False))
        else:
            print(f"imported {src} -> {dest}" + (f" ({'; '.join(notes)})" if notes else ""))
    return status


def cmd_preset(args: argparse.Namespace) -> int:
    from fieldrec.metadata.presets import PresetError, delete_preset, list_presets, load_preset, save_preset

    try:
        if args.action == "list":
            for name in list_presets():
                print(name)
        elif args.action == "show":
            print(json.dumps(load_preset(args.name), indent=2, ensure_ascii=False))
        elif args.action == "save":
            patch = patch_from_args(args)
            validated(patch)
            print(f"saved {save_preset(args.name, patch)}")
        elif args.action == "delete":
            delete_preset(args.name)
            print(f"deleted preset {args.name}")
    except PresetError as err:
        raise FlagError(str(err)) from None
    return EXIT_OK


def add_commands(sub: Any) -> None:
    e = sub.add_parser("edit", help="edit the metadata of recorded takes (sidecar and chunks; audio untouched)")
    e.add_argument("takes", nargs="+", metavar="TAKE")
    add_metadata_flags(e, edit=True)
    c = sub.add_parser("check", help="compare takes with their sidecars and the files of a split take with each other; "
                       "--repair completes interrupted takes")
    c.add_argument("paths", nargs="+", metavar="PATH")
    c.add_argument("--repair", action="store_true", help="fix what can be fixed without guessing")
    c.add_argument("--json", action="store_true", help="one JSON object per take")
    i = sub.add_parser("import", help="import takes of other recorders (bext, iXML, GUANO, INFO, cues)")
    i.add_argument("sources", nargs="+", metavar="SRC")
    i.add_argument("--out", required=True, help="folder for the imported takes")
    i.add_argument("--json", action="store_true")
    p = sub.add_parser("preset", help="equipment and project presets: list, show, save, delete")
    psub = p.add_subparsers(dest="action", required=True)
    psub.add_parser("list")
    for action in ("show", "delete"):
        psub.add_parser(action).add_argument("name")
    ps = psub.add_parser("save")
    ps.add_argument("name")
    add_metadata_flags(ps)


COMMANDS = {"edit": cmd_edit, "check": cmd_check, "import": cmd_import, "preset": cmd_preset}
