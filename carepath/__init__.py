"""carepath: the application shell — settings, CLI, web app, channels, clock."""

__version__ = "0.1.0"
