#!/usr/bin/env python3
"""Checks the wire contracts in proto/ against each other, against the
numbers of docs/DESIGN.md (restated below as EXPECTED_*), and against a table
of example bodies (examples/cases.yaml).

Run it through run.sh (which provides the pinned venv). Offline. One line per
check ("ok" or "FAIL"), then exactly "N passed, N failed"; exit status 1 on any
failure. -q prints failing checks only (and the summary).

What is checked:
  files      every proto file parses (JSON / YAML without duplicate keys) and
             every $ref in them resolves (across files);
  schemas    the *.schema.json are valid JSON Schema 2020-12, strict, and carry
             DESIGN.md's limits;
  openapi    openapi-spec-validator (OpenAPI 3.1) plus the contract: every
             status, error code, header, security scheme, admin endpoint, and
             the signing test vector;
  asyncapi   the official AsyncAPI 3.0.0 JSON Schema (vendored) plus a
             structural check: channels, operations, messages, headers, keys;
  cross      the specs share one definition of each id / code / header format,
             and agree with scripts/local.env's defaults;
  examples   each example body is accepted / rejected as its table says, by
             the schema and by a reference implementation of the rules the
             schema cannot express (sum of lines, duplicate keys, integer
             literals), including the JSON-pointer 'field' of the 400 answer.
"""

import argparse
import hashlib
import hmac
import json
import re
import subprocess
import sys
import traceback
import urllib.parse
from pathlib import Path

import yaml
from jsonschema import Draft7Validator, Draft202012Validator, validators
from jsonschema.exceptions import ValidationError
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT202012

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PROTO = ROOT / "proto"
EXAMPLES = HERE / "examples"
LOCAL_ENV = ROOT / "scripts" / "local.env"
ASYNCAPI_SCHEMA = HERE / "vendor" / "asyncapi-specs-6.11.1" / "3.0.0-without-id.json"
ASYNCAPI_SCHEMA_SHA256 = "abe96881dbfaad495ccbb6bd8d3fb43ca18a13b9d7564849ccb66f39d5e5b20f"
DIALECT_2020_12 = "https://json-schema.org/draft/2020-12/schema"

# ---------------------------------------------------------------------------
# The contract as docs/DESIGN.md states it. The specs must say the same.
# ---------------------------------------------------------------------------
EXPECTED_ERROR_STATUS = {
    "invalid_json": 400,
    "invalid_order": 400,
    "unauthorized": 401,
    "not_found": 404,
    "method_not_allowed": 405,
    "in_progress": 409,
    "too_large": 413,
    "unsupported_media_type": 415,
    "idempotency_conflict": 422,
    "rate_limited": 429,
    "unavailable": 503,
}
EXPECTED_POST_STATUSES = {202, 400, 401, 409, 413, 415, 422, 429, 503}
EXPECTED_ORDER_LIMITS = {  # JSON pointer into order.schema.json -> value
    "/type": "object",
    "/additionalProperties": False,
    "/required": ["order_id", "customer_id", "currency", "items", "total_cents"],
    "/$defs/OrderId/pattern": "^[A-Za-z0-9_-]{1,64}$",
    "/properties/customer_id/minLength": 1,
    "/properties/customer_id/maxLength": 128,
    "/properties/currency/pattern": "^[A-Z]{3}$",
    "/properties/items/minItems": 1,
    "/properties/items/maxItems": 100,
    "/$defs/Item/additionalProperties": False,
    "/$defs/Item/required": ["sku", "quantity", "unit_price_cents"],
    "/$defs/Item/properties/sku/minLength": 1,
    "/$defs/Item/properties/sku/maxLength": 64,
    "/$defs/Item/properties/quantity/type": "integer",
    "/$defs/Item/properties/quantity/minimum": 1,
    "/$defs/Item/properties/quantity/maximum": 1000000,
    "/$defs/Item/properties/unit_price_cents/type": "integer",
    "/$defs/Item/properties/unit_price_cents/minimum": 0,
    "/$defs/Item/properties/unit_price_cents/maximum": 10**12,
    "/properties/total_cents/type": "integer",
    "/properties/total_cents/minimum": 0,
    "/properties/total_cents/maximum": 2**53 - 1,
    "/$defs/Metadata/type": "object",
    "/$defs/Metadata/maxProperties": 32,
    "/$defs/Metadata/propertyNames/maxLength": 64,
    "/$defs/Metadata/additionalProperties": {"type": "string", "maxLength": 256},
    "/$defs/ClientId/pattern": "^[A-Za-z0-9._-]{1,64}$",
}
EXPECTED_SIGNATURE_PATTERN = "^(sha256=)?[0-9a-f]{64}$"
EXPECTED_SUBSCRIPTION_TOPICS = {"orders.billing", "orders.archive"}
EXPECTED_CE_HEADERS = {
    "ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject",
    "ce_clientid", "content-type", "traceparent",
}
EXPECTED_CE_TYPE = "orders.order.accepted.v1"
EXPECTED_DLQ_HEADERS = {
    "dlq_reason", "dlq_error", "dlq_source_topic", "dlq_source_partition",
    "dlq_source_offset", "dlq_attempts", "dlq_failed_at",
}
EXPECTED_DLQ_REASONS = {"undecodable", "invalid", "permanent_store_error"}  # at least
ADMIN_PATHS = {"/healthz", "/readyz", "/metrics"}
MIN_VALID_EXAMPLES, MIN_INVALID_EXAMPLES = 10, 25


class CheckFailed(Exception):
    """A check's assertion failed; the message says what."""


def expect(cond, msg):
    if not cond:
        raise CheckFailed(msg)


# ---------------------------------------------------------------------------
# Loading: strict JSON and YAML (duplicate keys are errors), cached by path.
# ---------------------------------------------------------------------------
class DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise DuplicateKey(f"duplicate key {k!r}")
        d[k] = v
    return d


class StrictYamlLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_DOCS = {}


def load(path):
    path = Path(path).resolve()
    if path not in _DOCS:
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".yaml", ".yml"):
            _DOCS[path] = yaml.load(text, Loader=StrictYamlLoader)
        else:
            _DOCS[path] = json.loads(text, object_pairs_hook=_no_duplicates)
    return _DOCS[path]


def unescape_pointer_token(tok):
    return tok.replace("~1", "/").replace("~0", "~")


def escape_pointer_token(tok):
    return tok.replace("~", "~0").replace("/", "~1")


def pointer_get(doc, pointer):
    """RFC 6901: "" is the whole document, "/a/0" a member then an element."""
    if pointer == "":
        return doc
    if not pointer.startswith("/"):
        raise KeyError(pointer)
    node = doc
    for tok in pointer[1:].split("/"):
        tok = unescape_pointer_token(tok)
        node = node[int(tok)] if isinstance(node, list) else node[tok]
    return node


