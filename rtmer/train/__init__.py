"""Training over the protocols of :mod:`rtmer.data`: loops, LOSO evaluation, reports (needs torch),
one training run as a job (:mod:`rtmer.train.job`) and scoring again (:mod:`rtmer.train.evaluate`,
no torch).

This package's own module imports nothing heavy: the command line reads :data:`DEFAULT_CACHE`
while it builds its parser.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The feature cache of training and evaluation unless told otherwise:
#: ``$RTMER_CACHE_DIR/features``, else ``~/.cache/rtmer/features``.
DEFAULT_CACHE = Path(os.environ.get("RTMER_CACHE_DIR", Path.home() / ".cache" / "rtmer")) / "features"
