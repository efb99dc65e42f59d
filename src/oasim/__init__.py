"""oasim: in-silico intra-articular hUC-MSC and MSC-exosome therapy for knee osteoarthritis."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("oasim")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"
