"""Reading a list's rows into records in a second process while this one writes them.

Reading (parsing, normalising, the phone and date cells) is about half of an import's
work in Python, and writing waits on the database half the time: on two cores a forked
reader keeps the writer busy. The child only reads the stored file and sends batches of
records through a pipe, pickled; it never touches the database (it inherits the parent's
connection and must leave it alone, so it ends with ``os._exit``, which closes nothing).
The pipe holds little, so the reader is never more than about a batch ahead: memory stays
flat however long the file. Small files, and systems without ``fork``, read in-process.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import pickle
import signal
from collections.abc import Iterator

from .reading import Table
from .records import Record, read_record

PIPE_BYTES = 1 << 20


def _batches(table: Table, columns: dict[str, str], skip: int, size: int) -> Iterator[list[Record]]:
    rows = itertools.islice(table.rows(), skip, None)  # resume after the committed rows
    while batch := list(itertools.islice(rows, size)):
        yield [read_record(line, row, columns) for line, row in batch]


def _child(table: Table, columns: dict[str, str], skip: int, size: int, out_fd: int) -> None:
    """Runs in the forked reader; never returns."""
    code = 0
    try:
        with os.fdopen(out_fd, "wb") as out:
            try:
                for records in _batches(table, columns, skip, size):
                    pickle.dump(("batch", records), out, protocol=pickle.HIGHEST_PROTOCOL)
                pickle.dump(("end", None), out)
            except BrokenPipeError:
                raise  # the writer stopped reading (cancelled, failed): nothing more to say
            except Exception as error:  # noqa: BLE001 - handed to the writer, which raises it
                try:
                    pickle.dump(("error", error), out)
                except Exception:  # noqa: BLE001 - an exception that does not pickle
                    pickle.dump(("error", RuntimeError(f"{type(error).__name__}: {error}")), out)
    except BaseException:  # noqa: BLE001 - the writer sees the pipe close early
        code = 1
    finally:
        os._exit(code)


@contextlib.contextmanager
def record_batches(table: Table, columns: dict[str, str], *, skip: int, size: int,
                   ahead: bool = True) -> Iterator[Iterator[list[Record]]]:
    """Batches of ``size`` records from the file's row ``skip`` on; read ahead in a child
    process when ``ahead`` (and the platform can fork). Leaving the block stops the reader."""
    if not ahead or not hasattr(os, "fork"):
        yield _batches(table, columns, skip, size)
        return
    read_fd, write_fd = os.pipe()
    with contextlib.suppress(ImportError, AttributeError, OSError):
        # Room for a whole batch (Linux: 1 MB unprivileged), so the reader hands it over and
        # goes on to the next one instead of waiting for the writer to take it in pieces.
        import fcntl

        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        # What the reader inherited is never garbage: keep the collector off it (it would
        # walk the whole Django heap again and again, and copy its pages by touching them).
        gc.freeze()
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # the worker's handlers are not the reader's
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _child(table, columns, skip, size, write_fd)
    os.close(write_fd)
    source = os.fdopen(read_fd, "rb")

    def received() -> Iterator[list[Record]]:
        while True:
            try:
                kind, payload = pickle.load(source)
            except EOFError:
                raise RuntimeError("The file reader stopped without finishing the file.") from None
            if kind == "end":
                return
            if kind == "error":
                raise payload
            yield payload

    try:
        yield received()
    finally:
        source.close()  # a reader still writing gets a broken pipe and ends
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
