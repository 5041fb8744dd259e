"""Property-based fuzzing of the CLI: arguments, image and scribble files, weights files.

Every case must end cleanly: exit status 0 with outputs, or 1/2 with a message and no
traceback; the input files are never changed. Examples are derandomized so CI
sees the same cases every run (about 260 in all).
"""

import hashlib
import io
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from napari_unsup_seg.cli import main

# no shrinking: a failing case is reported as generated (shrinking a CLI run takes minutes)
SETTINGS = dict(
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
    phases=[Phase.explicit, Phase.generate],
    report_multiple_bugs=True,
)
BASE = ["--device", "cpu", "-q"]


def _digest(paths):
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


def run_clean(argv: list[str], inputs: list[Path]) -> tuple[int, str]:
    """Run the CLI in-process; assert a clean ending and untouched inputs; return (status, stderr)."""
    before = _digest(inputs)
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's usage errors
            code = exit_.code
    text = err.getvalue()
    assert "Traceback" not in text and "internal error" not in text, text
    assert code in (0, 1, 2), (code, text)
    if code == 2:
        assert "error:" in text.strip().splitlines()[-1], text
    assert _digest(inputs) == before
    return code, text


def _image(folder: Path) -> Path:
    path = folder / "img.npy"
    image = np.zeros((12, 16, 3), np.uint8)
    image[:, 8:] = (200, 60, 30)
    np.save(path, image)
    return path


def _scribbles(folder: Path) -> Path:
    path = folder / "scr.npy"
    scr = np.zeros((12, 16), np.uint8)
    scr[5, 2:5] = 1
    scr[5, 11:14] = 2
    np.save(path, scr)
    return path


# ------------------------------------------------------------------ arguments
NUMBERS = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e309", "", "abc", "0x10", "2**32", "-0", " 3 "]),
)
FLAG_VALUES = {
    "--max-iter": NUMBERS,
    "--time-budget": NUMBERS,
    "--seed": NUMBERS,
    "--threshold": NUMBERS,
    "--regions": NUMBERS,
    "--adapt": NUMBERS,
    "--min-labels": NUMBERS,
    "--device": st.sampled_from(["cpu", "auto", "cuda", "cuda:1", "meta", "xpu", "mps", "CPU", "", "cpu:0"]),
    "--method": st.sampled_from(["cluster", "wnet", "kmeans", ""]),
    "--preset": st.sampled_from(["fast", "paper", "slow"]),
}
SWITCHES = ["--ucm", "--masks", "--uncertainty", "--no-crf", "--png-scribbles", "--overwrite"]


@settings(max_examples=90, **SETTINGS)
@given(
    flags=st.dictionaries(st.sampled_from(sorted(FLAG_VALUES)), st.none(), max_size=4).flatmap(
        lambda d: st.fixed_dictionaries({k: FLAG_VALUES[k] for k in d})
    ),
    switches=st.lists(st.sampled_from(SWITCHES), unique=True, max_size=3),
    with_scribbles=st.booleans(),
)
def test_fuzz_arguments(flags, switches, with_scribbles):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        image, scr = _image(tmp), _scribbles(tmp)
        argv = ["segment", str(image), "-o", str(tmp / "out"), "-q"]
        if with_scribbles:
            argv += ["--scribbles", str(scr)]
        if "--max-iter" not in flags:
            argv += ["--max-iter", "3"]
        if "--device" not in flags:
            argv += ["--device", "cpu"]
        for flag, value in flags.items():
            if flag == "--max-iter" and value.strip().lstrip("-").isdigit() and int(value) > 50:
                value = "50"  # valid but slow: the range check is what matters
            argv += [f"{flag}={value}"]
        argv += switches
        code, _ = run_clean(argv, [image, scr])
        if code == 0:
            assert (tmp / "out" / "img_labels.tif").is_file() and (tmp / "out" / "img_recipe.json").is_file()


# ------------------------------------------------------------------ image and scribble files
DTYPES = st.sampled_from(
    [
        "bool",
        "uint8",
        "int8",
        "uint16",
        "int16",
        "int32",
        "uint32",
        "int64",
        "uint64",
        "float16",
        "float32",
        "float64",
        "complex64",
    ]
)
VALID_SHAPES = st.sampled_from(
    [(12, 16), (12, 16, 3), (3, 12, 16), (12, 16, 4), (1, 12, 16), (12, 16, 1), (2, 2), (16, 12, 2), (5, 40)]
)
ODD_SHAPES = st.sampled_from([(1, 1), (12, 16, 17), (0, 16), (17, 10, 0), (12, 16, 3, 2), (), (7,), (1, 1, 1, 1, 1)])
# half valid, half not: both the error paths and the results are exercised
SHAPES = st.one_of(VALID_SHAPES, VALID_SHAPES, ODD_SHAPES, st.lists(st.integers(0, 20), max_size=5).map(tuple))
SPECIALS = st.sampled_from([None, "nan", "inf", "-inf", "huge", "negative", "constant"])


