"""Open311 GeoReport v2 in XML, the spec's required format, re-encoded from the JSON answers.

A route whose path ends in ``.xml`` runs the same endpoint as its ``.json`` twin and
answers the same fields in XML: so it shows exactly what JSON shows, nothing personal
more. Lists become the spec's ``<services><service>…``, ``<service_requests><request>…``,
``<attributes><attribute>…``, ``<values><value>…``; null an empty element; booleans
``true`` / ``false``. Errors, problem+json on the JSON side, become the spec's
``<errors><error><code/><description/></error></errors>``, one error per field at fault.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, ClassVar
from xml.etree import ElementTree

from fastapi import Request, Response
from fastapi.routing import APIRoute

from binhyen.kit.problems import PROBLEM_JSON

# GeoReport v2, "Format Support": "XML for the API should be Content-Type: text/xml", and
# the discovery spec's examples list text/xml: clients written against it look for that.
XML = "text/xml"
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
ITEMS = {  # a list element → the element of each of its items, as the spec names them
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
# What XML 1.0 cannot carry at all, not even as a reference: C0 controls other than
# tab, LF and CR, lone surrogates, U+FFFE and U+FFFF. JSON escapes them; XML cannot.
NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class XmlResponse(Response):
    """An XML document (Starlette adds ``; charset=utf-8`` to a text/* type)."""

    media_type = XML


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)  # the digits the JSON twin writes
    return NOT_XML.sub("\ufffd", str(value))


def _element(name: str, value: Any) -> ElementTree.Element:
    if not NAME.match(name):
        raise ValueError(f"{name!r} is not an XML element name")
    element = ElementTree.Element(name)
    if isinstance(value, Mapping):
        for key, item in value.items():
            element.append(_element(str(key), item))
    elif isinstance(value, list):
        item_name = ITEMS[name]  # a KeyError here is a list the spec does not name
        for item in value:
            element.append(_element(item_name, item))
    else:
        element.text = _text(value)
    return element


def document(root: str, data: Any) -> bytes:
    """``data``, as JSON would carry it, as a UTF-8 XML document under ``root``."""
    body = ElementTree.tostring(_element(root, data), encoding="unicode")
    # ElementTree escapes & < > in text; a CR it leaves raw, and a parser would read it
    # back as LF (XML end-of-line handling). Written as a reference it survives. There is
    # no markup whitespace in this output, so every CR is inside a text.
    return DECLARATION + body.replace("\r", "&#13;").encode("utf-8")


def errors(problem: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A problem+json body as the spec's error list: one error per field at fault."""
    code = problem.get("status")
    fields = problem.get("errors") or []
    if not fields:
        return [{"code": code, "description": problem.get("detail") or problem.get("title")}]
    listed = []
    for e in fields:
        field, message = str(e.get("field")), str(e.get("message"))
        # The spec's error has no field: name it in the text, unless the text already does.
        described = message if message.startswith(field) else f"{field}: {message}"
        listed.append({"code": code, "description": described})
    return listed


async def _problem(request: Request, exc: Exception) -> Response:
    """The problem+json answer the app's own handlers give ``exc`` (the JSON side's)."""
    handlers: Mapping[Any, Any] = request.app.exception_handlers
    for kind in type(exc).__mro__:
        handler = handlers.get(kind)
        if handler is not None:
            response = handler(request, exc)
            answer: Response = await response if inspect.isawaitable(response) else response
            return answer
    raise exc


def _in_xml(response: Response, root: str | None) -> Response:
    media = (response.headers.get("content-type") or "").split(";")[0].strip()
    if media not in ("application/json", PROBLEM_JSON):
        raise TypeError(f"cannot answer {media or 'an untyped body'} in XML")
    data = json.loads(bytes(response.body))
    if media == PROBLEM_JSON:
        content = document("errors", errors(data))
    elif root is None:
        raise LookupError("this route has no XML root element")
    else:
        content = document(root, data)
    headers = {
        k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")
    }
    return XmlResponse(
        content, status_code=response.status_code, headers=headers, background=response.background
    )


class XmlRoute(APIRoute):
    """A route whose path ends in .xml answers in XML: its result under ``roots[name]``."""

    roots: ClassVar[Mapping[str, str]] = {}  # endpoint name → the spec's root element

    def get_route_handler(self) -> Handler:
        """The endpoint's handler; for a .xml path, re-encoded and with XML errors."""
        handler = super().get_route_handler()
        if not self.path.endswith(".xml"):
            return handler
        root = self.roots.get(self.name)

        async def answer_in_xml(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as exc:  # every error, as the JSON side would answer it
                response = await _problem(request, exc)
            return _in_xml(response, root)

        return answer_in_xml
