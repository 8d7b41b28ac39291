"""Dask scheduler and worker that open no HTTP server.

``distributed`` starts an HTTP server on every scheduler (port 8787) and worker (a
random port) even with the dashboard off: health and metrics routes (distributed
2024-2026, ``Node.start_http_server``). The twin's local cluster needs none of it, and a
listener nobody asked for is a hole on a shared machine, so these classes build the
application but never listen. Imported only where a local cluster starts (it imports
``distributed``).
"""
from __future__ import annotations

from distributed import Scheduler, Worker
from distributed.http.routing import RoutingApplication
from tornado.httpserver import HTTPServer

__all__ = ["QuietScheduler", "QuietWorker"]


class _NoHTTP:
    def start_http_server(self, routes, dashboard_address, default_port=0, ssl_options=None):
        self.http_application = RoutingApplication(routes)
        self.http_server = HTTPServer(self.http_application)     # never listens


class QuietScheduler(_NoHTTP, Scheduler):
    """A :class:`distributed.Scheduler` without an HTTP server."""


class QuietWorker(_NoHTTP, Worker):
    """A :class:`distributed.Worker` without an HTTP server."""
