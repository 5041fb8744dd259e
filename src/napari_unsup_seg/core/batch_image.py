"""One image of a batch: read it, check it, segment it, write its outputs atomically.

What the CLI's serial loop and a distributed task share. :func:`process_file` is the
whole work of one image from its path, the body of a task: it reads its own input
(:mod:`core.batch_input`), compares the fingerprint of this run with the outputs on disk
(:mod:`core.resume`), skips an image done already, and otherwise segments and writes
(:mod:`core.batch_output`), marking the image unfinished until its recipe is in place.
Nothing here imports Qt, napari or dask.
"""

from __future__ import annotations

import resource
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from . import resume
from .batch_input import prepare, read_input, read_scribbles, scribbles_for_level
from .batch_options import BatchOptions, settings
from .batch_output import write_result
from .errors import InputError, warnings_about

SKIPPED_REASON = "done already with these settings and inputs"


@dataclass
class Outcome:
    """What became of one image of a batch.

    ``status`` is one of done, skipped, failed, stopped, not started; ``peak_rss_mib``
    the peak resident memory of the process that ran it, when it ran.
    """

    stem: str
    status: str
    reason: str = ""
    peak_rss_mib: float | None = None


def input_fingerprint(settings_: dict, data, scribbles) -> dict:
    """The fingerprint of a prepared input (an image array or a Stack) under ``settings_``."""
    return resume.fingerprint(settings_, image=getattr(data, "data", data), scribbles=scribbles)


def run_segmenter(data, scribbles, params, options: BatchOptions, stop: threading.Event | None = None):
    """The run of one input: :func:`core.pipeline.segment` for an image, else :func:`core.series.segment_stack`."""
    from .axes import Stack
    from .pipeline import segment
    from .series import segment_stack

    if not isinstance(data, Stack):
        return segment(data, scribbles, params, stop=stop)
    return segment_stack(
        data, scribbles, params, scope=options.scope, slice_index=options.slice, channels=options.channels, stop=stop
    )


def failure(err: BaseException) -> str:
    """The reason a summary gives for an image that failed with ``err``."""
    if isinstance(err, InputError):
        return str(err)
    if isinstance(err, OSError):
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        return f"cannot write{where}: {err.strerror or err}"
    return f"internal error, please report it: {type(err).__name__}: {err}"


def occupied_reason(outdir: Path, stem: str) -> str:
    """Why outputs of ``stem`` are not replaced without ``overwrite``."""
    names = [p.name for p in resume.existing_outputs(outdir, stem)]
    return (
        f"outputs from other settings or inputs exist already ({', '.join(names[:5])}"
        f"{'...' if len(names) > 5 else ''}); use --overwrite to replace them"
    )


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def process_file(
    stem: str,
    image_path: Path,
    scribble_path: Path | None,
    outdir: Path,
    params,
    options: BatchOptions,
    *,
    stop: threading.Event | None = None,
) -> Outcome:
    """Read, segment and write one image from its path; never raises for a failure of that image.

    Parameters
    ----------
    stem : str
        The name of its outputs, ``<stem>_labels.tif`` and the others.
    image_path, scribble_path : Path
        Its input files (``scribble_path`` None: no scribbles).
    outdir : Path
        The output folder, which exists.
    params : core.pipeline.SegmentParams
        The run's parameters.
    options : BatchOptions
        What to write and how to read stacks.
    stop : threading.Event, optional
        Set it to end the run early; its result so far is written and reported stopped
        (any object with ``is_set()`` will do).

    Returns
    -------
    Outcome
        done, skipped (done already with this fingerprint), stopped or failed, with the reason.
    """
    from .progress import drain

    try:
        with warnings_about(stem):
            raw = read_input(Path(image_path), options)
            raw_scribbles = None if scribble_path is None else read_scribbles(Path(scribble_path))
            raw_scribbles = scribbles_for_level(Path(image_path), raw_scribbles, options)
            data, scribbles = prepare(raw, raw_scribbles, options)
        fp = input_fingerprint(settings(params, options), data, scribbles)
        state = resume.output_state(outdir, stem, fp)
        if state == "done":
            return Outcome(stem, "skipped", SKIPPED_REASON)
        if state == "occupied" and not options.overwrite:
            return Outcome(stem, "failed", occupied_reason(outdir, stem))
        result = drain(run_segmenter(data, scribbles, params, options, stop))
        status, reason = write_result(outdir, stem, result, fp, state, options, image_path=Path(image_path))
    except Exception as err:  # one image's failure does not end the batch
        return Outcome(stem, "failed", failure(err), peak_rss_mib())
    return Outcome(stem, status, reason, peak_rss_mib())
