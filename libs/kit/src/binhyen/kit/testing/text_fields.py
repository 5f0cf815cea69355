"""Check that every text field a service's routes read refuses control characters.

Walks the request body models of a ``ServiceSpec``'s routes (and the models they nest), and
optionally the query parameters, and tries a value holding control characters in each text
field: each must fail with the kit's control-character message, located at that field.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from binhyen.kit.runtime import ServiceSpec
from binhyen.kit.text import CONTROL_MESSAGE

BAD = "Nguyễn\u001b[2J\u0000Văn"
"""A value a user might paste: an ANSI escape and a NUL inside a Vietnamese name."""


@dataclass
class TextFieldReport:
    """What the walk found: how many models and fields it checked, which accepted ``BAD``."""

    models: int = 0
    checked: int = 0
    accepted: list[str] = field(default_factory=list)


def _routes(spec: ServiceSpec) -> Iterable[APIRoute]:
    for router in spec.routers:
        for route in router.routes:
            if isinstance(route, APIRoute):
                yield route


def _params(dependant: Dependant, kind: str) -> list[Any]:
    """The ``kind`` ("body", "query") parameters of a route and of all its dependencies."""
    found: list[Any] = list(getattr(dependant, f"{kind}_params"))
    for sub in dependant.dependencies:
        found.extend(_params(sub, kind))
    return found


def request_models(spec: ServiceSpec) -> set[type[BaseModel]]:
    """The body models of the spec's routes, and every model their fields name."""
    models: set[type[BaseModel]] = set()
    for route in _routes(spec):
        for param in _params(route.dependant, "body"):
            _add(param.field_info.annotation, models)
    return models


def _add(annotation: Any, models: set[type[BaseModel]]) -> None:
    """Add the models an annotation names, and the models their fields name."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in models:
            models.add(annotation)
            for info in annotation.model_fields.values():
                _add(info.annotation, models)
        return
    for arg in typing.get_args(annotation):
        _add(arg, models)


def _kinds(annotation: Any) -> set[str]:
    """What an annotation accepts that holds text: "str", "list:str", or nested models."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _kinds(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_kinds(a) for a in typing.get_args(annotation)))
    if origin in (list, tuple, set, frozenset):
        inner = _kinds(typing.get_args(annotation)[0])
        return {"list:" + k for k in inner}
    if annotation is str:
        return {"str"}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {"model"}
    return set()


def text_values(annotation: Any, name: str) -> list[tuple[str, Any]]:
    """(location, a value with control characters) for each text part of ``annotation``."""
    kinds = _kinds(annotation)
    found: list[tuple[str, Any]] = []
    if "str" in kinds:
        found.append((name, BAD))
    if "list:str" in kinds:
        found.append((f"{name}.0", [BAD]))
    return found


def text_fields(model: type[BaseModel], *, by_alias: bool = False) -> list[tuple[str, Any]]:
    """(field, a value with control characters) for each text field of ``model``."""
    found: list[tuple[str, Any]] = []
    for name, info in model.model_fields.items():
        key = (info.alias or name) if by_alias else name
        found.extend(text_values(info.annotation, key))
    return found


def _refused(errors: Iterable[Any], where: str) -> bool:
    """True if one of pydantic's ``errors`` is the control-character one, at ``where``."""
    return any(
        CONTROL_MESSAGE in str(e.get("msg", ""))
        and ".".join(str(p) for p in e.get("loc", ())) == where
        for e in errors
    )


def check_text_fields(spec: ServiceSpec, *, query: bool = False) -> TextFieldReport:
    """Try control characters in every text field of the spec's request models (and queries)."""
    report = TextFieldReport()
    models = request_models(spec)
    report.models = len(models)
    for model in sorted(models, key=lambda m: m.__name__):
        for where, value in text_fields(model):
            try:
                model.model_validate({where.split(".")[0]: value})
            except ValidationError as exc:
                if _refused(exc.errors(), where):
                    report.checked += 1
                    continue
            report.accepted.append(f"{model.__name__}.{where}")
    if not query:
        return report
    seen: set[tuple[Any, str]] = set()
    for route in _routes(spec):
        # Flat: the query parameters of the route's dependencies (a filter class) count too.
        for param in _params(route.dependant, "query"):
            for where, value in text_values(param.field_info.annotation, param.alias):
                if (route.endpoint, where) in seen:
                    continue  # one endpoint under several paths (.json, .xml) or methods
                seen.add((route.endpoint, where))
                _, errors = param.validate(value, {}, loc=("query", param.alias))
                if _refused(errors or [], f"query.{where}"):
                    report.checked += 1
                else:
                    report.accepted.append(f"{route.path}?{where}")
    return report


def assert_text_fields_refuse_controls(
    spec: ServiceSpec, *, min_models: int, min_fields: int, query: bool = False
) -> TextFieldReport:
    """Fail unless every text field refuses control characters (and the walk saw enough)."""
    report = check_text_fields(spec, query=query)
    assert report.accepted == [], f"text fields that accept control characters: {report.accepted}"
    # The minimums keep the walk honest: a change that hid the models would pass vacuously.
    assert report.models >= min_models, f"only {report.models} request models found"
    assert report.checked >= min_fields, f"only {report.checked} text fields checked"
    return report
