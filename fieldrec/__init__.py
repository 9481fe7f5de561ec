"""fieldrec: field recording with live analysis, crash-safe lossless files and metadata that travels."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fieldrec")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
