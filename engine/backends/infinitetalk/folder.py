"""The infinitetalk model folder: layout and validation before anything heavy loads.

The root is the diffusers download of **Wan-AI/Wan2.1-I2V-14B-480P-Diffusers**; two more
downloads go inside it (or anywhere, named by options)::

    model_index.json
    transformer/ vae/ text_encoder/ tokenizer/ image_encoder/ image_processor/ scheduler/
    infinitetalk/    MeiGen-AI/InfiniteTalk: single/infinitetalk.safetensors, multi/infinitetalk.safetensors
    audio_encoder/   TencentGameMate/chinese-wav2vec2-base: config.json, model.safetensors, preprocessor_config.json

Validation reads JSON and safetensors headers only: each backbone component is built on
the ``meta`` device and compared tensor by tensor (the soul folder's component check),
each adapter file against the published layout of :mod:`.keys`. Pickles are refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from engine.backends.folder_check import compare_shapes, meta_state, tally
from engine.backends.infinitetalk import keys
from engine.backends.soul.audio_checkpoint import canonical_key
from engine.backends.soul.errors import ModelFolderError
from engine.backends.soul.folder import (
    FLOAT_DTYPES,
    ComponentReport,
    ComponentSpec,
    ValidationReport,
    check_backbone,
    find_pickles,
    read_safetensors_header,
)

ADAPTER_FILES = {"single": "single/infinitetalk.safetensors", "multi": "multi/infinitetalk.safetensors"}
ADAPTER_DIR = "infinitetalk"
AUDIO_DIR = "audio_encoder"
MODEL_RATE = 16_000

BACKBONE: tuple[ComponentSpec, ...] = (
    ComponentSpec("transformer", "diffusers", "WanTransformer3DModel", "config.json", "diffusion_pytorch_model",
                  what="the Wan2.1-I2V-14B diffusion transformer"),
    ComponentSpec("vae", "diffusers", "AutoencoderKLWan", "config.json", "diffusion_pytorch_model",
                  what="the Wan2.1 VAE (z_dim 16)"),
    ComponentSpec("text_encoder", "transformers", "UMT5EncoderModel", "config.json", "model",
                  what="the UMT5-XXL text encoder", model_type="umt5"),
    ComponentSpec("tokenizer", "files", "T5Tokenizer", "tokenizer_config.json", what="the UMT5 tokenizer"),
    ComponentSpec("image_encoder", "transformers", "CLIPVisionModel", "config.json", "model",
                  what="the CLIP ViT-H/14 image encoder", model_type="clip_vision_model"),
    ComponentSpec("scheduler", "files", "UniPCMultistepScheduler", "scheduler_config.json",
                  what="the sampling scheduler config"),
)
AUDIO = ComponentSpec("audio_encoder", "transformers", "Wav2Vec2Model", "config.json", "model",
                      extra=("preprocessor_config.json",), model_type="wav2vec2",
                      what="chinese-wav2vec2-base (TencentGameMate) with its feature extractor")


class InfiniteTalkReport(ValidationReport):
    """A :class:`ValidationReport` whose error names this backend's folder."""

    def raise_for_errors(self) -> ValidationReport:
        if self.errors:
            lines = "\n".join(f"- {e}" for e in self.errors)
            raise ModelFolderError(f"InfiniteTalk model folder {self.folder} cannot be loaded:\n{lines}",
                                   hint="fix the files listed above; the README lists the three downloads",
                                   problems=self.errors)
        return self


def adapter_path(root: str | os.PathLike[str], variant: str, adapter_folder: str | os.PathLike[str] | None = None
                 ) -> Path:
    """Where the ``single``/``multi`` adapter file is: a direct file, ``<folder>/<variant>/…`` or the default."""
    if adapter_folder is not None and str(adapter_folder).endswith(".safetensors"):
        return Path(adapter_folder).expanduser()
    base = Path(adapter_folder).expanduser() if adapter_folder else Path(root).expanduser() / ADAPTER_DIR
    return base / ADAPTER_FILES[variant]


def audio_folder(root: str | os.PathLike[str], audio_encoder_folder: str | os.PathLike[str] | None = None) -> Path:
    return Path(audio_encoder_folder).expanduser() if audio_encoder_folder else Path(root).expanduser() / AUDIO_DIR


