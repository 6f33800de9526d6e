"""Every (method, path) an ASGI app built with FastAPI answers, mounted sub-apps and included
routers included: the list an access test goes through, so a route added later is checked
too."""

from __future__ import annotations

from typing import Any


def app_routes(app: Any, prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for route in app.routes:
        if hasattr(route, "original_router"):  # FastAPI's included router
            out += app_routes(route.original_router, prefix)
        elif hasattr(route, "methods") and hasattr(route, "path"):
            out += [(m, prefix + route.path) for m in sorted(route.methods) if m != "HEAD"]
        elif hasattr(route, "app") and hasattr(route, "path"):  # a mount
            inner = route.app
            if hasattr(inner, "routes"):
                out += app_routes(inner, prefix + route.path)
            else:  # static files: one file stands for them
                out.append(("GET", prefix + route.path + "/style.css"))
    return out
