from tests.web.support import clock, web

__all__ = ["clock", "web"]
