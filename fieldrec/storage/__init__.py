"""fieldrec.storage: files. Knows nothing of audio devices, analysis or screens.

* ``wav_writer.TakeWriter``: crash-safe WAV (RF64 with auto-downgrade, header rewritten after every write)
  or FLAC; ``capture_dtype(subtype)``.
* ``naming``: ``sanitize_component``, ``expand_template``, ``reserve_take_path`` (O_EXCL, never overwrites).
* ``sidecar``: atomic JSON sidecar ``write_sidecar`` / ``read_sidecar`` / ``migrate``; ``load_schema``.
* ``diskspace``: ``free_bytes``, ``bytes_per_second``, ``seconds_left``, ``LOW_SPACE_SECONDS``.
* ``hashing.sha256_file``; ``errors``: ``StorageError``, ``DiskFullError``, ``SidecarError``, ``TemplateError``.
* ``recovery.recover_take``: length of an interrupted take; re-encodes an interrupted FLAC.
* ``reader.iter_blocks``: block reader for analysis and export.
* ``riff``: tolerant RIFF/RF64 chunk walk (``read_riff``), ``pack_chunk``/``pack_list``, ``hash_wav`` (whole file
  and audio-only SHA-256); ``chunks``: bext v2, iXML, guan, cue/adtl, INFO packers and parsers;
  ``chunk_map``: which sidecar field goes to which chunk and back (``build_chunks``, ``read_embedded``,
  ``metadata_from_embedded``); ``embed``: crash-safe ``embed_in_place`` and ``rewrite_with_chunks``;
  ``take_file``: ``finalise_file`` (the take's finaliser) and ``rewrite_take`` (edits). See docs/metadata.md.

See docs/file-formats.md.
"""
