"""Raw files as fetched, plain or gzip-compressed in place: one way to find and read them.

Every answer a fetch saves under ``data/raw/`` (``polisen/``, its ``meta/``, ``rejected/``
and ``pages/``, ``mcf/``) is kept so that a run can be replayed. Housekeeping compresses
the old ones in place (``name.json`` → ``name.json.gz``, byte-exact after decompression), so
every reader of raw files goes through this module: :func:`read_bytes` and
:func:`open_binary` undo the gzip, :func:`find` lists a folder's files whether compressed
or not (under their plain name's order), :func:`existing` finds a file under either name,
and :func:`logical_name` is the name a file had before it was compressed.

:func:`compress_file` and :func:`compress_older` do the compressing: each file is written
whole to a hidden temporary file, checked by decompressing it, renamed into place, and only
then is the plain file removed; a file found both plain and compressed (a compression
killed half-way) is settled the next time.
"""

from __future__ import annotations

import contextlib
import fnmatch
import gzip
import hashlib
import os
import secrets
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from trygghetskarta.errors import SourceError

#: The suffix of a compressed raw file.
GZ = ".gz"
#: Folders of ``data/raw`` that fetches write to, and housekeeping compresses.
FETCH_FOLDERS = ("polisen", "mcf")
#: Suffixes of the raw files worth compressing (text); anything else is left alone.
COMPRESSIBLE = (".json", ".jsonl", ".ndjson", ".html", ".htm", ".txt", ".xml", ".csv")
_CHUNK = 1 << 20


def is_compressed(path: Path | str) -> bool:
    """True for a ``.gz`` file.

    >>> is_compressed("polisen_20260822T000000.000000Z_all.json.gz")
    True
    """
    return str(path).lower().endswith(GZ)


def logical_name(path: Path | str) -> str:
    """The file's name before compression (``a.json.gz`` → ``a.json``).

    >>> logical_name("data/raw/polisen/a.json.gz"), logical_name("a.json")
    ('a.json', 'a.json')
    """
    name = Path(path).name
    return name[: -len(GZ)] if is_compressed(name) else name


def logical_suffix(path: Path | str) -> str:
    """The suffix of :func:`logical_name`, lower case (``a.JSON.gz`` → ``.json``).

    >>> logical_suffix("a.JSON.gz")
    '.json'
    """
    return Path(logical_name(path)).suffix.lower()


def _broken(path: Path, error: BaseException) -> SourceError:
    return SourceError(
        f"{path} is not a complete gzip file ({error}); expected a raw file compressed by "
        f"trygghetskarta — restore it from a backup, or move it away and run again"
    )


