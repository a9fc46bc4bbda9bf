"""The soul model folder: its layout, and validation before anything heavy loads.

A model folder is the diffusers layout of Wan2.2-TI2V-5B plus two soul components::

    model_index.json
    transformer/    config.json + diffusion_pytorch_model.safetensors (or sharded + .index.json)
    vae/            config.json + diffusion_pytorch_model.safetensors
    text_encoder/   config.json + model.safetensors (or sharded + .index.json)
    tokenizer/      tokenizer_config.json + tokenizer.json (or spiece.model)
    scheduler/      scheduler_config.json
    audio_adapter/  config.json + diffusion_pytorch_model.safetensors
    audio_encoder/  config.json + model.safetensors + preprocessor_config.json
                    (Whisper, the default: e.g. openai/whisper-large-v3 as published, decoder
                    ignored; or Wav2Vec2, including Wav2Vec2ForCTC checkpoints)

Validation reads only JSON and safetensors headers, builds each model on the ``meta``
device to learn the expected tensor names and shapes, and names every problem with
where the missing piece belongs. Pickled weights (.bin, .pt, .pth, .ckpt) are refused:
loading them can run arbitrary code.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.backends.folder_check import compare_shapes, meta_state, tally
from engine.backends.soul.audio_checkpoint import OPTIONAL, RECOMMENDED, canonical_key, encoder_type
from engine.backends.soul.errors import ModelFolderError

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
FLOAT_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}
MODEL_RATE = 16_000


@dataclass(frozen=True)
class ComponentSpec:
    """Where one component lives and how it is built."""

    name: str
    library: str  # "diffusers", "transformers", "soul", "audio" (see .audio_checkpoint) or "files"
    class_name: str
    config: str
    weights: str | None = None  # file stem; ".safetensors" or ".safetensors.index.json" follows
    extra: tuple[str, ...] = ()
    what: str = ""
    model_type: str = ""  # transformers configs name their family, not always the class


COMPONENTS: tuple[ComponentSpec, ...] = (
    ComponentSpec("transformer", "diffusers", "WanTransformer3DModel", "config.json", "diffusion_pytorch_model",
                  what="the Wan2.2-TI2V-5B diffusion transformer"),
    ComponentSpec("vae", "diffusers", "AutoencoderKLWan", "config.json", "diffusion_pytorch_model",
                  what="the Wan2.2 VAE (z_dim 48)"),
    ComponentSpec("text_encoder", "transformers", "UMT5EncoderModel", "config.json", "model",
                  what="the UMT5-XXL text encoder", model_type="umt5"),
    ComponentSpec("tokenizer", "files", "T5Tokenizer", "tokenizer_config.json", what="the UMT5 tokenizer"),
    ComponentSpec("scheduler", "files", "UniPCMultistepScheduler", "scheduler_config.json",
                  what="the sampling scheduler config"),
    ComponentSpec("audio_adapter", "soul", "SoulAudioAdapter", "config.json", "diffusion_pytorch_model",
                  what="the Soul audio-injection layers"),
    ComponentSpec("audio_encoder", "audio", "WhisperEncoder", "config.json", "model",
                  extra=("preprocessor_config.json",),
                  what=f"the audio encoder and its feature extractor (recommended: {RECOMMENDED['whisper']}; "
                       "Wav2Vec2 also works)",
                  model_type="whisper|wav2vec2"),
)
SCHEDULERS = ("UniPCMultistepScheduler", "FlowMatchEulerDiscreteScheduler")


@dataclass
class ComponentReport:
    """What validation learned about one component."""

    name: str
    class_name: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    weight_files: list[str] = field(default_factory=list)
    tensors: int = 0
    parameters: int = 0
    dtypes: dict[str, int] = field(default_factory=dict)
    weights_checked: bool = False  # config and class were right, so its weights were read

    @property
    def dtype(self) -> str | None:
        """The dtype holding most parameters, as a torch name."""
        if not self.dtypes:
            return None
        return FLOAT_DTYPES.get(max(self.dtypes, key=self.dtypes.__getitem__))


@dataclass
class ValidationReport:
    """Result of :func:`validate_model_folder`; ``ok`` when nothing blocks loading."""

    folder: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    components: dict[str, ComponentReport] = field(default_factory=dict)
    fingerprint: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> ValidationReport:
        """Raise :class:`ModelFolderError` listing every problem, or return self."""
        if self.errors:
            lines = "\n".join(f"- {e}" for e in self.errors)
            raise ModelFolderError(
                f"soul model folder {self.folder} cannot be loaded:\n{lines}",
                hint="fix the files listed above; the README describes the folder layout",
                problems=self.errors,
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "ok": self.ok,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "fingerprint": self.fingerprint,
            "components": {
                n: {"class": c.class_name, "files": c.weight_files, "tensors": c.tensors,
                    "parameters": c.parameters, "dtype": c.dtype}
                for n, c in self.components.items()
            },
        }


# ----------------------------------------------------------------- headers
_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
                "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "U32": 4, "U64": 8}


def read_safetensors_header(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Tensor name → {"dtype", "shape", "data_offsets"} from a safetensors header, without reading tensors.

    The header must have the format's shape (an object of tensor entries, each with a dtype,
    a shape of whole numbers and offsets that fit its size), and the file must hold exactly
    the bytes the header describes: a file cut short by a failed copy raises ``ValueError``.
    """
    p = Path(path)
    with open(p, "rb") as handle:
        raw = handle.read(8)
        if len(raw) != 8:
            raise ValueError("file is shorter than a safetensors header")
        (length,) = struct.unpack("<Q", raw)
        size = os.fstat(handle.fileno()).st_size
        if length <= 0 or length > 100 * 1024 * 1024 or length + 8 > size:
            raise ValueError("header length is not plausible")
        try:
            header = json.loads(handle.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"header is not JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise ValueError(f"header is a JSON {type(header).__name__}, not an object of tensors")
    header.pop("__metadata__", None)
    end = 0
    for name, info in header.items():
        if not isinstance(info, dict):
            raise ValueError(f"tensor {name!r} is described by {type(info).__name__}, not an object")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if not isinstance(dtype, str) or not isinstance(shape, list) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise ValueError(f"tensor {name!r} has no valid dtype and shape")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            raise ValueError(f"tensor {name!r} has no valid data_offsets")
        count = 1
        for d in shape:
            count *= d
        if dtype in _DTYPE_BYTES and offsets[1] - offsets[0] != count * _DTYPE_BYTES[dtype]:
            raise ValueError(f"tensor {name!r} ({dtype} {shape}) does not fit its {offsets[1] - offsets[0]} bytes")
        end = max(end, offsets[1])
    payload = size - 8 - length
    if payload < end:
        raise ValueError(f"file is truncated: the header describes {end} bytes of tensors but only {payload} "
                         "are there (copy it again)")
    if payload > end:
        raise ValueError(f"file holds {payload - end} bytes after its last tensor (not a clean safetensors file)")
    return header


def _weight_files(folder: Path, stem: str) -> tuple[list[Path], str | None]:
    """The safetensors files of a component, or the reason none can be used."""
    single = folder / f"{stem}.safetensors"
    index = folder / f"{stem}.safetensors.index.json"
    if single.is_file():
        return [single], None
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text())["weight_map"]
        except (OSError, ValueError, KeyError) as exc:
            return [], f"{index} is not a readable shard index ({exc})"
        shards = sorted({folder / name for name in weight_map.values()})
        missing = [s.name for s in shards if not s.is_file()]
        if missing:
            return [], f"{folder.name}/ is missing shard(s) {', '.join(missing)} listed in {index.name}"
        return shards, None
    return [], None


