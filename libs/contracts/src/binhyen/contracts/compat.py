"""Compatibility rule within one event version: only additive, optional fields."""

from typing import Any


def breaking_changes(old: dict[str, Any], new: dict[str, Any], path: str = "") -> list[str]:
    """List the ways ``new`` breaks readers or writers of ``old`` (empty when compatible)."""
    problems: list[str] = []
    old_props: dict[str, Any] = old.get("properties", {})
    new_props: dict[str, Any] = new.get("properties", {})
    for name, old_prop in old_props.items():
        where = f"{path}{name}"
        if name not in new_props:
            problems.append(f"field {where} was removed")
            continue
        problems += _type_changes(old_prop, new_props[name], where, old, new)
    old_required = set(old.get("required", []))
    for name in sorted(set(new.get("required", [])) - old_required):
        if name in old_props:
            problems.append(f"field {path}{name} became required")
        else:
            problems.append(f"new field {path}{name} is required; new fields must be optional")
    return problems


def _type_changes(
    old_prop: dict[str, Any],
    new_prop: dict[str, Any],
    where: str,
    old_root: dict[str, Any],
    new_root: dict[str, Any],
) -> list[str]:
    old_resolved = _resolve(old_prop, old_root)
    new_resolved = _resolve(new_prop, new_root)
    if _types(old_resolved) != _types(new_resolved):
        return [f"field {where} changed type {_types(old_resolved)} -> {_types(new_resolved)}"]
    problems: list[str] = []
    old_enum, new_enum = old_resolved.get("enum"), new_resolved.get("enum")
    if old_enum is not None and new_enum is not None and set(old_enum) - set(new_enum):
        problems.append(f"field {where} lost enum values {sorted(set(old_enum) - set(new_enum))}")
    if "properties" in old_resolved:
        problems += breaking_changes(old_resolved, new_resolved, f"{where}.")
    return problems


def _resolve(prop: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = prop.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved: dict[str, Any] = root.get("$defs", {})[ref.removeprefix("#/$defs/")]
        return resolved
    return prop


def _types(prop: dict[str, Any]) -> tuple[str, ...]:
    if "anyOf" in prop:
        return tuple(sorted(t for option in prop["anyOf"] for t in _types(option)))
    kind = prop.get("type")
    if isinstance(kind, list):
        return tuple(sorted(kind))
    if kind is None:
        return ("enum",) if "enum" in prop else ("any",)
    return (kind,)
