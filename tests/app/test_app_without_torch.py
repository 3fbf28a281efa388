"""The live path runs without PyTorch: the app, the pipeline and the feature path import none."""

from __future__ import annotations

import subprocess
import sys


def test_app_imports_without_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import rtmer.app, rtmer.app.pipeline, rtmer.features, rtmer.models.registry, rtmer.cli\n"
        "import rtmer.app.runner, rtmer.app.classify, rtmer.app.sinks, rtmer.app.overlay, rtmer.app.demo\n"
        "import rtmer.config, rtmer.commands._app, rtmer.commands.live, rtmer.commands.replay\n"
        "assert 'onnxruntime' not in sys.modules  # loaded by rtmer.backends only when a model is opened\n"
        "assert rtmer.cli.build_parser() is not None\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("ok")