def _build_meta(spec: ComponentSpec, folder: Path, config: dict[str, Any]) -> Any:
    """The model ``spec`` describes, for :func:`~engine.backends.folder_check.meta_state`."""
    if spec.library == "diffusers":
        import diffusers

        return getattr(diffusers, spec.class_name).from_config(config)
    if spec.library == "soul":
        from engine.backends.soul.adapter import SoulAudioAdapter

        return SoulAudioAdapter.from_config(config)
    if spec.library == "audio":
        from engine.backends.soul.audio_checkpoint import build_encoder

        return build_encoder(str(encoder_type(config)), folder)
    import transformers

    cls = getattr(transformers, spec.class_name)
    return cls(cls.config_class.from_pretrained(str(folder)))


def _check_weights(spec: ComponentSpec, folder: Path, report: ComponentReport, errors: list[str],
                   warnings: list[str], check_shapes: bool) -> list[tuple[str, int, bytes]]:
    files, problem = _weight_files(folder, spec.weights or "")
    rel = f"{spec.name}/"
    if problem:
        errors.append(problem)
        return []
    if not files:
        errors.append(
            f"{rel}{spec.weights}.safetensors is missing: put the safetensors weights of {spec.what} there"
        )
        return []
    found: dict[str, tuple] = {}
    index_entries: list[tuple[str, int, bytes]] = []
    kind = encoder_type(report.config) if spec.library == "audio" else None
    dropped = 0
    for f in files:
        try:
            header = read_safetensors_header(f)
        except (OSError, ValueError) as exc:
            errors.append(f"{rel}{f.name} is not a valid safetensors file ({exc})")
            continue
        report.weight_files.append(f.name)
        index_entries.append((f"{spec.name}/{f.name}", f.stat().st_size,
                              json.dumps(header, sort_keys=True).encode()))
        kept = {}
        for name, info in header.items():
            key = name if kind is None else canonical_key(kind, name)
            if key is None:  # a decoder or task head around the encoder: never loaded
                dropped += 1
                continue
            kept[key] = info
            found[key] = tuple(info.get("shape", ()))
        for dtype, n in tally(kept).items():
            report.parameters += n
            report.dtypes[dtype] = report.dtypes.get(dtype, 0) + n
        report.tensors += len(kept)
    if dropped:
        warnings.append(f"{rel} holds {dropped} tensor(s) outside the audio encoder (decoder or task head); "
                        "they are not loaded")
    bad = sorted(d for d in report.dtypes if d not in FLOAT_DTYPES)
    if bad:
        errors.append(f"{rel} holds {', '.join(bad)} tensors; soul loads float32, float16 or bfloat16 weights only")
    if check_shapes and found and spec.library != "files":
        try:
            expected, groups = meta_state(lambda: _build_meta(spec, folder, report.config))
        except Exception as exc:  # noqa: BLE001 - a config the class rejects is a folder problem
            errors.append(f"{rel}{spec.config} does not describe a valid {spec.class_name} ({exc})")
            return index_entries
        named = f"{rel}{files[0].name}" if len(files) == 1 else f"{rel}{spec.weights} shards"
        shapes = compare_shapes(found, expected, weights=named, config=spec.config, groups=groups,
                                ignore=("norm_added_q", *OPTIONAL.get(kind or "", ())))
        errors.extend(shapes.errors)
        warnings.extend(shapes.warnings(named))
    return index_entries


