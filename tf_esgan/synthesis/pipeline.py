"""Synthesis overlapped with the generator: masks drawn ahead of it, pairs written behind it.

`run_blocks` takes the blocks of one synthesis job in order and runs three stages per
block: `prepare` (random masks and conditioning maps) in a helper thread, `infer` (the
generator) in the calling thread, and the block's writes (PNG encoding, atomic writes) in
a second helper thread, one pair after the other in block order. While the generator
runs, TensorFlow holds no GIL, so both helpers work beside it and the generator is the
only serial cost.

Threads, not processes: at 256x256 on the 2-core machine of `benchmarks/`, a pair's mask
takes ~1 ms with the GIL held for ~90% of it (Python placing small stamps), its skeleton
map ~1.1 ms (half of it in cv2, GIL released) and its writes ~8 ms (~90% in fsync and PNG
encoding and decoding, GIL released), against ~43 ms of generator per pair. The work that
holds the GIL is a few percent of the generator's time, so one thread per stage keeps up,
without a process's start-up (a spawned worker imports the command, so TensorFlow) or the
risk of a worker outliving a killed job.

At most `depth` blocks are prepared ahead of the generator and at most `depth` wait to be
written behind it, so memory does not grow with the job. After a write fails (a full
disk, a test's interruption) no later pair is written. An error in any stage, or Ctrl-C
in the caller, stops both helpers before `run_blocks` raises: the pair being written
finishes (each file is atomic anyway), queued work is dropped, and the caller gets the
first error unchanged, so a `DiskFullError` still names its file. `depth=0` runs the same
stages serially, one block at a time: the reference an overlapped run matches byte for byte.
"""

from __future__ import annotations

import collections
import itertools
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Sequence, TypeVar

Block = TypeVar("Block")
Prepared = TypeVar("Prepared")
Write = Callable[[], None]


def run_blocks(blocks: Iterable[Block], prepare: Callable[[Block], Prepared],
               infer: Callable[[Block, Prepared], Sequence[Write]], *, depth: int) -> int:
    """Runs `infer(block, prepare(block))` per block in order, then each write it returns.

    Args:
      blocks: the blocks, in the order they are generated and written.
      prepare: block -> its inputs; runs in a helper thread (must not use the generator).
      infer: (block, prepared) -> the block's writes, zero-argument callables run in
        order in the other helper thread; runs in the calling thread.
      depth: blocks in flight on each side of `infer`; 0 = everything serially in the
        calling thread.
    Returns:
      The number of writes run.
    """
    if depth < 0:
        raise ValueError(f"run_blocks: `depth` must be >= 0, got {depth}")
    if depth == 0:
        count = 0
        for block in blocks:
            count += _write_in_order(infer(block, prepare(block)), threading.Event())
        return count
    stop = threading.Event()
    preparer = ThreadPoolExecutor(1, thread_name_prefix="esgan-prepare")
    writer = ThreadPoolExecutor(1, thread_name_prefix="esgan-write")
    upcoming = iter(blocks)
    prepared: collections.deque[tuple[Block, Future]] = collections.deque()
    writing: collections.deque[Future] = collections.deque()
    count = 0
    try:
        for block in itertools.islice(upcoming, depth):
            prepared.append((block, preparer.submit(prepare, block)))
        while prepared:
            block, inputs = prepared.popleft()
            for later in itertools.islice(upcoming, 1):
                prepared.append((later, preparer.submit(prepare, later)))
            writing.append(writer.submit(_write_in_order, infer(block, inputs.result()), stop))
            # A finished block's error is raised at once; a full queue waits for its oldest.
            while writing and (writing[0].done() or len(writing) > depth):
                count += writing.popleft().result()
        while writing:
            count += writing.popleft().result()
    except BaseException:
        stop.set()
        raise
    finally:
        for executor in (preparer, writer):
            executor.shutdown(wait=True, cancel_futures=True)
    return count


def _write_in_order(writes: Sequence[Write], stop: threading.Event) -> int:
    """Runs `writes` one by one until `stop` is set; a failing write sets it. Returns how many ran."""
    for count, write in enumerate(writes):
        if stop.is_set():
            return count
        try:
            write()
        except BaseException:
            stop.set()
            raise
    return len(writes)
