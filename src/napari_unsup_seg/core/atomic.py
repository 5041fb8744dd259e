"""Writing files so that a target is either complete or absent.

Every output goes first to a hidden temporary file beside its target (same folder, so
the final rename stays on one file system), is flushed to disk, then renamed over the
target in one step (``os.replace``). A full disk, an error or a kill while writing
leaves the target as it was; at worst a hidden ``.<name>.<random>.part<suffix>`` file
remains, which :func:`remove_stale_parts` clears.
"""

from __future__ import annotations

import glob
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

PART = ".part"


def part_path(target: Path) -> Path:
    """A fresh temporary name beside ``target``, keeping its suffix (writers pick the format by it)."""
    stem = target.stem.encode()[:180].decode(errors="ignore")  # the name may not grow past the system's limit
    return target.with_name(f".{stem}.{uuid.uuid4().hex[:12]}{PART}{target.suffix}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target``, on error it is removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(folder / "a.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> (folder / "a.txt").read_text(), [p.name for p in folder.iterdir()]
    ('done', ['a.txt'])
    """
    target = Path(target)
    tmp = part_path(target)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written for {target}")
        _fsync(tmp)
        os.replace(tmp, target)
    finally:
        with suppress(FileNotFoundError):
            tmp.unlink()


def write_text(target: str | Path, text: str) -> Path:
    """Write ``text`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)
    return Path(target)


def remove_stale_parts(folder: str | Path, stem: str) -> list[Path]:
    """Delete temporary files left in ``folder`` by an interrupted write of ``<stem>_*`` targets."""
    removed = []
    for path in Path(folder).glob(f".{glob.escape(stem)}_*{PART}*"):
        with suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


@contextmanager
def atomic_folder(target: str | Path, replace: bool = False) -> Iterator[Path]:
    """Yield a temporary folder to fill; on success it becomes ``target``, on error it is removed.

    An existing ``target`` is kept unless ``replace``: then it is moved aside, the new
    folder renamed in, and only then the old one deleted (put back if the rename fails).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> parent = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_folder(parent / "s") as tmp:
    ...     _ = (tmp / "a.txt").write_text("done")
    >>> [p.name for p in parent.iterdir()], (parent / "s" / "a.txt").read_text()
    (['s'], 'done')
    """
    import shutil

    target = Path(target)
    if target.exists() and not replace:
        raise FileExistsError(target)
    tmp = part_path(target)
    tmp.mkdir()
    try:
        yield tmp
        for path in tmp.iterdir():
            if path.is_file():
                _fsync(path)
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.old")
            os.rename(target, old)
        try:
            os.rename(tmp, target)
        except BaseException:
            if old is not None:
                os.rename(old, target)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
