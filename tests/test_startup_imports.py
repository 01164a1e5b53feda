"""What start-up does not import: heavy modules load when first used, off the first frame."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numpy", "grpc", "yandex_cloud_ml_sdk", "pypdf")


def test_the_tui_starts_without_numpy_grpc_the_sdk_or_pdf_reading() -> None:
    code = "import sys, yachat.tui.app, yachat.cli.main; print(' '.join(sorted(sys.modules)))"
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert not {m for m in HEAVY if m in loaded}
