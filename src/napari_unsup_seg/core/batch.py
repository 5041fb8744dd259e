"""A batch of image files, in this process or on a dask.distributed cluster.

:func:`segment_files` runs :func:`core.batch_image.process_file` once per image: one
after another when no client is given, else as one task per image on the client's
cluster. A task gets paths, not arrays: it reads its own input, checks the outputs on
disk (a rerun skips the images done with the same settings and inputs, and redoes the
unfinished ones) and writes its outputs atomically into the output folder, which the
workers must see at the same path. It returns a small :class:`Outcome`.

When a worker dies, the scheduler runs its tasks again on another one; the image's
marker ``.<stem>.unfinished`` (:mod:`core.resume`) makes the new attempt replace what
the lost one had written. ``distributed`` is imported only when a cluster is asked for.

Examples
--------
>>> from distributed import Client, LocalCluster                      # doctest: +SKIP
>>> from napari_unsup_seg.core.batch import segment_files
>>> from napari_unsup_seg.core.pipeline import SegmentParams
>>> with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as client:
...     outcomes = segment_files(["a.png", "b.png"], "out", SegmentParams(seed=0), client=client)
>>> [(o.stem, o.status) for o in outcomes]                            # doctest: +SKIP
[('a', 'done'), ('b', 'done')]
"""

from __future__ import annotations

import dataclasses
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from . import export, resume, zarr_io
from .batch_image import Outcome, process_file
from .batch_input import SCRIBBLES_SUFFIX, stem_of
from .batch_options import BatchOptions
from .errors import InputError
from .image import READABLE_SUFFIXES

__all__ = ["BatchOptions", "Outcome", "exit_code", "open_client", "segment_files", "summary"]

STATUSES = ("done", "skipped", "failed", "stopped", "not started")


def summary(outcomes: list[Outcome]) -> str:
    """One line of counts, then one line per image that was not done."""
    counts = Counter(o.status for o in outcomes)
    head = "summary: " + ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s])
    lines = [f"  {o.stem}: {o.status}{': ' + o.reason if o.reason else ''}" for o in outcomes if o.status != "done"]
    return "\n".join([head, *lines])


def exit_code(outcomes: list[Outcome]) -> int:
    """0 when every image is done (now or before), 130 after a stop, else 1."""
    statuses = {o.status for o in outcomes}
    if statuses & {"stopped", "not started"}:
        return 130
    return 1 if "failed" in statuses else 0


def scribble_files_among(images: Sequence[Path], given: Sequence[Path] | None) -> list[Path]:
    """The inputs that are scribbles of another input when ``given`` is one folder:
    ``<stem>_scribbles.*`` beside ``<stem>.*`` (a shell's ``imgs/*`` over images and strokes)."""
    if not given or len(given) != 1 or not Path(given[0]).is_dir():
        return []
    stems = {stem_of(Path(img)) for img in images}
    return [
        Path(img) for img in images if stem_of(Path(img)).removesuffix(SCRIBBLES_SUFFIX) in stems - {stem_of(Path(img))}
    ]


def scribble_paths(images: Sequence[Path], given: Sequence[Path] | None) -> list[Path | None]:
    """One scribble file per image (None: none): ``given`` names one per image, or one folder."""
    if not given:
        return [None] * len(images)
    for img in images:
        if Path(img).is_dir() and not zarr_io.is_ome_zarr(img):
            raise InputError(f"{img}: is a folder, not an image file")
    if len(given) == 1 and Path(given[0]).is_dir():
        return [_find_in_folder(Path(given[0]), Path(img)) for img in images]
    if len(given) != len(images):
        raise InputError(f"{len(given)} scribble files for {len(images)} images: give one per image, or a folder")
    return [Path(p) for p in given]


def _find_in_folder(folder: Path, image: Path) -> Path:
    """``<stem>_scribbles.*``, else ``<stem>.*`` in ``folder``, never the image itself."""
    stem = stem_of(image)
    for name in (f"{stem}{SCRIBBLES_SUFFIX}", stem):
        for suffix in READABLE_SUFFIXES:
            path = folder / f"{name}{suffix}"
            if path.exists() and not (image.exists() and path.samefile(image)):
                return path
    raise InputError(f"{folder}: no scribble file named {stem}_scribbles.* or {stem}.*")


def unique_stems(stems: Sequence[str]) -> list[str]:
    """``stems`` checked: refuses names that cannot name files, or collide."""
    stems = [export.check_stem(stem) for stem in stems]
    if len(set(stems)) != len(stems):
        raise InputError("two input images have the same file name stem; their outputs would collide")
    return stems


def refuse_inputs_as_outputs(inputs: Sequence[Path], outdir: Path, stems: list[str]) -> None:
    """Refuse a batch one of whose inputs has the path of one of its outputs."""
    hits = resume.inputs_named_as_outputs(list(inputs), outdir, stems)
    if hits:
        raise InputError(
            f"{hits[0]} is an input but also the name of an output in {outdir}; "
            "choose another output folder (nothing was written)"
        )


