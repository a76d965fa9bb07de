"""Safe output: atomic writes, no overwrite without ``--force``, bounded backups, safe names.

Every file the tool writes goes through here, so an interrupted run never leaves a
half-written file and a coordinator's own file is never replaced by accident.

How a file is written:

1. The target is checked: not a folder, its folder can be made, and (without ``force``) it does
   not exist yet (``check_targets``).
2. The bytes go to a temporary name in the target's folder (``.NAME.PID-TOKEN.mentor-tmp``, a
   file or, for writers that make part files such as xlsxwriter, a private folder). The name
   ends in ``.mentor-tmp``, so no output pattern (``*.eml``, ``*.ics``, ``pairs.xlsx``) ever
   matches it, and it carries the writer's process id, so the next run can tell a leftover of a
   killed run (its process is gone) from a write in progress, and removes it.
3. The finished file is published. Without ``force`` it is hard-linked to the target, which
   fails if the target appeared meanwhile (two runs at once: the second refuses). With
   ``force`` the old file is kept as a backup and the new one renamed over it.

Any ``OSError`` on the way (disk full, read-only folder, no permission) becomes one
``MentorError`` naming the target, and every temporary file is removed. Writes inside
``all_or_nothing()`` are published together at its end, or not at all.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import shutil
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mentorcli.errors import MentorError

FORMULA_LEADERS = ("=", "+", "-", "@", "\t", "\r")

TEMP_SUFFIX = ".mentor-tmp"
"""Every temporary file or folder the tool makes ends with this, and nothing else does."""

BACKUPS_KEPT = 3
"""``--force`` keeps this many earlier versions of a file: ``NAME.bak.EXT`` (the one just
replaced), ``NAME.bak2.EXT``, ``NAME.bak3.EXT`` (the oldest); a fourth run drops the oldest."""

_TEMP_NAME = re.compile(r"^\..*\.(\d+)-[0-9a-f]{8}" + re.escape(TEMP_SUFFIX) + "$", re.DOTALL)
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS, errno.EXDEV}
"""``os.link`` errors that mean the file system cannot hard-link (FAT, some network shares)."""


def backup_path(path: Path, number: int = 1) -> Path:
    """``name.bak.ext`` (``number`` 1, the newest backup), ``name.bak2.ext``, ... beside ``path``."""
    tag = "bak" if number == 1 else f"bak{number}"
    return path.with_name(f"{path.stem}.{tag}{path.suffix}")


_BACKUP_STEM = re.compile(r"\.bak\d*$")


def is_backup(path: str | Path) -> bool:
    """True for a backup made by ``--force`` (``name.bak.ext``, ``name.bak2.ext`` ...).

    Commands that take every file of a folder (``mentor send OUTBOX``) skip these, so an old
    draft kept as a backup is never sent.
    """
    return bool(_BACKUP_STEM.search(Path(path).stem))


def is_temporary(path: str | Path) -> bool:
    """True for a temporary file or folder of a write in progress or of a killed run.

    Named ``.NAME.PID-TOKEN.mentor-tmp``: hidden, and no output glob matches it. Commands that
    take every file of a folder skip these too.
    """
    return Path(path).name.endswith(TEMP_SUFFIX)


# --------------------------------------------------------------------------- error wording


_HINTS = {
    errno.ENOSPC: "The disk is full: free some space or write to another folder.",
    errno.EDQUOT: "The disk quota is used up: free some space or write to another folder.",
    errno.EROFS: "The folder is on a read-only disk: write to another folder.",
    errno.EACCES: "You may not write in this folder: write to another folder.",
    errno.EPERM: "You may not write in this folder: write to another folder.",
    errno.EFBIG: "The file is too large for this disk: write to another folder.",
}


def write_error(error: BaseException, target: str | Path) -> MentorError:
    """One readable line for a failed write, naming the output the user asked for (never the
    temporary name) and what to do."""
    cause = os_error_in(error)
    reason = (cause.strerror if cause is not None and cause.strerror else str(error)) or type(error).__name__
    code = cause.errno if cause is not None else None
    hint = _HINTS.get(code or -1, "Check the folder, or write to another one.")
    return MentorError(f"cannot write: {reason}", path=target, hint=hint)


def os_failure(error: OSError) -> MentorError:
    """One readable line for an ``OSError`` that reached the command unexplained: the file it
    names, what the system said, and what to do (the last guard; writes here say more)."""
    hint = _HINTS.get(error.errno or -1, "Check the file and its folder.")
    return MentorError(error.strerror or str(error) or type(error).__name__, path=error.filename, hint=hint)


def os_error_in(error: BaseException | None) -> OSError | None:
    """The ``OSError`` behind ``error``: itself, or one a library wrapped (xlsxwriter raises its
    ``FileCreateError(OSError)``; zipfile and others chain theirs)."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, OSError):
            return error
        wrapped = [a for a in getattr(error, "args", ()) if isinstance(a, OSError)]
        if wrapped:
            return wrapped[0]
        error = error.__cause__ or error.__context__
        seen += 1
    return None


