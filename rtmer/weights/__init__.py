"""Trained weights and their model cards: the demo weights shipped in this folder, and any a user
trains (``rtmer train`` writes the same card format).

A card is a JSON file ``<name>.json`` beside its weight files. Fields: ``name``; ``model`` (a
registry name); ``classes`` (output order); ``protocol``; ``feature`` (the
:class:`rtmer.features.FeatureSpec` fields that differ from the defaults, as trained); ``files``
({format: file name}: ``torch`` safetensors, ``onnx``, ``svm`` for the aggregation network's
clip classifier); ``synthetic`` (trained on rtmer's synthetic clips only); ``training`` (data,
generator version and seed, protocol, epochs, ...); ``metrics`` (measured, with how); ``params``;
``created``; ``statement`` (what the weights are and are not). This module reads cards; it imports
neither torch nor onnxruntime.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rtmer.errors import InputError

if TYPE_CHECKING:
    from rtmer.features import FeatureSpec

#: Where a card keeps the model's constructor options (``spec.build(**options)``), when the
#: weights were trained with other than the defaults (see :func:`rtmer.export.weights.save_weights`).
MODEL_OPTIONS = "model_options"

#: The shipped demo weights' folder.
WEIGHTS_DIR = Path(__file__).resolve().parent

#: What every synthetic card says, in ``rtmer models`` and on the card itself.
SYNTHETIC_STATEMENT = (
    "DEMO WEIGHTS TRAINED ON SYNTHETIC DATA ONLY: rendered micro-expressions (action-unit displacement "
    "fields on face photos), never real ones. They exercise the pipeline end to end; their accuracy on "
    "real faces is unknown and is expected to be poor. Train on your licensed data sets for real use."
)


@dataclass(frozen=True)
class WeightCard:
    """One model card, read from ``path`` (its weight files lie beside it)."""

    path: Path
    name: str
    model: str
    classes: tuple[str, ...]
    protocol: str
    files: dict[str, str]
    feature: dict[str, Any] = field(default_factory=dict)
    synthetic: bool = False
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    params: int | None = None
    created: str = ""
    statement: str = ""

    def file(self, fmt: str) -> Path:
        """The weight file of format ``fmt`` ("torch", "onnx", "svm"); :class:`InputError` when the
        card has none or it is missing on disk."""
        if fmt not in self.files:
            have = ", ".join(sorted(self.files)) or "none"
            raise InputError(
                f"weights {self.name!r} have no {fmt} file (they have: {have}); see rtmer export"
            )
        out = self.path.parent / self.files[fmt]
        if not out.is_file():
            raise InputError(
                f"weights {self.name!r}: {out} is missing; re-install rtmer or re-export the model"
            )
        return out

    def feature_spec(self) -> FeatureSpec:
        """The feature options these weights were trained with (:mod:`rtmer.features`)."""
        from rtmer.features import FeatureSpec

        return FeatureSpec.from_overrides(self.feature)

    def model_options(self) -> dict[str, Any]:
        """The constructor options these weights were trained with ({} for the defaults)."""
        return dict(self.training.get(MODEL_OPTIONS, {}))

    def markdown(self) -> str:
        """The card for people: what the weights are, how they were trained and what was measured."""
        m, t = self.metrics, self.training
        lines = [f"# {self.name}", ""]
        if self.synthetic:
            lines += [f"**{self.statement}**", ""]
        elif self.statement:
            lines += [self.statement, ""]
        lines += [
            f"- model: `{self.model}` ({self.params or '?'} parameters), classes: {', '.join(self.classes)} "
            f"(protocol {self.protocol})",
            f"- files: {', '.join(f'`{v}` ({k})' for k, v in sorted(self.files.items()))}",
            f"- trained on: {', '.join(t.get('data', [])) or '?'}: {t.get('clips', '?')} clips, "
            f"{t.get('subjects', '?')} subjects",
        ]
        for g in t.get("generator", []):
            lines.append(f"- synthetic data: {g}")
        if "recipe" in t:
            lines.append(f"- recipe: {t['recipe']}")
        if {"uf1", "uar", "accuracy"} <= set(m):
            lines.append(
                f"- measured: UF1 {m['uf1']:.4f}, UAR {m['uar']:.4f}, accuracy {m['accuracy']:.4f} "
                f"({m.get('protocol', '')}; {m.get('note', '')})"
            )
        lines += [f"- created: {self.created}, rtmer {t.get('rtmer', '?')}, git {t.get('git', '?')}", ""]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The card as written to disk (``path`` excluded)."""
        return {
            "name": self.name,
            "model": self.model,
            "classes": list(self.classes),
            "protocol": self.protocol,
            "files": dict(self.files),
            "feature": dict(self.feature),
            "synthetic": self.synthetic,
            "training": dict(self.training),
            "metrics": dict(self.metrics),
            "params": self.params,
            "created": self.created,
            "statement": self.statement,
        }


def _card_files(folder: Path) -> list[Path]:
    """The model cards in ``folder``: its .json files except the aggregation SVMs (``*.svm.json``)."""
    return sorted(p for p in folder.glob("*.json") if not p.name.endswith(".svm.json"))


def read_card(path: str | Path) -> WeightCard:
    """The card at ``path`` (a ``.json`` file, or a folder holding exactly one card)."""
    p = Path(path)
    if p.is_dir():
        cards = _card_files(p)
        if len(cards) != 1:
            raise InputError(f"{p} holds {len(cards)} model cards (*.json); name the card file itself")
        p = cards[0]
    if not p.is_file():
        raise InputError(
            f"no model card at {p}; pass a card .json written by rtmer train, or see rtmer models"
        )
    try:
        d = json.loads(p.read_text())
        return WeightCard(
            path=p,
            name=str(d["name"]),
            model=str(d["model"]),
            classes=tuple(d["classes"]),
            protocol=str(d["protocol"]),
            files=dict(d["files"]),
            feature=dict(d.get("feature", {})),
            synthetic=bool(d.get("synthetic", False)),
            training=dict(d.get("training", {})),
            metrics=dict(d.get("metrics", {})),
            params=d.get("params"),
            created=str(d.get("created", "")),
            statement=str(d.get("statement", "")),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"{p} is not a valid rtmer model card ({exc!r}); re-write it with rtmer train"
        ) from exc


def write_card(card: WeightCard) -> Path:
    """Writes ``card`` to ``card.path`` (sorted keys, indented); returns the path."""
    card.path.parent.mkdir(parents=True, exist_ok=True)
    card.path.write_text(json.dumps(card.to_json(), indent=2, sort_keys=True) + "\n")
    return card.path


def shipped() -> tuple[WeightCard, ...]:
    """The cards of the weights shipped with rtmer, by name."""
    return tuple(read_card(p) for p in _card_files(WEIGHTS_DIR))


def find(model_or_card: str | Path) -> WeightCard:
    """A shipped card by model or card name, or the card at a path."""
    text = str(model_or_card)
    if text.endswith(".json") or Path(text).is_dir():
        return read_card(text)
    for card in shipped():
        if text in (card.name, card.model):
            return card
    names = ", ".join(c.name for c in shipped()) or "none shipped"
    raise InputError(f"no weights called {text!r} (shipped: {names}); pass a card .json from rtmer train")
