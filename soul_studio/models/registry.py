"""The model registry: named local model folders of known kinds, kept in ``models.json``.

Entries remember the fingerprint a folder had when it was added, so ``check`` can tell
a folder that changed on disk since. The file is written atomically; a damaged file is
kept aside (``models.json.broken``) rather than silently replaced.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.atomic import write_atomic
from soul_studio.models.settings import StudioPaths

KINDS: dict[str, str] = {
    "wan-ti2v-5b": "Wan2.2-TI2V-5B diffusers folder (the soul model; may include audio_adapter/ and audio_encoder/)",
    "soul-adapter": "Soul audio-injection layers (config.json + diffusion_pytorch_model.safetensors)",
    "audio-encoder": "Whisper (recommended: openai/whisper-large-v3) or Wav2Vec2 audio encoder (config.json + model.safetensors + preprocessor_config.json)",
    "student": "distilled few-step student (distill.json + transformer/ or LoRA safetensors)",
    "light-vae": "light VAE decoder for drafts (config.json + diffusion_pytorch_model.safetensors)",
    "infinitetalk": "Wan2.1-I2V-14B-480P diffusers folder for the infinitetalk backend "
                    "(may include infinitetalk/, audio_encoder/ and loras/)",
    "infinitetalk-adapter": "InfiniteTalk audio adapters (single/ and multi/infinitetalk.safetensors)",
    "infinitetalk-audio": "chinese-wav2vec2-base audio encoder (config.json + model.safetensors + "
                          "preprocessor_config.json)",
    "draft-lora": "lightx2v 4-step distillation LoRA for Wan2.1-I2V-14B (one .safetensors file)",
}
REGISTRY_VERSION = 1


class RegistryError(ValueError):
    """A registry request that cannot be done; the message says why."""


@dataclass
class ModelEntry:
    """One registered model folder."""

    name: str
    kind: str
    path: str
    added: str = ""
    fingerprint: str = ""
    size_bytes: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> ModelEntry:
        """An entry read back; ValueError names what is wrong (optional fields of a wrong type read as unknown)."""
        if not isinstance(data, dict):
            raise ValueError(f"expected an object, found {data!r:.40}")
        for key in ("name", "kind", "path"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise ValueError(f"{key} is {data.get(key)!r:.40}: expected text")
        size = data.get("size_bytes")
        notes = data.get("notes")
        return cls(name=data["name"], kind=data["kind"], path=data["path"],
                   added=data["added"] if isinstance(data.get("added"), str) else "",
                   fingerprint=data["fingerprint"] if isinstance(data.get("fingerprint"), str) else "",
                   size_bytes=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else 0,
                   notes=notes if isinstance(notes, dict) else {})


class ModelRegistry:
    """Load, change and save the user's model registry."""

    def __init__(self, paths: StudioPaths) -> None:
        self.paths = paths
        self.entries: dict[str, ModelEntry] = {}
        # Entries that could not be read: named in ``problems``, written back unchanged on save.
        self.problems: list[str] = []
        self._unread: list[Any] = []
        self.load()

    @property
    def file(self) -> Path:
        return self.paths.models_file

    def load(self) -> None:
        """Read the registry; one entry that cannot be read is skipped (and kept), never the whole file."""
        self.entries, self.problems, self._unread = {}, [], []
        try:
            raw = self.file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or not isinstance(data.get("models", []), list):
                raise ValueError("expected an object with a list of models")
        except (ValueError, TypeError, AttributeError) as exc:
            broken = self.file.with_suffix(".json.broken")
            if broken.exists():  # an earlier damaged copy is kept too
                broken = broken.with_name(f"{broken.name}-{_dt.datetime.now(_dt.UTC):%Y%m%dT%H%M%S%f}")
            os.replace(self.file, broken)
            raise RegistryError(f"the model registry {self.file} was damaged and was moved to {broken} ({exc})") from exc
        for i, item in enumerate(data.get("models", []), start=1):
            try:
                entry = ModelEntry.from_dict(item)
            except ValueError as exc:
                self.problems.append(f"{self.file}: entry {i} skipped ({exc}); it is kept in the file")
                self._unread.append(item)
                continue
            if entry.name in self.entries:
                self.problems.append(f"{self.file}: entry {i} skipped (another entry is named {entry.name!r}); "
                                     "it is kept in the file")
                self._unread.append(item)
                continue
            self.entries[entry.name] = entry

    def save(self) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        data = {"version": REGISTRY_VERSION, "models": [e.to_dict() for e in self.entries.values()] + self._unread}
        write_atomic(self.file, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8"))

    def names(self) -> list[str]:
        return sorted(self.entries)

    def get(self, name: str) -> ModelEntry:
        try:
            return self.entries[name]
        except KeyError:
            known = ", ".join(self.names()) or "none registered"
            raise RegistryError(f"no model named {name!r} ({known})") from None

    def add(self, name: str, kind: str, path: str | os.PathLike[str], fingerprint: str = "", size_bytes: int = 0,
            replace: bool = False) -> ModelEntry:
        if kind not in KINDS:
            raise RegistryError(f"unknown model kind {kind!r}; choose one of {', '.join(KINDS)}")
        if not name or any(ch in name for ch in "/\\\n"):
            raise RegistryError(f"model name {name!r} must be non-empty and hold no slashes")
        if name in self.entries and not replace:
            raise RegistryError(f"a model named {name!r} is already registered; remove it first")
        entry = ModelEntry(name=name, kind=kind, path=str(Path(path).expanduser().resolve()),
                           added=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                           fingerprint=fingerprint, size_bytes=int(size_bytes))
        self.entries[name] = entry
        self.save()
        return entry

    def remove(self, name: str) -> ModelEntry:
        entry = self.get(name)
        del self.entries[name]
        self.save()
        return entry


def soul_render_options(registry: ModelRegistry, preferred: str = "soul") -> dict[str, str]:
    """Job options that point the soul backend at the registered folders.

    ``model_folder`` is the wan-ti2v-5b entry named ``preferred`` (else the first one);
    ``student_folder`` and ``light_vae_folder`` the first registered student and light VAE.
    Kinds with nothing registered are left out, so the backend's own fallbacks apply.
    """
    options: dict[str, str] = {}
    by_kind: dict[str, list[ModelEntry]] = {}
    for name in registry.names():
        entry = registry.entries[name]
        by_kind.setdefault(entry.kind, []).append(entry)
    models = by_kind.get("wan-ti2v-5b", [])
    if models:
        chosen = next((e for e in models if e.name == preferred), models[0])
        options["model_folder"] = chosen.path
    for kind, key in (("student", "student_folder"), ("light-vae", "light_vae_folder")):
        if by_kind.get(kind):
            options[key] = by_kind[kind][0].path
    return options


def infinitetalk_render_options(registry: ModelRegistry, preferred: str = "infinitetalk") -> dict[str, str]:
    """Job options that point the infinitetalk backend at the registered folders.

    ``model_folder`` is the infinitetalk entry named ``preferred`` (else the first one);
    ``adapter_folder``, ``audio_encoder_folder`` and ``draft_lora`` the first registered
    adapter download, chinese-wav2vec2-base and LoRA. Kinds with nothing registered are left
    out, so the backend looks inside the model folder.
    """
    by_kind: dict[str, list[ModelEntry]] = {}
    for name in registry.names():
        entry = registry.entries[name]
        by_kind.setdefault(entry.kind, []).append(entry)
    options: dict[str, str] = {}
    models = by_kind.get("infinitetalk", [])
    if models:
        options["model_folder"] = next((e for e in models if e.name == preferred), models[0]).path
    for kind, key in (("infinitetalk-adapter", "adapter_folder"), ("infinitetalk-audio", "audio_encoder_folder"),
                      ("draft-lora", "draft_lora")):
        if by_kind.get(kind):
            options[key] = by_kind[kind][0].path
    return options