def _array(shape, dtype, special, rng) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        array = rng.random(shape) > 0.5
    elif dtype.kind in "fc":
        array = (rng.random(shape) * 255).astype(dtype)
    else:
        info = np.iinfo(dtype)
        array = rng.integers(max(info.min, -5), min(info.max, 300), size=shape, endpoint=True).astype(dtype)
    if array.size and special:
        flat = array.reshape(-1)
        if special in ("nan", "inf", "-inf") and dtype.kind in "fc":
            flat[: max(1, flat.size // 7)] = float(special)
        elif special == "huge" and dtype.kind != "b":
            flat[0] = np.finfo(dtype).max if dtype.kind in "fc" else np.iinfo(dtype).max
        elif special == "negative" and dtype.kind in "fci":
            flat[0] = -3
        elif special == "constant":
            flat[:] = flat[0]
    return array


def _write(path: Path, array: np.ndarray, form: str) -> Path:
    import imageio.v3 as iio
    import tifffile

    if form == "npy":
        np.save(path.with_suffix(".npy"), array)
        return path.with_suffix(".npy")
    if form == "tif":
        try:
            tifffile.imwrite(path.with_suffix(".tif"), array)
        except Exception:  # a shape or type TIFF cannot hold: write it as NPY instead
            path.with_suffix(".tif").unlink(missing_ok=True)
            return _write(path, array, "npy")
        return path.with_suffix(".tif")
    if form == "png":
        pngable = (
            array.dtype in (np.uint8, np.uint16)
            and array.size
            and (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (1, 3, 4) and array.dtype == np.uint8))
        )
        if not pngable:  # a shape or type PNG cannot hold: write it as NPY instead
            return _write(path, array, "npy")
        iio.imwrite(path.with_suffix(".png"), array)
        return path.with_suffix(".png")
    if form == "truncated":
        good = _write(path, array, "tif")
        data = good.read_bytes()
        good.write_bytes(data[: max(1, len(data) // 2)])
        return good
    if form == "wrong extension":  # NPY bytes in a file named .png
        np.save(path.with_suffix(".npy"), array)
        target = path.with_suffix(".png")
        path.with_suffix(".npy").rename(target)
        return target
    if form == "random bytes":
        target = path.with_suffix(".tif")
        target.write_bytes(bytes(np.random.default_rng(array.size).integers(0, 256, 200, dtype=np.uint8)))
        return target
    if form == "empty file":
        target = path.with_suffix(".png")
        target.write_bytes(b"")
        return target
    raise AssertionError(form)


FORMS = st.sampled_from(["npy", "tif", "png", "truncated", "wrong extension", "random bytes", "empty file"])


@settings(max_examples=90, **SETTINGS)
@given(shape=SHAPES, dtype=DTYPES, special=SPECIALS, form=FORMS, seed=st.integers(0, 2**16))
def test_fuzz_image_files(shape, dtype, special, form, seed):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        image = _write(tmp / "img", _array(shape, dtype, special, np.random.default_rng(seed)), form)
        code, _ = run_clean(["segment", str(image), "-o", str(tmp / "out"), "--max-iter", "3", *BASE], [image])
        if code == 0:
            assert (tmp / "out" / "img_labels.tif").is_file()


@settings(max_examples=50, **SETTINGS)
@given(
    shape=st.one_of(st.just((12, 16)), SHAPES),
    dtype=DTYPES,
    special=SPECIALS,
    form=FORMS,
    seed=st.integers(0, 2**16),
    png_convention=st.booleans(),
)
def test_fuzz_scribble_files(shape, dtype, special, form, seed, png_convention):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        image = _image(tmp)
        array = _array(shape, dtype, special, np.random.default_rng(seed))
        if array.dtype.kind in "iub" and array.shape == (12, 16):
            array = (array % 4).astype(array.dtype) if array.dtype != bool else array
        scr = _write(tmp / "strokes", array, form)
        argv = ["segment", str(image), "--scribbles", str(scr), "-o", str(tmp / "out"), "--max-iter", "3", *BASE]
        code, _ = run_clean(argv + (["--png-scribbles"] if png_convention else []), [image, scr])
        if code == 0:
            import tifffile

            labels = tifffile.imread(tmp / "out" / "img_labels.tif")
            values = np.load(scr) if scr.suffix == ".npy" else None
            if values is not None and values.dtype.kind in "iu" and not png_convention and values.any():
                # every scribbled pixel keeps its class exactly: no wrap-around
                keep = values > 0
                assert (labels[keep] == values[keep]).all()


# ------------------------------------------------------------------ weights files
def _weights_payload(kind: str, rng: np.random.Generator):
    from napari_unsup_seg.core.wnet.infer import FORMAT
    from napari_unsup_seg.core.wnet.model import WNet, WNetConfig

    good_config = {"in_channels": 3, "k": 4, "width": 2, "depth": 1}
    state = WNet(WNetConfig(**good_config)).state_dict()
    payloads = {
        "good": {"format": FORMAT, "version": 1, "config": good_config, "state_dict": state, "meta": {}},
        "no config": {"format": FORMAT, "version": 1, "state_dict": state},
        "config list": {"format": FORMAT, "config": [3, 4, 2, 1], "state_dict": state},
        "config strings": {
            "format": FORMAT,
            "config": {k: str(v) for k, v in good_config.items()},
            "state_dict": state,
        },
        "huge width": {"format": FORMAT, "config": dict(good_config, width=10**7), "state_dict": state},
        "deep": {"format": FORMAT, "config": dict(good_config, depth=40), "state_dict": state},
        "negative k": {"format": FORMAT, "config": dict(good_config, k=-1), "state_dict": state},
        "extra key": {"format": FORMAT, "config": dict(good_config, heads=2), "state_dict": state},
        "wrong shapes": {"format": FORMAT, "config": dict(good_config, width=4), "state_dict": state},
        "state not tensors": {"format": FORMAT, "config": good_config, "state_dict": {k: 1.0 for k in state}},
        "state list": {"format": FORMAT, "config": good_config, "state_dict": [1, 2]},
        "no format": {"config": good_config, "state_dict": state},
        "a tensor": torch.zeros(3),
        "a list": [1, 2, 3],
    }
    return payloads[kind]


WEIGHT_KINDS = [
    "good",
    "no config",
    "config list",
    "config strings",
    "huge width",
    "deep",
    "negative k",
    "extra key",
    "wrong shapes",
    "state not tensors",
    "state list",
    "no format",
    "a tensor",
    "a list",
    "truncated",
    "random bytes",
    "empty",
]


@settings(max_examples=40, **SETTINGS)
@given(kind=st.sampled_from(WEIGHT_KINDS), seed=st.integers(0, 1000))
def test_fuzz_weights_files(kind, seed):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        image = _image(tmp)
        weights = tmp / "net.pt"
        if kind in ("truncated", "random bytes", "empty"):
            torch.save(_weights_payload("good", None), weights)
            data = weights.read_bytes()
            weights.write_bytes(
                {
                    "truncated": data[: len(data) // 2],
                    "empty": b"",
                    "random bytes": bytes(np.random.default_rng(seed).integers(0, 256, 500, np.uint8)),
                }[kind]
            )
        else:
            torch.save(_weights_payload(kind, None), weights)
        argv = [
            "segment",
            str(image),
            "--method",
            "wnet",
            "--weights",
            str(weights),
            "-o",
            str(tmp / "out"),
            "--no-crf",
            *BASE,
        ]
        code, err = run_clean(argv, [image, weights])
        assert (code == 0) == (kind == "good"), err


@pytest.mark.parametrize("kind", ["huge width", "deep"])
def test_weights_asking_for_a_huge_model_are_refused_before_it_is_built(kind, tmp_path, monkeypatch):
    import napari_unsup_seg.core.wnet.infer as infer

    built = []
    monkeypatch.setattr(infer, "WNet", lambda config: built.append(config))
    torch.save(_weights_payload(kind, None), tmp_path / "net.pt")
    code, err = run_clean(
        [
            "segment",
            str(_image(tmp_path)),
            "--method",
            "wnet",
            "--weights",
            str(tmp_path / "net.pt"),
            "-o",
            str(tmp_path / "out"),
            *BASE,
        ],
        [tmp_path / "net.pt"],
    )
    assert code == 2 and "config" in err and built == []