@contextlib.contextmanager
def open_binary(path: Path | str) -> Iterator[BinaryIO]:
    """Open a raw file for reading its original bytes, gzip undone for a ``.gz`` file.

    Raises
    ------
    OSError
        The file cannot be opened (missing, no permission), as :func:`open` raises it.
    SourceError
        A ``.gz`` file is cut short or not gzip (when read).
    """
    path = Path(path)
    if not is_compressed(path):
        with path.open("rb") as fh:
            yield fh
        return
    with path.open("rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as fh:
        try:
            yield fh  # type: ignore[misc]
        except (gzip.BadGzipFile, EOFError, zlib.error) as e:
            raise _broken(path, e) from e


def read_bytes(path: Path | str) -> bytes:
    """The original bytes of a raw file, plain or ``.gz``.

    Raises
    ------
    OSError
        The file cannot be read.
    SourceError
        A ``.gz`` file is cut short or not gzip.
    """
    path = Path(path)
    data = path.read_bytes()
    if not is_compressed(path):
        return data
    try:
        return gzip.decompress(data)
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise _broken(path, e) from e


def content_digest(path: Path | str) -> bytes:
    """SHA-256 of the original bytes (the same for a file and its compressed form)."""
    with open_binary(path) as fh:
        return hashlib.file_digest(fh, "sha256").digest()


def find(folder: Path | str, pattern: str) -> list[Path]:
    """Files of ``folder`` matching ``pattern``, plain or compressed, in their plain names' order.

    A file present under both names (a compression killed between its two renames) is
    listed once, plain.

    Parameters
    ----------
    folder
        The folder (not searched recursively); a missing folder has no files.
    pattern
        A glob on the plain name, e.g. ``"polisen_*.json"``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found: dict[str, Path] = {}
    for path in folder.iterdir():
        name = logical_name(path)
        if name.startswith(".") or not fnmatch.fnmatch(name, pattern) or not path.is_file():
            continue
        if name not in found or not is_compressed(path):
            found[name] = path
    return [found[name] for name in sorted(found)]


def existing(path: Path | str) -> Path | None:
    """``path`` if it exists, else its compressed form ``path.gz`` if that does, else None."""
    path = Path(path)
    if path.exists():
        return path
    packed = path.with_name(path.name + GZ)
    return packed if packed.exists() else None


# --------------------------------------------------------------------------- compressing


@dataclass
class Compressed:
    """What :func:`compress_older` did.

    Attributes
    ----------
    files
        The compressed files written (``….gz``).
    bytes_before, bytes_after
        Sizes of those files before and after.
    settled
        Plain files removed because their complete ``.gz`` was already there.
    """

    files: list[Path] = field(default_factory=list)
    bytes_before: int = 0
    bytes_after: int = 0
    settled: list[Path] = field(default_factory=list)


def _same_content(plain: Path, packed: Path) -> bool:
    try:
        return content_digest(packed) == content_digest(plain)
    except SourceError:
        return False


def compress_file(path: Path | str) -> Path:
    """Compress one raw file in place: ``name`` → ``name.gz``, then remove ``name``.

    The compressed file keeps the original's modification time (housekeeping goes by it)
    and is checked by decompressing it before the original is removed. When a complete
    ``name.gz`` with the same content is already there, only the plain file is removed; a
    different or broken one is replaced.

    Returns
    -------
    pathlib.Path
        The ``.gz`` file.

    Raises
    ------
    OSError
        The folder cannot be written (disk full, read-only, no permission); the plain file
        is then left as it was.
    """
    path = Path(path)
    if is_compressed(path):
        raise ValueError(f"expected a plain raw file, got the compressed {path}")
    target = path.with_name(path.name + GZ)
    stat = path.stat()
    if target.exists() and _same_content(path, target):
        path.unlink()
        return target
    tmp = path.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        digest = hashlib.sha256()
        with path.open("rb") as src, tmp.open("xb") as out:
            # mtime in the header: the original's, so the same file gives the same bytes
            with gzip.GzipFile(
                filename=path.name, mode="wb", fileobj=out, mtime=int(stat.st_mtime)
            ) as gz:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    gz.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        with gzip.open(tmp, "rb") as check:  # read it back before the original goes
            same = hashlib.file_digest(check, "sha256").digest() == digest.digest()
        if not same:  # pragma: no cover - a broken disk
            raise OSError(f"the compressed copy of {path} does not read back the same")
        os.utime(tmp, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    path.unlink()
    return target


def candidates(root: Path | str, folders: Iterable[str] = FETCH_FOLDERS) -> Iterator[Path]:
    """Plain raw files under ``root``'s fetch folders that compression would take.

    Recursive; hidden files and folders (temporary files, the call log ``.http``) and
    files of other kinds (:data:`COMPRESSIBLE`) are skipped.
    """
    root = Path(root)
    for name in folders:
        top = root / name
        if not top.is_dir():
            continue
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for file in sorted(files):
                if file.startswith(".") or is_compressed(file):
                    continue
                if Path(file).suffix.lower() in COMPRESSIBLE:
                    yield Path(folder) / file


def compress_older(
    root: Path | str, *, cutoff: float, folders: Iterable[str] = FETCH_FOLDERS
) -> Compressed:
    """Compress every raw file under ``root``'s fetch folders last modified before ``cutoff``.

    Parameters
    ----------
    root
        ``data/raw``.
    cutoff
        Seconds since the epoch; files modified at or after it stay plain.
    folders
        The folders of ``root`` to look in (default :data:`FETCH_FOLDERS`).
    """
    done = Compressed()
    for path in candidates(root, folders):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if stat.st_mtime >= cutoff:
            continue
        target = path.with_name(path.name + GZ)
        settled = target.exists() and _same_content(path, target)
        packed = compress_file(path)
        if settled:
            done.settled.append(path)
            continue
        done.files.append(packed)
        done.bytes_before += stat.st_size
        done.bytes_after += packed.stat().st_size
    return done
