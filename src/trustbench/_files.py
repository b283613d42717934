"""Writing result files safely.

A crash never leaves half of one behind, a folder never mixes the files of two runs, and a
finished result is never thrown away.

:class:`OutputFolder` is what every command writes through: it checks that the folder can
be written *before* any work starts, locks it against a second run, stages every file of
the run in a hidden folder inside it and moves them into place together; when the folder
cannot be written at the end after all, the scorecard is kept in a rescue folder and the
error says where.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType

from trustbench.errors import InputError, TrustbenchError

__all__ = ["LOCK_NAME", "OutputFolder", "file_sha256", "rescue_folder", "write_text_atomic"]

#: The lock file a running command holds in its output folder.
LOCK_NAME = ".trustbench.lock"

#: ``writer(path) -> path``: writes one result file at ``path``.
Writer = Callable[[Path], Path]


def write_text_atomic(text: str, path: str | os.PathLike[str], *, prefix: str = "tmp") -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename.

    A crash never leaves a truncated file, and an older file stays until the new one is
    complete. The file is world-readable (0644): results are meant to be shared.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{prefix}-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Return the SHA-256 of a file's bytes as hex, read in 4 MiB blocks."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def rescue_folder() -> Path:
    """Make a fresh folder for results that could not be written where they were asked to go.

    It is under ``$TRUSTBENCH_CACHE`` (default ``~/.cache/trustbench``), else the system's
    temporary folder.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
    roots = [Path(os.environ.get("TRUSTBENCH_CACHE") or Path.home() / ".cache" / "trustbench"),
             Path(tempfile.gettempdir())]
    for root in roots:
        try:
            return Path(tempfile.mkdtemp(prefix=f"rescued-{stamp}-", dir=_mkdirs(root)))
        except OSError:
            continue
    raise OSError("no writable folder for rescued results")


