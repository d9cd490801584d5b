"""Model cards: a Markdown page and a loss-curve picture for each registered version.

The card dict a training run hands to ``ModelRegistry.register`` may hold (all optional):
``description``, ``family``, ``data_version``, ``train_set_id``, ``val_set_id``, ``eval_set_id``,
``settings`` (a dict), ``stopped_by``, ``best_step``, ``samples`` (generated texts),
``loss_curve`` (one training loss per step) and ``val_bits_per_char`` (``[step, bits per
character]`` pairs on the validation slice; cards written before it have ``eval_losses``,
``[step, loss]`` pairs), and the lineage: ``parent_version`` (the version a warm start continued,
None for a fresh start), ``newest_tweet_id`` and ``newest_tweet_at`` (the end of its data). The metrics table shows every metric; the measures of samples
(``sample_*``, ``tweetgen.model.measures.sample_measures``) also get a section of their own.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tweetgen.errors import TweetgenError
from tweetgen.model.measures import COPIED_RUN_WORDS

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
        plot_card_curves(card, folder / LOSS_CURVE_FILE)


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def render_model_card(name: str, version: int, metrics: dict[str, float], card: dict[str, Any]) -> str:
    """The Markdown card of one version: data, settings, metrics, loss curve and samples."""
    lines = [f"# {name}, version {version}", "", card.get("description", "A language model that writes tweets."), ""]
    if card.get("family"):
        lines += [f"Model family: **{card['family']}**.", ""]
    lines += ["## Training data", ""]
    for key in ("data_version", "train_set_id", "val_set_id", "eval_set_id"):
        lines.append(f"- {key}: `{card.get(key) or 'not recorded'}`")
    lineage = lineage_lines(card)
    lines += ["", *lineage] if lineage else []
    lines += ["", "## Settings", "", "```json", json.dumps(card.get("settings", {}), indent=2, default=str), "```", ""]
    lines += _stopping_lines(card)
    lines += _ngram_lines(metrics)
    lines += ["## Metrics", "", "| metric | value |", "|---|---|"]
    lines += [f"| {key} | {value:.6g} |" for key, value in sorted(metrics.items())]
    lines += ["", "Bits per character: total nats over the eval tweets (each framed with bos/eos, eos scored)", "/ ln 2 / (characters + 1 per tweet); comparable across tokenizers and with a compressor.", ""]
    lines += _sample_measure_lines(metrics)
    if card.get("loss_curve"):
        lines += ["## Loss curve", "", f"![training loss]({LOSS_CURVE_FILE})", ""]
    if card.get("samples"):
        lines += ["## Sample generations", ""]
        lines += [f"{i}. {json.dumps(text, ensure_ascii=False)}" for i, text in enumerate(card["samples"], 1)]
        lines.append("")
    return "\n".join(lines)


def lineage_lines(card: dict[str, Any]) -> list[str]:
    """Where the version comes from: the version it continued (or a fresh start) and the newest tweet of its data."""
    parent = card.get("parent_version")
    start = f"Continued from version {parent} (warm start)" if parent is not None else "Trained from a fresh start"
    if card.get("newest_tweet_id") is None:
        return [f"{start}."] if "parent_version" in card else []
    return [f"{start}; its data ends at tweet {card['newest_tweet_id']} of {card.get('newest_tweet_at')} (UTC)."]


def _stopping_lines(card: dict[str, Any]) -> list[str]:
    """Where training stopped and which step's weights were kept (cards that record it)."""
    if card.get("best_step") is None:
        return []
    curve = card.get("val_bits_per_char") or []
    best = min((bpc for _, bpc in curve), default=None)
    last = curve[-1][0] if curve else "?"
    why = {"patience": "held-out bits/char stopped improving", "time": "the time budget ran out", "steps": "its steps were done"}
    return ["## Early stopping", "",
            f"Trained to step {last} ({why.get(card.get('stopped_by'), card.get('stopped_by'))}); kept step "
            f"{card['best_step']}, the best on the validation slice" + (f" ({best:.4f} bits/char)." if best is not None else "."), ""]


def _ngram_lines(metrics: dict[str, float]) -> list[str]:
    """The n-gram the model mixes in (``tweetgen.model.ngram``), when it has one."""
    if not metrics.get("ngram_order"):
        return []
    m = metrics
    return ["## The n-gram mixed in", "",
            f"An order-{int(m['ngram_order'])} n-gram of the training tweets (modified Kneser-Ney) gives {m['ngram_weight']:.0%} of every prediction "
            f"(the weight fitted on the validation slice): {m['val_bits_per_char']:.4f} bits/char there without it, "
            f"{m['val_bits_per_char_with_ngram']:.4f} with it.", ""]


def _sample_measure_lines(metrics: dict[str, float]) -> list[str]:
    """The measures of samples as a reader would judge them (when the run recorded them)."""
    if "sample_count" not in metrics:
        return []
    m = metrics
    lines = [
        f"## {int(m['sample_count'])} samples", "",
        "| distinct-1 | distinct-2 | copy rate | longest shared run | length |", "|---|---|---|---|---|",
        f"| {m['sample_distinct_1']:.3f} | {m['sample_distinct_2']:.3f} | {m['sample_copy_rate']:.0%} | "
        f"{m['sample_copy_words']:.1f} words | {m['sample_mean_chars']:.0f} characters |", "",
        "Distinct-n: distinct word n-grams over all n-grams of the samples (low: the same phrases again and again).",
        f"Copy rate: the share of samples sharing a run of {COPIED_RUN_WORDS} or more words with a training tweet; the",
        "longest shared run is the mean over samples of the longest run of words found in a training tweet.", "",
    ]
    if "sample_non_word_share" in m:
        real = lambda key, spec: format(m[key], spec) if key in m else "not measured"  # noqa: E731
        lines += [
            "| | non-words | cut at the length limit |", "|---|---|---|",
            f"| samples | {m['sample_non_word_share']:.1%} | {m.get('sample_cut_share', 0):.0%} |",
            f"| real eval tweets | {real('real_non_word_share', '.1%')} | {real('real_at_limit_share', '.0%')} (at the limit) |", "",
            "Non-words: words of letters found neither in a training tweet nor in wordfreq's English word list, over all",
            "words of letters. A sample the model did not end within the limit is cut at its last sentence end or word",
            "boundary (then marked with \"…\"), never inside a word.", "",
        ]
    return lines


def plot_card_curves(card: dict[str, Any], path: Path) -> None:
    """``plot_loss_curve`` with what the card holds: validation bits/char, or an older card's eval losses."""
    plot_loss_curve(card["loss_curve"], card.get("eval_losses", []), path, card.get("val_bits_per_char", []))


def plot_loss_curve(losses: list[float], eval_losses: list[list[float]], path: Path, val_bpc: list[list[float]] | None = None) -> None:
    """Draw training loss per step (raw and smoothed), eval losses (older cards) and validation
    bits per character (on a second axis: other units) into a PNG at ``path``."""
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
    handles, labels = axes.get_legend_handles_labels()
    if val_bpc:
        right = axes.twinx()
        right.plot([s for s, _ in val_bpc], [v for _, v in val_bpc], "s-", color="tab:green", label="validation (bits/char)")
        right.set_ylabel("held-out bits per character")
        more_handles, more_labels = right.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    axes.legend(handles, labels)
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
        plot_card_curves(version.card, path)
        return path.read_bytes()
