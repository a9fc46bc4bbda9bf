"""``soul-studio models``: register, check and size the local model folders.

    soul-studio models list
    soul-studio models add NAME PATH --kind wan-ti2v-5b
    soul-studio models remove NAME
    soul-studio models check [NAME]
    soul-studio models vram [--gpu N] [--card-gb 24]
    soul-studio models catalogue [--backend infinitetalk] [--folder PATH]

Exit codes: 0 fine, 1 a checked model has problems (or a preset fits no card), 2 bad usage.
``--json`` prints machine-readable results for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from soul_studio.models.check import ModelCheck, check_folder, human_size, safe_check
from soul_studio.models.registry import KINDS, ModelRegistry, RegistryError
from soul_studio.models.settings import StudioPaths
from soul_studio.models.vram import CARD_SIZES_GB, ModelSizes, detect_gpus, estimate_all


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("models", help="manage local model folders (list, add, remove, check, vram)",
                              description="Register local model folders, validate them and estimate GPU memory.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    sub = p.add_subparsers(dest="models_command", metavar="ACTION")
    sub.add_parser("list", help="registered models with kind, size and status").set_defaults(func=run_list)
    add = sub.add_parser("add", help="validate a folder and register it under NAME")
    add.add_argument("name")
    add.add_argument("path")
    add.add_argument("--kind", required=True, choices=tuple(KINDS), help="what the folder holds")
    add.add_argument("--force", action="store_true", help="register even when the check finds problems")
    add.set_defaults(func=run_add)
    rm = sub.add_parser("remove", help="forget a model (its files stay on disk)")
    rm.add_argument("name")
    rm.set_defaults(func=run_remove)
    chk = sub.add_parser("check", help="validate one or every registered model")
    chk.add_argument("name", nargs="?")
    chk.add_argument("--fast", action="store_true", help="skip the tensor shape comparison")
    chk.set_defaults(func=run_check)
    vram = sub.add_parser("vram", help="estimate GPU memory of the draft and final presets")
    vram.add_argument("--gpu", type=int, default=None, help="compare with this CUDA device")
    vram.add_argument("--card-gb", type=float, action="append", default=None,
                      help=f"compare with a card of this size (default without a GPU: {', '.join(map(str, CARD_SIZES_GB))})")
    vram.set_defaults(func=run_vram)
    cat = sub.add_parser("catalogue", help="known models: sources, licences, where they go, GPU memory")
    cat.add_argument("--backend", choices=("soul", "infinitetalk"), default=None)
    cat.add_argument("--folder", default="MODEL_FOLDER", help="the model folder to show in the download commands")
    cat.set_defaults(func=run_catalogue)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _registry() -> ModelRegistry:
    registry = ModelRegistry(StudioPaths.default())
    for problem in registry.problems:
        print(f"soul-studio: warning: {problem}", file=sys.stderr)
    return registry


def _print_check(name: str, check: ModelCheck, out: Any = None) -> None:
    out = out or sys.stdout
    status = "ok" if check.ok else f"{len(check.errors)} problem(s)"
    print(f"{name} [{check.kind}] {status}: {check.folder} ({human_size(check.size_bytes)}, "
          f"{len(check.files)} files)", file=out)
    for part, count in sorted(check.parameters.items()):
        print(f"    {part}: {count:,} parameters ({check.dtypes.get(part, '?')})", file=out)
    if check.missing:
        print(f"    missing: {', '.join(check.missing)}", file=out)
    for message in check.errors:
        print(f"    error: {message}", file=out)
    for message in check.warnings:
        print(f"    warning: {message}", file=out)


def run_list(args: argparse.Namespace) -> int:
    try:
        registry = _registry()
    except RegistryError as exc:
        print(f"soul-studio: {exc}", file=sys.stderr)
        return 2
    rows = []
    for name in registry.names():
        entry = registry.get(name)
        check = safe_check(entry.path, entry.kind, check_shapes=False)
        changed = bool(entry.fingerprint) and check.ok and check.fingerprint != entry.fingerprint
        status = "ok" if check.ok else "problems"
        if changed:
            status = "changed"
        rows.append({"name": name, "kind": entry.kind, "path": entry.path, "size_bytes": check.size_bytes,
                     "status": status, "missing": check.missing})
    if args.json:
        print(json.dumps({"registry": str(registry.file), "models": rows}, indent=2))
        return 0
    if not rows:
        print(f"no models registered ({registry.file}); add one with: soul-studio models add NAME PATH --kind KIND")
        return 0
    for r in rows:
        missing = f"  missing: {', '.join(r['missing'])}" if r["missing"] else ""
        print(f"{r['name']:<20} {r['kind']:<14} {human_size(r['size_bytes']):>10}  {r['status']:<8} {r['path']}{missing}")
    return 0


def run_add(args: argparse.Namespace) -> int:
    check = check_folder(args.path, args.kind)
    if not check.ok and not args.force:
        _print_check(args.name, check, sys.stderr)
        print("soul-studio: not registered; fix the problems above or pass --force", file=sys.stderr)
        return 1
    try:
        entry = _registry().add(args.name, args.kind, args.path, fingerprint=check.fingerprint,
                                size_bytes=check.size_bytes)
    except RegistryError as exc:
        print(f"soul-studio: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"added": entry.to_dict(), "check": check.to_dict()}, indent=2))
    else:
        _print_check(entry.name, check)
        print(f"registered {entry.name} ({entry.kind})")
    return 0 if check.ok else 1


def run_remove(args: argparse.Namespace) -> int:
    try:
        entry = _registry().remove(args.name)
    except RegistryError as exc:
        print(f"soul-studio: {exc}", file=sys.stderr)
        return 2
    print(f"removed {entry.name}; its files stay in {entry.path}")
    return 0


def check_registered(registry: ModelRegistry, names: list[str] | None = None,
                     check_shapes: bool = True) -> dict[str, ModelCheck]:
    """Check registered models (all by default), noting folders that changed since they were added."""
    results: dict[str, ModelCheck] = {}
    for name in names or registry.names():
        entry = registry.get(name)
        check = safe_check(entry.path, entry.kind, check_shapes=check_shapes)
        if entry.fingerprint and check.ok and check.fingerprint != entry.fingerprint:
            check.warnings.append("the folder changed since it was added (files or weights differ); "
                                  "add it again to accept the new files")
        results[name] = check
    return results


def run_check(args: argparse.Namespace) -> int:
    try:
        registry = _registry()
        results = check_registered(registry, [args.name] if args.name else None, check_shapes=not args.fast)
    except RegistryError as exc:
        print(f"soul-studio: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({n: c.to_dict() for n, c in results.items()}, indent=2))
    else:
        if not results:
            print("no models registered")
        for name, check in results.items():
            _print_check(name, check)
    return 0 if all(c.ok for c in results.values()) else 1


def run_vram(args: argparse.Namespace) -> int:
    try:
        registry = _registry()
        checks = [c for c in check_registered(registry, check_shapes=False).values() if c.ok]
    except RegistryError as exc:
        print(f"soul-studio: {exc}", file=sys.stderr)
        return 2
    sizes = ModelSizes.from_checks(checks)
    estimates = estimate_all(sizes)
    gpus = detect_gpus()
    targets: list[tuple[str, float]] = []
    note = ""
    if args.gpu is not None:
        match = [g for g in gpus if g.index == args.gpu]
        if not match:
            print(f"soul-studio: no CUDA GPU {args.gpu} ({len(gpus)} found)", file=sys.stderr)
            return 2
        targets.append((f"GPU {match[0].index} {match[0].name}", match[0].total_gib))
    elif gpus:
        targets += [(f"GPU {g.index} {g.name}", g.total_gib) for g in gpus]
    else:
        note = "no CUDA GPU"
    targets += [(f"{gb:g} GB card", float(gb)) for gb in (args.card_gb or ([] if targets else CARD_SIZES_GB))]
    table = [{**e.to_dict(), "fits": {label: e.fits(size) for label, size in targets}} for e in estimates]
    if args.json:
        print(json.dumps({"sizes_from": sizes.source, "gpus": [g.__dict__ for g in gpus], "note": note,
                          "targets": dict(targets), "estimates": table}, indent=2))
    else:
        if note:
            print(f"{note}: comparing with {', '.join(label for label, _ in targets)}")
        print(f"sizes from {sizes.source}")
        head = "  ".join(f"{label[:18]:>18}" for label, _ in targets)
        print(f"{'preset':<8} {'offload':<8} {'estimate':>9}  {head}")
        for row in table:
            fits = "  ".join(f"{'fits' if row['fits'][label] else 'too big':>18}" for label, _ in targets)
            print(f"{row['preset']:<8} {'yes' if row['offload'] else 'no':<8} {row['total_gib']:>7.1f}GB  {fits}")
    return 0 if any(any(r["fits"].values()) for r in table) else 1


def run_catalogue(args: argparse.Namespace) -> int:
    """Print the catalogue: what to download for each backend, licences (flagged when restricted), VRAM."""
    from soul_studio.models.catalogue import describe, entries, infinitetalk_vram_table

    chosen = entries(args.backend)
    show_vram = args.backend in (None, "infinitetalk")
    if args.json:
        data: dict[str, Any] = {"models": [e.to_dict() for e in chosen]}
        if show_vram:
            data["infinitetalk_vram"] = infinitetalk_vram_table(1) + infinitetalk_vram_table(2)
        print(json.dumps(data, indent=2))
        return 0
    for backend in dict.fromkeys(e.backend for e in chosen):
        print(f"== {backend} backend ==")
        for e in (e for e in chosen if e.backend == backend):
            print(describe(e, args.folder))
        print()
    flagged = [e for e in chosen if e.flagged]
    for e in flagged:
        print(f"licence flag: {e.name}: {e.licence_note}")
    if show_vram:
        print("\ninfinitetalk GPU memory (estimates; one speaker, two speakers add routing memory):")
        for row in infinitetalk_vram_table(1):
            cards = "; ".join(f"{card}: {what}" for card, what in row["cards"].items())
            print(f"  {row['preset']:<12} resident {row['peaks_gb']['resident']:.0f} GB, model offload "
                  f"{row['peaks_gb']['model_offload']:.0f} GB, group offload {row['peaks_gb']['group_offload']:.0f} GB"
                  f"\n      {cards}")
    return 0