def resolve_ref(base_file, ref):
    """Resolve a $ref written in base_file: returns (file, node)."""
    uri, _, frag = ref.partition("#")
    target = (Path(base_file).parent / urllib.parse.unquote(uri)).resolve() if uri else Path(base_file).resolve()
    expect(target.is_file(), f"{ref!r} in {Path(base_file).name}: no file {target}")
    frag = urllib.parse.unquote(frag)
    try:
        return target, pointer_get(load(target), frag)
    except (KeyError, IndexError, ValueError, TypeError):
        raise CheckFailed(f"{ref!r} in {Path(base_file).name}: no {frag!r} in {target.name}") from None


def deref(base_file, node, depth=0):
    """Follow $ref chains (a node that is only a $ref, possibly with
    annotations) to the node they name; returns (file, node)."""
    while isinstance(node, dict) and "$ref" in node and depth < 50:
        base_file, node = resolve_ref(base_file, node["$ref"])
        depth += 1
    return base_file, node


def walk(node, pointer=""):
    """Yield (pointer, node) for every dict/list node, depth first."""
    yield pointer, node
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, (dict, list)):
                yield from walk(v, f"{pointer}/{escape_pointer_token(str(k))}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if isinstance(v, (dict, list)):
                yield from walk(v, f"{pointer}/{i}")


# ---------------------------------------------------------------------------
# JSON Schema validation with ECMA-262 'pattern' semantics.
#
# JSON Schema patterns are ECMA-262 regexes. Python's re differs in ways that
# matter for strict input checks: '$' also matches before a final "\n" (so
# "EUR\n" would pass "^[A-Z]{3}$"), and \d / \w match non-ASCII digits and
# letters. The 'pattern' keyword is re-implemented with '$' -> '\Z' (outside
# character classes) and re.ASCII, which is faithful for the constructs the
# proto/ schemas use (anchors, classes, quantifiers, groups, alternation).
# ---------------------------------------------------------------------------
_REGEX_CACHE = {}


def ecma_regex(pattern):
    rx = _REGEX_CACHE.get(pattern)
    if rx is None:
        out, i, in_class = [], 0, False
        while i < len(pattern):
            c = pattern[i]
            if c == "\\":
                out.append(pattern[i:i + 2])
                i += 2
                continue
            if in_class:
                in_class = c != "]"
            elif c == "[":
                in_class = True
            elif c == "$":
                c = r"\Z"
            out.append(c)
            i += 1
        rx = _REGEX_CACHE[pattern] = re.compile("".join(out), re.ASCII)
    return rx


def _ecma_pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


Strict202012 = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})
Strict7 = validators.extend(Draft7Validator, {"pattern": _ecma_pattern})
# A $ref into a resource that declares "$schema": 2020-12 (order.schema.json,
# event.schema.json) makes jsonschema switch to that dialect's registered
# class: register ours, so that the ECMA semantics hold across files too.
validators.validates(DIALECT_2020_12)(Strict202012)
FORMATS = Draft202012Validator.FORMAT_CHECKER  # date-time, uuid, ...


def _retrieve(uri):
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme != "file":
        raise NoSuchResource(ref=uri)  # offline: only local files
    return Resource.from_contents(load(urllib.parse.unquote(parsed.path)),
                                  default_specification=DRAFT202012)


REGISTRY = Registry(retrieve=_retrieve)


def schema_validator(file, pointer="", cls=Strict202012):
    """A validator for the schema at file#pointer ($refs resolved from there)."""
    uri = Path(file).resolve().as_uri() + "#" + pointer
    return cls({"$ref": uri}, registry=REGISTRY, format_checker=FORMATS)


def errors_of(validator, instance):
    return sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))


def error_fields(errors):
    """The JSON pointers the server reports for these schema errors
    (error.schema.json#/$defs/JsonPointer): the failing value; for a missing
    required member, where it should be; for an unknown member or a metadata
    key that is too long, that member."""
    out = set()
    for e in errors:
        base = "".join("/" + escape_pointer_token(str(p)) for p in e.absolute_path)
        if e.validator == "required" and isinstance(e.instance, dict):
            out |= {f"{base}/{escape_pointer_token(r)}" for r in e.validator_value if r not in e.instance}
        elif e.validator == "additionalProperties" and e.validator_value is False:
            known = e.schema.get("properties", {})
            out |= {f"{base}/{escape_pointer_token(k)}" for k in e.instance if k not in known}
        elif "propertyNames" in e.absolute_schema_path:
            out.add(f"{base}/{escape_pointer_token(e.instance)}")
        else:
            out.add(base)
    return out


# ---------------------------------------------------------------------------
# Reference implementation of the order rules that JSON Schema cannot express.
# reference_verdict(raw body bytes) -> None (accepted) or (code, field).
# ---------------------------------------------------------------------------
class _Obj(dict):
    """A parsed JSON object that remembers its duplicate member names."""
    duplicates = ()


class _FloatLiteral(float):
    """A number written with a fraction or exponent (2.0, 2e0)."""


def _pairs(pairs):
    obj, dups = _Obj(), []
    for k, v in pairs:
        if k in obj and k not in dups:
            dups.append(k)
        obj[k] = v
    obj.duplicates = dups
    return obj


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def parse_body(raw):
    """Parse like the server: strict UTF-8, one JSON text, no NaN/Infinity;
    keeps duplicate member names and non-integer literals visible."""
    text = raw.decode("utf-8")  # UnicodeDecodeError is a ValueError
    return json.loads(text, object_pairs_hook=_pairs, parse_float=_FloatLiteral,
                      parse_constant=_reject_constant)


def reference_verdict(raw, order_validator):
    try:
        body = parse_body(raw)
    except ValueError:
        return ("invalid_json", "")
    for ptr, node in walk(body):
        if isinstance(node, _Obj) and node.duplicates:
            return ("invalid_order", f"{ptr}/{escape_pointer_token(node.duplicates[0])}")
    errors = errors_of(order_validator, body)
    if errors:
        return ("invalid_order", sorted(error_fields(errors[:1]))[0])
    for ptr, node in walk(body):
        for k, v in (node.items() if isinstance(node, dict) else enumerate(node)):
            if isinstance(v, _FloatLiteral):  # every number of an order is an integer
                return ("invalid_order", f"{ptr}/{escape_pointer_token(str(k))}")
    total = sum(i["quantity"] * i["unit_price_cents"] for i in body["items"])
    if total != body["total_cents"]:
        return ("invalid_order", "/total_cents")
    return None


