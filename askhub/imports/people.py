"""``askhub import people FILE.jsonl``: the whole file is checked before anything is written."""

from __future__ import annotations

import json
from collections.abc import Iterable
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


def read_people_file(path: Path) -> list[PersonIn]:
    try:
        with path.open(encoding="utf-8") as handle:
            return parse_people_lines(handle, path.name)
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path.name}: not UTF-8 text ({exc.reason})") from exc
