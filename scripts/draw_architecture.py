"""Draw the architecture diagram of the README: ``python scripts/draw_architecture.py``.

Writes ``assets/architecture.png`` (1600 x 900 pixels): the sources, the feature, training and
batch-inference pipelines, the two stores that are their only links, the app, and the embedded
and cloud backend of each store and of the schedules. Matplotlib only (Agg, DejaVu Sans).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUTPUT = Path(__file__).resolve().parents[1] / "assets" / "architecture.png"
WIDTH, HEIGHT = 160, 90  # drawing units: one unit is 10 pixels of the PNG
DPI = 150

INK = "#1f2933"
MUTED = "#52606d"
ARROW = "#3e4c59"


@dataclass(frozen=True)
class Kind:
    """The colours of one kind of box."""

    fill: str
    edge: str
    title: str


SOURCE = Kind("#f1f5f9", "#64748b", "#334155")
PIPELINE = Kind("#e0f2fe", "#0284c7", "#075985")
STORE = Kind("#fef3c7", "#d97706", "#92400e")
GROUP = Kind("#fffbeb", "#f59e0b", "#92400e")
APP = Kind("#f3e8ff", "#9333ea", "#6b21a8")
EMBEDDED = Kind("#ecfdf5", "#059669", "#065f46")
CLOUD = Kind("#eef2ff", "#4f46e5", "#3730a3")


def box(ax: Axes, x: float, y: float, w: float, h: float, kind: Kind, title: str, lines: tuple[str, ...] = (),
        title_size: float = 10.5, body_size: float = 8.5, title_at: float | None = None, dashed: bool = False) -> None:
    """A rounded box with a bold title and centred lines under it (``title_at``: title's y)."""
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=1.6", linewidth=1.6,
                                facecolor=kind.fill, edgecolor=kind.edge, linestyle="--" if dashed else "-", zorder=2))
    line_gap = body_size * 0.30
    block = title_size * 0.30 + line_gap * len(lines)
    top = title_at if title_at is not None else y + h / 2 + block / 2
    ax.text(x + w / 2, top, title, ha="center", va="top", fontsize=title_size, fontweight="bold", color=kind.title, zorder=4)
    for i, line in enumerate(lines):
        ax.text(x + w / 2, top - title_size * 0.30 - line_gap * i - 0.4, line, ha="center", va="top",
                fontsize=body_size, color=INK, zorder=4)


def pill(ax: Axes, x: float, y: float, w: float, h: float, kind: Kind, label: str, text: str, size: float = 8.0) -> None:
    """A small backend box: ``label`` ("embedded", "cloud") in bold over ``text``."""
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=1.2", linewidth=1.2,
                                facecolor=kind.fill, edgecolor=kind.edge, zorder=2))
    ax.text(x + w / 2, y + h * 0.70, label, ha="center", va="center", fontsize=size, fontweight="bold", color=kind.title, zorder=4)
    ax.text(x + w / 2, y + h * 0.32, text, ha="center", va="center", fontsize=size, color=INK, zorder=4)


def arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], label: str = "", label_at: tuple[float, float] | None = None,
          bend: float = 0.0, ha: str = "center") -> None:
    """An arrow from ``start`` to ``end``, with an optional label on a white ground."""
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>,head_length=5,head_width=3", mutation_scale=1.6,
                                 connectionstyle=f"arc3,rad={bend}", linewidth=1.5, color=ARROW, zorder=3,
                                 shrinkA=0, shrinkB=0))
    if label:
        x, y = label_at or ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 1.6)
        ax.text(x, y, label, ha=ha, va="center", fontsize=7.8, style="italic", color=MUTED, zorder=5,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"})


def build() -> Figure:
    """The diagram as a figure of WIDTH x HEIGHT units (10 pixels each at DPI)."""
    plt.rcParams["font.family"] = "DejaVu Sans"
    fig = plt.figure(figsize=(WIDTH / DPI * 10, HEIGHT / DPI * 10), dpi=DPI, facecolor="white")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(0, HEIGHT)
    ax.axis("off")

    ax.text(1.5, 86.5, "tweetgen: three pipelines linked only by two stores", ha="left", va="center",
            fontsize=15, fontweight="bold", color=INK)
    ax.text(1.5, 82.2, "Each pipeline runs alone, on a schedule or on another machine. Each store and the scheduler "
            "have an embedded default (offline, no account) and a cloud counterpart.", ha="left", va="center",
            fontsize=8.8, color=MUTED)
    x = 110.0  # the legend of the kinds, left to right
    for kind, name in ((SOURCE, "source"), (PIPELINE, "pipeline"), (STORE, "store"), (APP, "app")):
        ax.add_patch(FancyBboxPatch((x, 85.2), 2.6, 2.6, boxstyle="round,pad=0,rounding_size=0.6", linewidth=1.2,
                                    facecolor=kind.fill, edgecolor=kind.edge))
        label = ax.text(x + 3.6, 86.5, name, ha="left", va="center", fontsize=8.5, color=MUTED)
        x = label.get_window_extent(fig.canvas.get_renderer()).transformed(ax.transData.inverted()).x1 + 3.0

    # Sources.
    ax.text(13, 75.5, "SOURCES", ha="center", va="center", fontsize=7.8, fontweight="bold", color=MUTED)
    sources = (("Kaggle history CSVs", ("Elon Musk tweets", "2010-2021 (cloud)"), 60.5),
               ("Sample corpus", ("built-in, deterministic", "(embedded)"), 47.5),
               ("X API v2 | replay", ("new tweets each run", "(cloud | embedded)"), 34.5))
    for (title, lines, y), end_y in zip(sources, (58.5, 54.5, 50.5), strict=True):
        box(ax, 1.5, y, 23.5, 11, SOURCE, title, lines, title_size=9, body_size=8)
        arrow(ax, (25, y + 5.5), (29, end_y))

    # Feature pipeline.
    box(ax, 29, 44.5, 22, 20, PIPELINE, "Feature pipeline", ("clean, validate,", "upsert", "", "feature_engineering.py",
                                                            "scrape_live.py"), title_size=10, body_size=8)

    # Feature store with its two feature groups.
    box(ax, 58.5, 30, 28, 44.5, STORE, "Feature store", (), title_size=11, title_at=72.6)
    box(ax, 60.5, 52.5, 24, 15, GROUP, "tweets", ("feature group v1", "key tweet_id", "event time created_at"),
        title_size=10, body_size=8)
    box(ax, 60.5, 32.5, 24, 16, GROUP, "generated_tweets", ("monitor feature group", "one row per run and", "model: tweets, seed,",
                                                             "measures"), title_size=9.5, body_size=8)
    arrow(ax, (51, 56), (60.5, 60), "upsert", label_at=(55.3, 60.4))

    # Training pipeline and batch inference.
    box(ax, 94.5, 54.5, 28, 20, PIPELINE, "Training pipeline", ("GPU notebook", "train_model.ipynb", "or a Modal GPU function",
                                                               "or the local CPU"), title_size=10, body_size=8)
    box(ax, 94.5, 30, 28, 19, PIPELINE, "Batch inference (daily)", ("the champion + the newest", "real tweet -> prompted and",
                                                                     "random tweets, measures"), title_size=9.5, body_size=8)
    arrow(ax, (84.5, 63), (94.5, 63), "read", label_at=(89.5, 64.8))
    arrow(ax, (84.5, 55), (94.5, 45), "newest", label_at=(90.9, 52.4))
    arrow(ax, (94.5, 38), (84.5, 38), "insert", label_at=(89.5, 39.8))

    # Model registry.
    box(ax, 132.5, 30, 26, 44.5, STORE, "Model registry", (), title_size=11, title_at=72.6)
    sections = (("versions", ("weights, tokenizer,", "model card"), 66.5),
                ("metrics", ("numeric only:", "bits/char, loss"), 56.3),
                ("champion rule", ("lower bits/char on the", "same eval set wins;", "a tie keeps the champion"), 46.1))
    for title, lines, y in sections:
        ax.text(145.5, y, title, ha="center", va="center", fontsize=9.5, fontweight="bold", color=STORE.title, zorder=4)
        for i, line in enumerate(lines):
            ax.text(145.5, y - 2.8 - 2.5 * i, line, ha="center", va="center", fontsize=8, color=INK, zorder=4)
    arrow(ax, (122.5, 64.5), (132.5, 64.5), "register", label_at=(127.5, 66.3))
    arrow(ax, (132.5, 38), (122.5, 38), "champion", label_at=(127.5, 39.8))

    # The app.
    box(ax, 94.5, 3, 28, 17.5, APP, "Gradio app", ("tweet images, measures,", "chart, prompt box",
                                                  "HF Space | Modal | localhost"), title_size=10.5, body_size=8)
    arrow(ax, (84, 30), (98, 20.5), "read", label_at=(93.3, 25.4))
    arrow(ax, (136, 30), (119, 20.5), "champion", label_at=(125.6, 26.6))

    # Backends under each store, and the schedules.
    ax.text(72.5, 26.4, "BACKENDS", ha="center", va="center", fontsize=7.8, fontweight="bold", color=MUTED)
    pill(ax, 56.5, 14, 32, 9, EMBEDDED, "embedded", "Delta Lake + DuckDB under data/")
    pill(ax, 56.5, 3, 32, 9, CLOUD, "cloud", "Hopsworks feature groups")
    ax.text(145.5, 26.4, "BACKENDS", ha="center", va="center", fontsize=7.8, fontweight="bold", color=MUTED)
    pill(ax, 132.5, 14, 26, 9, EMBEDDED, "embedded", "folders under data/models/")
    pill(ax, 132.5, 3, 26, 9, CLOUD, "cloud", "Hopsworks model registry")
    ax.text(26, 26.4, "SCHEDULES (scrape, batch inference)", ha="center", va="center", fontsize=7.8, fontweight="bold",
            color=MUTED)
    pill(ax, 1.5, 14, 49.5, 9, EMBEDDED, "embedded", "local scheduler (python -m tweetgen schedule)")
    pill(ax, 1.5, 3, 49.5, 9, CLOUD, "cloud", "Modal cron functions (modal deploy modal_app.py)")
    return fig


def draw(path: Path) -> None:
    """Draw the diagram into ``path`` (PNG)."""
    fig = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, facecolor="white")
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"PNG to write (default: {OUTPUT})")
    args = parser.parse_args()
    draw(args.output)
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
