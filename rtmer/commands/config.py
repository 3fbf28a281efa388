"""``rtmer config show``: the effective settings (defaults, then the config file) as TOML."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from rtmer.app.build import check_stages, stage_defaults
    from rtmer.config import load_config, to_toml

    config = load_config(args.config)
    check_stages(config)
    print(to_toml(config, stage_defaults()), end="")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "config",
        help="show the effective settings as TOML (a starting point for --config FILE)",
        description="Print the settings live, replay and demo run with: the defaults, then --config FILE.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print the effective settings as TOML")
    show.add_argument("--config", metavar="FILE.toml", help="a settings file to apply over the defaults")
    show.set_defaults(handler=run)
