"""The evaluation report: PNG plots per take, one overview sheet, and an HTML page with both.

Editors look rather than read, so every take gets the same row of pictures: the first
frame with the tracked face and mouth boxes, the audio loudness against the mouth
opening over time, the sync correlation over lags with the best offset marked, and the
identity over time; coloured badges summarise the numbers (green fine, amber check,
red fix). Plots use matplotlib's Agg backend: no display, no Qt.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.gridspec import GridSpecFromSubplotSpec  # noqa: E402
from matplotlib.patches import FancyBboxPatch, Rectangle  # noqa: E402

from soul_studio.bench.evaluate import TakeScores  # noqa: E402

BG = "#14161b"
PANEL = "#1d2027"
GRID = "#2c313b"
TEXT = "#e8eaee"
MUTED = "#8b93a3"
AUDIO = "#4fc3f7"
MOUTH = "#ffb74d"
IDENT = "#81c784"
FIRST = "#b39ddb"
GOOD, WARN, BAD, NONE = "#43a047", "#f9a825", "#e53935", "#546e7a"
# The weight-free descriptor gives 0.88-0.99 for takes of their own portrait and about 0.8
# for another painted face; learnt embeddings separate people far better.
IDENTITY_GOOD = 0.87


# ---------------------------------------------------------------- verdicts
def verdicts(s: TakeScores) -> list[tuple[str, str, str]]:
    """(label, value, colour) badges for a take, the same in the PNGs and the HTML page."""
    out: list[tuple[str, str, str]] = []
    sync = s.sync
    if "offset_frames" in sync:
        off = int(sync["offset_frames"])
        conf = float(sync["confidence"])
        reliable = bool(sync.get("reliable"))
        colour = (GOOD if abs(off) <= 1 else WARN if abs(off) <= 3 else BAD) if reliable else WARN
        out.append(("sync offset", f"{off:+d} fr", colour))
        out.append(("sync confidence", f"{conf:.2f}", GOOD if conf >= 0.5 else WARN if conf >= 0.3 else BAD))
    else:
        out.append(("lip-sync", "n/a", NONE))
    if "offset_frames" in s.syncnet:
        c = float(s.syncnet["confidence"])
        out.append(("SyncNet", f"{int(s.syncnet['offset_frames']):+d} fr / {c:.1f}", GOOD if c >= 3 else WARN if c >= 1.5 else BAD))
    ident = s.identity
    if "to_portrait_mean" in ident:
        v = float(ident["to_portrait_mean"])
        out.append(("identity", f"{v:.2f}", GOOD if v >= IDENTITY_GOOD else WARN if v >= 0.8 else BAD))
    elif "to_first_frame_mean" in ident:
        v = float(ident["to_first_frame_mean"])
        out.append(("identity (1st frame)", f"{v:.2f}", GOOD if v >= IDENTITY_GOOD else WARN if v >= 0.8 else BAD))
    if "flicker_mean" in s.temporal:
        f = float(s.temporal["flicker_mean"])
        out.append(("flicker", f"{f:.2f}", GOOD if f <= 1.0 else WARN if f <= 3.0 else BAD))
    if "sharpness_mean" in s.image:
        v = float(s.image["sharpness_mean"])
        out.append(("sharpness", f"{v:.0f}", GOOD if v >= 40 else WARN if v >= 15 else BAD))
        e = float(s.image["exposure_mean"])
        out.append(("exposure", f"{e:.2f}", GOOD if 0.2 <= e <= 0.75 else WARN if 0.1 <= e <= 0.88 else BAD))
    fid = s.image.get("fid", {})
    if "value" in fid:
        out.append(("FID", f"{fid['value']:.1f}", NONE))
    fvd = s.image.get("fvd", {})
    if "value" in fvd:
        out.append(("FVD", f"{fvd['value']:.4g}", NONE))
    if "clip_score" in s.text_alignment:
        v = float(s.text_alignment["clip_score"])
        out.append(("CLIP", f"{v:.1f}", GOOD if v >= 25 else WARN if v >= 18 else BAD))
    return out


# ---------------------------------------------------------------- drawing
def _style(ax: Any, title: str) -> None:
    ax.set_facecolor(PANEL)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(GRID)
    ax.tick_params(colors=MUTED, labelsize=8, length=3)
    ax.grid(True, color=GRID, linewidth=0.6, alpha=0.8)
    ax.set_axisbelow(True)
    ax.set_title(title, color=TEXT, fontsize=10, loc="left", pad=6, fontweight="bold")


def _legend(ax: Any, loc: str = "upper right") -> None:
    leg = ax.legend(loc=loc, fontsize=7.5, frameon=True, facecolor=BG, edgecolor=GRID, labelcolor=TEXT, handlelength=1.4)
    leg.get_frame().set_alpha(0.85)


def _no_data(ax: Any, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", color=MUTED, fontsize=9, transform=ax.transAxes, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def _draw_frame(ax: Any, s: TakeScores) -> None:
    ax.set_facecolor(PANEL)
    ax.axis("off")
    if s.thumbnail is None:
        _no_data(ax, "no picture")
        return
    thumb = s.thumbnail
    ax.imshow(thumb)
    k = thumb.shape[1] / max(1, s.width)
    if s.face_box:
        x, y, w, h = (v * k for v in s.face_box)
        ax.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor=IDENT, linewidth=1.4, linestyle="--"))
    if s.mouth_box:
        x, y, w, h = (v * k for v in s.mouth_box)
        ax.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor=MOUTH, linewidth=1.8))
    if s.portrait_thumbnail is not None:
        inset = ax.inset_axes((0.0, 0.0, 0.28, 0.28 * thumb.shape[1] / thumb.shape[0]))
        inset.imshow(s.portrait_thumbnail)
        inset.set_xticks([])
        inset.set_yticks([])
        for spine in inset.spines.values():
            spine.set_edgecolor(TEXT)
            spine.set_linewidth(1.0)
    title = f"{s.shot_id} · {s.name}" if s.shot_id else s.name
    ax.set_title(title if len(title) <= 34 else title[:33] + "…", color=TEXT, fontsize=10, loc="left", pad=6,
                 fontweight="bold")
    if s.text:
        line = s.text if len(s.text) <= 48 else s.text[:47] + "…"
        ax.text(0.0, -0.04, f"“{line}”", color=MUTED, fontsize=8, style="italic", va="top", transform=ax.transAxes)


def _draw_signals(ax: Any, s: TakeScores) -> None:
    _style(ax, "audio loudness vs mouth opening")
    t = np.asarray(s.series.get("time", []))
    env = np.asarray(s.series.get("audio_envelope", []))
    mouth = np.asarray(s.series.get("mouth_opening", []))
    if not env.size or not mouth.size:
        _no_data(ax, s.sync.get("note", "not measured"))
        return
    n = min(t.size, env.size, mouth.size)
    ax.fill_between(t[:n], 0, env[:n], color=AUDIO, alpha=0.22, linewidth=0)
    ax.plot(t[:n], env[:n], color=AUDIO, linewidth=1.3, label="audio loudness")
    ax.plot(t[:n], mouth[:n], color=MOUTH, linewidth=1.6, label="mouth opening")
    ax.set_xlim(0, max(float(t[n - 1]), 1e-3))
    ax.set_ylim(-0.03, 1.12)
    ax.set_xlabel("seconds", color=MUTED, fontsize=8)
    ax.set_yticks([0, 0.5, 1])
    _legend(ax)


def _draw_lags(ax: Any, s: TakeScores) -> None:
    _style(ax, "sync: correlation vs offset")
    lags = np.asarray(s.sync.get("lags", []))
    corr = np.asarray(s.sync.get("correlation", []))
    if not lags.size:
        _no_data(ax, s.sync.get("note", "not measured"))
        return
    off = int(s.sync["offset_frames"])
    ax.axvspan(-1.5, 1.5, color=GOOD, alpha=0.12, linewidth=0)
    ax.axhline(0, color=GRID, linewidth=1.0)
    ax.plot(lags, corr, color=AUDIO, linewidth=1.6, marker="o", markersize=2.5)
    peak = float(s.sync["confidence"])
    ax.plot([off], [peak], marker="o", markersize=9, color=MOUTH, markeredgecolor=TEXT, zorder=5)
    ax.annotate(f"{off:+d} fr  r={peak:.2f}", (off, peak), xytext=(0, 10), textcoords="offset points",
                ha="center", color=TEXT, fontsize=8.5, fontweight="bold")
    ax.set_xlim(lags.min() - 0.5, lags.max() + 0.5)
    ax.set_ylim(min(-0.3, float(corr.min()) - 0.05), max(1.0, peak + 0.2))
    ax.set_xlabel("offset (frames, + = picture late)", color=MUTED, fontsize=8)


def _draw_identity(ax: Any, s: TakeScores) -> None:
    _style(ax, "identity over time")
    t = np.asarray(s.series.get("identity_time", []))
    if not t.size:
        _no_data(ax, s.identity.get("note", "not measured"))
        return
    lows = [0.8]
    ax.axhspan(IDENTITY_GOOD, 1.02, color=GOOD, alpha=0.10, linewidth=0)
    if "identity_to_portrait" in s.series:
        v = np.asarray(s.series["identity_to_portrait"])
        ax.plot(t, v, color=IDENT, linewidth=1.8, label="vs portrait")
        lows.append(float(v.min()))
    if "identity_arcface" in s.series:
        v = np.asarray(s.series["identity_arcface"])
        ax.plot(t, v, color=AUDIO, linewidth=1.4, label="ArcFace vs portrait")
        lows.append(float(v.min()))
    v = np.asarray(s.series["identity_to_first"])
    ax.plot(t, v, color=FIRST, linewidth=1.2, linestyle="--", label="vs first frame")
    lows.append(float(v.min()))
    ax.set_ylim(max(-0.05, min(lows) - 0.05), 1.02)
    ax.set_xlim(0, max(float(s.duration), 1e-3))
    ax.set_xlabel("seconds", color=MUTED, fontsize=8)
    _legend(ax, "lower left")


def _draw_badges(ax: Any, s: TakeScores) -> None:
    ax.set_facecolor(PANEL)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    items = verdicts(s)
    rows = max(1, len(items))
    h = 0.92 / rows
    for i, (label, value, colour) in enumerate(items):
        y = 0.96 - (i + 1) * h
        ax.add_patch(FancyBboxPatch((0.03, y + 0.1 * h), 0.94, 0.8 * h, boxstyle="round,pad=0,rounding_size=0.03",
                                    facecolor=colour, edgecolor="none", alpha=0.9, transform=ax.transAxes))
        ax.text(0.08, y + 0.5 * h, label, color="white", fontsize=8.5, va="center", transform=ax.transAxes)
        ax.text(0.93, y + 0.5 * h, value, color="white", fontsize=10, va="center", ha="right", fontweight="bold",
                transform=ax.transAxes)


def _row(fig: Figure, spec: Any, s: TakeScores) -> None:
    grid = GridSpecFromSubplotSpec(1, 5, subplot_spec=spec, width_ratios=[1.25, 1.6, 1.15, 1.3, 0.8], wspace=0.28)
    _draw_frame(fig.add_subplot(grid[0]), s)
    _draw_signals(fig.add_subplot(grid[1]), s)
    _draw_lags(fig.add_subplot(grid[2]), s)
    _draw_identity(fig.add_subplot(grid[3]), s)
    _draw_badges(fig.add_subplot(grid[4]), s)


def _header(fig: Figure, title: str, subtitle: str) -> None:
    fig.text(0.012, 0.985, title, color=TEXT, fontsize=16, fontweight="bold", va="top")
    fig.text(0.012, 0.985 - 0.34 / fig.get_figheight(), subtitle, color=MUTED, fontsize=9.5, va="top")


def take_figure(s: TakeScores) -> Figure:
    """One take's row of plots with a title line (the per-take PNG)."""
    fig = plt.figure(figsize=(17, 3.9), facecolor=BG)
    gs = fig.add_gridspec(1, 1, left=0.02, right=0.985, top=0.80, bottom=0.14)
    _row(fig, gs[0], s)
    line = f"“{s.text}”" if s.text else ""
    _header(fig, f"{s.shot_id or s.name}", f"{s.frame_count} frames · {s.fps:g} fps · {s.width}×{s.height} · "
            f"{s.backend or 'unknown backend'} {s.quality}   {line}"[:190])
    return fig


