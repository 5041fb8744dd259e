"""Committing a result into a user's labels: the three modes, what is kept, what is refused."""

import doctest

import numpy as np
import pytest

from napari_unsup_seg.core import commit
from napari_unsup_seg.core.commit import commit_labels, plan_commit
from napari_unsup_seg.core.errors import InputError


def _result() -> np.ndarray:
    """(6, 8): class 1 on the left, class 2 as two separate blocks, class 3 a stripe, 0 a gap."""
    r = np.ones((6, 8), np.int32)
    r[0:2, 4:8] = 2
    r[4:6, 4:8] = 2
    r[2:4, 4:8] = 3
    r[:, 3] = 0  # not segmented
    return r


def _target() -> np.ndarray:
    """The user's labels: a few pixels labelled 7 across classes 1 and 2."""
    t = np.zeros((6, 8), np.uint16)
    t[0, 0:2] = 7  # class 1
    t[0, 4] = 7  # class 2
    return t


def test_docstring_example():
    assert doctest.testmod(commit, raise_on_error=True).attempted >= 1


def test_semantic_keeps_class_numbers_into_unlabelled_pixels_only():
    target, result = _target(), _result()
    new, summary = commit_labels(target, result)
    free = target == 0
    np.testing.assert_array_equal(new[free], result[free])
    np.testing.assert_array_equal(new[~free], 7)  # the user's labels stay
    assert new.dtype == target.dtype
    assert summary.kept == 3 and summary.replaced == 0
    assert summary.written == {k: int(((result == k) & free).sum()) for k in (1, 2, 3)}
    np.testing.assert_array_equal(target, _target())  # the input is not modified


def test_semantic_with_values_for_the_chosen_classes():
    target, result = _target(), _result()
    new, summary = commit_labels(target, result, classes=[2, 3], values={2: 40, 3: 41})
    expected = target.copy()
    expected[(result == 2) & (target == 0)] = 40
    expected[(result == 3) & (target == 0)] = 41
    np.testing.assert_array_equal(new, expected)
    assert summary.written == {40: 15, 41: 8} and summary.kept == 1
    assert not np.any(new[result == 1] == 1)  # class 1 was not chosen


def test_overwrite_replaces_labelled_pixels():
    target, result = _target(), _result()
    new, summary = commit_labels(target, result, classes=[1], overwrite=True)
    np.testing.assert_array_equal(new[result == 1], 1)
    assert new[0, 4] == 7  # another class's pixel is never touched
    assert summary.written == {1: int((result == 1).sum())} and summary.replaced == 2 and summary.kept == 0


def test_overwrite_counts_pixels_already_holding_the_value_as_kept():
    target = np.zeros((6, 8), np.int32)
    target[5, 0] = 1
    new, summary = commit_labels(target, _result(), classes=[1], overwrite=True)
    assert summary.kept == 1 and summary.written == {1: int((_result() == 1).sum()) - 1}


def test_one_class_as_one_object_takes_the_next_free_label():
    target, result = _target(), _result()
    new, summary = commit_labels(target, result, classes=[2], mode="object")
    written = (result == 2) & (target == 0)
    np.testing.assert_array_equal(new[written], 8)  # max(target) + 1, both blocks as one object
    assert summary.written == {8: int(written.sum())}
    new, _ = commit_labels(target, result, classes=[2], mode="object", start=3)
    np.testing.assert_array_equal(new[written], 3)


def test_instances_number_each_connected_region():
    target, result = _target(), _result()
    new, summary = commit_labels(target, result, mode="instances")
    # regions: class 1 (one), class 2 top block, class 3 stripe, class 2 bottom block -> 8, 9, 10, 11
    assert new[3, 0] == 8 and new[1, 5] == 9 and new[3, 5] == 10 and new[5, 5] == 11
    assert summary.written == {8: 16, 9: 7, 10: 8, 11: 8}
    np.testing.assert_array_equal(new[target > 0], 7)
    assert new[0, 3] == 0  # 0 in the result is no class
    new, summary = commit_labels(target, result, classes=[2], mode="instances", start=100)
    assert set(summary.written) == {100, 101} and new[1, 5] == 100 and new[5, 5] == 101


