"""The trust boundary's wire format: plain data only, never pickle.

Everything that crosses between the trusted grader and the process running a
submission goes through `encode` (on the sending side) and `decode` (on the
receiving side). A value on the wire is JSON: numbers, strings, booleans and
null as themselves, and every container or array as a tagged object. `decode`
builds brand-new objects of exact built-in or NumPy types from that JSON, so an
ndarray subclass, a float with a custom `__eq__` or a pickle payload can never
reach a check: whatever the other side sends, the trusted side holds only what
it built itself.

`encode` refuses anything that is not plain data with `NotPlainData`, whose
message tells the student what they returned and what to return instead.
The framing of messages is `grader.channel`'s.
"""

from __future__ import annotations

import base64
import json
import math
import re

import numpy as np

from grader.channel import reject_constant
from grader.errors import NotPlainData, ProtocolError
from grader.limits import LIMITS

# dtypes an array may have on the wire: numbers and booleans, nothing that
# could carry objects.
ARRAY_DTYPES = frozenset(
    [
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "complex64",
        "complex128",
    ]
)
# Caps that keep a hostile reply from exhausting the trusted side's memory (sized in grader.limits).
MAX_ARRAY_BYTES = LIMITS.wire_array_bytes
MAX_DEPTH = LIMITS.wire_depth
MAX_STRING = LIMITS.wire_string_chars


# The worker imports each submission as a package of this name and a number (grader.worker.dispatcher);
# the student knows its modules as `activations`, never `_dlgrade_submission_0.activations`.
SUBMISSION_PACKAGE = "_dlgrade_submission_"
_PACKAGE_PREFIX = re.compile(rf"\b{SUBMISSION_PACKAGE}\d+\.")


def without_package(text: str) -> str:
    """`text` with the submission's private package name left out of every dotted name in it."""
    return _PACKAGE_PREFIX.sub("", text)


def type_name(value) -> str:
    """`torch.Tensor`, `activations.Box`: a type as the student knows it (no private package prefix)."""
    cls = type(value)
    module = str(cls.__module__)
    name = str(cls.__qualname__).replace(".<locals>.", ".")
    return name if module in ("builtins", "") else without_package(f"{module}.{name}")


def encode(value, _depth: int = 0):
    """Turn plain data into JSON-ready wire data; refuse everything else."""
    if _depth > MAX_DEPTH:
        raise NotPlainData(f"a value nested more than {MAX_DEPTH} levels deep")
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return {"t": "int", "v": str(value)}
    if kind is float:
        return {"t": "float", "v": _float_text(value)}
    # NumPy scalars count as numbers (students meet them from np.mean & co).
    if isinstance(value, np.generic) and kind is np.dtype(kind).type and np.dtype(kind).name in ARRAY_DTYPES:
        return {"t": "scalar", "dtype": np.dtype(kind).name, "v": _scalar_text(value)}
    if kind is np.ndarray:
        if value.dtype.name not in ARRAY_DTYPES:
            raise NotPlainData(f"an array of dtype {value.dtype}; return an array of numbers")
        data = np.ascontiguousarray(value).tobytes()
        return {
            "t": "nd",
            "dtype": value.dtype.name,
            "shape": list(value.shape),
            "ro": not value.flags.writeable,
            "data": base64.b64encode(data).decode("ascii"),
        }
    if kind is list or kind is tuple:
        return {"t": kind.__name__, "items": [encode(item, _depth + 1) for item in value]}
    if kind is dict:
        items = []
        for key, item in value.items():
            if type(key) not in (str, int):
                raise NotPlainData(f"a dict with a key of type {type_name(key)}; use str keys")
            items.append([encode(key, _depth + 1), encode(item, _depth + 1)])
        return {"t": "dict", "items": items}
    if isinstance(value, np.ndarray):
        raise NotPlainData(f"a {type_name(value)} (a subclass of numpy.ndarray); return a plain np.ndarray")
    if isinstance(value, (int, float)):
        raise NotPlainData(
            f"a {type_name(value)} (a subclass of {type(value).__mro__[1].__name__}); return a plain int or float"
        )
    raise NotPlainData(
        f"a {type_name(value)}, which is not plain data (numbers, strings, lists, dicts and NumPy arrays)"
    )


