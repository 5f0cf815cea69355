"""Alert texts from templates: a sandboxed Jinja2 subset over a fixed set of fields.

A template may use only the fields below. A policy whose template does not parse, uses another
name, or renders longer than its limit is refused when it is saved (422 naming the template),
never when the gong sounds. Rendering is sandboxed (no attribute access to Python internals)
and plain text (no HTML escaping: no channel here renders HTML).

Fields (all text):

- ``event``: what happened, in the template's language (e.g. "Trộm cắp tài sản").
- ``category``: the incident category code (e.g. ``theft``); empty for a manual gong.
- ``severity``: low, medium, high or critical, in the template's language.
- ``hamlet``: the hamlet's name (several joined by ", " for a gong over several hamlets).
- ``commune``: the commune's name.
- ``time``: when it happened or the gong was struck, "HH:MM dd/mm/yyyy" in Vietnam's time.
- ``address``: the place as reported (may be empty).
- ``headline``: the alert's headline (for ``text`` and ``body``).
- ``instruction``: what to do (manual gong; may be empty).
- ``reference``: a short reference of the alert, to quote when calling back.
"""

from __future__ import annotations

from collections.abc import Mapping

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

FIELDS: tuple[str, ...] = (
    "event",
    "category",
    "severity",
    "hamlet",
    "commune",
    "time",
    "address",
    "headline",
    "instruction",
    "reference",
)
# Rendered lengths, in characters: a headline fits a notification's title and CAP (140); a
# text fits four SMS segments of Vietnamese (UCS-2, 67 characters each) with the link after it.
LIMITS: dict[str, int] = {"headline": 140, "text": 300, "body": 4000, "instruction": 1000}

_ENV = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
)
# Sample values of full length, to check a template's rendered size when it is saved.
_SAMPLE = {
    "event": "Cháy nhà dân, cần hỗ trợ chữa cháy khẩn cấp",
    "category": "fire_residential",
    "severity": "nghiêm trọng",
    "hamlet": "Thôn Tân Thành",
    "commune": "Xã Kỳ Nam",
    "time": "23:40 13/03/2026",
    "address": "Xóm 3, gần nhà văn hóa thôn",
    "headline": "Cháy nhà dân tại thôn Tân Thành",
    "instruction": "Bà con mang bình chữa cháy đến hỗ trợ",
    "reference": "A-7F3K2Q",
}


class TemplateError(ValueError):
    """A template that cannot be used; ``field`` names it (e.g. ``templates.vi.text``)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def check(source: str, *, part: str, field: str) -> None:
    """Raise TemplateError unless ``source`` parses, uses known fields only and fits."""
    try:
        parsed = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"the template does not parse: {exc.message}", field=field) from exc
    unknown = sorted(meta.find_undeclared_variables(parsed) - set(FIELDS))
    if unknown:
        raise TemplateError(
            f"unknown field(s) {', '.join(unknown)}; use: {', '.join(FIELDS)}", field=field
        )
    rendered = _render(source, _SAMPLE, field=field)
    limit = LIMITS.get(part)
    if limit is not None and len(rendered) > limit:
        raise TemplateError(
            f"renders to {len(rendered)} characters with long values; at most {limit}",
            field=field,
        )


def render(source: str, values: Mapping[str, str], *, part: str, field: str) -> str:
    """The template filled in (cut to its part's limit); TemplateError if it fails."""
    text = _render(source, values, field=field)
    limit = LIMITS.get(part)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _render(source: str, values: Mapping[str, str], *, field: str) -> str:
    try:
        text = _ENV.from_string(source).render(**{k: values.get(k, "") for k in FIELDS})
    except (UndefinedError, SecurityError, TypeError, ValueError) as exc:
        raise TemplateError(
            f"the template does not render: {type(exc).__name__}", field=field
        ) from exc
    return text.strip()
