"""Output safety: a command replaces only what a command of backtestr wrote.

Every folder a command writes carries a manifest, ``.backtestr-manifest.json``,
listing the files that command wrote (paths relative to the folder) and the
kind of folder it is ("run" for a run's logs, "archive" for a tick archive).
Before anything is written the target is checked (:func:`check_target`):

* a path that is a file (or anything but a folder) is refused;
* a missing folder or an empty folder is written;
* a folder whose manifest is of the same kind and lists every file in it is
  replaced when the caller allows it (``--force`` / ``force=True``), else
  refused with that hint; an archive may also be added to (``add=True``);
* any other folder (no manifest, a manifest of another kind, or files the
  manifest does not list) is refused, naming the files, and left untouched.

Outputs appear whole or not at all: a command writes into a staging folder
next to the target (:func:`stage`) and :meth:`Staged.commit` renames it into
place (the previous folder is swapped out and deleted after); on an error
:meth:`Staged.discard` removes the staging folder, so nothing is left.
Adding to an archive moves each new file into place by a rename and then
rewrites the manifest (docs/safety.md).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import OutputError, term

MANIFEST = ".backtestr-manifest.json"
FORMAT = "backtestr-outputs"
KIND_NAMES = {"run": "the outputs of a run", "archive": "a tick archive", "bars": "a bar archive",
              "sweep": "the results of a sweep"}
_SHOWN = 5  # foreign files named in a message


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of ``folder``, or None when it has none (or an unreadable one)."""
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("files"), list):
        return None
    return data


def files_in(folder: Path) -> list[str]:
    """Every file under ``folder`` (not the manifest), as sorted relative POSIX paths."""
    found = []
    for root, _dirs, names in os.walk(folder):
        for n in names:
            rel = (Path(root) / n).relative_to(folder).as_posix()
            if rel != MANIFEST:
                found.append(rel)
    return sorted(found)


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def check_target(out: Path, kind: str, command: str, *, replace: bool = False, add: bool = False,
                 replace_arg: str = "force") -> dict[str, Any] | None:
    """Refuse ``out`` unless writing there loses nothing but an earlier output of ``kind``.

    Returns the existing manifest (None when ``out`` is missing or empty).
    ``replace``: an earlier output of the same kind may be replaced; ``add``:
    it may be added to. ``replace_arg`` is the argument that allows replacing
    (named in the message, as the flag on the command line).
    """
    if not out.exists() and not out.is_symlink():
        for parent in out.parents:
            if parent.exists() and not parent.is_dir():
                raise OutputError(f"{command}: cannot write {out}: {parent} is a file, not a folder")
        return None
    if not out.is_dir() or out.is_symlink() and not out.resolve().is_dir():
        raise OutputError(f"{command}: {out} is a file, not a folder; it was left untouched "
                          f"(give {term('out')} a folder path)")
    present = files_in(out)
    manifest = read_manifest(out)
    if manifest is None:
        if not present and not (out / MANIFEST).exists():
            return None
        present = present or [MANIFEST + " (not a manifest backtestr can read)"]
        raise OutputError(f"{command}: {out} holds files that backtestr did not write ({_listing(present)}); "
                          "it was left untouched (choose another folder, or empty it)")
    foreign = sorted(set(present) - set(manifest["files"]))
    if foreign:
        raise OutputError(f"{command}: {out} holds files that backtestr did not write ({_listing(foreign)}); "
                          "it was left untouched (choose another folder, or move them away)")
    if manifest.get("kind") != kind:
        what = KIND_NAMES.get(str(manifest.get("kind")), "other outputs")
        raise OutputError(f"{command}: {out} holds {what} (written by `backtestr {manifest.get('command')}`), "
                          f"not {KIND_NAMES.get(kind, kind)}; it was left untouched (choose another folder)")
    if not (replace or add):
        raise OutputError(f"{command}: {out} holds {KIND_NAMES.get(kind, kind)}, written by an earlier "
                          f"`backtestr {manifest.get('command')}`; pass {term(replace_arg)} to replace it")
    return manifest


def write_manifest(folder: Path, kind: str, command: str, files: list[str]) -> None:
    """Write ``folder``'s manifest (atomically: a temporary file, then a rename)."""
    from . import __version__

    data = {"format": FORMAT, "version": 1, "kind": kind, "command": command, "backtestr": __version__,
            "files": sorted(set(files))}
    tmp = folder / f"{MANIFEST}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, folder / MANIFEST)


@dataclass
class Staged:
    """A staging folder that becomes ``out`` on :meth:`commit`; see :func:`stage`."""

    path: Path
    out: Path
    kind: str
    command: str
    replace: bool
    add: bool
    replace_arg: str
    made: Path | None = None  # the first parent folder the staging created, if any
    _done: bool = field(default=False, repr=False)

    def conflicts(self) -> list[str]:
        """Files written here that ``out`` already has (relative paths)."""
        if not self.out.is_dir():
            return []
        return [f for f in files_in(self.path) if (self.out / f).exists()]

    def commit(self) -> Path:
        """Put the staged files in place (see the module text) and return ``out``."""
        old = check_target(self.out, self.kind, self.command, replace=self.replace, add=self.add,
                           replace_arg=self.replace_arg)
        written = files_in(self.path)
        if self.add and old is not None:
            for rel in written:
                dst = self.out / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.path / rel, dst)
            write_manifest(self.out, self.kind, self.command, list(old["files"]) + written)
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            write_manifest(self.path, self.kind, self.command, written)
            swapped = None
            if self.out.exists():
                swapped = self.out.parent / f".{self.out.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
                os.replace(self.out, swapped)
            os.replace(self.path, self.out)
            if swapped is not None:
                shutil.rmtree(swapped, ignore_errors=True)
        self._done = True
        return self.out

    def discard(self) -> None:
        """Remove the staging folder and everything in it, and the parents it created if empty."""
        shutil.rmtree(self.path, ignore_errors=True)
        self._done = True
        if self.made is not None:
            d = self.path.parent
            while True:
                try:
                    d.rmdir()
                except OSError:
                    break
                if d == self.made:
                    break
                d = d.parent

    def __enter__(self) -> Staged:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.discard()
        elif not self._done:
            try:
                self.commit()
            except BaseException:
                self.discard()
                raise


def stage(out: str | Path, kind: str, command: str, *, replace: bool = False, add: bool = False,
          replace_arg: str = "force") -> Staged:
    """Check ``out`` (:func:`check_target`) and make an empty staging folder beside it.

    Use as ``with stage(out, "archive", "data synth") as s:`` and write into
    ``s.path``: leaving the block commits, an exception discards.
    """
    out = Path(out)
    check_target(out, kind, command, replace=replace, add=add, replace_arg=replace_arg)
    made = next((p for p in reversed(out.parents) if not p.exists()), None)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
    except OSError as exc:
        raise OutputError(f"{command}: cannot write {out}: {exc.strerror or exc}") from None
    return Staged(tmp, out, kind, command, replace, add, replace_arg, made)
