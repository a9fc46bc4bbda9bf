"""The catalogue of known models: what to download, from where, under which licence, and what it needs.

Soul Studio never downloads weights itself; the catalogue tells the editor exactly which
repository and files to fetch, where they go in the model folder, the licence (a licence
that forbids commercial use, or one we could not confirm, is flagged), and the GPU memory
each preset needs on 24, 48 and 80 GB cards. The first-run dialog, Preferences → Models
and ``soul-studio models catalogue`` show the same entries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LICENCE_URLS = {
    "Apache-2.0": "https://www.apache.org/licenses/LICENSE-2.0",
    "MIT": "https://opensource.org/license/mit",
}


@dataclass(frozen=True)
class CatalogueEntry:
    """One downloadable model and where it goes.

    ``commercial_use`` is True when the licence allows it, False when it forbids it, None when
    the licence could not be confirmed (treated like a restriction until the editor checks).
    ``target`` is the path inside the backend's model folder (``.`` = the folder itself).
    """

    key: str
    name: str
    backend: str
    kind: str
    repo_id: str
    files: tuple[str, ...]
    target: str
    licence: str
    commercial_use: bool | None
    parameters: int
    role: str
    revision: str | None = None
    required: bool = True
    notes: str = ""
    vram_presets: tuple[str, ...] = field(default=())

    @property
    def flagged(self) -> bool:
        """True when the licence forbids commercial use or is not confirmed."""
        return self.commercial_use is not True

    @property
    def licence_note(self) -> str:
        if self.commercial_use is False:
            return f"{self.licence}: NON-COMMERCIAL use only"
        if self.commercial_use is None:
            return f"{self.licence}: licence not confirmed, check the repository before commercial use"
        return f"{self.licence} (commercial use allowed)"

    def download_command(self, folder: str = "MODEL_FOLDER") -> str:
        """The ``hf download`` command that puts this model where the backend looks for it."""
        dest = folder if self.target == "." else f"{folder}/{self.target}"
        files = "" if self.files == ("*",) else " " + " ".join(self.files)
        rev = f" --revision {self.revision}" if self.revision else ""
        return f"hf download {self.repo_id}{files}{rev} --local-dir {dest}"

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "backend": self.backend, "kind": self.kind,
                "repo_id": self.repo_id, "files": list(self.files), "target": self.target,
                "revision": self.revision, "licence": self.licence, "licence_url": LICENCE_URLS.get(self.licence),
                "commercial_use": self.commercial_use, "flagged": self.flagged, "parameters": self.parameters,
                "role": self.role, "required": self.required, "notes": self.notes,
                "download": self.download_command()}


CATALOGUE: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(
        key="wan21-i2v-14b-480p", name="Wan2.1-I2V-14B-480P (diffusers)", backend="infinitetalk",
        kind="infinitetalk", repo_id="Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", files=("*",), target=".",
        licence="Apache-2.0", commercial_use=True, parameters=16_400_000_000 + 5_680_000_000 + 632_000_000,
        role="the video backbone: transformer, VAE, UMT5 text encoder, CLIP image encoder, scheduler",
        notes="the root of the infinitetalk model folder (the folder that holds model_index.json)",
        vram_presets=("480p", "720p"),
    ),
    CatalogueEntry(
        key="infinitetalk", name="InfiniteTalk audio adapters", backend="infinitetalk",
        kind="infinitetalk-adapter", repo_id="MeiGen-AI/InfiniteTalk",
        files=("single/infinitetalk.safetensors", "multi/infinitetalk.safetensors"), target="infinitetalk",
        licence="Apache-2.0", commercial_use=True, parameters=2_480_000_000,
        role="audio projection and per-block audio cross-attention (single: one speaker, multi: two-shots)",
        notes="multi/ is needed only for shots with two speakers",
    ),
    CatalogueEntry(
        key="chinese-wav2vec2-base", name="chinese-wav2vec2-base", backend="infinitetalk",
        kind="infinitetalk-audio", repo_id="TencentGameMate/chinese-wav2vec2-base",
        files=("config.json", "preprocessor_config.json", "model.safetensors"), target="audio_encoder",
        revision="refs/pr/1", licence="MIT", commercial_use=True, parameters=95_000_000,
        role="the audio encoder InfiniteTalk was trained with (16 kHz, 25 fps features)",
        notes="model.safetensors is on the refs/pr/1 revision; the main branch holds only a pickle, "
              "which Soul Studio refuses",
    ),
    CatalogueEntry(
        key="lightx2v-i2v-480p-rank64", name="lightx2v 4-step distillation LoRA (Wan2.1-I2V-14B-480P)",
        backend="infinitetalk", kind="draft-lora", repo_id="Kijai/WanVideo_comfy",
        files=("Lightx2v/lightx2v_I2V_14B_480p_cfg_step_distill_rank64_bf16.safetensors",), target="loras",
        licence="Apache-2.0", commercial_use=None, parameters=369_000_000, required=False,
        role="draft preset: 4 steps without text guidance, several times faster than a final",
        notes="lightx2v publishes its distillation LoRAs under Apache-2.0; this repackaging's repository "
              "states no licence of its own. hf download keeps the Lightx2v/ sub-folder; the backend finds "
              "the file anywhere under loras/ (or register it: soul-studio models add draft FILE --kind draft-lora)",
    ),
    CatalogueEntry(
        key="wan22-ti2v-5b", name="Wan2.2-TI2V-5B (diffusers)", backend="soul", kind="wan-ti2v-5b",
        repo_id="Wan-AI/Wan2.2-TI2V-5B-Diffusers", files=("*",), target=".", licence="Apache-2.0",
        commercial_use=True, parameters=5_000_000_000 + 5_680_000_000,
        role="the soul backend's backbone (its audio adapter has no published weights yet)",
    ),
)


def entries(backend: str | None = None) -> list[CatalogueEntry]:
    """Catalogue entries, optionally of one backend."""
    return [e for e in CATALOGUE if backend is None or e.backend == backend]


def entry(key: str) -> CatalogueEntry:
    for e in CATALOGUE:
        if e.key == key:
            return e
    raise KeyError(f"no catalogue entry {key!r}; known: {', '.join(e.key for e in CATALOGUE)}")


def infinitetalk_vram_table(speakers: int = 1) -> list[dict[str, Any]]:
    """Estimated peak GPU memory of the infinitetalk presets under each placement, and what 24/48/80 GB pick."""
    from engine.backends.infinitetalk.memory import preset_plan
    from engine.backends.placement import GIB, MODES, decide_placement, estimate_peak

    rows = []
    for resolution in ("480p", "720p"):
        for quality in ("draft", "final"):
            plan = preset_plan(resolution, quality, speakers)
            peaks = {mode: round(estimate_peak(plan, mode, False, 1)[0] / GIB, 1) for mode in MODES}
            cards = {}
            for card in (24, 48, 80):
                chosen = decide_placement(plan, int(card * GIB * 0.98))
                cards[f"{card} GB"] = chosen.describe() if chosen.fits else "does not fit"
            rows.append({"preset": f"{resolution} {quality}", "speakers": speakers, "peaks_gb": peaks, "cards": cards})
    return rows


def describe(entry_: CatalogueEntry, folder: str = "MODEL_FOLDER") -> str:
    """A few lines for a terminal or a dialog: name, source, licence, where it goes, how to fetch it."""
    where = "the model folder itself" if entry_.target == "." else f"{entry_.target}/ inside the model folder"
    lines = [f"{entry_.name} [{entry_.kind}]{'' if entry_.required else ' (optional)'}",
             f"  source:  {entry_.repo_id}{f' (revision {entry_.revision})' if entry_.revision else ''}",
             f"  licence: {entry_.licence_note}",
             f"  role:    {entry_.role}",
             f"  goes to: {where}",
             f"  fetch:   {entry_.download_command(folder)}"]
    if entry_.notes:
        lines.append(f"  note:    {entry_.notes}")
    return "\n".join(lines)
