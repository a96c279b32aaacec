"""The C scanner of the line formats (stream_app.coverage._linescan), or None where it was not built.

The parsers look it up here at each use (`native.scanner`), so setting it to None (tests do)
makes them read everything with their pure-Python readers: the reference, and what runs where
the package was installed without a C compiler.
"""

from __future__ import annotations

from array import array

try:
    from stream_app.coverage import _linescan as scanner
except ImportError:  # installed without a C compiler (setup.py builds it as optional)
    scanner = None  # type: ignore[assignment]

# The scanner's tables are int32/uint32/int64 arrays in native order: what array("i"/"I"/"q") hold here
if (array("i").itemsize, array("I").itemsize, array("q").itemsize) != (4, 4, 8):  # pragma: no cover
    scanner = None  # type: ignore[assignment]

__all__ = ["scanner"]
