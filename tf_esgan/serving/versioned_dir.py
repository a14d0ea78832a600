"""TF Serving's versioned layout `<export_base>/<model_name>/<version>/`, written atomically.

TF Serving polls `<export_base>/<model_name>/` and loads every sub-directory whose name
is an integer as a model version. A version directory must therefore appear complete or
not at all: it is written under a hidden name beside its final place (same file system,
so the rename is atomic) and renamed only when everything is on disk. Hidden names start
with "." and are not integers, so the server never looks at them. An export killed
mid-write (SIGKILL, power loss) leaves its hidden `.<version>.*.partial` folder; the next
export into the model folder removes it (`remove_abandoned_partials`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from tf_esgan.errors import UserError
from tf_esgan.io_utils import folder_mode


PARTIAL_SUFFIX = ".partial"


class VersionExistsError(UserError, FileExistsError):
    """The requested model version is already exported (pass overwrite=True to replace it)."""


def existing_versions(model_dir: str | os.PathLike) -> list[int]:
    """Sorted integer version directories of `model_dir` ([] if it does not exist)."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(int(entry.name) for entry in model_dir.iterdir()
                  if entry.is_dir() and entry.name.isdigit())


def resolve_version(model_dir: str | os.PathLike, version: int | None) -> int:
    """`version`, or one more than the largest existing version (1 for a new model)."""
    if version is None:
        return max(existing_versions(model_dir), default=0) + 1
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ValueError(f"version: expected a non-negative integer (TF Serving reads version "
                         f"directories as int64), got {version!r}")
    return version


def check_version_free(model_dir: str | os.PathLike, version: int, *, overwrite: bool) -> None:
    """Raises VersionExistsError if `model_dir/<version>` exists and not `overwrite`."""
    final = Path(model_dir) / str(version)
    if final.exists() and not overwrite:
        raise VersionExistsError(
            f"{final}: version {version} is already exported; choose another version or "
            f"pass overwrite=True (--overwrite) to replace it")


@contextlib.contextmanager
def atomic_version_dir(model_dir: str | os.PathLike, version: int, *, overwrite: bool = False):
    """Yields an empty hidden directory; on success it becomes `model_dir/<version>`.

    On an exception (or KeyboardInterrupt) the hidden directory is deleted and no
    version directory is created or changed. An existing version raises
    VersionExistsError before anything is written, unless `overwrite`: then the old
    version is swapped out by two renames (the server may see the version missing for
    that instant, never half-written) and deleted.
    """
    model_dir = Path(model_dir)
    final = model_dir / str(version)
    check_version_free(model_dir, version, overwrite=overwrite)
    model_dir.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{version}.", suffix=PARTIAL_SUFFIX, dir=model_dir))
    # mkdtemp makes a private 0700 folder; a served version is readable like any other folder.
    os.chmod(building, folder_mode())
    try:
        yield building
        if final.exists():  # only reachable with overwrite=True
            retired = Path(tempfile.mkdtemp(prefix=f".{version}.", suffix=".old", dir=model_dir))
            os.replace(final, retired / "version")
            os.rename(building, final)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            # os.rename refuses a non-empty target, so a concurrent exporter of the same
            # version fails here instead of mixing files.
            os.rename(building, final)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def _last_modified(folder: Path) -> float:
    """The newest modification time of `folder` and of everything inside it."""
    newest = folder.lstat().st_mtime
    for parent, folders, files in os.walk(folder):
        for name in (*folders, *files):
            with contextlib.suppress(FileNotFoundError):
                newest = max(newest, os.lstat(os.path.join(parent, name)).st_mtime)
    return newest


def remove_abandoned_partials(model_dir: str | os.PathLike, *, modified_before: float) -> list[Path]:
    """Deletes the hidden `.<version>.*.partial` folders of killed exports; returns them.

    Call it holding the model folder's `run_lock`: every exporter holds it while it
    writes, so the folders found then have no live writer. As a second guard (file
    systems without `flock`, where the lock is not taken), a folder with anything
    modified at or after `modified_before` (this process's start) is kept.
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    removed = []
    for folder in model_dir.glob(f".*{PARTIAL_SUFFIX}"):
        version = folder.name[1:].partition(".")[0]
        if folder.is_symlink() or not folder.is_dir() or not version.isdigit():
            continue
        with contextlib.suppress(OSError):  # best effort: a leftover never blocks an export
            if _last_modified(folder) < modified_before:
                shutil.rmtree(folder)
                removed.append(folder)
    return removed