def overview_figure(scores: list[TakeScores], title: str = "Soul Studio · take evaluation") -> Figure:
    """Every take as one row: the sheet editors scan first."""
    rows = max(1, len(scores))
    row_h = 3.1
    height = 1.0 + rows * row_h
    fig = plt.figure(figsize=(17, height), facecolor=BG)
    top = 1 - 0.95 / height
    gs = fig.add_gridspec(rows, 1, left=0.02, right=0.985, top=top, bottom=0.55 / height, hspace=0.6)
    for i, s in enumerate(scores):
        _row(fig, gs[i], s)
    synced = [s for s in scores if "offset_frames" in s.sync]
    worst = max((abs(int(s.sync["offset_frames"])) for s in synced), default=0)
    subtitle = (f"{len(scores)} take(s) · worst sync offset {worst} frame(s) · "
                "offset > 0: picture late · identity: cosine of face descriptors to the portrait")
    _header(fig, title, subtitle)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    fig.savefig(tmp, dpi=110, facecolor=fig.get_facecolor())
    plt.close(fig)
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------- HTML
_CSS = """
body{background:#14161b;color:#e8eaee;font:14px/1.45 -apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:0}
header{padding:24px 32px 8px}h1{font-size:24px;margin:0 0 4px}header p{color:#8b93a3;margin:0}
main{padding:8px 32px 40px}section{background:#1d2027;border-radius:12px;margin:18px 0;padding:16px 18px}
h2{font-size:17px;margin:0 0 2px}.line{color:#8b93a3;font-style:italic;margin:0 0 10px}
.badges{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0 12px}
.badge{border-radius:8px;padding:5px 10px;color:#fff;font-size:12px}.badge b{font-size:14px;margin-left:6px}
img{max-width:100%;border-radius:8px;display:block}.notes{color:#f9a825;font-size:12px;margin:8px 0 0}
.missing{color:#8b93a3;font-size:12px;margin:6px 0 0}a{color:#4fc3f7}.error{color:#e53935}
"""


