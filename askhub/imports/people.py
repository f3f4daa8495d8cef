"""``askhub import people FILE.jsonl``: the whole file is checked before anything is written."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import msgspec

from askhub.people.schemas import PersonIn


class ImportFileError(ValueError):
    """A problem with the file, naming the line and the field; nothing was imported."""


def parse_people_lines(lines: Iterable[str], name: str = "input") -> list[PersonIn]:
    records: list[PersonIn] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ImportFileError(f"{name} line {number}: not valid JSON: {exc.msg}") from exc
        try:
            record = msgspec.convert(raw, PersonIn, strict=True)
        except msgspec.ValidationError as exc:
            raise ImportFileError(f"{name} line {number}: {exc}") from exc
        if record.handle in seen:
            raise ImportFileError(
                f"{name} line {number}: handle {record.handle!r} already on line {seen[record.handle]}"
            )
        seen[record.handle] = number
        records.append(record)
    return records


def _text_lines(lines: Iterable[bytes], name: str) -> Iterator[str]:
    """The file's lines as text: a UTF-8 byte order mark (as Windows tools write) is skipped,
    and a line that is not UTF-8 is named."""
    for number, raw in enumerate(lines, start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"{name} line {number}: not UTF-8 text at byte {exc.start + 1} ({exc.reason})"
            ) from exc


def read_people_file(path: Path) -> list[PersonIn]:
    try:
        with path.open("rb") as handle:
            return parse_people_lines(_text_lines(handle, path.name), path.name)
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror}") from exc
