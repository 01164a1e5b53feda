"""What start-up does not import: heavy modules load when first used, off the first frame."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numpy", "grpc", "yandex_cloud_ml_sdk", "pypdf")
# Screens that are not on the first frame load when first opened, with what they import.
NOT_ON_THE_FIRST_FRAME = (
    "yachat.tui.help_screen",
    "yachat.tui.knowledge_screen",
    "yachat.tui.model_picker",
    "yachat.tui.settings_screen",
    "yachat.core.knowledge.indexer",
    "yachat.core.knowledge.extract",
)


def loaded_at_start() -> set[str]:
    code = (
        "import sys, yachat.tui.app, yachat.cli.main; yachat.cli.main.build_parser(); "
        "print(' '.join(sorted(sys.modules)))"
    )
    return set(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
    )


def test_the_tui_starts_without_numpy_grpc_the_sdk_or_pdf_reading() -> None:
    loaded = loaded_at_start()
    assert not {m for m in HEAVY if m in loaded}


def test_the_screens_not_on_the_first_frame_load_when_first_opened() -> None:
    loaded = loaded_at_start()
    assert not {m for m in NOT_ON_THE_FIRST_FRAME if m in loaded}


def test_the_version_is_looked_up_only_for_version() -> None:
    assert "importlib.metadata" not in loaded_at_start()
