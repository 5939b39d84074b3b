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

import errno

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
            text = f"{_escape_breaks(str(self.where))}: {text}"
        if self.fix:
            text = f"{text} — {' '.join(str(self.fix).split())}"
        return text

    def __str__(self) -> str:
        return self._compose()

    def __reduce__(self) -> tuple[object, ...]:  # picklable across dask workers
        return (_rebuild, (type(self), self.what, self.where, self.fix))


def _escape_breaks(text: str) -> str:
    """A path or key kept exact, except that line breaks and control characters are escaped
    (a TOML key may be ``"a\\nb"``; the message must stay one line)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


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


class OutputWriteError(GeotoolError, OSError):
    """An output cannot be written: no permission, read-only or full disk, a file in the way."""


# errno -> (what, fix) for OS errors that the user's environment causes, not a bug
_OS_ERRORS: dict[int, tuple[str, str]] = {
    errno.EACCES: ("permission denied", "choose a folder you can write to, or fix its permissions"),
    errno.EPERM: ("operation not permitted", "choose a folder you can write to"),
    errno.EROFS: ("read-only file system", "choose a folder on a writable disk"),
    errno.ENOSPC: ("no space left on the disk", "free disk space or choose another --out"),
    errno.EDQUOT: ("disk quota exceeded", "free space in your quota or choose another --out"),
    errno.EFBIG: ("file too large for this file system", "write to another disk"),
    errno.ENOTDIR: ("a file is in the way of a folder", "choose another path"),
    errno.EEXIST: ("a file is in the way of a folder", "choose another path"),
    errno.EISDIR: ("is a folder, a file was expected", "choose another path"),
    errno.ENAMETOOLONG: ("path name too long", "choose a shorter path"),
    # renaming the output folder into place: a mount point (Docker volume, share) or a
    # folder another program holds refuses
    errno.EBUSY: (
        "the folder is in use or is a mount point and cannot be replaced",
        "write into a subfolder of it (e.g. --out <folder>/results), or close what holds it",
    ),
}

# GDAL reports a full disk or a refused write in its own words, not with an errno
_GDAL_HINTS: tuple[tuple[str, int], ...] = (
    ("no space left", errno.ENOSPC),
    ("free disk space", errno.ENOSPC),
    ("disk full", errno.ENOSPC),
    ("permission denied", errno.EACCES),
    ("read-only file system", errno.EROFS),
)


def user_error_from(exc: BaseException) -> GeotoolError | None:
    """The user-fixable error behind a library or OS exception, or ``None`` for a real bug.

    Used at the CLI boundary: an unwritable ``--out``, a full disk or a write GDAL refused
    become a one-line :class:`OutputWriteError` naming the path; a :class:`GeotoolError`
    raised inside a dask task (re-raised by ``compute``) is returned as it is. The exception's
    ``__cause__``/``__context__`` chain is searched too.

    Examples
    --------
    >>> err = user_error_from(PermissionError(errno.EACCES, "Permission denied", "/data/out"))
    >>> str(err)
    '/data/out: permission denied — choose a folder you can write to, or fix its permissions'
    >>> user_error_from(KeyError("x")) is None
    True
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _translate_one(current)
        if found is not None:
            return found
        current = current.__cause__ or current.__context__
    return None


def _translate_one(exc: BaseException) -> GeotoolError | None:
    if isinstance(exc, GeotoolError):
        return exc
    if isinstance(exc, OSError) and exc.errno in _OS_ERRORS:
        what, fix = _OS_ERRORS[exc.errno]
        where = exc.filename if exc.filename is not None else None
        return OutputWriteError(what, where=None if where is None else str(where), fix=fix)
    if type(exc).__module__.startswith("rasterio"):
        text = " ".join(str(exc).split())
        for hint, code in _GDAL_HINTS:
            if hint in text.lower():
                what, fix = _OS_ERRORS[code]
                return OutputWriteError(f"{what} ({text[:200]})", fix=fix)
    return None
