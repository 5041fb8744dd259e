"""higra is imported on first use (``core.ucm.hg``); two threads using it first at once both get all of it."""

from __future__ import annotations

import subprocess
import sys

# a fresh process: higra not imported yet
CODE = """
import threading
from napari_unsup_seg.core import ucm
errors = []

def warm_up():
    try:
        ucm.hg.Tree
    except Exception as err:
        errors.append(repr(err))

thread = threading.Thread(target=warm_up)
thread.start()
try:
    ucm.grid_graph((4, 5))
except Exception as err:
    errors.append(repr(err))
thread.join()
assert not errors, errors
"""


def test_two_threads_using_higra_first_at_once_both_get_all_of_it():
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_importing_the_core_does_not_import_higra():
    code = "import sys\nimport napari_unsup_seg.core.pipeline\nassert 'higra.higram' not in sys.modules, 'imported early'\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