def decode(wire, _depth: int = 0):
    """Build fresh, exactly-typed objects from wire data; reject anything malformed."""
    if _depth > MAX_DEPTH + 1:
        raise ProtocolError("nested too deep")
    if wire is None or type(wire) is bool:
        return wire
    if type(wire) is str:
        if len(wire) > MAX_STRING:
            raise ProtocolError("string too long")
        return str(wire)
    if type(wire) is not dict:
        raise ProtocolError(f"unexpected {type(wire).__name__} on the wire")
    tag = wire.get("t")
    if tag == "int":
        return int(_text(wire["v"], 4300))
    if tag == "float":
        return float(_text(wire["v"], 40))
    if tag == "scalar":
        dtype = _dtype(wire["dtype"])
        return dtype.type(_parse_scalar(dtype, _text(wire["v"], 100)))
    if tag == "nd":
        return _decode_array(wire)
    if tag in ("list", "tuple"):
        items = wire["items"]
        if type(items) is not list:
            raise ProtocolError("items must be a list")
        decoded = [decode(item, _depth + 1) for item in items]
        return decoded if tag == "list" else tuple(decoded)
    if tag == "dict":
        result = {}
        for pair in wire["items"]:
            if type(pair) is not list or len(pair) != 2:
                raise ProtocolError("dict items must be pairs")
            key = decode(pair[0], _depth + 1)
            if type(key) not in (str, int):
                raise ProtocolError("dict keys must be str or int")
            result[key] = decode(pair[1], _depth + 1)
        return result
    raise ProtocolError(f"unknown tag {tag!r}")


def dumps(value) -> str:
    """encode + JSON text (NaN and infinities are carried as text, not JSON literals)."""
    return json.dumps(encode(value), allow_nan=False, separators=(",", ":"))


def loads(text: str | bytes):
    """JSON text + decode."""
    return decode(json.loads(text, parse_constant=reject_constant))


def roundtrip(value):
    """What the other side of the boundary would hold: used by the in-process mode."""
    return loads(dumps(value))


def _float_text(value: float) -> str:
    return repr(value)  # 'nan', 'inf', '-inf' or the shortest exact decimal


def _scalar_text(value) -> str:
    if isinstance(value, (np.floating, np.complexfloating)):
        return repr(value.item())
    return str(value.item())


def _parse_scalar(dtype: np.dtype, text: str):
    if dtype.kind == "b":
        if text not in ("True", "False"):
            raise ProtocolError("bad bool")
        return text == "True"
    if dtype.kind in "iu":
        return int(text)
    if dtype.kind == "c":
        return complex(text)
    return float(text)


def _text(value, limit: int) -> str:
    if type(value) is not str or len(value) > limit:
        raise ProtocolError("bad number text")
    return value


def _dtype(name) -> np.dtype:
    if type(name) is not str or name not in ARRAY_DTYPES:
        raise ProtocolError(f"dtype {name!r} is not allowed")
    return np.dtype(name)


def _decode_array(wire) -> np.ndarray:
    dtype = _dtype(wire["dtype"])
    shape = wire["shape"]
    if type(shape) is not list or not all(type(n) is int and n >= 0 for n in shape) or len(shape) > 32:
        raise ProtocolError("bad array shape")
    count = math.prod(shape)
    if count * dtype.itemsize > MAX_ARRAY_BYTES:
        raise ProtocolError("array too large")
    data = base64.b64decode(_text(wire["data"], 4 * MAX_ARRAY_BYTES // 3 + 8), validate=True)
    if len(data) != count * dtype.itemsize:
        raise ProtocolError("array data does not match its shape")
    array = np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    if wire.get("ro") is True:
        array.flags.writeable = False
    return array
