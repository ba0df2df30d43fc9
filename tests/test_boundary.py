"""The wire format: exactly-typed plain data, never pickle, malformed input refused."""

import json

import numpy as np
import pytest

from grader import wire


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        -(2**70),
        0.1,
        float("inf"),
        "text",
        [1, 2.5],
        (1, (2, 3)),
        {"a": [1], 3: None},
        np.float64(0.25),
        np.int64(7),
        np.bool_(True),
        np.float32(1.5),
    ],
)
def test_plain_values_round_trip_with_their_exact_types(value):
    back = wire.roundtrip(value)
    assert type(back) is type(value)
    assert back == value


def test_nan_round_trips_as_nan():
    assert np.isnan(wire.roundtrip(float("nan")))


def test_arrays_round_trip_exactly_with_dtype_shape_and_read_only_flag():
    array = np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2]  # not contiguous
    array.flags.writeable = False
    back = wire.roundtrip(array)
    assert type(back) is np.ndarray and back.dtype == np.float32 and back.shape == (3, 2)
    assert np.array_equal(back, array) and not back.flags.writeable
    assert wire.roundtrip(np.ones(2)).flags.writeable


class SneakyArray(np.ndarray):
    def __eq__(self, other):
        return True


class SneakyFloat(float):
    def __eq__(self, other):
        return True


class AlwaysEqual:
    def __eq__(self, other):
        return True


@pytest.mark.parametrize(
    "value, words",
    [
        (np.zeros(3).view(SneakyArray), "subclass of numpy.ndarray"),
        (SneakyFloat(1.0), "subclass of float"),
        (AlwaysEqual(), "not plain data"),
        (np.array([object()], dtype=object), "dtype object"),
        ({(1, 2): 3}, "key"),
        (lambda: 1, "not plain data"),
    ],
)
def test_values_that_are_not_plain_data_are_refused_with_a_reason(value, words):
    with pytest.raises(wire.NotPlainData, match=words.replace("(", r"\(")):
        wire.encode(value)


@pytest.mark.parametrize(
    "data",
    [
        {"t": "pickle", "v": "gASV"},
        {"t": "nd", "dtype": "object", "shape": [1], "data": ""},
        {"t": "nd", "dtype": "float64", "shape": [2], "data": "AAAA"},  # 3 bytes for 16 expected
        {"t": "nd", "dtype": "float64", "shape": [10**9, 10**9], "data": ""},
        {"t": "dict", "items": [[{"t": "list", "items": []}, 1]]},
        {"t": "int", "v": 5},
        [1, 2],
        1.5,
    ],
)
def test_malformed_wire_data_is_refused(data):
    with pytest.raises((wire.ProtocolError, KeyError, ValueError, TypeError)):
        wire.decode(data)


def test_json_constants_are_refused():
    with pytest.raises(wire.ProtocolError):
        wire.loads('{"t": "float", "v": NaN}')
    assert json.loads(wire.dumps(float("nan")))["v"] == "nan"
