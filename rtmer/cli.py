"""The ``rtmer`` command line.

Each subcommand lives in ``rtmer.commands.<name>`` (see that package); what a command needs beyond
argparse is imported only when it runs.

Exit status: 0 on success; 2 on a usage error or a user-facing failure (an :class:`rtmer.errors.RtmerError`,
whose message is printed as one line on stderr, without a traceback); anything else is a bug.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from rtmer import __version__
from rtmer.errors import RtmerError

#: Subcommand modules under rtmer.commands, in the order ``rtmer --help`` lists them (each module's
#: ``register`` names its command: module spot_eval is ``rtmer spot-eval``).
COMMANDS = (
    "info", "data", "synth", "spot", "spot_eval", "train", "eval", "models", "export",
    "live", "replay", "demo", "config",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rtmer",
        description="Real-time facial micro-expression recognition.",
    )
    parser.add_argument("--version", action="version", version=f"rtmer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"rtmer.commands.{name}").register(sub)
    return parser


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: argparse has printed what it had to
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(handler(args) or 0)
    except RtmerError as exc:
        print(f"rtmer: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rtmer: interrupted", file=sys.stderr)
        return 130
