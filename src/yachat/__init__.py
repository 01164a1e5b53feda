"""yachat: a terminal chat for Yandex AI Studio models."""

__version__ = "0.1.0"
