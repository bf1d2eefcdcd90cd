# SPDX-License-Identifier: GPL-3.0-or-later
"""IPTC IIM datasets and the Photoshop image resources that carry them (in JPEG, inside the
APP13 segment): parsed and rebuilt in the standard's order, other resources kept as they are."""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any

from photolm.metadata.containers.error import ContainerError

PHOTOSHOP_SIGNATURE = b"Photoshop 3.0\x00"
IPTC_RESOURCE, IPTC_DIGEST = 0x0404, 0x0425


# exiv2 key -> (record, dataset) for the datasets photolm writes.
IIM_NUMBERS: dict[str, tuple[int, int]] = {
    "Iptc.Envelope.CharacterSet": (1, 90),
    "Iptc.Application2.Keywords": (2, 25),
    "Iptc.Application2.City": (2, 90),
    "Iptc.Application2.SubLocation": (2, 92),
    "Iptc.Application2.ProvinceState": (2, 95),
    "Iptc.Application2.CountryCode": (2, 100),
    "Iptc.Application2.CountryName": (2, 101),
}
Dataset = tuple[int, int, bytes]


def parse_iim(block: bytes) -> list[Dataset]:
    datasets: list[Dataset] = []
    pos = 0
    while pos < len(block):
        if block[pos] != 0x1C:
            if not block[pos:].strip(b"\x00"):
                break  # padding
            raise ContainerError("IPTC block is not a list of IIM datasets")
        if pos + 5 > len(block):
            raise ContainerError("IPTC dataset header truncated")
        record, number = block[pos + 1], block[pos + 2]
        (length,) = struct.unpack(">H", block[pos + 3:pos + 5])
        if length & 0x8000:
            raise ContainerError("IPTC extended datasets are not supported")
        start = pos + 5
        if start + length > len(block):
            raise ContainerError("IPTC dataset runs past its block")
        datasets.append((record, number, block[start:start + length]))
        pos = start + length
    return datasets


def build_iim(datasets: Sequence[Dataset]) -> bytes:
    out = bytearray()
    for record, number, value in datasets:
        if len(value) > 0x7FFF:
            raise ContainerError("IPTC value too long")
        out += bytes([0x1C, record, number]) + struct.pack(">H", len(value)) + value
    return bytes(out)


def edit_iim(datasets: Sequence[Dataset], changes: Mapping[str, Any]) -> list[Dataset]:
    """Apply exiv2-keyed changes (a string, a list for repeatable datasets, ``None`` to
    delete) keeping every other dataset, and the order of unchanged ones, as it was: items
    appended to a list go right after its last item; a removed item leaves its neighbours
    where they were."""
    out = list(datasets)
    for key, value in changes.items():
        if key not in IIM_NUMBERS:
            raise ContainerError(f"photolm does not write IPTC {key}")
        record, number = IIM_NUMBERS[key]
        wanted = [] if value is None else (value if isinstance(value, list) else [value])
        wanted_bytes = [str(v).encode("utf-8") for v in wanted]
        positions = [i for i, (r, n, _v) in enumerate(out) if (r, n) == (record, number)]
        current = [out[i][2] for i in positions]
        if current == wanted_bytes[:len(current)]:  # items appended (or nothing changed)
            extra = [(record, number, v) for v in wanted_bytes[len(current):]]
            at = positions[-1] + 1 if positions else _iim_insert_at(out, record, number)
            out[at:at] = extra
            continue
        keep = list(wanted_bytes)
        remove: list[int] = []
        for i in reversed(positions):  # remove the last occurrences of what went
            if out[i][2] in keep:
                keep.remove(out[i][2])
            else:
                remove.append(i)
        if not keep:
            out = [d for i, d in enumerate(out) if i not in remove]
            continue
        # Anything else: replace the datasets where the first one was.
        at = positions[0] if positions else _iim_insert_at(out, record, number)
        out = [d for i, d in enumerate(out) if i not in positions]
        at = min(at, len(out))
        out[at:at] = [(record, number, v) for v in wanted_bytes]
    return out


def _iim_insert_at(datasets: Sequence[Dataset], record: int, number: int) -> int:
    """Keep records and dataset numbers ascending, as the IIM standard asks."""
    at = 0
    for i, (r, n, _v) in enumerate(datasets):
        if (r, n) <= (record, number):
            at = i + 1
    return at


def photoshop_resources(payload: bytes) -> list[tuple[int, bytes, bytes]]:
    """Photoshop image resources: ``(id, raw resource bytes, data)``."""
    body = payload[len(PHOTOSHOP_SIGNATURE):]
    resources = []
    pos = 0
    while pos + 12 <= len(body) and body[pos:pos + 4] == b"8BIM":
        (rid,) = struct.unpack(">H", body[pos + 4:pos + 6])
        name_len = body[pos + 6]
        name_end = pos + 7 + name_len
        name_end += (name_end - pos) % 2  # the name field is padded to an even size
        (size,) = struct.unpack(">I", body[name_end:name_end + 4])
        start = name_end + 4
        end = start + size + (size % 2)
        if start + size > len(body):
            raise ContainerError("Photoshop resource runs past its segment")
        resources.append((rid, body[pos:min(end, len(body))], body[start:start + size]))
        pos = end
    if body[pos:].strip(b"\x00"):
        raise ContainerError("unrecognised data in the Photoshop segment")
    return resources


def build_resource(rid: int, header: bytes, data: bytes) -> bytes:
    """A resource with ``header`` (the original's 8BIM, id and name) and new data."""
    return header + struct.pack(">I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


def resource_header(raw: bytes) -> bytes:
    name_len = raw[6]
    name_end = 7 + name_len
    name_end += name_end % 2
    return raw[:name_end]