def hmac_signature(secret, timestamp, body):
    """The X-Signature of openapi.yaml: hex HMAC-SHA256 of
    <X-Timestamp> "\\n" "POST" "\\n" "/orders" "\\n" <raw body bytes>."""
    to_sign = timestamp.encode() + b"\nPOST\n/orders\n" + body
    return hmac.new(secret.encode(), to_sign, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------
# Runner
# ---------------------------------------------------------------------------
class Runner:
    def __init__(self, quiet):
        self.quiet, self.passed, self.failed = quiet, 0, 0

    def run(self, name, fn, *args):
        try:
            note = fn(*args)
        except CheckFailed as e:
            self._fail(name, str(e))
        except Exception as e:  # a crash is a failure of that check only
            where = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == __file__][-1]
            first = (str(e).strip().splitlines() or [""])[0]
            self._fail(name, f"{type(e).__name__}: {first} (check.py:{where.lineno})")
        else:
            self.passed += 1
            if not self.quiet:
                print(f"ok    {name}" + (f" ({note})" if note else ""))

    def _fail(self, name, msg):
        self.failed += 1
        msg = " ".join(msg.split())  # one line per check, whatever the message
        print(f"FAIL  {name}: {msg[:400]}{'...' if len(msg) > 400 else ''}")


# ---------------------------------------------------------------------------
# files and $refs
# ---------------------------------------------------------------------------
PROTO_FILES = ["order.schema.json", "event.schema.json", "error.schema.json",
               "openapi.yaml", "asyncapi.yaml"]


def check_parses(name):
    doc = load(PROTO / name)
    expect(isinstance(doc, dict), "top level is not an object")
    text = (PROTO / name).read_text(encoding="utf-8")
    expect(text.endswith("\n") and not text.endswith("\n\n"), "must end with exactly one newline")
    expect("\t" not in text, "contains a tab")
    expect(not any(line != line.rstrip() for line in text.splitlines()), "trailing whitespace")


def check_refs_resolve():
    """Every $ref in every proto file, and in every file they reach, resolves."""
    todo, seen, count = [(PROTO / n).resolve() for n in PROTO_FILES], set(), 0
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        for ptr, node in walk(load(f)):
            if isinstance(node, dict) and isinstance(node.get("$ref"), str):
                # x-* extensions and examples are data, not references
                if "/examples" in ptr or "/x-" in ptr:
                    continue
                target, _ = resolve_ref(f, node["$ref"])
                todo.append(target)
                count += 1
    return f"{count} refs in {len(seen)} files"


# ---------------------------------------------------------------------------
# JSON Schemas
# ---------------------------------------------------------------------------
def check_schema_valid(name):
    doc = load(PROTO / name)
    expect(doc.get("$schema") == DIALECT_2020_12, f"$schema must be {DIALECT_2020_12}")
    Draft202012Validator.check_schema(doc)
    for ex in doc.get("examples", []):
        errs = errors_of(schema_validator(PROTO / name), ex)
        expect(not errs, f"its own example is invalid: {errs[:1]}")


def check_schema_strict(name):
    """additionalProperties: false on every object schema that lists properties
    (the only open map is Metadata, whose values are schema-checked)."""
    n = 0
    for ptr, node in walk(load(PROTO / name)):
        if isinstance(node, dict) and isinstance(node.get("properties"), dict) and "/examples" not in ptr:
            expect(node.get("additionalProperties") is False, f"{ptr or '/'}: additionalProperties is not false")
            n += 1
    return f"{n} object schemas"


def check_order_limits():
    doc = load(PROTO / "order.schema.json")
    for ptr, want in EXPECTED_ORDER_LIMITS.items():
        try:
            got = pointer_get(doc, ptr)
        except (KeyError, IndexError):
            raise CheckFailed(f"{ptr} missing (want {want!r})") from None
        expect(got == want, f"{ptr} = {got!r}, DESIGN.md says {want!r}")
    props = doc["properties"]
    expect(props["order_id"] == {"$ref": "#/$defs/OrderId"}, "order_id must use $defs/OrderId")
    expect(props["metadata"] == {"$ref": "#/$defs/Metadata"}, "metadata must use $defs/Metadata")
    expect(props["items"]["items"] == {"$ref": "#/$defs/Item"}, "items must use $defs/Item")
    expect(set(props) == set(doc["required"]) | {"metadata"}, "properties other than the contract's")
    desc = doc["description"] + props["total_cents"]["description"]
    for word in ("sum", "duplicate", "quantity * unit_price_cents"):
        expect(word in desc, f"the description must state the '{word}' rule")
    return f"{len(EXPECTED_ORDER_LIMITS)} limits"


def check_event_schema():
    doc = load(PROTO / "event.schema.json")
    expect(doc.get("$ref") == "order.schema.json", "the event data must be the order schema")
    se = doc["$defs"]["StructuredEvent"]
    expect(se["properties"]["type"] == {"const": EXPECTED_CE_TYPE}, "StructuredEvent type")
    expect(se["properties"]["specversion"] == {"const": "1.0"}, "StructuredEvent specversion")
    expect(se["properties"]["data"] == {"$ref": "order.schema.json"}, "StructuredEvent data")


def check_error_schema():
    doc = load(PROTO / "error.schema.json")
    code = doc["$defs"]["ErrorCode"]
    expect(set(code["enum"]) == set(EXPECTED_ERROR_STATUS),
           f"enum {sorted(code['enum'])} != DESIGN.md's {sorted(EXPECTED_ERROR_STATUS)}")
    documented = {m.group(1): int(m.group(2))
                  for m in re.finditer(r"^- (\w+) \((\d{3})\)", code["description"], re.M)}
    expect(documented == EXPECTED_ERROR_STATUS, f"the code -> status list in the description is {documented}")
    err = doc["properties"]["error"]
    expect(err["required"] == ["code", "message"] and set(err["properties"]) == {"code", "message", "field"},
           "error must be {code, message, field?}")
    return f"{len(code['enum'])} codes"


# ---------------------------------------------------------------------------
# OpenAPI
# ---------------------------------------------------------------------------
OPENAPI = PROTO / "openapi.yaml"
ASYNCAPI = PROTO / "asyncapi.yaml"


def check_openapi_validator():
    spec = load(OPENAPI)
    expect(str(spec.get("openapi", "")).startswith("3.1."), "openapi must be 3.1.x")
    errors = list(OpenAPIV31SpecValidator(spec, base_uri=OPENAPI.as_uri()).iter_errors())
    expect(not errors, "; ".join(str(e).splitlines()[0] for e in errors[:5]))
    return "openapi-spec-validator, OpenAPI 3.1"


def response_of(op_or_response):
    return deref(OPENAPI, op_or_response)[1]


def error_codes_of_response(resp):
    """The error codes a response's JSON schema allows (None if not an error body)."""
    content = resp.get("content", {}).get("application/json")
    if not content:
        return None
    f, schema = deref(OPENAPI, content["schema"])
    codes, is_error = None, False
    for part in schema.get("allOf", [schema]):
        pf, p = deref(f, part)
        if pf.name == "error.schema.json":
            is_error = True
            continue
        code = p.get("properties", {}).get("error", {}).get("properties", {}).get("code", {})
        if "const" in code:
            codes = {code["const"]}
        elif "enum" in code:
            codes = set(code["enum"])
    if not is_error:
        return None
    return codes if codes is not None else set(EXPECTED_ERROR_STATUS)