def _check_cross(report: ValidationReport) -> None:
    """The components must agree with each other, not only with their own configs."""
    c = {n: r.config for n, r in report.components.items()}
    errs = report.errors

    def need(cond: bool, message: str) -> None:
        if not cond:
            errs.append(message)

    tr, vae, te = c.get("transformer"), c.get("vae"), c.get("text_encoder")
    ad, ae, fe = c.get("audio_adapter"), c.get("audio_encoder"), report.components.get("audio_encoder")
    if tr and vae:
        need(tr.get("in_channels") == vae.get("z_dim"),
             f"transformer in_channels {tr.get('in_channels')} != vae z_dim {vae.get('z_dim')}")
    if tr and te:
        need(tr.get("text_dim") == te.get("d_model"),
             f"transformer text_dim {tr.get('text_dim')} != text_encoder d_model {te.get('d_model')}")
    if tr and ad:
        inner = int(tr.get("num_attention_heads", 0)) * int(tr.get("attention_head_dim", 0))
        need(ad.get("model_dim") == inner, f"audio_adapter model_dim {ad.get('model_dim')} != transformer width {inner}")
        need(ad.get("num_blocks") == tr.get("num_layers"),
             f"audio_adapter num_blocks {ad.get('num_blocks')} != transformer num_layers {tr.get('num_layers')}")
    kind = encoder_type(ae) if ae else None
    if ad and ae and kind:
        from engine.backends.soul.audio_checkpoint import encoder_layers, encoder_width

        trained_on = ad.get("audio_encoder_type", "whisper")
        need(trained_on == kind, f"audio_adapter was trained on {trained_on} features but audio_encoder/ holds a "
                                 f"{kind} encoder: install the {trained_on} encoder ({RECOMMENDED.get(trained_on)})")
        need(ad.get("audio_dim") == encoder_width(kind, ae),
             f"audio_adapter audio_dim {ad.get('audio_dim')} != audio_encoder width {encoder_width(kind, ae)}")
        need(ad.get("audio_layers") == encoder_layers(kind, ae),
             f"audio_adapter audio_layers {ad.get('audio_layers')} != audio_encoder layers {encoder_layers(kind, ae)}")
    if fe is not None:
        pre = fe.config.get("_preprocessor", {})
        if pre:
            need(pre.get("sampling_rate") == MODEL_RATE,
                 f"audio_encoder/preprocessor_config.json sampling_rate {pre.get('sampling_rate')} must be {MODEL_RATE}")
            if kind == "whisper":
                need(pre.get("feature_size") == ae.get("num_mel_bins"),
                     f"audio_encoder/preprocessor_config.json feature_size {pre.get('feature_size')} != "
                     f"config.json num_mel_bins {ae.get('num_mel_bins')}")


