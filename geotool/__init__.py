"""geotool — geospatial resource potential: siting, forest carbon and offline web maps."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("geotool")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
