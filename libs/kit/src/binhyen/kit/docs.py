"""Swagger UI and ReDoc from files shipped in a package: no CDN (communes often run offline)."""

from __future__ import annotations

import html
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from binhyen.kit.problems import problem

# The files of Swagger UI and ReDoc that fastapi-offline ships, and ours: the pages load
# no inline script, so their Content-Security-Policy can be strict (kit.edge).
_ASSETS = {
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "application/javascript",
    "favicon.png": "image/png",
}
_SWAGGER_INIT = """window.ui = SwaggerUIBundle({
  url: document.currentScript.dataset.openapi,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
});
"""
_CACHE = {"Cache-Control": "public, max-age=86400"}  # no personal data in these


def _asset_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` (Swagger UI) and ``/redoc`` from local files."""
    assets = _asset_dir()
    title = html.escape(app.title)

    def base(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = base(request)
        return HTMLResponse(
            f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}: API</title>
<link rel="icon" href="{root}/docs/assets/favicon.png">
<link rel="stylesheet" href="{root}/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{root}/docs/assets/swagger-ui-bundle.js"></script>
<script src="{root}/docs/assets/swagger-init.js" data-openapi="{root}{app.openapi_url}"></script>
</body></html>"""
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = base(request)
        return HTMLResponse(
            f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}: API</title>
<link rel="icon" href="{root}/docs/assets/favicon.png"></head>
<body><redoc spec-url="{root}{app.openapi_url}"></redoc>
<script src="{root}/docs/assets/redoc.standalone.js"></script>
</body></html>"""
        )

    @app.get("/docs/assets/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        if name == "swagger-init.js":
            return Response(_SWAGGER_INIT, media_type="application/javascript", headers=_CACHE)
        if name not in _ASSETS:
            return problem(404, "not-found", "Not found", f"no documentation file {name}")
        return FileResponse(assets / name, media_type=_ASSETS[name], headers=_CACHE)
