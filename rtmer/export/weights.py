"""The writing side of a model card: a trained model's torch weights, its ONNX file and, for the
aggregation network, its clip SVM (the file :class:`rtmer.heads.svm.SvmHead` reads), beside the
card (:mod:`rtmer.weights`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rtmer.errors import ExportError, InputError
from rtmer.export.onnx import export_onnx
from rtmer.heads.svm import FORMAT, KERNELS
from rtmer.models import registry
from rtmer.weights import MODEL_OPTIONS, WeightCard, write_card

if TYPE_CHECKING:
    import torch
    from torch import nn

    from rtmer.models.aggregation import ClipSVM


def state_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """``model``'s state as safetensors takes it: on the CPU, contiguous, each tensor its own copy
    (safetensors refuses tensors that share memory)."""
    return {k: v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}


def svm_to_json(clip_svm: ClipSVM) -> dict[str, Any]:
    """A fitted ClipSVM (StandardScaler + SVC) as a JSON-ready dict for
    :meth:`rtmer.heads.svm.SvmHead.from_json`."""
    scaler, svc = clip_svm.pipeline[0], clip_svm.pipeline[-1]
    if svc.kernel not in KERNELS:
        raise InputError(f"SVM kernel {svc.kernel!r} cannot be exported; use one of {', '.join(KERNELS)}")
    return {
        "format": FORMAT,
        "mean": scaler.mean_.tolist(),
        "scale": scaler.scale_.tolist(),
        "kernel": svc.kernel,
        "gamma": float(svc._gamma),  # the value fit resolved "scale" / "auto" to
        "coef0": float(svc.coef0),
        "degree": int(svc.degree),
        "labels": [int(c) for c in svc.classes_],
        "n_support": [int(n) for n in svc.n_support_],
        "support_vectors": svc.support_vectors_.tolist(),
        "dual_coef": svc.dual_coef_.tolist(),
        "intercept": svc.intercept_.tolist(),
    }


def save_weights(
    model: nn.Module,
    card: WeightCard,
    *,
    svm: ClipSVM | None = None,
    options: Mapping[str, Any] | None = None,
) -> WeightCard:
    """Writes ``model`` as ``card`` says and returns the card as written.

    Beside ``card.path`` (named after its stem): ``<stem>.safetensors`` (the state dict,
    ``files["torch"]``), ``<stem>.onnx`` (:func:`rtmer.export.onnx.export_onnx`, checked against
    torch, ``files["onnx"]``), for the aggregation network ``<stem>.svm.json`` (``svm``, required
    there, ``files["svm"]``); then the card, with ``files`` and ``params`` filled in. ``options``:
    the constructor options the model was built with (``spec.build(**options)``), JSON values,
    kept in ``training["model_options"]`` so that the torch backend rebuilds the same model.
    ``model`` is left in eval mode.
    """
    from safetensors.torch import save_file

    spec = registry.get(card.model)
    if (svm is None) != (not spec.input.frame_level):
        need = "needs its fitted ClipSVM (svm=...)" if svm is None else "takes no SVM"
        raise ExportError(f"{spec.name} {need}")
    folder, stem = card.path.parent, card.path.stem
    folder.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    files = {"torch": f"{stem}.safetensors", "onnx": f"{stem}.onnx"}
    save_file(state_tensors(model), folder / files["torch"])
    export_onnx(model, spec, folder / files["onnx"])
    if svm is not None:
        files["svm"] = f"{stem}.svm.json"
        (folder / files["svm"]).write_text(json.dumps(svm_to_json(svm)) + "\n")
    training = dict(card.training)
    if options:
        training[MODEL_OPTIONS] = dict(options)
    out = replace(
        card,
        files={**card.files, **files},
        training=training,
        params=sum(p.numel() for p in model.parameters()),
    )
    write_card(out)
    return out