def all_orders_responses():
    """(label, status, response) for every answer that /orders can give,
    including components.responses.NotFound (every other path)."""
    spec = load(OPENAPI)
    out = []
    for method, op in spec["paths"]["/orders"].items():
        if method in ("summary", "description", "parameters", "servers"):
            continue
        for status, r in op["responses"].items():
            out.append((f"{method.upper()} /orders {status}", int(status), response_of(r)))
    out.append(("NotFound (other paths) 404", 404, spec["components"]["responses"]["NotFound"]))
    return out


def check_openapi_post_statuses():
    post = load(OPENAPI)["paths"]["/orders"]["post"]
    got = {int(s) for s in post["responses"]}
    expect(got == EXPECTED_POST_STATUSES, f"POST /orders answers {sorted(got)}, want {sorted(EXPECTED_POST_STATUSES)}")
    return ", ".join(str(s) for s in sorted(got))


def check_openapi_error_codes():
    """Each answer's code(s) belong to its status; every code is answered."""
    used = set()
    for label, status, resp in all_orders_responses():
        codes = error_codes_of_response(resp)
        if status < 400:
            expect(codes is None, f"{label} has an error body")
            continue
        expect(codes is not None, f"{label} has no error body")
        want = {c for c, s in EXPECTED_ERROR_STATUS.items() if s == status}
        expect(codes == want, f"{label} allows codes {sorted(codes)}, want {sorted(want)}")
        used |= codes
    expect(used == set(EXPECTED_ERROR_STATUS), f"codes never answered: {sorted(set(EXPECTED_ERROR_STATUS) - used)}")
    desc = load(OPENAPI)["info"]["description"]
    missing = [c for c in EXPECTED_ERROR_STATUS if f"`{c}`" not in desc]
    expect(not missing, f"info.description does not list {missing}")
    return f"{len(used)} codes"


def check_openapi_non_post_methods():
    path = load(OPENAPI)["paths"]["/orders"]
    others = [m for m in ("get", "put", "patch", "delete") if m in path]
    expect(others, "no non-POST method documents the 405")
    for m in others:
        expect(set(path[m]["responses"]) == {"405"}, f"{m.upper()} /orders must answer only 405")
        resp = response_of(path[m]["responses"]["405"])
        allow = deref(OPENAPI, resp["headers"]["Allow"])[1]
        expect(allow.get("required") is True and allow["schema"].get("const") == "POST", "405 needs Allow: POST")
    return ", ".join(m.upper() for m in others)


def check_openapi_response_headers():
    n = 0
    for label, status, resp in all_orders_responses():
        headers = {k.lower(): deref(OPENAPI, v)[1] for k, v in resp.get("headers", {}).items()}
        rid = headers.get("x-request-id")
        expect(rid and rid.get("required") is True, f"{label}: no required X-Request-Id header")
        if status in (429, 503):
            ra = headers.get("retry-after")
            expect(ra and ra.get("required") is True and ra["schema"].get("type") == "integer",
                   f"{label}: needs a required integer Retry-After")
        if status == 405:
            expect("allow" in headers, f"{label}: needs Allow")
        if status == 202:
            ir = headers.get("idempotent-replayed")
            expect(ir and ir["schema"].get("const") == "true" and not ir.get("required"),
                   f"{label}: needs an optional Idempotent-Replayed: true")
        n += 1
    return f"{n} answers"


def check_openapi_accepted_body():
    resp = response_of(load(OPENAPI)["paths"]["/orders"]["post"]["responses"]["202"])
    f, schema = deref(OPENAPI, resp["content"]["application/json"]["schema"])
    expect(schema.get("additionalProperties") is False, "202 body must be strict")
    expect(set(schema["required"]) == {"order_id", "event_id", "status"}, "202 body members")
    expect(schema["properties"]["status"] == {"const": "accepted"}, "status must be const accepted")
    _, event_id = deref(f, schema["properties"]["event_id"])
    expect(event_id.get("format") == "uuid", "event_id must be a uuid")
    _, order_id = deref(f, schema["properties"]["order_id"])
    expect(order_id["pattern"] == EXPECTED_ORDER_LIMITS["/$defs/OrderId/pattern"], "order_id format")


def check_openapi_request():
    post = load(OPENAPI)["paths"]["/orders"]["post"]
    body = post["requestBody"]
    expect(body.get("required") is True, "requestBody must be required")
    expect(set(body["content"]) == {"application/json"}, "the only media type is application/json")
    expect("charset" in body["description"], "the description must allow a charset parameter")
    f, schema = deref(OPENAPI, body["content"]["application/json"]["schema"])
    expect(f.name == "order.schema.json" and schema is load(PROTO / "order.schema.json"),
           "request schema must be order.schema.json")
    params = {p["name"]: p for p in (deref(OPENAPI, p)[1] for p in post["parameters"])}
    for name, required in (("X-Client-Id", True), ("X-Timestamp", True), ("X-Signature", True),
                           ("traceparent", False), ("X-Request-Id", False)):
        expect(name in params, f"no {name} parameter")
        expect(params[name]["in"] == "header" and bool(params[name].get("required")) == required,
               f"{name} must be a {'required' if required else 'optional'} header")
    _, cid = deref(OPENAPI, params["X-Client-Id"]["schema"])
    expect(cid["pattern"] == EXPECTED_ORDER_LIMITS["/$defs/ClientId/pattern"], "X-Client-Id pattern")
    expect(params["X-Signature"]["schema"]["pattern"] == EXPECTED_SIGNATURE_PATTERN, "X-Signature pattern")
    expect(ecma_regex(params["X-Timestamp"]["schema"]["pattern"]).search("1714566896"), "X-Timestamp pattern")
    for i, p in enumerate(post["parameters"]):
        # where the parameter object is: components (by $ref) or inline
        loc = p["$ref"].partition("#")[2] if "$ref" in p else f"/paths/~1orders/post/parameters/{i}"
        param = pointer_get(load(OPENAPI), loc)
        if "example" in param:
            errs = errors_of(schema_validator(OPENAPI, loc + "/schema"), param["example"])
            expect(not errs, f"{param['name']} example: {errs[0].message if errs else ''}")
    return "body + 5 headers"


