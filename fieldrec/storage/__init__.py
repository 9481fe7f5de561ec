"""fieldrec.storage: files. Knows nothing of audio devices, analysis or screens.

* ``wav_writer.TakeWriter``: crash-safe WAV (RF64 with auto-downgrade, header rewritten after every write)
  or FLAC; ``capture_dtype(subtype)``.
* ``naming``: ``sanitize_component``, ``expand_template``, ``reserve_take_path`` (O_EXCL, never overwrites).
* ``sidecar``: atomic JSON sidecar ``write_sidecar`` / ``read_sidecar`` / ``migrate``; ``load_schema``.
* ``diskspace``: ``free_bytes``, ``bytes_per_second``, ``seconds_left``, ``LOW_SPACE_SECONDS``.
* ``hashing.sha256_file``; ``errors``: ``StorageError``, ``DiskFullError``, ``SidecarError``, ``TemplateError``.
* ``recovery.recover_take``: length of an interrupted take; re-encodes an interrupted FLAC.
* ``reader.iter_blocks``: block reader for analysis and export.

See docs/file-formats.md.
"""
