"""One writer per index: an advisory lock on ``<index>/write.lock`` that names its holder.

The lock is a POSIX record lock (``fcntl.lockf``): the kernel drops it when the holding process
dies, however it dies (kill -9 included), and forked worker processes do not inherit it, so a
killed indexer never leaves a lock behind. The file also records who holds it (pid, host, start
time, command) so that a second writer, after waiting ``timeout`` seconds, can say who is in the
way. Owner details left in the file by a dead process are just overwritten. Within one process
the POSIX lock excludes nobody, so threads take turns on a thread lock as well.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
import threading
import time

from vnsearch.errors import IndexLockedError

__all__ = ["WriteLock", "LOCK_FILE", "DEFAULT_LOCK_TIMEOUT"]

LOCK_FILE = "write.lock"
DEFAULT_LOCK_TIMEOUT = 30.0

#: Locks this process holds: real path -> [fd, depth, thread]. POSIX locks belong to the
#: process, and closing any descriptor of the file drops them, so nested writers of the thread
#: that holds the lock share one descriptor; other threads wait on a thread lock (the POSIX
#: lock would let them straight in).
_HELD: dict[str, list[int]] = {}
_THREAD_LOCKS: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()


class WriteLock:
    """``with WriteLock(index_dir, timeout=30):`` — exclusive write access, waiting if needed."""

    def __init__(self, index_dir: str | os.PathLike, timeout: float = DEFAULT_LOCK_TIMEOUT):
        self.dir = os.fspath(index_dir)
        self.path = os.path.join(self.dir, LOCK_FILE)
        self.timeout = timeout
        self._key = os.path.realpath(self.path)
        self._mine = False

    def acquire(self) -> None:
        if self._mine:
            raise RuntimeError("WriteLock.acquire() called twice")
        os.makedirs(self.dir, exist_ok=True)
        self._key = os.path.realpath(self.path)
        me = threading.get_ident()
        with _GUARD:
            held = _HELD.get(self._key)
            if held is not None and held[2] == me:  # this thread writes it already: nest
                held[1] += 1
                self._mine = True
                return
            thread_lock = _THREAD_LOCKS.setdefault(self._key, threading.Lock())
        deadline = time.monotonic() + max(0.0, self.timeout)
        if not thread_lock.acquire(timeout=max(0.0, self.timeout)):
            raise IndexLockedError(
                f"index {self.dir} is being written by another thread of this process; gave "
                f"up after {self.timeout:g}s (try again later, or raise --lock-timeout)"
            )
        try:
            fd = self._lock_file(deadline)
        except BaseException:
            thread_lock.release()
            raise
        owner = (
            f"pid={os.getpid()}\nhost={socket.gethostname()}\n"
            f"since={time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n"
            f"command={' '.join(sys.argv)[:300]}\n"
        ).encode("utf-8", "replace")
        os.ftruncate(fd, 0)
        os.pwrite(fd, owner, 0)
        with _GUARD:
            _HELD[self._key] = [fd, 1, me]
        self._mine = True

    def _lock_file(self, deadline: float) -> int:
        """The POSIX lock on the lock file (its descriptor), waiting until ``deadline``."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        delay = 0.05
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except OSError:
                if time.monotonic() >= deadline:
                    holder = _describe(_read_owner(fd))
                    os.close(fd)
                    raise IndexLockedError(
                        f"index {self.dir} is being written by {holder}; gave up after "
                        f"{self.timeout:g}s (try again later, or raise --lock-timeout)"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def release(self) -> None:
        if not self._mine:
            return
        self._mine = False
        with _GUARD:
            held = _HELD[self._key]
            held[1] -= 1
            if held[1] > 0:
                return
            fd = _HELD.pop(self._key)[0]
        try:
            os.ftruncate(fd, 0)
            fcntl.lockf(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
            _THREAD_LOCKS[self._key].release()

    @property
    def held(self) -> bool:
        return self._mine

    def __enter__(self) -> WriteLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _read_owner(fd: int) -> dict[str, str]:
    try:
        raw = os.pread(fd, 4096, 0).decode("utf-8", "replace")
    except OSError:
        return {}
    return dict(line.split("=", 1) for line in raw.splitlines() if "=" in line)


def _describe(owner: dict[str, str]) -> str:
    if not owner.get("pid"):
        return "another process"
    text = f"pid {owner['pid']} on {owner.get('host', '?')}"
    if owner.get("since"):
        text += f" since {owner['since']}"
    if owner.get("command"):
        text += f" ({owner['command']})"
    return text