# --------------------------------------------------------------------------- checking targets


def check_targets(paths: Iterable[Path], *, force: bool) -> None:
    """Refuse, before anything is written, a target that cannot be a file or, without ``force``,
    one that exists. Cheap: run it before slow work, so a refusal comes at once."""
    targets = [p if isinstance(p, Path) else Path(p) for p in paths]
    listing = FolderListing()
    folders_checked: set[str] = set()
    listed: list[Path] = []   # targets their folder's listing holds: only these may exist
    for target in targets:
        if listing.may_exist(target):
            if target.is_dir():
                raise MentorError("is a folder, not a file", path=target, hint="Name a file inside it as the output.")
            listed.append(target)
        folder = os.path.dirname(target)
        if folder not in folders_checked:
            _check_folder(target)
            folders_checked.add(folder)
    existing = [t for t in listed if t.exists()]
    if existing and not force:
        first = existing[0]
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise MentorError(
            f"already exists{more}",
            path=first,
            hint=f"Pass --force to replace it (the old file is kept as a .bak backup, the last {BACKUPS_KEPT} "
                 "are kept), or choose another output.",
        )


def _check_folder(target: Path) -> None:
    """No part of the target's folder's path is a file (the nearest existing one is a folder)."""
    for folder in target.parents:
        if folder.exists():
            if not folder.is_dir():
                raise MentorError("is a file, not a folder", path=folder,
                                  hint=f"Choose another place for {target.name}.")
            return