def test_instances_skip_regions_that_are_all_labelled_already():
    target = np.zeros((6, 8), np.int32)
    target[0:2, 4:8] = 5  # the top block of class 2
    new, summary = commit_labels(target, _result(), classes=[2], mode="instances")
    assert summary.written == {6: 8} and summary.kept == 8  # the bottom block alone, numbered 6


def test_3d_instances_connect_across_slices():
    result = np.zeros((3, 5, 5), np.int32)
    result[0:2, 1:3, 1:3] = 1  # one object over two slices
    result[2, 4, 4] = 1  # another on the last slice
    target = np.zeros((3, 5, 5), np.uint8)
    new, summary = commit_labels(target, result, mode="instances")
    np.testing.assert_array_equal(new[0:2, 1:3, 1:3], 1)
    assert new[2, 4, 4] == 2 and summary.written == {1: 8, 2: 1}


def test_plan_holds_only_the_changed_pixels():
    target, result = _target(), _result()
    plan = plan_commit(target, result, classes=[3])
    assert plan.index[0].size == plan.values.size == 8
    np.testing.assert_array_equal(result[plan.index], 3)
    assert plan.values.dtype == target.dtype


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"classes": [4]}, "class 4 is not in the result"),
        ({"classes": [0]}, "class 0 is not in the result"),
        ({"values": {1: 70_000}}, "does not fit the labels layer's uint16"),
        ({"values": {1: 0}}, "0 means unlabelled"),
        ({"mode": "object", "start": 65_536}, "does not fit"),
        ({"mode": "sparkle"}, "unknown commit mode"),
        ({"mode": "instances", "values": {1: 3}}, "label values per class"),
    ],
)
def test_refused_with_one_line(kwargs, words):
    with pytest.raises(InputError, match=words) as err:
        plan_commit(_target(), _result(), **kwargs)
    assert "\n" not in str(err.value)


def test_refused_when_the_next_free_label_overflows():
    target = np.full((6, 8), 0, np.uint8)
    target[0, 0] = 255
    with pytest.raises(InputError, match="256 does not fit the labels layer's uint8"):
        plan_commit(target, _result(), mode="object")
    target[0, 0] = 250
    result = np.zeros((6, 8), np.int32)
    result[:, ::2] = 1  # 4 columns: 4 regions need 251..254
    assert plan_commit(target, result, mode="instances").summary.total == 23
    result[:, 1::4] = 2  # 2 more regions (each column of class 2): 251..256
    with pytest.raises(InputError, match="256 does not fit"):
        plan_commit(target, result, mode="instances")


def test_refused_shape_and_dtype():
    with pytest.raises(InputError, match=r"shape \(6, 7\) but the result \(6, 8\)"):
        plan_commit(np.zeros((6, 7), np.int32), _result())
    with pytest.raises(InputError, match="float32 values, not integer labels"):
        plan_commit(np.zeros((6, 8), np.float32), _result())


def test_large_class_values_and_negative_values():
    result = np.array([[1, 5, 1 << 25], [-3, 5, 1 << 25]], np.int64)
    target = np.zeros((2, 3), np.int64)
    new, summary = commit_labels(target, result, classes=[5, 1 << 25])  # not by a table: too large
    np.testing.assert_array_equal(new, [[0, 5, 1 << 25], [0, 5, 1 << 25]])
    result[0, 2] = result[1, 2] = 2
    new, _ = commit_labels(target, result, classes=[2, 5])  # by a table; a negative value is no class
    np.testing.assert_array_equal(new, [[0, 5, 2], [0, 5, 2]])


def test_summary_sentences():
    assert commit.CommitSummary({7: 1234}, 56).describe() == "wrote 1,234 px as label 7; kept 56 px already labelled"
    assert (
        commit.CommitSummary({1: 2, 3: 4}, 0, 1).describe("GT") == "wrote 6 px as labels 1, 3 into GT (1 px relabelled)"
    )
    assert commit.CommitSummary({k: 1 for k in range(5, 30)}, 0).describe() == "wrote 25 px as 25 labels (5-29)"
    assert "tick Overwrite" in commit.CommitSummary({}, 3).describe()