def check_openapi_security():
    spec = load(OPENAPI)
    schemes = spec["components"]["securitySchemes"]
    want = {"clientId": "X-Client-Id", "timestamp": "X-Timestamp", "signature": "X-Signature"}
    for key, header in want.items():
        s = schemes.get(key)
        expect(s and s["type"] == "apiKey" and s["in"] == "header" and s["name"] == header,
               f"securitySchemes.{key} must be an apiKey header {header}")
        expect(s.get("description"), f"securitySchemes.{key} needs a description")
    expect("string to sign" in spec["info"]["description"].lower(), "info.description must explain the string to sign")
    post = spec["paths"]["/orders"]["post"]
    expect(post.get("security") == [{k: [] for k in want}],
           "POST /orders must require the three schemes together (one requirement)")
    expect("security" not in spec or spec["security"] in ([], [{}]), "no global security (admin endpoints are open)")


def check_signing_vector():
    spec = load(OPENAPI)
    v = spec["components"]["securitySchemes"]["signature"]["x-test-vector"]
    body = v["body"].encode()
    got = hmac_signature(v["secret"], v["x-timestamp"], body)
    expect(got == v["x-signature"], f"HMAC is {got}, the vector says {v['x-signature']}")
    sig_rx = ecma_regex(EXPECTED_SIGNATURE_PATTERN)
    expect(sig_rx.search(got) and sig_rx.search("sha256=" + got) and not sig_rx.search(got.upper()),
           "signature pattern vs vector")
    order_validator = schema_validator(PROTO / "order.schema.json")
    expect(reference_verdict(body, order_validator) is None, "the vector's body is not a valid order")
    example = spec["paths"]["/orders"]["post"]["requestBody"]["content"]["application/json"]["examples"]["order"]["value"]
    expect(json.loads(body) == example, "the vector's body differs from the request example")
    return f"HMAC-SHA256 over {len(body)} body bytes"


def check_openapi_examples():
    """Every example in a response/request media type validates against its schema."""
    spec, n = load(OPENAPI), 0
    for ptr, node in walk(spec):
        if not (isinstance(node, dict) and "schema" in node and ("example" in node or "examples" in node)):
            continue
        if "/content/" not in ptr:
            continue
        v = schema_validator(OPENAPI, ptr + "/schema")
        examples = [node["example"]] if "example" in node else [e["value"] for e in node["examples"].values()]
        for ex in examples:
            errs = errors_of(v, ex)
            expect(not errs, f"{ptr}: example {ex!r} invalid: {errs[0].message if errs else ''}")
            n += 1
    return f"{n} examples"


def check_openapi_admin():
    spec = load(OPENAPI)
    root_urls = {s["url"] for s in spec["servers"]}
    expect(any(t["name"] == "admin" for t in spec["tags"]), "no 'admin' tag")
    for path in sorted(ADMIN_PATHS):
        item = spec["paths"].get(path)
        expect(item, f"no {path}")
        servers = item.get("servers")
        expect(servers and all(s["url"] not in root_urls for s in servers),
               f"{path} needs its own (admin port) servers entry")
        expect(any("adminPort" in s["url"] for s in servers), f"{path}: the admin server url has no port variable")
        op = item["get"]
        expect(op.get("tags") == ["admin"], f"{path} must be tagged admin")
        expect(op.get("security") == [], f"{path} must need no authentication")
        expect("200" in op["responses"], f"{path} needs a 200")
    expect("503" in spec["paths"]["/readyz"]["get"]["responses"], "/readyz needs a 503 (not ready)")
    expect(any(k.startswith("text/plain") for k in spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]),
           "/metrics must be text/plain")
    return ", ".join(sorted(ADMIN_PATHS))


# ---------------------------------------------------------------------------
# AsyncAPI
# ---------------------------------------------------------------------------
def check_asyncapi_official_schema():
    raw = ASYNCAPI_SCHEMA.read_bytes()
    expect(hashlib.sha256(raw).hexdigest() == ASYNCAPI_SCHEMA_SHA256, f"{ASYNCAPI_SCHEMA.name}: SHA-256 mismatch")
    meta = json.loads(raw)
    doc = load(ASYNCAPI)
    v = Draft7Validator(meta)
    errors = sorted(v.iter_errors(doc), key=lambda e: len(list(e.absolute_path)))
    expect(not errors, "; ".join(f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:3]))
    return "@asyncapi/specs 6.11.1 3.0.0 schema"


def check_asyncapi_structure():
    doc = load(ASYNCAPI)
    expect(doc.get("asyncapi") == "3.0.0", "asyncapi must be '3.0.0' (a string)")
    for key in ("info", "servers", "channels", "operations", "components"):
        expect(isinstance(doc.get(key), dict) and doc[key], f"missing or empty {key}")
    expect(doc["info"].get("title") and doc["info"].get("version"), "info needs title and version")
    expect(all(s.get("protocol") == "kafka" for s in doc["servers"].values()), "every server must be kafka")
    channels, ops = doc["channels"], doc["operations"]
    used = set()
    for name, op in ops.items():
        expect(op.get("action") in ("send", "receive"), f"operation {name}: action")
        ref = op["channel"]["$ref"]
        expect(ref.startswith("#/channels/") and ref[len("#/channels/"):] in channels, f"operation {name}: channel {ref}")
        ch = ref[len("#/channels/"):]
        used.add(ch)
        expect(op.get("messages"), f"operation {name}: no messages")
        for m in op["messages"]:
            mref = m["$ref"]
            prefix = f"#/channels/{ch}/messages/"
            expect(mref.startswith(prefix) and mref[len(prefix):] in channels[ch]["messages"],
                   f"operation {name}: message {mref} is not one of its channel's")
    expect(used == set(channels), f"channels without operations: {sorted(set(channels) - used)}")
    return f"{len(channels)} channels, {len(ops)} operations"


def _channels_by_address():
    doc = load(ASYNCAPI)
    return {c["address"]: (name, c) for name, c in doc["channels"].items()}


def _msg(channel, key):
    return deref(ASYNCAPI, channel["messages"][key])[1]


def check_asyncapi_channels():
    by_addr = _channels_by_address()
    want = EXPECTED_SUBSCRIPTION_TOPICS | {t + ".dlq" for t in EXPECTED_SUBSCRIPTION_TOPICS}
    expect(set(by_addr) == want, f"channel addresses {sorted(by_addr)}, want {sorted(want)}")
    header = (ASYNCAPI.read_text().split("\nasyncapi:")[0]).lower()
    expect("configurable" in header or "configuration" in header, "the file must say that topic names are configurable")
    for topic in EXPECTED_SUBSCRIPTION_TOPICS:
        _, ch = by_addr[topic]
        _, dlq = by_addr[topic + ".dlq"]
        expect([m.get("name") for m in (_msg(ch, k) for k in ch["messages"])] == [EXPECTED_CE_TYPE],
               f"{topic} must carry {EXPECTED_CE_TYPE}")
        expect(all("DeadLetterHeaders" in json.dumps(_msg(dlq, k)["headers"]) for k in dlq["messages"]),
               f"{topic}.dlq must carry dead letters")
        for c in (ch, dlq):
            expect(c.get("bindings", {}).get("kafka", {}).get("bindingVersion") == "0.5.0",
                   f"{c['address']}: kafka channel binding 0.5.0")
    return ", ".join(sorted(want))


