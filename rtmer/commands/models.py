"""``rtmer models``: the models rtmer implements and the weights it ships, with their cards.

rtmer models              # every model, then every shipped weight file with its card summary
rtmer models laenet       # the full card of the shipped laenet weights (or of a card .json)
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rtmer.weights import WeightCard


def _card_lines(c: WeightCard) -> list[str]:
    m = c.metrics
    scores = (
        f"UF1 {m['uf1']:.4f}, UAR {m['uar']:.4f}, accuracy {m['accuracy']:.4f} ({m.get('protocol', '')})"
        if {"uf1", "uar", "accuracy"} <= set(m)
        else "no measured scores on the card"
    )
    lines = [
        f"{c.name}  [{c.model}]  classes: {', '.join(c.classes)}",
        f"    files: {', '.join(f'{k}={v}' for k, v in sorted(c.files.items()))}",
        f"    trained on: {', '.join(c.training.get('data', [])) or '?'}; "
        f"{c.training.get('clips', '?')} clips, {c.training.get('subjects', '?')} subjects",
        f"    measured: {scores}",
    ]
    if c.synthetic:
        lines.append("    SYNTHETIC: " + c.statement)
    return lines


def run(args: argparse.Namespace) -> int:
    from rtmer.models import registry
    from rtmer.weights import find, shipped

    if args.name:
        card = find(args.name)
        print(json.dumps(card.to_json(), indent=2, sort_keys=True))
        return 0
    print("models:")
    for spec in registry.MODELS.values():
        params = f"{spec.published_params:,}" if spec.published_params else "-"
        print(
            f"  {spec.name:<12} input {spec.input.kind} {'x'.join(map(str, spec.input.shape))}, "
            f"classes {'/'.join(spec.classes)}, paper params {params}, budget CPU {spec.budget_cpu_ms} ms / "
            f"GPU {spec.budget_gpu_ms} ms"
        )
    cards = shipped()
    print("shipped weights:" if cards else "shipped weights: none")
    for card in cards:
        for line in _card_lines(card):
            print("  " + line)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list the models and the shipped weights with their model cards",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", nargs="?", help="print the full card of these weights (a name or a card .json)")
    p.set_defaults(handler=run)
