"""The acknowledgement page a message links to: /a/<token> (Vietnamese and English).

Made for a basic phone browser: one small HTML page, one stylesheet from this service, a plain
form with two buttons, no script needed, nothing from elsewhere (its Content-Security-Policy
allows only this service). The token is single-use: the first answer is recorded (303 to the
page, which then says so); a second answer changes nothing and is told so (409).
"""

from __future__ import annotations

import html
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Query, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from binhyen.kit.problems import PROBLEM_JSON, DomainError
from binhyen.notifications.api.common import PROBLEMS, ContextDep, local
from binhyen.notifications.service import acks

router = APIRouter(tags=["acknowledgement"])
Token = Annotated[str, Path(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "script-src 'self'; connect-src 'self'; worker-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# Optional: a browser that can receive Web Push offers to; the page works without any script.
PUSH_JS = """(function () {
  var box = document.getElementById("push");
  if (!box || !("serviceWorker" in navigator) || !("PushManager" in window)) return;
  box.hidden = false;
  var key = box.getAttribute("data-key"), token = box.getAttribute("data-token");
  var note = box.querySelector("p");
  function bytes(b64) {
    var s = atob(b64.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((b64.length + 3) % 4));
    var out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  box.querySelector("button").addEventListener("click", function () {
    navigator.serviceWorker.register("/a/sw.js", {scope: "/a/"}).then(function (reg) {
      return reg.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: bytes(key)});
    }).then(function (sub) {
      return fetch("/a/" + token + "/push", {method: "POST",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(sub)});
    }).then(function (r) {
      note.textContent = box.getAttribute(r.ok ? "data-ok" : "data-fail");
    }).catch(function () { note.textContent = box.getAttribute("data-fail"); });
  });
})();
"""
SERVICE_WORKER = """self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  event.waitUntil(self.registration.showNotification(data.title || "Bình Yên", {
    body: data.body || "", lang: data.lang || "vi", tag: data.alert_id,
    requireInteraction: !!data.critical, data: {url: data.url || "/"}
  }));
});
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(clients.openWindow(event.notification.data.url));
});
"""
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token must not leak in a Referer
}
HEADERS_DOC = {name: {"schema": {"type": "string"}} for name in PAGE_HEADERS}
UNAVAILABLE: dict[str, Any] = {
    "description": "Database unavailable; nothing changed, retry later",
    "content": {PROBLEM_JSON: {}},
}
STYLE = """body{font-family:system-ui,sans-serif;margin:0;padding:1em;max-width:36em;
line-height:1.4;color:#111;background:#fff}h1{font-size:1.3em;margin:.2em 0 .6em}
.tag{display:inline-block;background:#b00020;color:#fff;padding:.1em .5em;border-radius:.3em}
.drill{background:#6b4e00}.meta{color:#555;font-size:.9em}p{white-space:pre-line}
button{display:block;width:100%;font-size:1.15em;padding:.8em;margin:.5em 0;border:0;
border-radius:.4em;background:#0b5;color:#fff}button.go{background:#b00020}
.done{background:#e8f5e9;padding:.8em;border-radius:.4em}nav{margin-top:1.5em;font-size:.9em}
"""
WORDS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Tiếng kẻng an ninh",
        "drill": "DIỄN TẬP",
        "test": "THỬ NGHIỆM",
        "received": "Tôi đã nhận",
        "coming": "Tôi đang đến",
        "answered": "Bạn đã trả lời",
        "closed": "Tin báo này đã kết thúc.",
        "sent": "Gửi lúc",
        "other": "English",
        "invalid": "Đường dẫn không hợp lệ hoặc đã hết hạn.",
        "used": "Đường dẫn này đã được trả lời trước đó; câu trả lời không thay đổi.",
        "push": "Nhận tin báo trên trình duyệt này",
        "push_ok": "Đã bật: tin báo sau sẽ đến trình duyệt này.",
        "push_fail": "Không bật được; tin báo vẫn đến qua tin nhắn.",
    },
    "en": {
        "title": "Security gong",
        "drill": "DRILL",
        "test": "TEST",
        "received": "I have received it",
        "coming": "I am on my way",
        "answered": "You answered",
        "closed": "This alert has ended.",
        "sent": "Sent at",
        "other": "Tiếng Việt",
        "invalid": "This link is not valid, or has expired.",
        "used": "This link was answered already; the answer stays as it was.",
        "push": "Receive alerts in this browser",
        "push_ok": "On: later alerts come to this browser.",
        "push_fail": "Could not turn it on; alerts still come by message.",
    },
}


def _lang(requested: str | None, default: str) -> str:
    lang = requested or default
    return lang if lang in WORDS else "vi"