def check_asyncapi_operations():
    doc = load(ASYNCAPI)
    by_addr = _channels_by_address()
    ops = doc["operations"]

    def ops_on(topic, action):
        name = by_addr[topic][0]
        return [(k, o) for k, o in ops.items() if o["channel"]["$ref"] == f"#/channels/{name}" and o["action"] == action]

    def tags(o):
        return {deref(ASYNCAPI, t)[1]["name"] for t in o.get("tags", [])}

    for topic in EXPECTED_SUBSCRIPTION_TOPICS:
        sends = ops_on(topic, "send")
        expect(len(sends) == 1 and tags(sends[0][1]) == {"publisher"}, f"{topic}: the publisher must send to it")
        expect("same kafka transaction" in sends[0][1].get("description", "").lower(),
               f"{topic}: the send must say it is part of the one transaction")
        recvs = ops_on(topic, "receive")
        expect(len(recvs) == 1, f"{topic}: exactly one consumer")
        consumer = tags(recvs[0][1])
        expect(len(consumer) == 1, f"{topic}: the receive operation needs one service tag")
        group = recvs[0][1]["bindings"]["kafka"]["groupId"]
        expect(group.get("const") in consumer, f"{topic}: groupId must be the consumer's")
        dlq_sends = ops_on(topic + ".dlq", "send")
        expect(len(dlq_sends) == 1 and tags(dlq_sends[0][1]) == consumer,
               f"{topic}.dlq: must be written by {sorted(consumer)}")
    return f"{len(ops)} operations"


def check_asyncapi_message_accepted():
    by_addr = _channels_by_address()
    _, ch = by_addr["orders.billing"]
    msg = _msg(ch, next(iter(ch["messages"])))
    expect(msg.get("contentType") == "application/json", "contentType must be application/json")
    payload = msg["payload"]
    expect(payload.get("schemaFormat") == "application/schema+json;version=2020-12", "payload schemaFormat")
    pf, pschema = resolve_ref(ASYNCAPI, payload["schema"]["$ref"])
    expect(pf.name == "event.schema.json" and pschema is load(pf), "payload must be event.schema.json")
    _, headers = deref(ASYNCAPI, msg["headers"])
    expect(set(headers["required"]) == EXPECTED_CE_HEADERS, f"required headers {sorted(headers['required'])}")
    expect(headers.get("additionalProperties") is False, "accepted-event headers are exactly those listed")
    props = headers["properties"]
    expect(props["ce_specversion"].get("const") == "1.0", "ce_specversion const 1.0")
    expect(props["ce_type"].get("const") == EXPECTED_CE_TYPE, "ce_type const")
    expect(props["content-type"].get("const") == "application/json", "content-type const")
    expect("dlq_redrive_count" in props and "dlq_redrive_count" not in headers["required"],
           "optional dlq_redrive_count (redriven records)")
    kafka = msg["bindings"]["kafka"]
    key = kafka["key"]
    shared = load(PROTO / "event.schema.json")["$defs"]["MessageKey"]
    same = ("type", "pattern", "maxLength")
    expect({k: key.get(k) for k in same} == {k: shared.get(k) for k in same},
           "the Kafka key schema differs from event.schema.json#/$defs/MessageKey")
    expect(kafka.get("bindingVersion") == "0.5.0", "kafka message binding 0.5.0")
    expect("binary content mode" in load(ASYNCAPI)["info"]["description"], "say: CloudEvents binary content mode")
    return "headers " + ", ".join(sorted(EXPECTED_CE_HEADERS))


def check_asyncapi_message_dead_letter():
    by_addr = _channels_by_address()
    _, ch = by_addr["orders.billing.dlq"]
    msg = _msg(ch, next(iter(ch["messages"])))
    _, headers = deref(ASYNCAPI, msg["headers"])
    expect(set(headers["required"]) == EXPECTED_DLQ_HEADERS, f"required headers {sorted(headers['required'])}")
    expect(headers.get("additionalProperties") is True, "the original headers must be allowed through")
    props = headers["properties"]
    expect("dlq_redrive_count" in props, "dlq_redrive_count")
    _, reason = deref(ASYNCAPI, props["dlq_reason"])
    expect(EXPECTED_DLQ_REASONS <= set(reason["enum"]), f"dlq_reason enum {reason['enum']}")
    _, failed_at = deref(ASYNCAPI, props["dlq_failed_at"])
    expect(failed_at.get("format") == "date-time", "dlq_failed_at must be RFC 3339")
    return "dlq_reason: " + ", ".join(reason["enum"])


def _headers_validator(msg_key):
    """Validator of a message's headers (AsyncAPI schema: draft-07 semantics)."""
    ptr = f"/components/messages/{msg_key}/headers"
    return schema_validator(ASYNCAPI, ptr, cls=Strict7)


def check_asyncapi_examples():
    doc = load(ASYNCAPI)
    key_v = schema_validator(PROTO / "event.schema.json", "/$defs/MessageKey")
    event_v = schema_validator(PROTO / "event.schema.json")
    structured_v = schema_validator(PROTO / "event.schema.json", "/$defs/StructuredEvent")
    n = 0
    for mkey, msg in doc["components"]["messages"].items():
        expect(msg.get("examples"), f"{mkey}: no examples")
        hv = _headers_validator(mkey)
        for ex in msg["examples"]:
            label = f"{mkey}/{ex.get('name')}"
            h, p = ex["headers"], ex["payload"]
            k = msg["bindings"]["kafka"]["key"]["examples"][0]
            errs = errors_of(hv, h)
            expect(not errs, f"{label}: headers: {errs[0].message if errs else ''}")
            errs = errors_of(event_v, p)
            expect(not errs, f"{label}: payload: {errs[0].message if errs else ''}")
            expect(not errors_of(key_v, k), f"{label}: key {k!r}")
            # consistency rules of info.description
            expect(k == f"{h['ce_clientid']}/{h['ce_subject']}", f"{label}: key != ce_clientid/ce_subject")
            expect(h["ce_source"] == f"/clients/{h['ce_clientid']}", f"{label}: ce_source != /clients/<ce_clientid>")
            expect(h["ce_subject"] == p["order_id"], f"{label}: ce_subject != order_id")
            # the archived (structured-mode) form of the same event is valid too
            structured = {a[3:]: v for a, v in h.items() if a.startswith("ce_")}
            structured.update(datacontenttype=h["content-type"], traceparent=h["traceparent"], data=p)
            errs = errors_of(structured_v, structured)
            expect(not errs, f"{label}: structured form: {errs[0].message if errs else ''}")
            n += 1
    return f"{n} examples"