def find_pickles(folder: str | os.PathLike[str]) -> list[str]:
    """Relative paths of pickle-format weight files anywhere in ``folder``."""
    root = Path(folder)
    found = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.lower().endswith(PICKLE_SUFFIXES):
                found.append(str((Path(dirpath) / name).relative_to(root)))
    return sorted(found)


def check_component(
    spec: ComponentSpec,
    sub: Path,
    errors: list[str],
    warnings: list[str],
    check_shapes: bool = True,
    label: str = "",
    digest: Any = None,
) -> ComponentReport:
    """Check one component folder (config, extra files, class, weights) against ``spec``.

    Problems go to ``errors``/``warnings``, their paths prefixed with ``label`` (the
    component's sub-folder inside a soul folder, nothing for a stand-alone part).
    ``digest`` (a hashlib object), when given, takes in what the fingerprint covers.
    """
    comp = ComponentReport(spec.name, spec.class_name)
    cfg_path = sub / spec.config
    if not cfg_path.is_file():
        errors.append(f"{label}{spec.config} is missing: it describes {spec.what}")
        return comp
    try:
        comp.config = json.loads(cfg_path.read_text())
    except (OSError, ValueError) as exc:
        errors.append(f"{label}{spec.config} is not valid JSON ({exc})")
        return comp
    if digest is not None:
        digest.update(spec.name.encode() + cfg_path.read_bytes())
    comp.class_name = str(comp.config.get("_class_name") or (comp.config.get("architectures") or [spec.class_name])[0])
    for extra in spec.extra:
        if not (sub / extra).is_file():
            errors.append(f"{label}{extra} is missing: it belongs to {spec.what}")
        else:
            if digest is not None:
                digest.update((sub / extra).read_bytes())
            comp.config["_preprocessor"] = json.loads((sub / extra).read_text())
    if spec.name == "tokenizer":
        if not ((sub / "tokenizer.json").is_file() or (sub / "spiece.model").is_file()):
            errors.append(f"{label}tokenizer.json (or spiece.model) is missing: copy the UMT5 tokenizer files")
        return comp
    if spec.name == "scheduler":
        if comp.class_name not in SCHEDULERS:
            errors.append(f"{label}{spec.config} names {comp.class_name}; soul samples with {' or '.join(SCHEDULERS)}")
        return comp
    if spec.model_type:
        allowed = spec.model_type.split("|")
        if comp.config.get("model_type") not in allowed:
            errors.append(f"{label}{spec.config} has model_type {comp.config.get('model_type')!r}, "
                          f"expected {' or '.join(map(repr, allowed))} ({spec.what})")
            return comp
        comp.class_name = spec.class_name
        if spec.library == "audio":
            comp.class_name = "WhisperEncoder" if comp.config["model_type"] == "whisper" else "Wav2Vec2Model"
    elif comp.class_name != spec.class_name:
        errors.append(f"{label}{spec.config} describes {comp.class_name}, expected {spec.class_name}")
        return comp
    comp.weights_checked = True
    weight_errors: list[str] = []
    for rel, size, header in _check_weights(spec, sub, comp, weight_errors, warnings, check_shapes):
        if digest is not None:
            digest.update(rel.encode() + str(size).encode() + header)
    # _check_weights names files inside a soul folder; re-label them for a stand-alone part.
    errors.extend(e.replace(f"{spec.name}/", label, 1) if label != f"{spec.name}/" else e for e in weight_errors)
    return comp


