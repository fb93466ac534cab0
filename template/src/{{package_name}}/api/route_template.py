"""The route template a request is for, even when it was answered before routing.

Admission (401, 429) and the body limit (413) answer before the router runs, so the scope has
no `route` then; matching the path against the app's routes names it all the same, so logs,
spans and metrics group those answers by route too. A path that no route matches has no
template: its raw path would make a label without bound.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.routing import RouteContext, iter_route_contexts
from starlette.routing import Match
from starlette.types import Scope


def route_template(scope: Scope) -> str | None:
    """The path template (`/v1/reviews/{request_id}`) of the route that served the request or
    would have served it, one for another method included (a 405); None for an unknown path."""
    route = scope.get("route")
    if route is None:
        # `scope["app"]` is the application; its included routers are matched route by route,
        # as only routes have a path.
        route = _matching(iter_route_contexts(scope["app"].routes), scope)
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None


def _matching(routes: Iterable[RouteContext], scope: Scope) -> RouteContext | None:
    """The first route matching path and method, else the first matching the path, as the
    router picks them."""
    partial: RouteContext | None = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial
