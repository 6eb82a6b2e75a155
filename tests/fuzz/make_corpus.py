#!/usr/bin/python3
"""Writes the seed corpora of fuzz_msg (msgpack envelopes), fuzz_json and fuzz_logs.

Run from anywhere: /usr/bin/python3 tests/fuzz/make_corpus.py
The msgpack encoder here is deliberately independent of common/pst_msg.c, and
raw() lets a seed hold bytes no encoder would produce.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ID = "0123456789abcdef0123456789abcdef"
DL = 1767225600000              # 2026-01-01, a fixed deadline keeps seeds stable


class raw(bytes):
    """Bytes written as they are."""


class f32(float):
    """A float packed as float 32."""


def pack(value):
    if isinstance(value, raw):
        return bytes(value)
    if value is None:
        return b"\xc0"
    if value is True:
        return b"\xc3"
    if value is False:
        return b"\xc2"
    if isinstance(value, int):
        if 0 <= value < 0x80:
            return bytes([value])
        if -32 <= value < 0:
            return struct.pack(">b", value)
        if 0 <= value <= 0xffffffff:
            return b"\xce" + struct.pack(">I", value)
        if 0 <= value <= 0xffffffffffffffff:
            return b"\xcf" + struct.pack(">Q", value)
        return b"\xd3" + struct.pack(">q", value)
    if isinstance(value, f32):
        return b"\xca" + struct.pack(">f", value)
    if isinstance(value, float):
        return b"\xcb" + struct.pack(">d", value)
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogatepass")
    if isinstance(value, bytes):        # a str whose bytes may be invalid UTF-8
        n = len(value)
        if n < 32:
            return bytes([0xa0 | n]) + value
        if n < 0x100:
            return b"\xd9" + bytes([n]) + value
        return b"\xda" + struct.pack(">H", n) + value
    if isinstance(value, list):
        head = bytes([0x90 | len(value)]) if len(value) < 16 else b"\xdc" + struct.pack(">H", len(value))
        return head + b"".join(pack(v) for v in value)
    if isinstance(value, (dict, tuple)):
        # a tuple of pairs allows duplicate and non-string keys
        pairs = list(value.items()) if isinstance(value, dict) else list(value)
        n = len(pairs)
        head = bytes([0x80 | n]) if n < 16 else b"\xde" + struct.pack(">H", n)
        return head + b"".join(pack(k) + pack(v) for k, v in pairs)
    raise TypeError(value)


def envelope(body=None, drop=(), **extra):
    pairs = [("v", 1), ("id", ID), ("op", "token.grant"), ("dl", DL)]
    pairs = [(k, v) for k, v in pairs if k not in drop]
    pairs += list(extra.items())
    if body is not None:
        pairs.append(("body", body))
    return pack(tuple(pairs))


def nested(depth, inner):
    for _ in range(depth):
        inner = [inner]
    return inner


MSG = {
    # well formed
    "request_minimal": envelope(),
    "request_full": envelope({"grant_type": "password", "username": "a@example.com",
                              "password": "hunter2", "n": -5, "big": 2**63 - 1,
                              "small": -2**63, "pi": 3.25, "ok": True, "no": False,
                              "nil": None, "list": [1, "two", [], {}]},
                             sub="auth0|u1", scp="read:users create:users", azp="app1",
                             ip="127.0.0.1"),
    "reply_ok": envelope({"access_token": "x.y.z", "expires_in": 86400}, st=0),
    "reply_error": envelope({"mfa_token": "abc"}, st=1, err="mfa_required",
                            msg="Multifactor authentication required"),
    "management": envelope({"id": "cl_1", "data": {"name": "app", "grant_types": ["password"]},
                            "query": {"page": "0"}}, sub="m2m", scp="create:clients"),
    "depth_8": envelope({"a": nested(5, {})}),
    "unknown_keys": envelope({}, zz=[1, {"q": None}], trace="t-1"),
    "float32": envelope({"f": f32(0.5), "g": f32(-1.5)}),
    "wide_ints": envelope({"u8": raw(b"\xcc\xff"), "u16": raw(b"\xcd\x12\x34"),
                           "i8": raw(b"\xd0\x80"), "i16": raw(b"\xd1\x80\x00"),
                           "i32": raw(b"\xd2\x80\x00\x00\x00"), "pos_i8": raw(b"\xd0\x05")}),
    "unicode": envelope({"name": "h\u00e9llo \U0001F600", "long": "x" * 300}),
    "empty_strings": envelope({"": ""}, sub="", scp=""),
    "mail_send": envelope({"job_id": "j1", "to": "a@example.com", "subject": "Code",
                           "text": "Your code", "html": "<p>code</p>",
                           "message_id": "<m@x>", "expires_at": 1767225900}),
    # malformed
    "depth_9": envelope({"a": nested(6, {})}),
    "map32_lie": b"\xdf\xff\xff\xff\xff\xa1a\xc0\xa1b",
    "trailing": envelope() + b"\xc0",
    "truncated_str": envelope({"s": raw(b"\xd9\x40short")}),
    "truncated": envelope({"a": [1, 2, 3]})[:-2],
    "bin": envelope({"b": raw(b"\xc4\x02ab")}),
    "ext": envelope({"e": raw(b"\xd4\x01\x00")}),
    "reserved_c1": envelope({"r": raw(b"\xc1")}),
    "bad_utf8": envelope({"s": b"\xc0\xaf"}),
    "nul_in_str": envelope({"user": b"admin\x00evil"}),
    "missing_id": envelope(drop=("id",)),
    "wrong_version": pack((("v", 2), ("id", ID), ("op", "a.b"), ("dl", DL))),
    "bad_op": envelope(drop=("op",), op="Token Grant"),
    "duplicate_op": envelope(op="users.delete"),
    "duplicate_body_key": envelope((("a", 1), ("a", 2))),
    "int_key": envelope(((1, 2),)),
    "u64_overflow": envelope({"n": 2**64 - 1}),
    "nan": envelope({"x": float("nan")}),
    "error_without_code": envelope(st=1),
    "top_array": pack([1, 2, 3]),
    "empty": b"",
}

JSON = {
    "token_password": b'{"grant_type":"password","username":"a@example.com","password":"pw",'
                      b'"client_id":"c1","audience":"https://api","scope":"openid profile"}',
    "mfa_challenge": b'{"client_id":"c1","client_secret":"s","mfa_token":"t","challenge_type":"oob"}',
    "mfa_associate": b'{"authenticator_types":["oob"],"oob_channels":["email"],"email":"a@b.c"}',
    "client_create": b'{"name":"app","app_type":"non_interactive","grant_types":["client_credentials"],'
                     b'"token_endpoint_auth_method":"client_secret_post"}',
    "resource_server": b'{"identifier":"https://api","scopes":[{"value":"read:x","description":"d"}],'
                       b'"token_lifetime":86400,"allow_offline_access":false}',
    "numbers": b'{"i":-9223372036854775808,"j":9223372036854775807,"r":1.5e-300,"z":-0.0,"e":1E+2}',
    "unicode": '{"name":"h\u00e9llo \U0001F600","esc":"\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\/"}'.encode(),
    "empty": b"{}",
    "whitespace": b' \n\t{ "a" :\r\n [ 1 , 2 ] }\n ',
    "depth_8": b'{"a":' + b"[" * 7 + b"]" * 7 + b"}",
    "nulls": b'{"a":null,"b":true,"c":false,"d":[],"e":{}}',
    # malformed
    "depth_9": b'{"a":' + b"[" * 8 + b"]" * 8 + b"}",
    "deep_3000": b'{"a":' + b"[" * 3000 + b"]" * 3000 + b"}",
    "duplicate": b'{"a":1,"a":2}',
    "duplicate_nested": b'{"x":{"b":1,"b":1}}',
    "bad_utf8": b'{"a":"\xc0\xaf"}',
    "surrogate_raw": b'{"a":"\xed\xa0\x80"}',
    "lone_surrogate": b'{"a":"\\ud800"}',
    "nul_escape": b'{"user":"admin\\u0000x"}',
    "nul_raw": b'{"a":"x\x00y"}',
    "top_array": b'[{"a":1}]',
    "top_scalar": b'42',
    "trailing": b'{} x',
    "two_objects": b'{}{}',
    "truncated": b'{"a":[1,2',
    "big_int": b'{"n":92233720368547758070}',
    "huge_real": b'{"n":1e999}',
    "nan": b'{"n":NaN}',
    "bom": b'\xef\xbb\xbf{}',
    "single_quotes": b"{'a':1}",
}

# fuzz_logs: a query's members as the gateway hands them on, bare q texts, log_ids
LOGS = {
    "search": b'{"q":"type:\\"s\\" AND user_id:\\"auth0|1\\"","page":"1","per_page":"10","sort":"date:1","include_totals":"true"}',
    "dates": b'{"q":"date:[2026-01-01 TO 2026-12-31T23:59:59.999Z] client_id:abc"}',
    "open_dates": b'{"q":"date:[* TO *]"}',
    "reversed_dates": b'{"q":"date:[2026-12-31 TO 2026-01-01]"}',
    "checkpoint": b'{"from":"1767225600000100000000000000000042","take":"100"}',
    "bad_take": b'{"from":"1767225600000100000000000000000042","take":"0"}',
    "window": b'{"page":"10","per_page":"100"}',
    "fields": b'{"fields":"type,date,log_id","include_fields":"false"}',
    "search_member": b'{"search":"type:fp"}',
    "both": b'{"q":"type:s","search":"type:f"}',
    "q_or": b'type:s OR type:f',
    "q_unclosed": b'user_id:"auth0|1',
    "q_range_open": b'date:[2026-01-01 TO',
    "q_unknown_field": b'ip:"127.0.0.1"',
    "q_empty": b'',
    "log_id": b'1767225600000200000000000000000007',
    "log_id_short": b'17672256000002000',
}


def write(kind, seeds):
    folder = os.path.join(HERE, "corpus", kind)
    os.makedirs(folder, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("msg", MSG)
    write("json", JSON)
    write("logs", LOGS)
