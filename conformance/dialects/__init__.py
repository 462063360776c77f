"""Dialects as data: the TOML files that describe a profile, read and checked strictly.

The built-in dialects (``openai``, ``azure``, ``openrouter``, ``xai``) are ``*.toml`` files in this
package; a user's dialect is the same format in a file of their own (README.md, "Dialects").
Any mistake in a file (an unknown key, a rule id that does not exist, a switch-off or a
demotion without a reason, an unknown base) is a UsageError naming the file and the key:
a typo must never silently judge by different rules than the user meant.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..profiles import DEMOTE, PROFILES, SWITCH_OFF, USAGE_POLICIES, Override, Profile, Quirk, is_action, split_path

__all__ = ["builtin_path", "load_file"]

TOP = {"name", "extends", "description", "finish_reasons", "usage", "decoding", "schemas", "rules", "quirks"}
DECODING = {"annotations", "error_may_end_stream"}
SCHEMAS = {"chunk": "chunk_schema", "error": "error_schema", "stream_error": "stream_error_schema"}
QUIRK_KEYS = {"name", "explanation", "rules", "finding_path", "where"}
TESTS = ("equals", "null", "present")
NAME = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")
MAX_FILE = 256 * 1024  # a dialect is a page of settings; anything larger is not one
_loading: list[str] = []  # files being read, to refuse a cycle of `extends`


def builtin_path(name: str) -> Any:
    return resources.files(__name__) / f"{name}.toml"


class _File:
    """Where errors point: the file, and the key inside it."""

    def __init__(self, path: str) -> None:
        self.path = path

    def error(self, key: str, message: str) -> UsageError:
        return UsageError(f"profile {self.path}: {key}: {message}")

    def string(self, table: dict[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
        value = table.get(key)
        if value is None:
            if required:
                raise self.error(where, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error(where, "must be a non-empty string")
        return value

    def table(self, data: dict[str, Any], key: str, known: set[str] | None = None) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.error(key, "must be a table")
        if known is not None:
            self.known(value, known, key)
        return value

    def known(self, table: dict[str, Any], known: set[str], where: str) -> None:
        unknown = sorted(set(table) - known)
        if unknown:
            prefix = f"{where}." if where else ""
            raise self.error(prefix + unknown[0], f"unknown key (known: {', '.join(sorted(known))})")


def _read(path: Any, f: _File) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"profile {f.path}: cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE:
        raise UsageError(f"profile {f.path}: larger than {MAX_FILE:,} bytes, not a dialect file")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"profile {f.path}: not valid TOML ({exc})") from None


def _rule_ids() -> dict[str, str]:
    from ..rules import all_rules

    return {r.id: r.severity for r in all_rules()}


def _overrides(data: dict[str, Any], f: _File, name: str, base: Profile) -> tuple[Override, ...]:
    out = {o.rule: o for o in base.overrides}
    ids = _rule_ids()
    for rule, spec in f.table(data, "rules").items():
        where = f"rules.{rule}"
        if rule not in ids:
            raise f.error(where, "no such rule (see `sse-conformance rules`)")
        if not isinstance(spec, dict):
            raise f.error(where, 'must be a table: { action = "off" | "warn", reason = "..." }')
        f.known(spec, {"action", "reason"}, where)
        action = f.string(spec, "action", f"{where}.action", required=True)
        if not is_action(action):
            raise f.error(f"{where}.action", f'must be "off" (not judged) or "warn" (failures become warnings), not {action!r}')
        reason = f.string(spec, "reason", f"{where}.reason")
        if reason is None:
            raise f.error(f"{where}.reason", "is required: say why this dialect may break the rule")
        if action == DEMOTE and ids[rule] != "error":
            raise f.error(f"{where}.action", f"{rule} is a warning already; switch it off instead")
        out[rule] = Override(rule, action, reason.strip(), name)
    if data.get("usage") == "optional" and "usage.present-last" not in out:
        out["usage.present-last"] = Override("usage.present-last", SWITCH_OFF, "usage is optional in this dialect", name)
    return tuple(out.values())


def _condition(item: Any, f: _File, where: str) -> tuple[str, str, Any]:
    if not isinstance(item, dict):
        raise f.error(where, "must be a table: { path = \"$.object\", equals = \"\" } (or null = true, present = true|false)")
    f.known(item, {"path", *TESTS}, where)
    path = f.string(item, "path", f"{where}.path", required=True)
    assert path is not None
    if split_path(path) is None:
        raise f.error(f"{where}.path", f"must be a JSON path like $.choices[*].delta.role, not {path!r}")
    tests = [t for t in TESTS if t in item]
    if len(tests) != 1:
        raise f.error(where, "needs exactly one of equals, null, present")
    test = tests[0]
    if test in ("null", "present") and not isinstance(item[test], bool):
        raise f.error(f"{where}.{test}", "must be true or false")
    if test == "null" and item[test] is not True:
        raise f.error(f"{where}.null", "must be true (to say a value is not null, use equals)")
    return path, test, item[test]


def _quirks(data: dict[str, Any], f: _File, name: str, base: Profile) -> tuple[Quirk, ...]:
    items = data.get("quirks", [])
    if not isinstance(items, list):
        raise f.error("quirks", "must be an array of tables ([[quirks]])")
    ids = _rule_ids()
    own: list[Quirk] = []
    for n, item in enumerate(items):
        where = f"quirks[{n}]"
        if not isinstance(item, dict):
            raise f.error(where, "must be a table")
        f.known(item, QUIRK_KEYS, where)
        qname = f.string(item, "name", f"{where}.name", required=True)
        assert qname is not None
        if not NAME.match(qname):
            raise f.error(f"{where}.name", f"must be lower-case letters, digits, '-', '.' or '_', not {qname!r}")
        if any(q.name == qname for q in own):
            raise f.error(f"{where}.name", f"quirk {qname!r} is named twice")
        explanation = f.string(item, "explanation", f"{where}.explanation", required=True)
        rules = item.get("rules")
        if not isinstance(rules, list) or not rules or not all(isinstance(r, str) for r in rules):
            raise f.error(f"{where}.rules", "must be a non-empty array of rule ids")
        for r in rules:
            if r not in ids:
                raise f.error(f"{where}.rules", f"no such rule {r!r} (see `sse-conformance rules`)")
        finding_path = f.string(item, "finding_path", f"{where}.finding_path")
        if finding_path is not None and split_path(finding_path) is None:
            raise f.error(f"{where}.finding_path", f"must be a JSON path like $.choices[*].delta.role, not {finding_path!r}")
        conditions = item.get("where", [])
        if not isinstance(conditions, list):
            raise f.error(f"{where}.where", "must be an array of conditions")
        cond = tuple(_condition(c, f, f"{where}.where[{i}]") for i, c in enumerate(conditions))
        assert explanation is not None
        own.append(Quirk(qname, explanation.strip(), tuple(rules), name, finding_path, cond))
    mine = {q.name for q in own}
    return tuple(own) + tuple(q for q in base.quirks if q.name not in mine)


def load_file(path: Any, resolve: Callable[..., Profile], shown: str | None = None) -> Profile:
    """Read one dialect file; ``resolve`` finds its base (profiles.get_profile). ``shown`` is
    how reports name the file (a built-in's path inside the package, not the machine's)."""
    shown = shown or str(path)
    f = _File(shown)
    key = str(Path(str(path)).resolve())
    if key in _loading:
        raise UsageError(f"profile {shown}: extends: a cycle ({' -> '.join([*_loading, key])})")
    data = _read(path, f)
    f.known(data, TOP, "")
    name = f.string(data, "name", "name") or Path(shown).stem.lower()
    if not NAME.match(name):
        raise f.error("name", f"must be lower-case letters, digits, '-', '.' or '_', not {name!r}")
    extends = f.string(data, "extends", "extends", required=True)
    assert extends is not None
    _loading.append(key)
    try:
        base = resolve(extends, Path(str(path)).parent)
    except UsageError as exc:
        raise f.error("extends", str(exc)) from None
    finally:
        _loading.pop()
    if name in base.lineage:
        raise f.error("name", f"{name!r} is already the name of its base or one of the base's bases")
    if name in PROFILES and shown != f"conformance/dialects/{name}.toml":
        raise f.error("name", f"{name!r} is already the name of a built-in profile; reports would not tell them apart")
    reasons = data.get("finish_reasons", [])
    if not isinstance(reasons, list) or not all(isinstance(r, str) and r for r in reasons):
        raise f.error("finish_reasons", "must be an array of strings (added to the base's)")
    usage = data.get("usage", base.usage)
    if usage not in USAGE_POLICIES:
        raise f.error("usage", f"must be one of {', '.join(USAGE_POLICIES)}, not {usage!r}")
    decoding = f.table(data, "decoding", DECODING)
    for setting, value in decoding.items():
        if not isinstance(value, bool):
            raise f.error(f"decoding.{setting}", "must be true or false")
    schemas = f.table(data, "schemas", set(SCHEMAS))
    chosen = {attr: getattr(base, attr) for attr in SCHEMAS.values()}
    if schemas:
        from ..schemas import all_schemas

        for kind, value in schemas.items():
            if not isinstance(value, str) or value not in all_schemas():
                raise f.error(f"schemas.{kind}", f"must name a schema the suite ships ({', '.join(sorted(all_schemas()))}), not {value!r}")
            chosen[SCHEMAS[kind]] = value
    description = data.get("description", "")
    if not isinstance(description, str):
        raise f.error("description", "must be a string")
    overrides = _overrides(data, f, name, base)
    return Profile(
        name=name,
        finish_reasons=base.finish_reasons | frozenset(reasons),
        usage=usage,
        annotations=decoding.get("annotations", base.annotations),
        error_may_end_stream=decoding.get("error_may_end_stream", base.error_may_end_stream),
        description=description.strip(),
        extends=base.name,
        file=shown,
        lineage=(name, *base.lineage),
        overrides=overrides,
        quirks=_quirks(data, f, name, base),
        **chosen,
    )
