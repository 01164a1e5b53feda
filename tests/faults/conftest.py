from ..core.conftest import core, settings  # noqa: F401 - the core's fixtures, shared