def _check_adapter(path: Path, variant: str, report: ValidationReport, digest: Any) -> None:
    comp = ComponentReport(f"adapter_{variant}", "InfiniteTalkAdapter", weight_files=[path.name])
    report.components[comp.name] = comp
    label = f"InfiniteTalk {variant} adapter ({path})"
    try:
        header = read_safetensors_header(path)
    except (OSError, ValueError) as exc:
        report.errors.append(f"{label} is not a valid safetensors file ({exc})")
        return
    digest.update(variant.encode() + json.dumps(header, sort_keys=True).encode())
    shapes = {k: tuple(v.get("shape", ())) for k, v in header.items()}
    comp.dtypes = tally(header)
    comp.tensors, comp.parameters = len(header), sum(comp.dtypes.values())
    bad = sorted(d for d in comp.dtypes if d not in FLOAT_DTYPES)
    if bad:
        report.errors.append(f"{label} holds {', '.join(bad)} tensors; only float32/float16/bfloat16 load")
    tr = report.components.get("transformer")
    ae = report.components.get("audio_encoder")
    if not (tr and tr.config and ae and ae.config):
        return
    try:
        config = keys.config_from_shapes(shapes, int(tr.config.get("num_attention_heads", 1)),
                                         int(ae.config.get("num_hidden_layers", 12)), int(ae.config.get("hidden_size", 768)))
    except keys.AdapterFileError as exc:
        report.errors.append(f"{label}: {exc}")
        return
    # the adapter must fit this transformer: its width and depth come from the transformer's config
    width = int(tr.config.get("num_attention_heads", 0)) * int(tr.config.get("attention_head_dim", 0))
    config.update(model_dim=width or config["model_dim"], num_blocks=int(tr.config.get("num_layers", config["num_blocks"])))
    comp.config = config
    problems = keys.check_published(shapes, config)
    report.errors.extend(f"{label}: {p}" for p in problems[:10])
    if len(problems) > 10:
        report.errors.append(f"{label}: … and {len(problems) - 10} more tensor problems")


def _check_audio_encoder(folder: Path, report: ValidationReport, digest: Any, check_shapes: bool) -> None:
    """chinese-wav2vec2-base as published (a Wav2Vec2ForPreTraining checkpoint) or a plain Wav2Vec2Model."""
    comp = ComponentReport("audio_encoder", "Wav2Vec2Model")
    report.components["audio_encoder"] = comp
    label = f"{folder}/"
    for name in ("config.json", "preprocessor_config.json"):
        if not (folder / name).is_file():
            report.errors.append(f"{label}{name} is missing: it belongs to {AUDIO.what}")
            return
        digest.update((folder / name).read_bytes())
    try:
        comp.config = json.loads((folder / "config.json").read_text())
        comp.config["_preprocessor"] = json.loads((folder / "preprocessor_config.json").read_text())
    except ValueError as exc:
        report.errors.append(f"{label} holds a config that is not valid JSON ({exc})")
        return
    if comp.config.get("model_type") != "wav2vec2":
        report.errors.append(f"{label}config.json has model_type {comp.config.get('model_type')!r}, expected 'wav2vec2'")
        return
    weights = folder / "model.safetensors"
    if not weights.is_file():
        report.errors.append(f"{label}model.safetensors is missing: download it from chinese-wav2vec2-base's "
                             "refs/pr/1 (the safetensors conversion)")
        return
    try:
        header = read_safetensors_header(weights)
    except (OSError, ValueError) as exc:
        report.errors.append(f"{label}model.safetensors is not a valid safetensors file ({exc})")
        return
    comp.weight_files.append(weights.name)
    digest.update(b"audio_encoder" + json.dumps(header, sort_keys=True).encode())
    found = {}
    for name, info in header.items():
        ours = canonical_key("wav2vec2", name)  # prefixes, pretraining heads, weight_g/weight_v
        if ours is not None:
            found[ours] = tuple(info.get("shape", ()))
            comp.tensors += 1
    if not check_shapes:
        return
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    try:
        expected, _ = meta_state(lambda: Wav2Vec2Model(Wav2Vec2Config.from_pretrained(str(folder))))
    except Exception as exc:  # noqa: BLE001 - a config the class rejects is a folder problem
        report.errors.append(f"{label}config.json does not describe a valid Wav2Vec2Model ({exc})")
        return
    # Names the published checkpoint carries beyond the encoder were dropped above; nothing to warn about.
    report.errors.extend(compare_shapes(found, expected, weights=f"{label}model.safetensors",
                                        config="config.json").errors)


