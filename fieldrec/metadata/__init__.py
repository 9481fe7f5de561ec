"""The user's metadata for a take: location, equipment, notes, tags.

This is the seed of the full metadata model (project, session, scene, environment, presets) that comes later;
it validates and normalises the fields the sidecar carries today. Qt-free: the CLI and the GUI share it.
"""

from fieldrec.metadata.model import (
    MAX_NOTES_CHARS,
    MAX_TAG_CHARS,
    MetadataError,
    empty_metadata,
    new_take_metadata,
    parse_coordinate,
    validate_metadata,
)

__all__ = [
    "MAX_NOTES_CHARS",
    "MAX_TAG_CHARS",
    "MetadataError",
    "empty_metadata",
    "new_take_metadata",
    "parse_coordinate",
    "validate_metadata",
]
