"""Tweet image rendering speed: milliseconds per card at scale 2.

    python bench/bench_render.py                 # 60 cards per case
    python bench/bench_render.py --cards 200

Cases: a short tweet and a 280-character tweet with emoji, in both themes. Each card has its own
text (the same words shuffled with a fixed seed), so the word-width cache helps only as much as
recurring words help a real feed. Compared in the same run against a naive baseline: the same
renderer with every cache cleared before each card, i.e. fonts and cmaps loaded, icons and the
avatar drawn again for every card.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SHORT = "Starship flight test went well. Next one in a few weeks!"
VOCABULARY = (
    "rockets are hard but reusable ones are harder — we will get there soon 🚀 Mars base "
    "needs a lot of steel and even more patience 😀 production hell is real, déjà vu 👍 "
    "Tesla robotaxi next year probably, maybe, who knows"
)
WORDS = VOCABULARY.split()


def texts(case: str, n: int, seed: int = 7) -> list[str]:
    """``n`` different texts for ``case``: "short" (~60 chars) or "long" (280 chars with emoji)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if case == "short":
            out.append(f"{SHORT} #{i}")
            continue
        words, text = WORDS[:], ""
        rng.shuffle(words)
        for word in words * 3:
            if len(text) + len(word) + 1 > 280:
                break
            text = f"{text} {word}".strip()
        out.append(text.ljust(280, "!"))
    return out


def time_cards(cards: list, theme: str, cold: bool) -> list[float]:
    """Milliseconds to render each card; ``cold`` clears every cache before each one."""
    from tweetgen.ui.render import clear_caches, render_tweet

    timings = []
    for card in cards:
        if cold:
            clear_caches()
        started = time.perf_counter()
        render_tweet(card, theme=theme, scale=2)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=60, help="cards per case and theme")
    args = parser.parse_args()

    from tweetgen.ui.render import TweetCard, clear_caches, find_fonts, render_tweet

    fonts = find_fonts()
    print(f"fonts: {Path(fonts.regular[0]).parent} | CJK: {fonts.fallbacks or 'none'} | colour emoji: {fonts.emoji or 'none'}")
    when = datetime(2015, 12, 22, 15, 4, tzinfo=UTC)
    rows = []
    for case in ("short", "long"):
        cards = [
            TweetCard(text=t, display_name="Elon Musk", handle="elonmusk", created_at=when, replies=1234, retweets=12345, likes=3_400_000)
            for t in texts(case, args.cards)
        ]
        for theme in ("light", "dark"):
            clear_caches()
            render_tweet(cards[0], theme=theme)  # warm-up: the first card pays for loading fonts
            cached = time_cards(cards, theme, cold=False)
            naive = time_cards(cards[: max(5, args.cards // 4)], theme, cold=True)
            rows.append((case, theme, cached, naive))

    print(f"\n{'case':<6} {'theme':<6} {'cached mean':>12} {'cached p95':>11} {'naive mean':>11} {'naive p95':>10} {'speed-up':>9}")
    for case, theme, cached, naive in rows:
        mean_c, mean_n = statistics.fmean(cached), statistics.fmean(naive)
        print(
            f"{case:<6} {theme:<6} {mean_c:>9.1f} ms {p95(cached):>8.1f} ms "
            f"{mean_n:>8.1f} ms {p95(naive):>7.1f} ms {mean_n / mean_c:>8.1f}x"
        )


if __name__ == "__main__":
    main()
