"""Checks of the infinitetalk model kinds, from JSON files and safetensors headers only.

- ``infinitetalk``: the Wan2.1-I2V-14B-480P diffusers folder (with ``infinitetalk/``,
  ``audio_encoder/`` and ``loras/`` inside, or registered apart), by the backend's own
  :func:`engine.backends.infinitetalk.folder.validate_model_folder`;
- ``infinitetalk-adapter``: the MeiGen-AI/InfiniteTalk download, each of ``single/`` and
  ``multi/`` against the published names and shape rules;
- ``infinitetalk-audio``: chinese-wav2vec2-base, by the Wav2Vec2 component rules;
- ``draft-lora``: a lightx2v-style LoRA file, through diffusers' Wan LoRA conversion on the
  meta device (against the transformer's config when the file sits in a model folder).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.backends.folder_check import tally

ADAPTER_FILES = {"single": "single/infinitetalk.safetensors", "multi": "multi/infinitetalk.safetensors"}
# chinese-wav2vec2-base: the audio encoder the published adapters were trained with.
DEFAULT_AUDIO = {"num_hidden_layers": 12, "hidden_size": 768}


def check_infinitetalk_folder(check: Any, root: Path, check_shapes: bool) -> None:
    """The whole model folder; a missing adapter or audio encoder is a warning (they may be registered apart)."""
    from engine.backends.infinitetalk.folder import validate_model_folder

    report = validate_model_folder(root, adapter="any", check_shapes=check_shapes)
    for message in report.errors:
        if "pickle checkpoint" in message:
            continue  # already reported by check_folder
        part = _side_part(message, root)
        if part is not None:
            other = "infinitetalk-adapter" if part == "infinitetalk/" else "infinitetalk-audio"
            check.warnings.append(f"{part} is not in this folder: register an {other} model or download it into "
                                  f"the folder before rendering ({message})")
            if part not in check.missing:
                check.missing.append(part)
            continue
        check.errors.append(message)
    check.warnings.extend(report.warnings)
    for name, comp in report.components.items():
        if getattr(comp, "parameters", 0):
            check.parameters[name] = comp.parameters
            check.dtypes[name] = comp.dtype or "?"
        if getattr(comp, "config", None):
            check.configs[name] = {k: v for k, v in comp.config.items() if not k.startswith("_")}
    check.fingerprint = report.fingerprint
    loras = root / "loras"
    if loras.is_dir():
        for path in sorted(loras.rglob("*.safetensors")):
            _check_lora_file(check, path, _transformer_config(root), label=str(path.relative_to(root)))


def _side_part(message: str, root: Path) -> str | None:
    """``infinitetalk/`` or ``audio_encoder/`` when ``message`` says only that part is absent (it may be registered apart)."""
    if message.startswith("no InfiniteTalk adapter found"):
        return "infinitetalk/"
    if message.startswith((f"{root / 'audio_encoder'} is missing", f"{root.expanduser() / 'audio_encoder'} is missing")):
        return "audio_encoder/"
    return None


def _audio_config(root: Path, shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
    """The audio encoder config next to an adapter download; else the width per audio frame the file implies.

    The published projection takes ``window`` frames for the first latent and ``window + 3`` for
    the others (the Wan VAE packs 4 frames per latent), so the difference of the two input
    widths is three frames' worth of features (12 layers × 768 for chinese-wav2vec2-base).
    """
    for candidate in (root.parent / "audio_encoder" / "config.json", root / "audio_encoder" / "config.json"):
        if candidate.is_file():
            try:
                return json.loads(candidate.read_text())
            except (OSError, ValueError):
                break
    first = shapes.get("audio_proj.proj1.weight", (0, 0))
    latter = shapes.get("audio_proj.proj1_vf.weight", (0, 0))
    if len(first) == 2 and len(latter) == 2 and latter[1] > first[1] and (latter[1] - first[1]) % 3 == 0:
        return {"num_hidden_layers": 1, "hidden_size": (latter[1] - first[1]) // 3}
    return dict(DEFAULT_AUDIO)


def check_adapter_folder(check: Any, root: Path, check_shapes: bool) -> None:
    """``single/`` and ``multi/`` adapter files: names and shapes against the published rules."""
    from engine.backends.infinitetalk.keys import AdapterFileError, check_published, config_from_shapes
    from engine.backends.soul.folder import read_safetensors_header

    found = {variant: root / rel for variant, rel in ADAPTER_FILES.items() if (root / rel).is_file()}
    if not found:
        check.errors.append("single/infinitetalk.safetensors is missing: download MeiGen-AI/InfiniteTalk "
                            "(single/ for one speaker, multi/ for two-shots) into this folder")
        return
    if "multi" not in found:
        check.warnings.append("multi/infinitetalk.safetensors is not here: shots with two speakers need it")
    for variant, path in found.items():
        try:
            header = read_safetensors_header(path)
        except (OSError, ValueError) as exc:
            check.errors.append(f"{ADAPTER_FILES[variant]} is not a valid safetensors file ({exc})")
            continue
        shapes = {name: tuple(int(s) for s in info.get("shape", ())) for name, info in header.items()}
        check.parameters[f"adapter_{variant}"] = sum(tally(header).values())
        check.dtypes[f"adapter_{variant}"] = _main_dtype(header)
        if not check_shapes:
            continue
        audio = _audio_config(root, shapes)
        try:
            config = config_from_shapes(shapes, num_heads=1, audio_layers=int(audio["num_hidden_layers"]),
                                        audio_dim=int(audio["hidden_size"]))
        except AdapterFileError as exc:
            check.errors.append(f"{ADAPTER_FILES[variant]}: {exc}")
            continue
        check.configs[f"adapter_{variant}"] = config
        check.errors.extend(f"{ADAPTER_FILES[variant]}: {p}" for p in check_published(shapes, config))


def _main_dtype(header: dict[str, dict[str, Any]]) -> str:
    from engine.backends.soul.folder import FLOAT_DTYPES

    counts = tally(header)
    return FLOAT_DTYPES.get(max(counts, key=counts.__getitem__), "?") if counts else "?"


def _transformer_config(root: Path) -> dict[str, Any] | None:
    cfg = root / "transformer" / "config.json"
    try:
        return json.loads(cfg.read_text()) if cfg.is_file() else None
    except (OSError, ValueError):
        return None


def _check_lora_file(check: Any, path: Path, transformer_config: dict[str, Any] | None, label: str) -> None:
    from engine.backends.infinitetalk.lora import (
        LoRAError,
        _meta_state_dict,
        convert_lora_state_dict,
        inspect_lora_file,
    )

    try:
        if transformer_config is not None:
            problems = inspect_lora_file(path, transformer_config)
        else:
            deltas = convert_lora_state_dict(_meta_state_dict(path))
            ranks = {d.rank for d in deltas.values() if d.rank}
            problems = [] if len(ranks) <= 1 else [f"mixed ranks {sorted(ranks)}"]
    except LoRAError as exc:
        check.errors.append(f"{label}: {exc}" + (f" ({'; '.join(exc.problems[:3])})" if exc.problems else ""))
        return
    check.errors.extend(f"{label}: {p}" for p in problems[:20])
    if len(problems) > 20:
        check.errors.append(f"{label}: … and {len(problems) - 20} more")
    from engine.backends.soul.folder import read_safetensors_header

    header = read_safetensors_header(path)
    check.parameters["draft_lora"] = check.parameters.get("draft_lora", 0) + sum(tally(header).values())
    check.dtypes["draft_lora"] = _main_dtype(header)


def check_draft_lora(check: Any, root: Path, check_shapes: bool) -> None:
    """A LoRA file (``root`` is the file, or a folder holding exactly one)."""
    files = [root] if root.is_file() else sorted(root.rglob("*.safetensors"))
    if not files:
        check.errors.append("no .safetensors LoRA file here: download "
                            "lightx2v_I2V_14B_480p_cfg_step_distill_rank64_bf16.safetensors")
        return
    if len(files) > 1:
        check.errors.append(f"{len(files)} LoRA files here; register the one to use as a file path")
        return
    loras = next((p for p in files[0].parents if p.name == "loras"), None)  # <model>/loras/[Lightx2v/]file
    model_root = loras.parent if loras is not None else None
    config = _transformer_config(model_root) if model_root is not None and check_shapes else None
    _check_lora_file(check, files[0], config, label=files[0].name)


def check_audio_encoder(check: Any, root: Path, check_shapes: bool) -> None:
    """chinese-wav2vec2-base as published (a pretraining checkpoint) or a plain Wav2Vec2Model, by the backend's rule."""
    import hashlib

    from engine.backends.infinitetalk import folder as it_folder
    from engine.backends.soul.folder import ValidationReport

    report = ValidationReport(folder=str(root))
    it_folder._check_audio_encoder(root, report, hashlib.sha256(), check_shapes)  # the backend's own check
    check.errors.extend(report.errors)
    check.warnings.extend(report.warnings)
    comp = report.components.get("audio_encoder")
    if comp is not None and comp.config:
        check.configs["audio_encoder"] = {k: v for k, v in comp.config.items() if not k.startswith("_")}


CHECKS = {"infinitetalk": check_infinitetalk_folder, "infinitetalk-adapter": check_adapter_folder,
          "infinitetalk-audio": check_audio_encoder, "draft-lora": check_draft_lora}


def check_kind(kind: str, check: Any, root: Path, check_shapes: bool) -> None:
    """Run the checker of one infinitetalk kind."""
    CHECKS[kind](check, root, check_shapes)