def segment_files(
    paths: Sequence[str | Path],
    outdir: str | Path,
    params=None,
    *,
    scribbles: Sequence[str | Path] | None = None,
    options: BatchOptions = BatchOptions(),
    client=None,
    progress: bool = True,
) -> list[Outcome]:
    """Segment image files into ``outdir``; return one :class:`Outcome` per file, in order.

    Parameters
    ----------
    paths : sequence of path
        Image files (PNG, JPEG, TIFF, NPY...) or OME-Zarr images. Their stems name the outputs.
    outdir : path
        The output folder, created if needed; on a cluster, a folder every worker sees.
    params : core.pipeline.SegmentParams, optional
        The run's parameters (default: ``SegmentParams()``); the hierarchy is built when
        ``options`` asks for the UCM or a cut of it.
    scribbles : sequence of path, optional
        One scribble file per image, or one folder of ``<stem>_scribbles.*`` / ``<stem>.*``.
    options : BatchOptions
        What to write and how to read stacks.
    client : distributed.Client, optional
        Run one task per image on its cluster; None: one image after another, here.
    progress : bool
        Show a progress bar of the images.

    Returns
    -------
    list of Outcome
        done, skipped (done before with the same settings and inputs), failed (with the
        reason), stopped or not started (after a Ctrl-C: the images running write their
        result so far, which a rerun redoes; a second Ctrl-C returns at once).

    Raises
    ------
    InputError
        Before any work, when names collide, an input is also an output, or the output
        folder cannot be written.
    """
    from .pipeline import SegmentParams

    params = SegmentParams() if params is None else params
    if options.ucm or options.threshold is not None or options.regions is not None:
        params = dataclasses.replace(params, build_ucm=True)
    paths = [Path(p) for p in paths]
    stems = unique_stems([stem_of(p) for p in paths])
    spaths = scribble_paths(paths, None if scribbles is None else [Path(p) for p in scribbles])
    outdir = export.ensure_writable_dir(outdir)
    refuse_inputs_as_outputs(paths + [p for p in spaths if p is not None], outdir, stems)
    jobs = [(stem, path, spath) for stem, path, spath in zip(stems, paths, spaths)]
    if client is None:
        return _run_here(jobs, outdir, params, options, progress)
    check_workers(client, params, outdir)
    return _run_on(client, jobs, outdir, params, options, progress)


def check_workers(client, params, outdir: Path) -> None:
    """Refuse (InputError) a cluster one of whose workers could not run the batch.

    What the client checked of itself is asked of every worker: the same package
    version, the device, the W-Net weights file, and an output folder it can write
    (a folder local to the client is not seen by the workers of another machine).
    """
    from importlib.metadata import version

    problems = client.run(_worker_problem, version("napari-unsup-seg"), params, str(outdir))
    bad = {worker: problem for worker, problem in sorted(problems.items()) if problem}
    if bad:
        worker, problem = next(iter(bad.items()))
        more = f" (and {len(bad) - 1} other worker(s))" if len(bad) > 1 else ""
        raise InputError(f"worker {worker}{more} cannot run this batch: {problem}; nothing was started")


def _worker_problem(client_version: str, params, outdir: str) -> str | None:
    """On a worker: why it could not run images with ``params`` into ``outdir``, or None."""
    from importlib.metadata import version

    from .export import ensure_writable_dir
    from .segmenters import segmenter

    if version("napari-unsup-seg") != client_version:
        return f"it has napari-unsup-seg {version('napari-unsup-seg')}, the client {client_version}"
    try:
        segmenter(params.method).check(params)
        if not Path(outdir).is_dir():
            return f"it sees no folder {outdir} (give an output folder every worker sees)"
        ensure_writable_dir(outdir)
    except InputError as err:
        return str(err)
    return None


def _run_here(jobs, outdir: Path, params, options: BatchOptions, progress: bool) -> list[Outcome]:
    outcomes: list[Outcome] = []
    try:
        for stem, path, spath in tqdm(jobs, desc="images", unit="image", disable=not progress):
            outcomes.append(process_file(stem, path, spath, outdir, params, options))
    except KeyboardInterrupt:
        outcomes += [Outcome(stem, "not started", "interrupted") for stem, *_ in jobs[len(outcomes) :]]
    return outcomes


def _run_on(client, jobs, outdir: Path, params, options: BatchOptions, progress: bool) -> list[Outcome]:
    """One task per image on ``client``'s cluster, drained as they complete.

    The first Ctrl-C sets the batch's stop event: the images running stop at their next
    step and write their result so far (stopped), the others return at once (not
    started). A second Ctrl-C cancels what is left and returns without waiting.
    """
    from distributed import Event, as_completed, wait

    batch = f"napari-unsup-seg-{uuid.uuid4().hex[:8]}"
    futures = {
        client.submit(
            _task, stem, path, spath, outdir, params, options, f"{batch}-stop", pure=False, key=f"{batch}-{i}-{stem}"
        ): stem
        for i, (stem, path, spath) in enumerate(jobs)
    }
    with tqdm(total=len(futures), desc="images", unit="image", disable=not progress) as bar:
        try:
            try:
                for _ in as_completed(futures):
                    bar.update()
            except KeyboardInterrupt:
                Event(f"{batch}-stop", client=client).set()
                print(
                    "\nstopping: the images running write their result so far (Ctrl-C again to abort)", file=sys.stderr
                )
                wait(list(futures))
        except KeyboardInterrupt:
            client.cancel([f for f in futures if not f.done()], force=True)
    return [_outcome_of(future, stem) for future, stem in futures.items()]


