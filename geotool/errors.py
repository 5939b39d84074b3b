"""One exception hierarchy for everything the user can fix.

Every error raised for bad input derives from :class:`GeotoolError`; the CLI prints
``str(error)`` on one line and exits with code 2. Anything else is a bug and keeps its
traceback. Leaves also derive from the matching builtin (``ValueError``,
``FileNotFoundError``, ...) so library users can catch them the usual way — the pattern of
``rasterio/errors.py`` and ``rioxarray/exceptions.py``.

Messages follow one shape: ``<where>: <what is wrong> — <how to fix it>``.

Examples
--------
>>> err = ValueRangeError("values up to 28.8 exceed 0..20 m/s", where="wind.tif",
...                       fix="is the layer in km/h? set units = \\"km/h\\"")
>>> str(err)
'wind.tif: values up to 28.8 exceed 0..20 m/s — is the layer in km/h? set units = "km/h"'
"""

from __future__ import annotations

EXIT_USER_ERROR = 2


class GeotoolError(Exception):
    """Root of all user-fixable errors (CLI exit code 2)."""

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None) -> None:
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self._compose())

    def _compose(self) -> str:
        text = " ".join(str(self.what).split())  # always one line
        if self.where:
            text = f"{self.where}: {text}"
        if self.fix:
            text = f"{text} — {' '.join(self.fix.split())}"
        return text

    def __str__(self) -> str:
        return self._compose()

    def __reduce__(self) -> tuple[object, ...]:  # picklable across dask workers
        return (_rebuild, (type(self), self.what, self.where, self.fix))


def _rebuild(
    cls: type[GeotoolError], what: str, where: str | None, fix: str | None
) -> GeotoolError:
    return cls(what, where=where, fix=fix)


class InputError(GeotoolError, ValueError):
    """A value in an input file or parameter is wrong."""


class MissingFileError(GeotoolError, FileNotFoundError):
    """An input file does not exist."""


class UnreadableFileError(InputError):
    """A file exists but is not readable geodata (corrupt, truncated, wrong format)."""


class CRSError(InputError):
    """A dataset has no CRS, or one that contradicts its coordinates."""


class CRSMismatchError(CRSError):
    """Two objects that must share a CRS do not."""


class ExtentError(InputError):
    """A layer does not overlap the study region."""


class ValueRangeError(InputError):
    """Values fall outside the catalog's valid range (often: wrong units)."""


class GeometryError(InputError):
    """Invalid, empty or unsupported geometries."""


class ConfigError(InputError):
    """A study, profile, composition or parameter file is wrong (syntax, keys, values)."""


class UnknownNameError(ConfigError, LookupError):
    """An unknown layer, profile, turbine, species or standard name."""


class ConsistencyError(ConfigError):
    """An AHP matrix that is not reciprocal or not consistent enough."""


class OutputExistsError(GeotoolError, FileExistsError):
    """The output folder exists and ``--force`` was not given."""
