"""fieldrec.dataset: ``fieldrec export``, folders of takes to a documented, leak-free training dataset.

Qt-free; over storage and analysis (and metadata). The steps, each a function of (source, parameters):

* ``sources.load_take`` (the one reader of take metadata) and ``sources.discover``;
* ``select.select`` with ``select.Filters`` (the reject ledger);
* ``unit.export_take``: convert (``convert``), segment (``segment``), features (``features``) for one take,
  resumable through ``journal``;
* ``splits.assign`` / ``splits.report`` / ``splits.leak_audit``;
* ``layout.write_layout``: audiofolder, data card, manifest, Croissant, reject ledger, features table.

``pipeline.run_export(ExportRequest, progress)`` runs them all on the executor of ``executor.open_executor``.
See docs/dataset.md.
"""
