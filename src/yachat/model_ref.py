"""A model reference, the one place that reads and writes model names and URIs.

Every form Yandex and yachat use reads into one `ModelRef`:

- `yandexgpt-lite`: a name (the version is `latest` when asked);
- `yandexgpt/rc`: a name and a version, as an assistant writes it;
- `yandexgpt-lite/latest@abc123`: a tuned model, the tuning's suffix after `@`;
- `gpt://<folder>/<name>[/<version>]`: the full URI the gRPC and HTTP APIs take;
- `gpt://<name>/<version>`: the chat API's answer names its model without the folder;
- `emb://<folder>/<name>[/<version>]`: an embedding model.

A leaf module: settings, the client and the local server all read references
through it, and it imports nothing of yachat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCHEMES = ("gpt", "emb")
# The versions Yandex serves. Only `gpt://a/b` needs them: a version word there
# says the URI has no folder (the chat API's `gpt://name/latest`).
VERSION_WORDS = ("latest", "rc", "deprecated")
FORMS = "yandexgpt-lite, yandexgpt/rc, yandexgpt-lite/latest@<suffix> or gpt://<folder>/<name>/<version>"

_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*")
_VERSION = re.compile(r"(?P<version>[A-Za-z0-9][A-Za-z0-9._\-]*)(@(?P<suffix>[A-Za-z0-9][A-Za-z0-9._\-]*))?")


class ModelRefError(ValueError):
    """Text that names no model; the message is one line fit to show the user."""


@dataclass(frozen=True)
class ModelRef:
    name: str  # "yandexgpt", "qwen3-235b-a22b-fp8"
    version: str | None = None  # "latest", "rc", "latest@suffix"; None: not given (latest)
    folder: str | None = None  # only a full URI names one
    scheme: str = "gpt"

    @property
    def version_or_latest(self) -> str:
        return self.version or "latest"

    @property
    def tuning(self) -> str | None:
        """A tuned model's suffix: `yandexgpt-lite/latest@abc` -> `abc`."""
        return (self.version.partition("@")[2] or None) if self.version else None

    @property
    def short(self) -> str:
        """As an assistant writes it, without scheme or folder: `yandexgpt/rc`, `yandexgpt-lite`."""
        return f"{self.name}/{self.version}" if self.version else self.name

    @property
    def label(self) -> str:
        """What the UI shows as the model that answered: always with its version."""
        return f"{self.name}/{self.version_or_latest}"

    def uri(self, folder: str | None = None) -> str:
        """The full URI, in the given folder, else the reference's own; with none, the folderless form."""
        where = folder or self.folder
        head = f"{self.scheme}://{where}/" if where else f"{self.scheme}://"
        return f"{head}{self.name}/{self.version_or_latest}"


def _bad(text: str, why: str) -> ModelRefError:
    return ModelRefError(f"{text!r} is not a model: {why}; write it as {FORMS}")


def _version(text: str, raw: str) -> str:
    if not _VERSION.fullmatch(raw):
        raise _bad(text, f"{raw!r} is not a version (latest, rc, or latest@<suffix> for a tuned model)")
    return raw


def _name(text: str, raw: str) -> str:
    if not _PART.fullmatch(raw):
        raise _bad(text, f"{raw!r} is not a model name (letters, digits, '.', '_' and '-')")
    return raw


def parse_model_ref(text: str) -> ModelRef:
    """Read any form of a model reference; anything else raises one `ModelRefError`."""
    raw = text.strip()
    if not raw:
        raise ModelRefError(f"no model given; write one as {FORMS}")
    if any(c.isspace() for c in raw):
        raise _bad(text, "a model reference has no spaces")
    scheme, sep, rest = raw.partition("://")
    if not sep:
        name, slash, version = raw.partition("/")
        if slash and "/" in version:
            raise _bad(text, "a name without gpt:// has at most one '/'")
        return ModelRef(_name(text, name), _version(text, version) if slash else None)
    if scheme not in SCHEMES:
        raise _bad(text, f"unknown scheme {scheme + '://'!r} (gpt:// for text models, emb:// for embeddings)")
    parts = rest.split("/")
    if any(not p for p in parts) or not 2 <= len(parts) <= 3:
        raise _bad(text, f"a URI is {scheme}://<folder>/<name>/<version>")
    if len(parts) == 3:
        folder, name, version = parts
        return ModelRef(_name(text, name), _version(text, version), _name(text, folder), scheme)
    if len(parts) == 2 and parts[1].partition("@")[0] not in VERSION_WORDS:
        return ModelRef(_name(text, parts[1]), None, _name(text, parts[0]), scheme)
    return ModelRef(_name(text, parts[0]), _version(text, parts[1]), None, scheme)


def model_ref_problem(text: str) -> str | None:
    """What is wrong with a typed model reference, or None."""
    try:
        parse_model_ref(text)
    except ModelRefError as exc:
        return str(exc)
    return None
