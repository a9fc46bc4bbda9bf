"""Validate a model folder of a given kind before the engine ever loads it.

Only JSON files and safetensors headers are read; tensors are compared by name and
shape with the model its config describes (built on torch's ``meta`` device, so nothing
is allocated). Pickle weights are refused outright. The whole soul folder is checked by
the soul backend's own :func:`~engine.backends.soul.folder.validate_model_folder`; the
separately installed parts (adapter, audio encoder, student, light VAE) by the same
component rules. Every problem names the file and what belongs there.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soul_studio.models.registry import KINDS

INFINITETALK_KINDS = ("infinitetalk", "infinitetalk-adapter", "infinitetalk-audio", "draft-lora")
_MISSING = re.compile(r"^(\S+?) is missing")


@dataclass
class ModelCheck:
    """What checking one folder found; ``ok`` when it can be loaded."""

    kind: str
    folder: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    files: dict[str, int] = field(default_factory=dict)
    parameters: dict[str, int] = field(default_factory=dict)
    dtypes: dict[str, str] = field(default_factory=dict)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    fingerprint: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def size_bytes(self) -> int:
        return sum(self.files.values())

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "folder": self.folder, "ok": self.ok, "errors": list(self.errors),
                "warnings": list(self.warnings), "missing": list(self.missing), "size_bytes": self.size_bytes,
                "files": dict(self.files), "parameters": dict(self.parameters), "dtypes": dict(self.dtypes),
                "fingerprint": self.fingerprint}


def human_size(n: int) -> str:
    """Bytes as a short human string (1.5 GB, 320 KB)."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _list_files(root: Path) -> dict[str, int]:
    found: dict[str, int] = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            p = Path(dirpath) / name
            try:
                found[str(p.relative_to(root))] = p.stat().st_size
            except OSError:
                continue
    return dict(sorted(found.items()))


def _note_missing(check: ModelCheck) -> None:
    for message in check.errors:
        m = _MISSING.match(message)
        if m and m.group(1) not in check.missing:
            check.missing.append(m.group(1))


def check_folder(path: str | os.PathLike[str], kind: str, check_shapes: bool = True) -> ModelCheck:
    """Check ``path`` as a model folder of ``kind`` (see :data:`~soul_studio.models.registry.KINDS`)."""
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(KINDS)}")
    root = Path(path).expanduser()
    check = ModelCheck(kind=kind, folder=str(root))
    if kind == "draft-lora" and root.is_file():
        return _check_lora_path(check, root, check_shapes)
    if not root.is_dir():
        check.errors.append(f"{root} is not a folder")
        return check
    check.files = _list_files(root)
    from engine.backends.soul.folder import find_pickles

    for rel in find_pickles(root):
        check.errors.append(f"{rel} is a pickle checkpoint, which Soul Studio refuses to load (it can run code): "
                            "convert it to .safetensors and remove it")
    try:
        if kind == "wan-ti2v-5b":
            _check_soul_folder(check, root, check_shapes)
        elif kind == "soul-adapter":
            _check_component(check, root, "audio_adapter", check_shapes)
        elif kind == "audio-encoder":
            _check_component(check, root, "audio_encoder", check_shapes)
        elif kind == "student":
            _check_student(check, root, check_shapes)
        elif kind in INFINITETALK_KINDS:
            from soul_studio.models.check_infinitetalk import check_kind

            check_kind(kind, check, root, check_shapes)
        else:
            _check_light_vae(check, root, check_shapes)
    except Exception as exc:  # noqa: BLE001 - a folder of any shape is a report, never a crash
        check.errors.append(f"the folder could not be checked: a file in it does not have the expected shape "
                            f"({exc.__class__.__name__}: {exc})")
    _note_missing(check)
    if not check.fingerprint:
        try:
            check.fingerprint = _fingerprint(root, check.files)
        except OSError as exc:
            check.errors.append(f"cannot read the folder ({exc})")
    return check


def safe_check(path: str | os.PathLike[str], kind: str, check_shapes: bool = True) -> ModelCheck:
    """:func:`check_folder` that turns even an unknown kind into a report (for listing many)."""
    try:
        return check_folder(path, kind, check_shapes)
    except Exception as exc:  # noqa: BLE001 - one bad entry is a report, never the end of the list
        return ModelCheck(kind=kind, folder=str(path), errors=[str(exc) or exc.__class__.__name__])


def _check_lora_path(check: ModelCheck, path: Path, check_shapes: bool) -> ModelCheck:
    """A draft LoRA registered as a single file."""
    from soul_studio.models.check_infinitetalk import check_draft_lora

    try:
        check.files = {path.name: path.stat().st_size}
    except OSError:
        check.files = {}
    check_draft_lora(check, path, check_shapes)
    check.fingerprint = _fingerprint(path.parent, check.files)
    return check


def _fingerprint(root: Path, files: dict[str, int]) -> str:
    """Hash of every config and every safetensors header plus sizes: cheap, and changes with any weight file."""
    from engine.backends.soul.folder import read_safetensors_header

    digest = hashlib.sha256()
    for rel, size in files.items():
        digest.update(f"{rel}\0{size}\0".encode())
        p = root / rel
        if rel.endswith(".json"):
            digest.update(p.read_bytes())
        elif rel.endswith(".safetensors"):
            try:
                digest.update(json.dumps(read_safetensors_header(p), sort_keys=True).encode())
            except (OSError, ValueError):
                digest.update(b"unreadable")
    return digest.hexdigest()


