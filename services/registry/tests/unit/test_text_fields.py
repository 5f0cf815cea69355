"""Every text field of every registry request refuses control characters, naming the field."""

import types
import typing
from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from binhyen.kit.text import CONTROL_MESSAGE
from binhyen.registry.app import service_spec

BAD = "Nguyễn\u001b[2J\u0000Văn"


def _request_models() -> set[type[BaseModel]]:
    models: set[type[BaseModel]] = set()
    for router in service_spec().routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and route.body_field is not None:
                for param in route.dependant.body_params:
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
    """What an annotation accepts that holds text: "str", "list", or nested models."""
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


def _text_fields(model: type[BaseModel]) -> list[tuple[str, Any]]:
    """(field, a value with control characters in each of its text parts)."""
    found: list[tuple[str, Any]] = []
    for name, info in model.model_fields.items():
        kinds = _kinds(info.annotation)
        if "str" in kinds:
            found.append((name, BAD))
        if "list:str" in kinds:
            found.append((f"{name}.0", [BAD]))
    return found


def test_every_request_text_field_refuses_control_characters() -> None:
    models = _request_models()
    assert len(models) > 15
    checked, accepted = 0, []
    for model in sorted(models, key=lambda m: m.__name__):
        for field, value in _text_fields(model):
            top = field.split(".")[0]
            try:
                model.model_validate({top: value})
            except ValidationError as exc:
                locs = {
                    ".".join(str(p) for p in e["loc"])
                    for e in exc.errors()
                    if CONTROL_MESSAGE in e["msg"]
                }
                if field in locs:
                    checked += 1
                    continue
            accepted.append(f"{model.__name__}.{field}")
    assert accepted == []
    assert checked > 30
