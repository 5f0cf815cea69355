"""No incidents endpoint or dependency runs in FastAPI's thread pool."""

from binhyen.incidents.app import service_spec
from binhyen.kit.testing import threadpool_calls


def test_every_endpoint_and_dependency_runs_on_the_event_loop() -> None:
    routers = service_spec().routers
    assert sum(len(r.routes) for r in routers) > 10
    assert threadpool_calls(routers) == []
