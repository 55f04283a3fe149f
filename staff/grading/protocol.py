"""The framed messages between the grading process and the executor in the sandbox.

Each message is a 4-byte big-endian length followed by that many bytes of
UTF-8 JSON. Arrays travel inside the JSON as {"__npy__": base64 of the .npy
bytes}; the receiving side loads them with allow_pickle=False, so a message
can never make either side unpickle anything. Objects that stay on one side
travel as references: {"__ref__": EXPR} names an object the executor holds
(executor.py resolves it), {"__token__": N} a cache that a reference layer
keeps in the grading process (session.py).

Bounds: a message holds at most MAX_MESSAGE bytes, MAX_VALUES JSON values
and MAX_DEPTH levels of nesting, checked on the bytes before they are parsed
(json_shape; a message under SMALL bytes cannot hold more values, and json
refuses deep nesting with RecursionError), so that parsing one costs at most a
small multiple of its size.

This file and executor.py are all of the grader that the sandbox sees.
"""
import base64
import io
import json
import math
import numbers
import re
import struct

import numpy as np

HEADER = struct.Struct('>I')
MAX_MESSAGE = 4 * 1024 * 1024    # the largest honest message is about 320 KB
MAX_VALUES = 100_000             # JSON values in one message (honest: a few hundred)
MAX_DEPTH = 100                  # nesting (encode_value refuses more than 20 levels of values)
SMALL = 64 * 1024                # a message this small is parsed unchecked: 32,768 values at most
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b'[]{}')


class ProtocolError(ValueError):
    pass


def encode_value(value, depth=0, other=None):
    """A JSON-able form of a value: arrays, numbers, strings, lists, dicts.

    other(value) encodes what none of those is (a reference), or returns None
    to describe it as opaque ({"__repr__": its type's name})."""
    if depth > 20:
        raise ProtocolError('value nested too deeply')
    if other is not None:
        special = other(value)
        if special is not None:
            return special
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in 'biuf':
            return {'__repr__': 'an array of dtype %s' % value.dtype}
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(value), allow_pickle=False)
        return {'__npy__': base64.b64encode(buf.getvalue()).decode('ascii')}
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return {'__dtype__': np.dtype(value).name}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        f = float(value)
        return f if math.isfinite(f) else {'__float__': repr(f)}
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return {'__dict__': [[encode_value(k, depth + 1, other),
                              encode_value(v, depth + 1, other)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [encode_value(v, depth + 1, other) for v in value]
    return {'__repr__': type(value).__name__}


class Opaque:
    """A value the probe could not send as data (an object of another type)."""

    def __init__(self, what):
        self.what = what

    def __repr__(self):
        return '<%s>' % self.what


def decode_value(value, depth=0, special=None):
    """The value encode_value encoded; special(dict) decodes a reference
    ({"__ref__": ...} or {"__token__": ...}), where the caller accepts them."""
    if depth > 22:
        raise ProtocolError('value nested too deeply')
    if isinstance(value, list):
        return [decode_value(v, depth + 1, special) for v in value]
    if isinstance(value, dict):
        if special is not None and len(value) == 1 and next(iter(value)) in ('__ref__',
                                                                               '__token__'):
            return special(value)
        if set(value) == {'__npy__'}:
            try:
                data = base64.b64decode(value['__npy__'], validate=True)
                return np.load(io.BytesIO(data), allow_pickle=False)
            except Exception as e:
                raise ProtocolError('bad array: %s' % e)
        if set(value) == {'__dtype__'}:
            try:
                return np.dtype(str(value['__dtype__'])).type
            except TypeError as e:
                raise ProtocolError('bad dtype: %s' % e)
        if set(value) == {'__float__'}:
            return float(value['__float__'])
        if set(value) == {'__repr__'}:
            return Opaque(str(value['__repr__']))
        if set(value) == {'__dict__'}:
            out = {}
            for item in value['__dict__']:
                if not (isinstance(item, list) and len(item) == 2):
                    raise ProtocolError('bad dict item')
                k = decode_value(item[0], depth + 1)
                if isinstance(k, (list, dict, np.ndarray, Opaque)):
                    k = repr(k)
                out[k] = decode_value(item[1], depth + 1, special)
            return out
        raise ProtocolError('unexpected object with keys %s' % sorted(value)[:5])
    return value


def json_shape(data, max_values=MAX_VALUES, max_depth=MAX_DEPTH):
    """Upper bounds on (the JSON values, the levels of nesting) of the JSON text `data`
    (bytes), without parsing it; exact enough to tell whether they are within the
    limits given.

    Commas, colons and opening brackets bound the number of values, and opening
    brackets the nesting; counted over the raw bytes they are upper bounds (base64,
    which carries the arrays, holds none of those characters). Only when a bound is
    over its limit is the nesting computed, and then the strings taken out."""
    def count(text):
        opens = text.count(b'[') + text.count(b'{')
        values = 1 + opens + text.count(b',') + text.count(b':')
        if opens <= max_depth:      # each level of nesting needs an opening bracket
            return values, opens
        brackets = np.frombuffer(text.translate(None, _NOT_BRACKETS), dtype=np.uint8)
        steps = np.where((brackets == ord('[')) | (brackets == ord('{')), 1, -1)
        return values, int(np.cumsum(steps).max())
    values, depth = count(data)
    if values > max_values or depth > max_depth:
        values, depth = count(_STRING.sub(b'0', data))
    return values, depth


def check_json(data, what='message', max_values=MAX_VALUES, max_depth=MAX_DEPTH):
    """Raise ProtocolError if the JSON text `data` holds more values or nests deeper
    than the limits (before anything parses it)."""
    data = bytes(data)
    if len(data) < 2 * max_values and data.count(b'[') + data.count(b'{') <= max_depth:
        return      # within the limits, whatever it holds
    values, depth = json_shape(data, max_values, max_depth)
    if values > max_values:
        raise ProtocolError('%s holds about %d JSON values (at most %d)' % (what, values,
                                                                              max_values))
    if depth > max_depth:
        raise ProtocolError('%s nests %d levels deep (at most %d)' % (what, depth, max_depth))


def frame(message):
    data = json.dumps(message, allow_nan=False).encode('utf-8')
    if len(data) > MAX_MESSAGE:
        raise ProtocolError('a message of %d bytes (at most %d)' % (len(data), MAX_MESSAGE))
    return HEADER.pack(len(data)) + data


class Reader:
    """Collects bytes from the pipe and yields the complete messages."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data
        out = []
        while len(self.buf) >= HEADER.size:
            (n,) = HEADER.unpack(self.buf[:HEADER.size])
            if n > MAX_MESSAGE:
                raise ProtocolError('message length %d over the limit' % n)
            if len(self.buf) < HEADER.size + n:
                break
            raw = bytes(self.buf[HEADER.size:HEADER.size + n])
            del self.buf[:HEADER.size + n]
            if n > SMALL:
                check_json(raw)
            try:
                msg = json.loads(raw.decode('utf-8'))
            except (ValueError, RecursionError) as e:     # nested too deep: RecursionError
                raise ProtocolError('not JSON: %s' % str(e)[:200])
            if not isinstance(msg, dict):
                raise ProtocolError('not a JSON object')
            out.append(msg)
        return out