DRAFT7_KEYWORDS = {
    "$ref", "$id", "$schema", "$comment", "title", "description", "default", "examples", "readOnly",
    "writeOnly", "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
    "exclusiveMinimum", "maxLength", "minLength", "pattern", "format", "contentMediaType",
    "contentEncoding", "items", "additionalItems", "maxItems", "minItems", "uniqueItems", "contains",
    "maxProperties", "minProperties", "required", "properties", "patternProperties",
    "additionalProperties", "dependencies", "propertyNames", "if", "then", "else", "allOf", "anyOf",
    "oneOf", "not", "definitions",
}
SCHEMA_VALUED = {"items", "additionalItems", "contains", "additionalProperties", "propertyNames",
                 "if", "then", "else", "not"}


def check_asyncapi_draft7_refs():
    """Header and key schemas are AsyncAPI schemas (draft-07): whatever they
    reach in the 2020-12 files must use only draft-07 keywords."""
    doc = load(ASYNCAPI)
    roots = [(ASYNCAPI, s) for s in doc["components"]["schemas"].values()]
    todo, seen, n = list(roots), set(), 0

    def visit(f, s):
        nonlocal n
        if not isinstance(s, dict):
            return
        if "$ref" in s:
            key = (f, s["$ref"])
            if key not in seen:
                seen.add(key)
                todo.append(resolve_ref(f, s["$ref"]))
        bad = set(s) - DRAFT7_KEYWORDS - {k for k in s if k.startswith("x-")}
        expect(not bad, f"{f.name}: keywords outside draft-07: {sorted(bad)}")
        n += 1
        for k, v in s.items():
            if k in SCHEMA_VALUED:
                visit(f, v)
            elif k in ("properties", "patternProperties", "definitions"):
                for sub in v.values():
                    visit(f, sub)
            elif k in ("allOf", "anyOf", "oneOf"):
                for sub in v:
                    visit(f, sub)

    while todo:
        visit(*todo.pop())
    return f"{n} schema nodes"


# ---------------------------------------------------------------------------
# cross-spec
# ---------------------------------------------------------------------------
def check_cross_shared_definitions():
    """The HTTP and event contracts use the same definitions (by $ref)."""
    spec, doc = load(OPENAPI), load(ASYNCAPI)
    order = load(PROTO / "order.schema.json")
    event = load(PROTO / "event.schema.json")
    post = spec["paths"]["/orders"]["post"]
    params = {p["name"]: p for p in (deref(OPENAPI, p)[1] for p in post["parameters"])}
    ah = doc["components"]["schemas"]["OrderAcceptedHeaders"]["properties"]
    accepted = deref(OPENAPI, spec["components"]["schemas"]["Accepted"])[1]["properties"]
    pairs = [
        ("X-Client-Id / ce_clientid", deref(OPENAPI, params["X-Client-Id"]["schema"])[1],
         deref(ASYNCAPI, ah["ce_clientid"])[1], order["$defs"]["ClientId"]),
        ("202 order_id / ce_subject", deref(OPENAPI, accepted["order_id"])[1],
         deref(ASYNCAPI, ah["ce_subject"])[1], order["$defs"]["OrderId"]),
        ("202 event_id / ce_id", deref(OPENAPI, accepted["event_id"])[1],
         deref(ASYNCAPI, ah["ce_id"])[1], event["$defs"]["EventId"]),
        ("traceparent (HTTP / Kafka)", deref(OPENAPI, params["traceparent"]["schema"])[1],
         deref(ASYNCAPI, ah["traceparent"])[1], event["$defs"]["Traceparent"]),
    ]
    for label, a, b, src in pairs:
        expect(a is src and b is src, f"{label}: not the one shared definition")
    # the ce_source and key formats are built from the same id formats
    cid = order["$defs"]["ClientId"]["pattern"].strip("^$")
    oid = order["$defs"]["OrderId"]["pattern"].strip("^$")
    expect(event["$defs"]["EventSource"]["pattern"] == f"^/clients/{cid}$", "EventSource pattern vs ClientId")
    expect(event["$defs"]["MessageKey"]["pattern"] == f"^{cid}/{oid}$", "MessageKey pattern vs ClientId/OrderId")
    return f"{len(pairs) + 2} definitions"


def check_cross_examples_same_order():
    spec, doc = load(OPENAPI), load(ASYNCAPI)
    req = spec["paths"]["/orders"]["post"]["requestBody"]["content"]["application/json"]["examples"]["order"]["value"]
    ex = doc["components"]["messages"]["OrderAccepted"]["examples"][0]
    expect(ex["payload"] == req, "the accepted event's example is not the request example")
    accepted = response_of(spec["paths"]["/orders"]["post"]["responses"]["202"])["content"]["application/json"]["example"]
    expect(accepted["event_id"] == ex["headers"]["ce_id"], "202 event_id != ce_id of the event example")
    expect(accepted["order_id"] == ex["headers"]["ce_subject"], "202 order_id != ce_subject")
    vector = spec["components"]["securitySchemes"]["signature"]["x-test-vector"]
    expect(vector["x-client-id"] == ex["headers"]["ce_clientid"], "signing vector client != ce_clientid")


def _local_env_defaults():
    # Let bash evaluate the file (defaults may be arithmetic on
    # OP_PORT_OFFSET) in an empty environment, so only its defaults count.
    script = f'. "{LOCAL_ENV}" && env -0'
    res = subprocess.run(["env", "-i", "bash", "-c", script], check=True, capture_output=True)
    out = {}
    for item in res.stdout.split(b"\0"):
        if b"=" in item:
            k, v = item.decode().split("=", 1)
            out[k] = v
    return out


def check_cross_local_env():
    env = _local_env_defaults()
    by_addr = _channels_by_address()
    for var in ("KAFKA_TOPIC_BILLING", "KAFKA_TOPIC_ARCHIVE"):
        expect(env.get(var) in by_addr, f"{var}={env.get(var)} is not a channel address")
        expect(env[var] + ".dlq" in by_addr, f"no dead-letter channel for {env[var]}")
    doc = load(ASYNCAPI)
    for name, ch in doc["channels"].items():
        parts = ch["bindings"]["kafka"].get("partitions")
        want = env.get("KAFKA_DLQ_PARTITIONS" if ch["address"].endswith(".dlq") else "KAFKA_TOPIC_PARTITIONS")
        expect(str(parts) == want, f"{ch['address']}: partitions {parts}, local.env says {want}")
    boot = doc["servers"]["kafka"]["variables"]["bootstrap"]["default"]
    expect(boot == f"{env['KAFKA_HOST']}:{env['KAFKA_PORT']}", f"bootstrap default {boot}")
    groups = {o["bindings"]["kafka"]["groupId"]["const"] for o in doc["operations"].values()
              if o["action"] == "receive"}
    expect(groups == {env["KAFKA_GROUP_BILLING"], env["KAFKA_GROUP_ARCHIVE"]}, f"consumer groups {groups}")
    spec = load(OPENAPI)
    expect(any(s["url"].endswith(f":{env['INGRESS_PORT']}") for s in spec["servers"]), "local ingress port")
    admin_desc = spec["paths"]["/healthz"]["servers"][0]["description"]
    for var in ("INGRESS_ADMIN_PORT", "PUBLISHER_ADMIN_PORT", "BILLING_ADMIN_PORT", "ARCHIVE_ADMIN_PORT"):
        expect(env[var] in admin_desc, f"admin server description lacks {var}={env[var]}")
    return "topics, partitions, groups, ports"