def _not_computed(s: TakeScores) -> list[str]:
    out = []
    for label, block in (("SyncNet", s.syncnet), ("ArcFace", s.identity.get("arcface", {})), ("FID", s.image.get("fid", {})),
                         ("FVD", s.image.get("fvd", {})), ("CLIP", s.text_alignment)):
        note = block.get("note") if isinstance(block, dict) else None
        if note and str(note).startswith("not computed"):
            out.append(f"{label}: {note}")
    return out


def write_report(scores: list[TakeScores], out_dir: str | os.PathLike[str], errors: dict[str, str] | None = None,
                 title: str = "Soul Studio · take evaluation") -> dict[str, Path]:
    """Write ``report.png`` (all takes), ``<take>.png`` per take and ``index.html``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {"overview": _save(overview_figure(scores, title), out / "report.png")}
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{_CSS}</style></head><body><header><h1>{html.escape(title)}</h1>",
             f"<p>{len(scores)} take(s) · numbers in <a href='results.json'>results.json</a></p></header><main>",
             "<section><h2>Overview</h2><img src='report.png' alt='overview of all takes'></section>"]
    for name, message in (errors or {}).items():
        parts.append(f"<section><h2>{html.escape(name)}</h2><p class='error'>not evaluated: {html.escape(message)}</p></section>")
    for s in scores:
        png = _save(take_figure(s), out / f"{s.name}.png")
        paths[s.name] = png
        badges = "".join(f"<span class='badge' style='background:{c}'>{html.escape(k)}<b>{html.escape(v)}</b></span>"
                         for k, v, c in verdicts(s))
        parts.append(f"<section><h2>{html.escape(s.shot_id or s.name)} <small style='color:#8b93a3'>"
                     f"{html.escape(s.name)}</small></h2>")
        if s.text:
            parts.append(f"<p class='line'>“{html.escape(s.text)}”</p>")
        parts.append(f"<div class='badges'>{badges}</div><img src='{html.escape(png.name)}' alt='{html.escape(s.name)}'>")
        for note in s.notes:
            parts.append(f"<p class='notes'>{html.escape(note)}</p>")
        missing = _not_computed(s)
        if missing:
            parts.append("<p class='missing'>" + "<br>".join(html.escape(m) for m in missing) + "</p>")
        parts.append("</section>")
    parts.append("</main></body></html>\n")
    page = out / "index.html"
    tmp = out / ".index.html.partial"
    tmp.write_text("".join(parts), encoding="utf-8")
    os.replace(tmp, page)
    paths["html"] = page
    return paths


__all__ = ["overview_figure", "take_figure", "verdicts", "write_report"]