def _outcome_of(future, stem: str) -> Outcome:
    """The task's Outcome, or a failed one when the cluster could not run the task to its end."""
    if future.status == "finished":
        return future.result()
    if future.status in ("pending", "cancelled", "lost"):
        return Outcome(stem, "not started", "interrupted")
    from distributed import KilledWorker

    err = future.exception()  # never the image's own failure: process_file reports those
    if isinstance(err, KilledWorker):
        return Outcome(stem, "failed", "every worker that ran it died (out of memory?); a rerun tries it again")
    first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return Outcome(
        stem,
        "failed",
        f"the cluster could not run it ({type(err).__name__}: {first_line}); is "
        "napari-unsup-seg installed alike on the scheduler and the workers?",
    )


def _task(
    stem: str, path: Path, spath: Path | None, outdir: Path, params, options: BatchOptions, stop_name: str
) -> Outcome:
    """The work of one image on a worker: torch's threads pinned to the worker's."""
    stop = _ClusterStop(stop_name)
    if stop.is_set():
        return Outcome(stem, "not started", "the batch was stopped")
    _pin_torch_threads()
    return process_file(stem, path, spath, outdir, params, options, stop=stop)


class _ClusterStop:
    """The batch's ``distributed.Event`` seen as the ``stop`` of a run (it asks for ``is_set`` only).

    The scheduler is asked at most every ``every`` seconds: runs check at each step.
    """

    def __init__(self, name: str, every: float = 0.5):
        from distributed import Event

        self._event, self._every = Event(name), every
        self._next, self._set = 0.0, False

    def is_set(self) -> bool:
        if not self._set and time.monotonic() >= self._next:
            self._set = self._event.is_set()
            self._next = time.monotonic() + self._every
        return self._set


def _pin_torch_threads() -> None:
    import torch
    from distributed import get_worker

    threads = get_worker().state.nthreads
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


@contextmanager
def open_client(
    *, workers: int | None = None, threads_per_worker: int = 1, scheduler: str | None = None, wait_s: float = 30.0
) -> Iterator:
    """A ``distributed.Client``: on a new ``LocalCluster`` of ``workers`` processes, or on ``scheduler``.

    Closed (and the local cluster with it) when the block ends. A scheduler that has no
    worker after ``wait_s`` seconds is refused (its tasks would wait forever). The local
    cluster's workers run one process each, with ``threads_per_worker`` threads, and keep
    glibc's default malloc settings (see :func:`_glibc_default_malloc`).
    """
    if (workers is None) == (scheduler is None):
        raise ValueError("give either workers or scheduler")
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, ValueError) as err:  # OSError: timed out; ValueError: not an address
            raise InputError(f"cannot reach the dask scheduler at {scheduler}: {err}") from err
        with client:
            _wait_for_a_worker(client, scheduler, wait_s)
            yield client
        return
    with (
        _glibc_default_malloc(),
        LocalCluster(
            n_workers=workers, threads_per_worker=threads_per_worker, processes=True, dashboard_address=":0"
        ) as cluster,
    ):
        with Client(cluster) as client:
            client.register_plugin(_sigint_ignored(), name="napari-unsup-seg-sigint")
            yield client


def _sigint_ignored():
    """A worker plugin: the worker ignores SIGINT (restarted workers too).

    A terminal's Ctrl-C goes to its whole process group, local workers included; they
    died of it, their tasks were rescheduled, and the batch waited for them for ever. The
    client alone handles it (:func:`_run_on`).
    """
    from distributed import WorkerPlugin

    class SigintIgnored(WorkerPlugin):
        def setup(self, worker) -> None:
            import signal
            import threading

            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)

    return SigintIgnored()


def _wait_for_a_worker(client, scheduler: str, wait_s: float) -> None:
    try:
        client.wait_for_workers(1, timeout=wait_s)
    except TimeoutError as err:
        raise InputError(
            f"the dask scheduler at {scheduler} has no worker (waited {wait_s:g} s): start some "
            f"with `dask worker {scheduler} --nworkers N --nthreads 1`"
        ) from err


@contextmanager
def _glibc_default_malloc() -> Iterator[None]:
    """Workers spawned in this block keep glibc's own malloc tuning.

    distributed starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also fixes
    the mmap threshold at 128 KiB: every large array is then mapped and unmapped anew,
    and an image took 2.1 times as long (5.1 s instead of 2.4 s, 481x321, one thread).
    """
    import dask

    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        yield