def check_backbone(report: ValidationReport, root: Path, specs: tuple[ComponentSpec, ...], check_shapes: bool, *,
                   index_missing: str, missing: Callable[[ComponentSpec], str]) -> Any:
    """The diffusers part of a model folder: ``model_index.json`` and each component sub-folder.

    Problems go to ``report`` (``index_missing`` and ``missing(spec)`` say what a
    missing piece is); returns the running fingerprint (a hashlib object) for the
    caller's own parts.
    """
    digest = hashlib.sha256()
    index = root / "model_index.json"
    if not index.is_file():
        report.errors.append(index_missing)
    else:
        digest.update(index.read_bytes())
    for spec in specs:
        sub = root / spec.name
        if not sub.is_dir():
            report.components[spec.name] = ComponentReport(spec.name, spec.class_name)
            report.errors.append(missing(spec))
            continue
        report.components[spec.name] = check_component(spec, sub, report.errors, report.warnings, check_shapes,
                                                       label=f"{spec.name}/", digest=digest)
    return digest


def validate_model_folder(path: str | os.PathLike[str], check_shapes: bool = True) -> ValidationReport:
    """Check a soul model folder without loading weights; never raises for folder problems.

    ``check_shapes`` builds each model on the meta device (a second or two at full size)
    and compares every tensor name and shape with the safetensors headers.
    """
    root = Path(path).expanduser()
    report = ValidationReport(folder=str(root))
    if not root.is_dir():
        report.errors.append(f"{root} is not a folder: choose the folder that holds model_index.json")
        return report
    pickles = find_pickles(root)
    for rel in pickles:
        report.errors.append(
            f"{rel} is a pickle checkpoint, which soul refuses to load (it can run code): "
            "convert it to .safetensors and remove the pickle"
        )
    digest = check_backbone(
        report, root, COMPONENTS, check_shapes,
        index_missing="model_index.json is missing: this should be the root of the Wan2.2-TI2V-5B diffusers folder",
        missing=lambda spec: f"{spec.name}/ is missing: put {spec.what} there ({spec.config}"
                             + (f", {spec.weights}.safetensors" if spec.weights else "") + ")")
    if not report.errors:
        _check_cross(report)
    report.fingerprint = digest.hexdigest()
    return report