def _folded(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


class FolderListing:
    """Which names may exist in each folder, each folder listed once: a schedule checks 15,000
    targets in one folder, and a ``stat`` of each (several, through pathlib) cost seconds where
    one listing costs milliseconds.

    A name that is not listed does not exist (as of the listing) and needs no ``stat``; a listed
    one may, and its caller asks the file system directly. Names are compared NFC-normalised and
    case-folded, so a file system that folds names (macOS, Windows) can only make a listed name
    look present when it is not, never the other way round. A folder that cannot be listed for
    any reason but its absence answers "may exist" for every name."""

    def __init__(self) -> None:
        self._names: dict[str, frozenset[str] | None] = {}

    def may_exist(self, path: str | Path) -> bool:
        folder, name = os.path.split(path)   # strings, not pathlib: this runs for every target
        if name in ("", ".", ".."):
            return True
        if folder not in self._names:
            self._names[folder] = self._list(folder or os.curdir)
        names = self._names[folder]
        return names is None or _folded(name) in names

    @staticmethod
    def _list(folder: str) -> frozenset[str] | None:
        try:
            return frozenset(_folded(name) for name in os.listdir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return frozenset()    # nothing exists inside a missing folder or a file
        except OSError:
            return None


def _make_folder(target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(exc, target) from None


# --------------------------------------------------------------------------- temporary names


def _temp_name(target: Path) -> Path:
    """``.NAME.PID-TOKEN.mentor-tmp`` beside ``target`` (NAME cut so the whole stays a valid name)."""
    return target.with_name(f".{target.name[:120]}.{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}")


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists (another user's), or we cannot tell: leave its files alone
    return True


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Remove temporary files and folders that killed runs left in ``folder``: those whose
    process is gone. A write in progress (its process alive) is left alone. Returns what went."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        found = _TEMP_NAME.match(entry.name)
        if found is None or _process_alive(int(found.group(1))):
            continue
        path = Path(entry.path)
        with contextlib.suppress(OSError):
            _remove(path)
            removed.append(path)
    return removed


def _remove(path: Path) -> None:
    """Remove a temporary: a file or link (the usual case, unlinked without a ``stat`` first) or
    a private folder (unlinking one fails: EISDIR on Linux, EPERM on macOS)."""
    try:
        os.unlink(path)
    except (IsADirectoryError, PermissionError):
        if not path.is_dir() or path.is_symlink():
            raise
        shutil.rmtree(path)


# --------------------------------------------------------------------------- staging and publishing


@dataclass
class _Staged:
    """A finished file waiting to become ``target``; ``temp`` (a file or private folder) goes after."""

    target: Path
    source: Path
    temp: Path
    force: bool


def _stage_bytes(target: Path, data: bytes, *, flush: bool) -> _Staged:
    temp = _temp_name(target)
    staged = _Staged(target, temp, temp, force=False)
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if flush:
                fh.flush()
                os.fsync(fh.fileno())
    except BaseException as exc:
        _discard([staged])
        if isinstance(exc, OSError):
            raise write_error(exc, target) from None
        raise
    return staged


def _publish(staged: _Staged) -> bool:
    """Put the staged file in place; True when the target is new (a rollback may remove it).

    Without ``force``: a hard link, which refuses an existing target atomically. With ``force``:
    the old file becomes the newest backup, then the new one is renamed over it; at every moment
    the target is the old file or the new one, whole.
    """
    target = staged.target
    if not staged.force:
        try:
            os.link(staged.source, target)
            return True
        except FileExistsError:
            raise _appeared(target) from None
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
        if target.exists():  # no hard links here: check, then rename (not proof against a race)
            raise _appeared(target)
        os.replace(staged.source, target)
        return True
    existed = target.exists()
    if existed:
        _rotate_backups(target)
    os.replace(staged.source, target)
    return not existed


def _appeared(target: Path) -> MentorError:
    return MentorError("already exists (another run may have written it meanwhile)", path=target,
                       hint="Pass --force to replace it (the old file is kept as a .bak backup), or choose another output.")


def _rotate_backups(target: Path) -> None:
    """``bak2`` -> ``bak3``, ``bak`` -> ``bak2``, the target -> ``bak``: at most ``BACKUPS_KEPT``
    backups. The target itself stays in place (a hard link, or an atomic copy where there are none)."""
    for number in range(BACKUPS_KEPT - 1, 0, -1):
        older = backup_path(target, number)
        if older.exists():
            os.replace(older, backup_path(target, number + 1))
    newest = backup_path(target)
    try:
        os.link(target, newest)
        return
    except FileExistsError:  # only when BACKUPS_KEPT is 1: the old backup goes
        pass
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
    copy = _temp_name(target)
    try:
        shutil.copy2(target, copy)
        os.replace(copy, newest)
    finally:
        with contextlib.suppress(OSError):
            copy.unlink()


def _discard(staged: Iterable[_Staged]) -> None:
    for item in staged:
        with contextlib.suppress(FileNotFoundError, OSError):
            _remove(item.temp)


def _publish_all(staged: list[_Staged]) -> None:
    """Publish every staged file, or none: on a failure the targets this run created are removed
    again (replaced ones stay replaced, their backups beside them). Temporaries always go."""
    created: list[Path] = []
    try:
        listing = FolderListing()
        for item in staged:  # a target that appeared since the first check: refuse before any link
            if not item.force and listing.may_exist(item.target) and item.target.exists():
                raise _appeared(item.target)
        for item in staged:
            try:
                if _publish(item):
                    created.append(item.target)
            except OSError as exc:
                raise write_error(exc, item.target) from None
    except BaseException:
        for target in created:
            with contextlib.suppress(OSError):
                target.unlink()
        raise
    finally:
        _discard(staged)


# --------------------------------------------------------------------------- all or nothing


@dataclass
class _Batch:
    """Writes deferred to the end of an ``all_or_nothing`` block (of this process only: a forked
    worker that inherits the block writes on its own)."""

    pid: int
    staged: list[_Staged] = field(default_factory=list)


_batch: _Batch | None = None


@contextlib.contextmanager
def all_or_nothing() -> Iterator[None]:
    """Every atomic write inside the block is staged, and published only when the block ends
    without error; on an error none is, and nothing this run made is left behind.

    For commands that write a set of files (schedule, report): a run that fails halfway must not
    leave half a set that makes the rerun need ``--force``. Nested blocks join the outer one.
    """
    global _batch
    if _batch is not None and _batch.pid == os.getpid():
        yield
        return
    batch = _Batch(os.getpid())
    _batch = batch
    try:
        yield
    except BaseException:
        _discard(batch.staged)
        raise
    finally:
        _batch = None
    _publish_all(batch.staged)


def _current_batch() -> _Batch | None:
    return _batch if _batch is not None and _batch.pid == os.getpid() else None


def _finish(staged: list[_Staged]) -> None:
    """Publish now, or at the end of the enclosing ``all_or_nothing`` block."""
    batch = _current_batch()
    if batch is None:
        _publish_all(staged)
    else:
        batch.staged.extend(staged)


def _prepare(targets: list[Path], *, force: bool) -> None:
    """Check every target, make their folders and clear what killed runs left there."""
    check_targets(targets, force=force)
    pending = _current_batch()
    if pending is not None:  # two writes of one target in one block would publish the first only
        clash = {s.target for s in pending.staged}.intersection(targets)
        if clash:
            raise MentorError("is written twice in one run", path=min(clash))
    folders: dict[Path, Path] = {}
    for target in targets:
        folders.setdefault(target.parent, target)
    for target in folders.values():
        _make_folder(target)
        remove_stale_temporaries(target.parent)


# --------------------------------------------------------------------------- the public writers


@contextlib.contextmanager
def atomic_path(path: str | Path, *, force: bool) -> Iterator[Path]:
    """Yield a temporary path for ``path``; it becomes ``path`` only if the block succeeds.

    For writers that want a file name (xlsxwriter, csv). The path lies in a private folder
    (``.NAME.PID-TOKEN.mentor-tmp/``) beside the target, where the writer may also keep its
    part files (``xlsx.write_table_workbook`` does), so nothing goes to the shared temp folder and all of
    it goes when the write ends. An ``OSError`` in the block becomes one line naming ``path``.
    """
    target = Path(path)
    _prepare([target], force=force)
    folder = _temp_name(target)
    staged = _Staged(target, folder / target.name, folder, force)
    try:
        folder.mkdir(mode=0o700)
        yield staged.source
        with open(staged.source, "rb") as fh:
            os.fsync(fh.fileno())
    except BaseException as exc:
        _discard([staged])
        if os_error_in(exc) is not None and not isinstance(exc, MentorError):
            raise write_error(exc, target) from None
        raise
    _finish([staged])


def atomic_write_bytes(path: str | Path, data: bytes, *, force: bool) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, link or rename)."""
    target = Path(path)
    _prepare([target], force=force)
    staged = _stage_bytes(target, data, flush=True)
    staged.force = force
    _finish([staged])
    return target


def atomic_write_text(path: str | Path, text: str, *, force: bool, encoding: str = "utf-8") -> Path:
    """Write ``text`` atomically; newlines are written as given (no platform translation)."""
    return atomic_write_bytes(path, text.encode(encoding), force=force)


_SLUG_DROP = re.compile(r"[^a-z0-9_-]+")


def safe_slug(text: str, *, fallback: str = "item", max_length: int = 60) -> str:
    """A file-name-safe form of untrusted text: ASCII letters, digits, ``-`` and ``_`` only.

    Accents are folded ("José" -> "jose"); anything else, including path separators and
    dots, becomes ``-``. Never empty, never ``.``/``..``, never starting with ``-``.
    """
    folded = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii").lower()
    slug = _SLUG_DROP.sub("-", folded).strip("-_")[:max_length].strip("-_")
    return slug or fallback


def unique_slugs(texts: Iterable[str], *, fallback: str = "item") -> list[str]:
    """Slugs for several texts, made unique in order by appending ``-2``, ``-3`` ..."""
    seen: dict[str, int] = {}
    out = []
    for text in texts:
        base = safe_slug(text, fallback=fallback)
        n = seen.get(base, 0) + 1
        seen[base] = n
        slug = base if n == 1 else f"{base}-{n}"
        while slug in seen and slug != base:
            n += 1
            seen[base] = n
            slug = f"{base}-{n}"
        seen.setdefault(slug, 1)
        out.append(slug)
    return out


def neutralise_formula(value: object) -> object:
    """Make a text cell inert in spreadsheet programs that open a CSV (CWE-1236).

    A leading ``'`` is what spreadsheet programs themselves use to mark literal text.
    """
    if isinstance(value, str) and value.startswith(FORMULA_LEADERS):
        return "'" + value
    return value


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in blocks (signup files can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inside(folder: Path, name: str) -> Path:
    """``folder / name`` after checking that the result cannot leave ``folder``."""
    return inside_all(folder, [name])[0]


def inside_all(folder: Path, names: Iterable[str]) -> list[Path]:
    """``inside`` for each of ``names``, the folder resolved once (a schedule checks 15,000 names).

    A plain name (one path component) can only lead out through a symbolic link of that name,
    so only then is it resolved: the same answer as resolving every one, with one ``lstat`` for
    each plain name that the folder's listing holds instead of a walk of its whole path.
    """
    root, base = Path(folder).resolve(), Path(folder)
    listing = FolderListing()
    out = []
    for name in names:
        plain = name not in ("", ".", "..") and os.sep not in name and (os.altsep is None or os.altsep not in name)
        if not plain or listing.may_exist(os.path.join(root, name)):
            candidate = root / name
            if not plain or candidate.is_symlink():
                candidate = candidate.resolve()
            if root not in candidate.parents:
                raise MentorError(f"refusing to write outside the output folder: {name!r}", path=folder)
        out.append(base / name)
    return out


def atomic_write_many(items: Iterable[tuple[str | Path, bytes]], *, force: bool) -> list[Path]:
    """Write several files as one: every target checked, every file staged, then all published,
    or (on any failure) none, with whatever this run made removed again.

    ``atomic_write_bytes`` fsyncs every file, which costs a journal commit each: thousands of
    small files (one email per pair) took longer than the run's whole time budget. Here every
    file is staged, the disk is flushed once, then each is published.
    """
    pending = [(Path(path), data) for path, data in items]
    targets = [target for target, _ in pending]
    if len(set(targets)) < len(targets):
        raise MentorError("is written twice in one run", path=next(t for t in targets if targets.count(t) > 1))
    _prepare(targets, force=force)
    staged: list[_Staged] = []
    batch_flush = hasattr(os, "sync")  # Windows has no batch flush: each file is flushed
    try:
        for target, data in pending:
            item = _stage_bytes(target, data, flush=not batch_flush)
            item.force = force
            staged.append(item)
        if batch_flush:
            os.sync()
    except BaseException:
        _discard(staged)
        raise
    _finish(staged)
    return targets