def _check_soul_folder(check: ModelCheck, root: Path, check_shapes: bool) -> None:
    from engine.backends.soul.folder import validate_model_folder

    report = validate_model_folder(root, check_shapes=check_shapes)
    for message in report.errors:
        if "pickle checkpoint" in message:
            continue  # already reported above
        if message.startswith(("audio_adapter/ is missing", "audio_encoder/ is missing")):
            part = message.split("/", 1)[0]
            other = "soul-adapter" if part == "audio_adapter" else "audio-encoder"
            check.warnings.append(f"{part}/ is not in this folder: register a {other} model or copy it in "
                                  "before rendering with soul")
            check.missing.append(f"{part}/")
            continue
        check.errors.append(message)
    check.warnings.extend(report.warnings)
    for name, comp in report.components.items():
        if comp.parameters:
            check.parameters[name] = comp.parameters
            check.dtypes[name] = comp.dtype or "?"
        if comp.config:
            check.configs[name] = {k: v for k, v in comp.config.items() if not k.startswith("_")}
    check.fingerprint = report.fingerprint


def _check_component(check: ModelCheck, root: Path, component: str, check_shapes: bool) -> None:
    """A stand-alone part laid out like its sub-folder of a soul folder."""
    from engine.backends.soul import folder as soul_folder

    spec = next(s for s in soul_folder.COMPONENTS if s.name == component)
    report = soul_folder.check_component(spec, root, check.errors, check.warnings, check_shapes)
    if report.weights_checked:
        _record(check, spec.name, report)


def _record(check: ModelCheck, name: str, report: Any) -> None:
    if report.parameters:
        check.parameters[name] = report.parameters
        check.dtypes[name] = report.dtype or "?"
    check.configs[name] = {k: v for k, v in report.config.items() if not k.startswith("_")}


def _check_student(check: ModelCheck, root: Path, check_shapes: bool) -> None:
    meta_path = root / "distill.json"
    if not meta_path.is_file():
        check.errors.append("distill.json is missing: it records how the student was distilled (steps, shift)")
        return
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        check.errors.append(f"distill.json is not valid JSON ({exc})")
        return
    check.configs["distill"] = meta
    if meta.get("kind") == "lora":
        from engine.backends.soul.train.lora import LORA_CONFIG, LORA_WEIGHTS

        for name, what in ((LORA_WEIGHTS, "the student's LoRA weights"), (LORA_CONFIG, "the LoRA rank and modules")):
            if not (root / name).is_file():
                check.errors.append(f"{name} is missing: it holds {what}")
        if (root / LORA_WEIGHTS).is_file():
            _header_stats(check, root / LORA_WEIGHTS, "student_lora")
        return
    sub = root / "transformer"
    if not sub.is_dir():
        check.errors.append("transformer/ is missing: put the student's WanTransformer3DModel there "
                            "(config.json + diffusion_pytorch_model.safetensors)")
        return
    from engine.backends.soul import folder as soul_folder

    spec = next(s for s in soul_folder.COMPONENTS if s.name == "transformer")
    report = soul_folder.ComponentReport(spec.name, spec.class_name)
    try:
        report.config = json.loads((sub / "config.json").read_text())
    except (OSError, ValueError) as exc:
        check.errors.append(f"transformer/config.json is missing or not JSON ({exc})")
        return
    soul_folder._check_weights(spec, sub, report, check.errors, check.warnings, check_shapes)
    _record(check, "transformer", report)


def _header_stats(check: ModelCheck, path: Path, name: str) -> dict[str, tuple[int, ...]]:
    from engine.backends.folder_check import tally
    from engine.backends.soul.folder import FLOAT_DTYPES, read_safetensors_header

    try:
        header = read_safetensors_header(path)
    except (OSError, ValueError) as exc:
        check.errors.append(f"{path.name} is not a valid safetensors file ({exc})")
        return {}
    counts = tally(header)
    shapes = {tensor: tuple(int(s) for s in info.get("shape", ())) for tensor, info in header.items()}
    bad = sorted(d for d in counts if d not in FLOAT_DTYPES)
    if bad:
        check.errors.append(f"{path.name} holds {', '.join(bad)} tensors; float32, float16 or bfloat16 only")
    check.parameters[name] = sum(counts.values())
    if counts:
        check.dtypes[name] = FLOAT_DTYPES.get(max(counts, key=counts.__getitem__), "?")
    return shapes


def _check_light_vae(check: ModelCheck, root: Path, check_shapes: bool) -> None:
    from engine.backends.soul.light_vae import WEIGHTS_NAME

    cfg_path = root / "config.json"
    if not cfg_path.is_file():
        check.errors.append("config.json is missing: it describes the light VAE decoder")
        return
    try:
        config = json.loads(cfg_path.read_text())
    except (OSError, ValueError) as exc:
        check.errors.append(f"config.json is not valid JSON ({exc})")
        return
    check.configs["light_vae"] = {k: v for k, v in config.items() if not k.startswith("_")}
    weights = root / WEIGHTS_NAME
    if not weights.is_file():
        check.errors.append(f"{WEIGHTS_NAME} is missing: put the light VAE's safetensors weights there")
        return
    found = _header_stats(check, weights, "light_vae")
    if not (check_shapes and found):
        return
    from engine.backends.folder_check import compare_shapes, meta_state

    try:
        from engine.backends.soul.light_vae import LightVAE

        expected, groups = meta_state(lambda: LightVAE.from_config(config))
    except Exception as exc:  # noqa: BLE001 - a config the class rejects is a folder problem
        check.errors.append(f"config.json does not describe a valid light VAE ({exc})")
        return
    shapes = compare_shapes(found, expected, weights=WEIGHTS_NAME, config="config.json", groups=groups)
    check.errors.extend(shapes.errors)
    check.warnings.extend(shapes.warnings(WEIGHTS_NAME))