def _check_cross(report: ValidationReport) -> None:
    """The components must agree with each other, not only with their own configs."""
    c = {n: r.config for n, r in report.components.items()}
    tr, vae, te, ie = c.get("transformer"), c.get("vae"), c.get("text_encoder"), c.get("image_encoder")
    need = [
        (tr and vae and tr.get("in_channels") != 2 * int(vae.get("z_dim", 0)) + 4,
         f"transformer in_channels {tr and tr.get('in_channels')} != 2 × vae z_dim + 4 (an I2V transformer)"),
        (tr and te and tr.get("text_dim") != te.get("d_model"),
         f"transformer text_dim {tr and tr.get('text_dim')} != text_encoder d_model {te and te.get('d_model')}"),
        (tr and ie and tr.get("image_dim") != ie.get("hidden_size"),
         f"transformer image_dim {tr and tr.get('image_dim')} != image_encoder hidden_size {ie and ie.get('hidden_size')}"),
    ]
    report.errors.extend(msg for bad, msg in need if bad)
    for variant in ADAPTER_FILES:
        ad = c.get(f"adapter_{variant}")
        if not ad or not tr:
            continue
        if vae and ad["temporal_stride"] != int(vae.get("scale_factor_temporal", 4)):
            report.errors.append(f"{variant} adapter expects {ad['temporal_stride']} frames per latent, the VAE packs "
                                 f"{vae.get('scale_factor_temporal', 4)}")
    fe = report.components.get("audio_encoder")
    pre = fe.config.get("_preprocessor", {}) if fe else {}
    if pre and pre.get("sampling_rate") != MODEL_RATE:
        report.errors.append(f"audio_encoder/preprocessor_config.json sampling_rate {pre.get('sampling_rate')} "
                             f"must be {MODEL_RATE}")


def validate_model_folder(path: str | os.PathLike[str], *, adapter_folder: str | os.PathLike[str] | None = None,
                          audio_encoder_folder: str | os.PathLike[str] | None = None, adapter: str = "any",
                          check_shapes: bool = True) -> ValidationReport:
    """Check an InfiniteTalk folder without loading weights; never raises for folder problems.

    ``adapter``: ``"single"``/``"multi"`` requires that file; ``"any"`` needs at least one.
    """
    root = Path(path).expanduser()
    report = InfiniteTalkReport(folder=str(root))
    if not root.is_dir():
        report.errors.append(f"{root} is not a folder: choose the Wan2.1-I2V-14B-480P-Diffusers folder")
        return report
    extra_roots = [p for p in (adapter_folder, audio_encoder_folder) if p and Path(p).expanduser().is_dir()]
    for base in [root, *extra_roots]:
        for rel in find_pickles(base):
            report.errors.append(f"{Path(base) / rel} is a pickle checkpoint, which is refused (it can run code): "
                                 "delete it; only the .safetensors files are used (for chinese-wav2vec2-base: "
                                 "config.json, preprocessor_config.json and model.safetensors from refs/pr/1)")
    digest = check_backbone(
        report, root, BACKBONE, check_shapes,
        index_missing="model_index.json is missing: this should be the Wan2.1-I2V-14B-480P-Diffusers folder",
        missing=lambda spec: f"{spec.name}/ is missing: it holds {spec.what} (from Wan2.1-I2V-14B-480P-Diffusers)")
    if not (root / "image_processor" / "preprocessor_config.json").is_file():
        report.errors.append("image_processor/preprocessor_config.json is missing: it configures the CLIP input")
    audio = audio_folder(root, audio_encoder_folder)
    if not audio.is_dir():
        report.errors.append(f"{audio} is missing: download TencentGameMate/chinese-wav2vec2-base there "
                             "(config.json, model.safetensors from refs/pr/1, preprocessor_config.json)")
    else:
        _check_audio_encoder(audio, report, digest, check_shapes)
    found = []
    for variant in ADAPTER_FILES:
        file = adapter_path(root, variant, adapter_folder)
        if file.is_file():
            found.append(variant)
            _check_adapter(file, variant, report, digest)
        elif adapter == variant:
            report.errors.append(f"{file} is missing: download {ADAPTER_FILES[variant]} from MeiGen-AI/InfiniteTalk")
    if adapter == "any" and not found:
        report.errors.append(f"no InfiniteTalk adapter found under {adapter_path(root, 'single', adapter_folder).parent.parent}: "
                             "download MeiGen-AI/InfiniteTalk (single/ and multi/infinitetalk.safetensors)")
    if not report.errors:
        _check_cross(report)
    report.fingerprint = digest.hexdigest()
    return report


def installed_adapters(report: ValidationReport) -> list[str]:
    """The adapter variants a report found and accepted."""
    return [v for v in ADAPTER_FILES if f"adapter_{v}" in report.components
            and not any(f"{v} adapter" in e for e in report.errors)]