# ---------------------------------------------------------------------------
# examples
# ---------------------------------------------------------------------------
KINDS = ("valid", "invalid", "semantic", "malformed")


def check_examples_manifest():
    cases = load(EXAMPLES / "cases.yaml")
    expect(set(cases) == set(KINDS), f"cases.yaml sections {sorted(cases)}, want {list(KINDS)}")
    for kind in KINDS:
        listed = [c["file"] for c in cases[kind]]
        expect(len(listed) == len(set(listed)), f"{kind}: a file is listed twice")
        on_disk = sorted(f"{kind}/{p.name}" for p in (EXAMPLES / kind).glob("*.json"))
        expect(sorted(listed) == on_disk,
               f"{kind}: unlisted {sorted(set(on_disk) - set(listed))}, missing {sorted(set(listed) - set(on_disk))}")
        for c in cases[kind]:
            expect(isinstance(c.get("why"), str) and c["why"], f"{c['file']}: no 'why'")
    expect(len(cases["valid"]) >= MIN_VALID_EXAMPLES, f"fewer than {MIN_VALID_EXAMPLES} valid examples")
    expect(len(cases["invalid"]) >= MIN_INVALID_EXAMPLES, f"fewer than {MIN_INVALID_EXAMPLES} invalid examples")
    return ", ".join(f"{len(cases[k])} {k}" for k in KINDS)


def check_example(kind, case, order_v):
    raw = (EXAMPLES / case["file"]).read_bytes()
    verdict = reference_verdict(raw, order_v)
    if kind == "malformed":
        expect(verdict == ("invalid_json", ""), f"want invalid_json, reference says {verdict}")
        return None
    body = json.loads(raw)  # well-formed; duplicate keys: the last wins
    errors = errors_of(order_v, body)
    if kind == "valid":
        expect(not errors, f"schema rejects it: {errors[0].message[:150] if errors else ''}")
        expect(verdict is None, f"reference rejects it: {verdict}")
    elif kind == "invalid":
        expect(errors, "the schema accepts it")
        fields = error_fields(errors)
        if "field" in case:
            expect(fields == {case["field"]}, f"errors at {sorted(fields)}, want only {case['field']!r}")
        expect(verdict and verdict[0] == "invalid_order", f"reference says {verdict}")
        if "field" in case:
            expect(verdict[1] == case["field"], f"reference field {verdict[1]!r}, want {case['field']!r}")
    elif kind == "semantic":
        expect(not errors, f"the schema rejects it (it should take a rule beyond the schema): {errors[:1]}")
        want = ("invalid_order", case["field"])
        expect(verdict == want, f"reference says {verdict}, want {want}")
    return None


# ---------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-q", "--quiet", action="store_true", help="print failing checks only")
    args = ap.parse_args()
    r = Runner(args.quiet)

    for name in PROTO_FILES:
        r.run(f"files: proto/{name} parses (strict, tidy)", check_parses, name)
    r.run("files: every $ref resolves", check_refs_resolve)

    for name in ("order.schema.json", "event.schema.json", "error.schema.json"):
        r.run(f"schemas: {name} is valid JSON Schema 2020-12", check_schema_valid, name)
        r.run(f"schemas: {name} is strict (additionalProperties false)", check_schema_strict, name)
    r.run("schemas: order limits are DESIGN.md's", check_order_limits)
    r.run("schemas: event data is the order; structured event", check_event_schema)
    r.run("schemas: error codes and statuses are DESIGN.md's", check_error_schema)

    r.run("openapi: valid OpenAPI 3.1", check_openapi_validator)
    r.run("openapi: POST /orders answers every status of the contract", check_openapi_post_statuses)
    r.run("openapi: each error answer carries its own code(s)", check_openapi_error_codes)
    r.run("openapi: other methods answer 405 with Allow: POST", check_openapi_non_post_methods)
    r.run("openapi: response headers (X-Request-Id, Retry-After, Allow, Idempotent-Replayed)",
          check_openapi_response_headers)
    r.run("openapi: 202 body", check_openapi_accepted_body)
    r.run("openapi: request body and headers", check_openapi_request)
    r.run("openapi: HMAC security schemes", check_openapi_security)
    r.run("openapi: signing test vector verifies", check_signing_vector)
    r.run("openapi: examples match their schemas", check_openapi_examples)
    r.run("openapi: admin endpoints on the admin server", check_openapi_admin)

    r.run("asyncapi: valid against the official AsyncAPI 3.0.0 JSON Schema", check_asyncapi_official_schema)
    r.run("asyncapi: structure (channels, operations, messages)", check_asyncapi_structure)
    r.run("asyncapi: channels are the subscription topics and their DLQs", check_asyncapi_channels)
    r.run("asyncapi: publisher sends, consumers receive and dead-letter", check_asyncapi_operations)
    r.run("asyncapi: accepted-order message (CloudEvents binary mode)", check_asyncapi_message_accepted)
    r.run("asyncapi: dead-letter message", check_asyncapi_message_dead_letter)
    r.run("asyncapi: examples match their schemas and consistency rules", check_asyncapi_examples)
    r.run("asyncapi: header/key schemas reach only draft-07 keywords", check_asyncapi_draft7_refs)

    r.run("cross: HTTP and events share one definition of each format", check_cross_shared_definitions)
    r.run("cross: the examples describe one and the same order", check_cross_examples_same_order)
    if LOCAL_ENV.is_file():
        r.run("cross: defaults agree with scripts/local.env", check_cross_local_env)

    r.run("examples: cases.yaml lists exactly the example files", check_examples_manifest)
    try:
        cases = load(EXAMPLES / "cases.yaml")
        order_v = schema_validator(PROTO / "order.schema.json")
    except Exception as e:  # already reported by the manifest check
        cases, order_v = {}, None
        print(f"FAIL  examples: cannot load the table: {e}")
        r.failed += 1
    for kind in KINDS:
        for case in cases.get(kind, []):
            r.run(f"example {case['file']}: {case['why']}", check_example, kind, case, order_v)

    print(f"{r.passed} passed, {r.failed} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