def _mkdirs(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def _reason(e: OSError) -> str:
    return e.strerror or type(e).__name__


class OutputFolder:
    """The folder one run writes its files to, used as a context manager.

    On entry the folder is created if needed, checked writable and locked (a second run on
    the same folder fails at once, naming it). :meth:`commit` writes every file of the run
    into a staging folder inside it, then moves them into place together and removes the
    files of ``owned`` names an earlier run left that this run did not write, so the folder
    never holds files from two runs. Work that fails or is interrupted before the commit
    leaves the folder exactly as it was.

    Parameters
    ----------
    path
        The output folder.
    owned
        Names of the files (or sub-folders) this kind of run writes there; only these are
        ever replaced or removed. Everything else in the folder is left alone.
    option
        How the user named the folder (``--out``, ``output.out``), for messages.
    protect
        Files the run reads and must not overwrite (a baseline scorecard).
    """

    def __init__(self, path: str | os.PathLike[str], *, owned: Iterable[str],
                 option: str = "--out", protect: Iterable[str | os.PathLike[str] | None] = ()) -> None:
        self.path = Path(path)
        self.owned = tuple(owned)
        self.option = option
        self.protect = [Path(p) for p in protect if p is not None]
        self._lock_fd: int | None = None
        self._staging: Path | None = None

    # -- entry: checks before any work ------------------------------------------------
    def __enter__(self) -> OutputFolder:
        where = f"{self.option} {self.path}"
        for p in self.protect:
            for name in self.owned:
                if _same_file(p, self.path / name):
                    raise InputError(f"{where}: this run would write {name} over {p}, which "
                                     "it reads as its baseline",
                                     fix=f"pass another {self.option}, or copy the baseline "
                                     "somewhere else first")
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"{where} is a file, not a folder",
                             fix=f"pass a folder to {self.option} (it is created if missing)")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"{where}: cannot create the folder ({_reason(e)})",
                             fix=f"pass a writable {self.option}") from None
        try:
            fd, probe = tempfile.mkstemp(dir=self.path, prefix=".write-check-")
            os.close(fd)
            os.unlink(probe)
        except OSError as e:
            raise InputError(f"{where}: cannot write into the folder ({_reason(e)})",
                             fix=f"pass a writable {self.option} or fix the folder's "
                             "permissions") from None
        self._lock()
        return self

    def _lock(self) -> None:
        lock = self.path / LOCK_NAME
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise InputError(f"{self.option} {self.path}: cannot create its lock file "
                             f"({_reason(e)})", fix=f"pass a writable {self.option}") from None
        try:
            import fcntl
        except ImportError:  # no advisory locks on this platform: go on unlocked
            self._lock_fd = fd
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                holder = _read_pid(lock)
                raise InputError(f"{self.option} {self.path}: another trustbench run is writing "
                                 f"this folder{f' (process {holder})' if holder else ''}",
                                 fix=f"wait for it to finish, or pass another {self.option}") from None
            raise InputError(f"{self.option} {self.path}: cannot lock the folder ({_reason(e)})",
                             fix=f"pass another {self.option}") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock; the file stays (harmless, reusable)
            self._lock_fd = None

    # -- the end: write everything, then move it into place together --------------------
    def commit(self, files: Mapping[str, Writer | None], *, rescue: str | None = None) -> list[Path]:
        """Write ``files`` (name -> writer) and put them in place together.

        A name mapped to ``None`` is a file this run already wrote in place (e.g. a model
        file saved during the work): it is kept, and counted among the run's files.

        ``rescue`` names the file to keep safe when the folder cannot be written (the
        scorecard): it is written to :func:`rescue_folder` and the raised InputError says
        where. A writer that fails for another reason (a renderer's error) costs only its
        own file: the others are put in place, then a TrustbenchError names what is missing.
        """
        if self._lock_fd is None:
            raise RuntimeError("OutputFolder.commit() outside its 'with' block")
        unknown = [n for n in files if n not in self.owned and n.split("/")[0] not in self.owned]
        if unknown:
            raise ValueError(f"{unknown} are not among the owned names {self.owned}")
        try:
            self._staging = Path(tempfile.mkdtemp(dir=self.path, prefix=".staging-"))
            staged, broken = [], {}
            for name, write in files.items():
                if write is None:
                    continue
                target = self._staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    write(target)
                except OSError:
                    raise
                except Exception as e:
                    if name == rescue:  # without the canonical file there is no result
                        raise
                    broken[name] = f"{type(e).__name__}: {str(e)[:200]}"
                    continue
                staged.append(name)
            for name in self.owned:  # files of an earlier run that this run does not write
                old = self.path / name
                if name not in files and (old.exists() or old.is_symlink()):
                    _remove(old)
            final = []
            for name in staged:
                dest = self.path / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                if dest.is_dir() and not dest.is_symlink():
                    shutil.rmtree(dest)
                os.replace(self._staging / name, dest)
                final.append(dest)
            final += [self.path / n for n, w in files.items() if w is None]
        except OSError as e:
            kept = self._rescue(files, rescue)
            raise InputError(f"{self.option} {self.path}: could not write the results "
                             f"({_reason(e)}){kept}",
                             fix=f"free space or fix permissions, then pass a writable "
                             f"{self.option}") from None
        if broken:
            name, why = next(iter(broken.items()))
            raise TrustbenchError(f"{name} could not be written ({why}); the other results "
                                  f"are in {self.path}: {', '.join(p.name for p in final)}")
        return final

    def _rescue(self, files: Mapping[str, Writer | None], name: str | None) -> str:
        write = files.get(name) if name is not None else None
        if name is None or write is None:
            return ""
        try:
            path = write(rescue_folder() / Path(name).name)
        except Exception:  # the rescue is best effort; the original error is the one to show
            return "; the scorecard could not be kept anywhere else either"
        return f"; the scorecard was kept at {path}"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    else:
        p.unlink()


def _read_pid(lock: Path) -> str:
    try:
        text = lock.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return text if text.isdigit() else ""
