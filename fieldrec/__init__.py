"""fieldrec: field recording with live analysis, crash-safe lossless files and metadata that travels."""

#: The one place the version lives: pyproject.toml reads it (``[tool.setuptools.dynamic]``), ``fieldrec
#: --version`` prints it, every sidecar stores it as ``software.version``, and the Debian package and the
#: bundle are named after it. Bump it together with a new section in CHANGELOG.md.
__version__ = "0.1.0"
