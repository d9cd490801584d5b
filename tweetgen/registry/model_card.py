"""Model cards: a Markdown page and a loss-curve picture for each registered version.

The card dict a training run hands to ``ModelRegistry.register`` may hold (all optional):
``description``, ``data_version``, ``train_set_id``, ``eval_set_id``, ``settings`` (a dict),
``samples`` (generated texts), ``loss_curve`` (one training loss per step) and ``eval_losses``
(``[step, loss]`` pairs).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tweetgen.errors import TweetgenError

if TYPE_CHECKING:
    from tweetgen.registry.port import ModelVersion

LOSS_CURVE_FILE = "loss_curve.png"
CARD_FILE = "card.json"
METRICS_FILE = "metrics.json"


def write_version_files(model_dir: Path, folder: Path, metrics: dict[str, float], card: dict[str, Any]) -> None:
    """Copy a saved model into ``folder`` with the files every registry stores beside it:
    ``metrics.json``, ``card.json`` and the loss-curve PNG (``model_card.md`` needs the version
    number, so the registry writes it once the number is known)."""
    shutil.copytree(model_dir, folder, dirs_exist_ok=True)
    write_json(folder / METRICS_FILE, metrics)
    write_json(folder / CARD_FILE, card)
    if card.get("loss_curve"):
        plot_loss_curve(card["loss_curve"], card.get("eval_losses", []), folder / LOSS_CURVE_FILE)


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def render_model_card(name: str, version: int, metrics: dict[str, float], card: dict[str, Any]) -> str:
    """The Markdown card of one version: data, settings, metrics, loss curve and samples."""
    lines = [f"# {name}, version {version}", "", card.get("description", "A GPT-2 that writes tweets."), ""]
    lines += ["## Training data", ""]
    for key in ("data_version", "train_set_id", "eval_set_id"):
        lines.append(f"- {key}: `{card.get(key, 'not recorded')}`")
    lines += ["", "## Settings", "", "```json", json.dumps(card.get("settings", {}), indent=2, default=str), "```", ""]
    lines += ["## Metrics", "", "| metric | value |", "|---|---|"]
    lines += [f"| {key} | {value:.6g} |" for key, value in sorted(metrics.items())]
    lines += ["", "Bits per character: total nats over the eval tweets (each framed with bos/eos, eos scored)", "/ ln 2 / (characters + 1 per tweet); comparable across tokenizers and with a compressor.", ""]
    if card.get("loss_curve"):
        lines += ["## Loss curve", "", f"![training loss]({LOSS_CURVE_FILE})", ""]
    if card.get("samples"):
        lines += ["## Sample generations", ""]
        lines += [f"{i}. {json.dumps(text, ensure_ascii=False)}" for i, text in enumerate(card["samples"], 1)]
        lines.append("")
    return "\n".join(lines)


def plot_loss_curve(losses: list[float], eval_losses: list[list[float]], path: Path) -> None:
    """Draw training loss per step (raw and smoothed) and eval losses into a PNG at ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg: no display, no global backend switch
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 3.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    steps = range(1, len(losses) + 1)
    axes.plot(steps, losses, color="tab:blue", alpha=0.3, linewidth=0.8, label="train (step)")
    axes.plot(steps, _smooth(losses), color="tab:blue", label="train (smoothed)")
    if eval_losses:
        axes.plot([s for s, _ in eval_losses], [v for _, v in eval_losses], "o-", color="tab:orange", label="eval")
    axes.set_xlabel("step")
    axes.set_ylabel("loss (nats per token)")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)


def _smooth(values: list[float], weight: float = 0.9) -> list[float]:
    """Exponential moving average with bias correction (as TensorBoard draws it)."""
    smoothed, average = [], 0.0
    for i, value in enumerate(values, 1):
        average = weight * average + (1 - weight) * value
        smoothed.append(average / (1 - weight**i))
    return smoothed


def loss_curve_png(version: ModelVersion) -> bytes:
    """The PNG of a version's training loss curve: its stored file when local, else drawn from its card.

    Raises:
        TweetgenError: the card holds no loss curve.
    """
    stored = Path(version.location) / LOSS_CURVE_FILE
    if version.location and stored.is_file():
        return stored.read_bytes()
    if not version.card.get("loss_curve"):
        raise TweetgenError(f"Version {version.version} of '{version.name}' has no loss curve in its card.")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / LOSS_CURVE_FILE
        plot_loss_curve(version.card["loss_curve"], version.card.get("eval_losses", []), path)
        return path.read_bytes()
