"""The typed model of a take's metadata and sidecar (pydantic v2, Qt-free; storage may import it).

* ``model``: ``Metadata`` (the recordist's fields), ``validate_metadata`` / ``parse_metadata`` (forgiving,
  field-named errors), ``MetadataError``, ``empty_metadata``, ``new_take_metadata``.
* ``sidecar``: ``Sidecar`` (the whole ``<stem>.json``), ``new_sidecar``, ``finish_sidecar``,
  ``set_file_hashes``, ``SCHEMA_VERSION``.
* ``migrations``: ``MIGRATIONS`` (v1 → v2).
* ``schema``: the JSON Schema and field table generated from the model.
* ``presets``: equipment profiles and project templates in the user config folder.
"""

from fieldrec.metadata.model import (
    Metadata,
    MetadataError,
    empty_metadata,
    new_take_metadata,
    parse_metadata,
    validate_metadata,
)
from fieldrec.metadata.sidecar import SCHEMA_VERSION, Sidecar, finish_sidecar, new_sidecar, set_file_hashes
from fieldrec.metadata.text import MAX_NOTES_CHARS, MAX_TAG_CHARS, parse_coordinate

__all__ = [
    "MAX_NOTES_CHARS",
    "MAX_TAG_CHARS",
    "SCHEMA_VERSION",
    "Metadata",
    "MetadataError",
    "Sidecar",
    "empty_metadata",
    "finish_sidecar",
    "new_sidecar",
    "new_take_metadata",
    "parse_coordinate",
    "parse_metadata",
    "set_file_hashes",
    "validate_metadata",
]