def _page(lang: str, body: str, *, status_code: int = 200) -> HTMLResponse:
    w = WORDS[lang]
    return HTMLResponse(
        f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{html.escape(w["title"])}</title><link rel="stylesheet" href="/a/style.css"></head>
<body>{body}</body></html>""",
        status_code=status_code,
        headers=PAGE_HEADERS,
    )


def _view_html(
    view: acks.LinkView, token: str, lang: str, note: str = "", push_key: str | None = None
) -> str:
    w = WORDS[lang]
    alert = view.alert
    tag = ""
    if alert["cap_status"] == "Exercise":
        tag = f'<span class="tag drill">{w["drill"]}</span> '
    elif alert["cap_status"] == "Test":
        tag = f'<span class="tag drill">{w["test"]}</span> '
    texts = view.texts
    parts = [
        f"<h1>{tag}{html.escape(texts['headline'])}</h1>",
        f'<div class="meta">{w["sent"]} {html.escape(local(alert["sent_at"]) or "")}</div>',
        f"<p>{html.escape(texts['body'])}</p>",
    ]
    if note:
        parts.append(f'<p class="done">{html.escape(note)}</p>')
    if view.answered:
        parts.append(f'<p class="done">{w["answered"]}: {html.escape(w[view.answered])}.</p>')
    elif alert["status"] == "closed":
        parts.append(f'<p class="done">{w["closed"]}</p>')
    else:
        parts.append(
            f'<form method="post" action="/a/{token}?lang={lang}">'
            f'<button name="answer" value="received">{w["received"]}</button>'
            f'<button class="go" name="answer" value="coming">{w["coming"]}</button></form>'
        )
    if push_key:
        parts.append(
            f'<div id="push" hidden data-key="{html.escape(push_key)}" data-token="{token}" '
            f'data-ok="{html.escape(w["push_ok"])}" data-fail="{html.escape(w["push_fail"])}">'
            f'<button type="button">{html.escape(w["push"])}</button><p></p></div>'
            '<script src="/a/push.js"></script>'
        )
    other = "en" if lang == "vi" else "vi"
    parts.append(f'<nav><a href="/a/{token}?lang={other}">{w["other"]}</a></nav>')
    return "\n".join(parts)


@router.get("/a/push.js", include_in_schema=False)
async def push_script() -> Response:
    """The page's optional script: offers Web Push where the browser has it."""
    return Response(
        PUSH_JS, media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"}
    )


@router.get("/a/sw.js", include_in_schema=False)
async def service_worker() -> Response:
    """Shows a pushed alert; a tap opens its acknowledgement page."""
    return Response(
        SERVICE_WORKER,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/a/"},
    )


@router.get("/a/style.css", include_in_schema=False)
async def style() -> Response:
    """The page's only stylesheet."""
    return Response(
        STYLE, media_type="text/css", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get(
    "/a/{token}",
    response_class=HTMLResponse,
    responses={
        200: {"description": "The page (Vietnamese or English)", "headers": HEADERS_DOC},
        404: {"description": "Unknown or forged link", "content": {"text/html": {}}},
        503: UNAVAILABLE,
    },
    summary="The acknowledgement page of a message",
)
async def page(
    token: Token,
    ctx: ContextDep,
    lang: Annotated[Literal["vi", "en"] | None, Query()] = None,
) -> HTMLResponse:
    """What the alert says, and two buttons."""
    try:
        view = await acks.view(ctx, token)
    except DomainError:
        return _page(
            _lang(lang, "vi"), f"<p>{WORDS[_lang(lang, 'vi')]['invalid']}</p>", status_code=404
        )
    language = _lang(lang, view.recipient.get("language", "vi"))
    push = ctx.channels.get("push")
    key = getattr(push, "public_key", None)
    return _page(language, _view_html(view, token, language, push_key=key))


@router.post(
    "/a/{token}",
    # A 303 has no body: the class without a media type keeps the document from naming one.
    response_class=RedirectResponse,
    status_code=status.HTTP_303_SEE_OTHER,
    responses={
        303: {
            "description": "Recorded; the page again (GET the Location)",
            "headers": {"Location": {"schema": {"type": "string"}}},
        },
        404: {"description": "Unknown or forged link", "content": {"text/html": {}}},
        409: {"description": "Answered before", "content": {"text/html": {}}},
        503: UNAVAILABLE,
    },
    summary="Answer from the page (a form post)",
)
async def answer_page(
    token: Token,
    ctx: ContextDep,
    answer: Annotated[Literal["received", "coming"], Form()],
    lang: Annotated[Literal["vi", "en"] | None, Query()] = None,
) -> Response:
    """Record the answer once; then show the page again."""
    language = _lang(lang, "vi")
    try:
        await acks.answer(ctx, token, answer)
    except acks.LinkUsed:
        view = await acks.view(ctx, token)
        return _page(
            language, _view_html(view, token, language, WORDS[language]["used"]), status_code=409
        )
    except DomainError:
        return _page(language, f"<p>{WORDS[language]['invalid']}</p>", status_code=404)
    return RedirectResponse(f"/a/{token}?lang={language}", status_code=303, headers=PAGE_HEADERS)


class LinkAnswer(BaseModel):
    """An app's answer for a link it received."""

    answer: Literal["received", "coming"] = Field(description="Tôi đã nhận / Tôi đang đến.")


class LinkAnswered(BaseModel):
    """The alert answered."""

    alert_id: str
    answer: str


@router.post(
    "/api/v1/acks/{token}",
    response_model=LinkAnswered,
    responses=PROBLEMS,
    summary="Answer an alert with the token of its link (apps)",
)
async def answer_api(token: Token, body: LinkAnswer, ctx: ContextDep) -> Any:
    """The same single-use rule as the page: a second answer is a 409."""
    view = await acks.answer(ctx, token, body.answer)
    return LinkAnswered(alert_id=view.alert["_id"], answer=body.answer)
