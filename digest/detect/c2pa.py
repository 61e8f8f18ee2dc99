"""C2PA manifests embedded in a page or a text: their readable strings.

C2PA: a C2PA manifest is *provenance*, not a disclosure (newsrooms sign human work too),
so its presence alone is no evidence. What counts is what it declares: the readable
strings of an embedded manifest are the ``c2pa`` region, where the IPTC digital source
type rule looks for ``trainedAlgorithmicMedia``. Manifests are read from the three text
embeddings of the C2PA 2.x specification: the unstructured-text wrapper (U+FEFF then a
run of variation selectors U+FE00..FE0F / U+E0100..E01EF, one per byte, starting with
the magic ``C2PATXT\\0``, a version byte and a 4-byte length), an inline
``<script type="application/c2pa">`` (Base64), and an ASCII-armoured
``-----BEGIN C2PA MANIFEST-----`` block. An external ``<link rel="c2pa-manifest">`` is not
fetched. Signatures are not verified: a declaration is a declaration, like a disclaimer.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

from lxml import etree
from lxml.html import HtmlElement

__all__ = ["C2PA_MAGIC", "c2pa_script_strings", "c2pa_strings"]

_C2PA_SCRIPTS: Final = etree.XPath(
    "//script[translate(normalize-space(@type), 'ACP', 'acp') = 'application/c2pa']"
)
_VS_RUN: Final = re.compile("\ufeff([\ufe00-\ufe0f\U000e0100-\U000e01ef]{13,})")
_ARMOUR: Final = re.compile(
    r"-----BEGIN C2PA MANIFEST-----(.{1,2000000}?)-----END C2PA MANIFEST-----", re.S
)
C2PA_MAGIC: Final = b"C2PATXT\x00"
_PRINTABLE: Final = re.compile(rb"[\x20-\x7e]{3,}")


def _vs_byte(char: str) -> int:
    point = ord(char)
    return point - 0xFE00 if point <= 0xFE0F else point - 0xE0100 + 16


def c2pa_strings(text: str) -> list[str]:
    """Readable strings of C2PA manifests embedded in text: the variation-selector wrapper
    and ASCII-armoured blocks."""
    found = []
    for match in _VS_RUN.finditer(text):
        data = bytes(_vs_byte(char) for char in match.group(1))
        if data.startswith(C2PA_MAGIC):
            length = int.from_bytes(data[9:13], "big")
            found.append(_printable(data[13 : 13 + length] if length else data[13:]))
    for match in _ARMOUR.finditer(text):
        found.append(_printable(_unbase64(match.group(1))))
    return [item for item in found if item]


def c2pa_script_strings(tree: HtmlElement) -> list[str]:
    """Readable strings of inline `<script type="application/c2pa">` manifests."""
    return [item for script in _C2PA_SCRIPTS(tree) if (item := _printable(_unbase64(script.text)))]


def _unbase64(text: str | None) -> bytes:
    body = "".join(line for line in (text or "").splitlines() if ":" not in line)
    try:
        return base64.b64decode("".join(body.split()) + "==", validate=False)
    except (binascii.Error, ValueError):
        return b""


def _printable(data: bytes) -> str:
    """The readable strings of a binary manifest, like `strings`. Assertions are CBOR, whose
    text strings are a header byte (often itself printable) then the bytes, so a run like
    `qdigitalSourceTypexF http...` is split into its strings when it parses as a sequence
    of CBOR text strings exactly; otherwise the run is kept as it is."""
    runs = _PRINTABLE.findall(data[:1_000_000])
    return " ".join(" ".join(_cbor_texts(run) or [run.decode("ascii")]) for run in runs)


def _cbor_texts(run: bytes) -> list[str]:
    """The CBOR text strings a run consists of, or [] when it is not exactly that."""
    found, index = [], 0
    while index < len(run):
        head = run[index]
        if 0x60 <= head <= 0x77:
            length, index = head - 0x60, index + 1
        elif head == 0x78 and index + 1 < len(run):
            length, index = run[index + 1], index + 2
        else:
            return []
        if index + length > len(run):
            return []
        found.append(run[index : index + length].decode("ascii"))
        index += length
    return [text for text in found if text]
