"""The Gradio page: real and generated tweets side by side, their measures, and a prompt box.

``build_app`` only lays out components and wires them to the handlers of ``tweetgen.ui.views``;
it reads nothing and loads no model (the page reads the monitor group when a browser opens it,
and the model loads on the first "Generate"). Gradio 6 takes the look (theme, CSS) at
``launch()``, so ``launch_options()`` returns it for ``app/app.py``, the CLI and Modal's
``gr.mount_gradio_app`` alike.

Endpoints (for ``gradio_client``): ``/show_day`` (a run's label -> three images, summary,
measures) and ``/generate`` (a prompt -> one image). ``/refresh``, run on page load, is
undocumented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from tweetgen.store.port import FeatureStore
from tweetgen.ui.predictor import MAX_PROMPT_CHARS, Predictor
from tweetgen.ui.request_limits import CACHE_SWEEP, launch_limits
from tweetgen.ui.views import (
    FRESH_HINT,
    AuthorCache,
    MonitorCache,
    RunsCache,
    generate_from_prompt,
    health_panel,
    measures_charts,
    message_image,
    page_view,
)

TITLE = "Tweets by a model, next to the account's own"
CHART_IDS = ("chart-bits", "chart-sentiment", "chart-copies")  # the three panels of ``measures_charts``, in order
CSS = """
.gradio-container { max-width: 1320px !important; width: 100% !important; min-width: 0 !important; margin: 0 auto !important; }
.app.main.fillable { padding-left: clamp(10px, 3vw, 32px) !important; padding-right: clamp(10px, 3vw, 32px) !important; }
#intro p { font-size: 1.05rem; color: #536471; margin-top: -0.4rem; }
.card img { object-fit: contain !important; }
.caption p, .caption h3 { margin: 0.2rem 0 0 0 !important; color: #536471; }
#measures, #measures * { font-family: var(--font) !important; }
#measures th, #measures th * { word-break: keep-all !important; overflow-wrap: normal !important; hyphens: none !important; }
#summary code, #health code { white-space: normal !important; overflow-wrap: anywhere; }
#health table { border-collapse: collapse; width: 100%; font-size: var(--text-md); border: none !important; }
#health thead, #health tbody, #health tr { border: none !important; }
#health th, #health td { border: none !important; border-bottom: 1px solid var(--border-color-primary) !important;
  padding: 0.45rem 0.6rem !important; text-align: left; vertical-align: top; }
#health th { color: #536471; font-weight: 600; }
#health th, #health td { word-break: keep-all !important; overflow-wrap: normal !important; }
#health th, #health td:first-child, #health td:nth-child(3), #health td:nth-child(4) { white-space: nowrap; }
@media (max-width: 640px) {
  h1 { font-size: 1.6rem !important; }
  #measures .cell-wrap, #measures td { padding-left: 4px !important; padding-right: 4px !important; }
}
footer { display: none !important; }
"""  # Gradio scopes the rules under @media to the page's content (.contain): the margins are set outside it

GENERATE_CONCURRENCY = 16  # page generations handed to the predictor at once; it batches those that wait


def launch_options() -> dict[str, Any]:
    """Theme, CSS and request limits for ``launch()`` / ``gr.mount_gradio_app()`` (Gradio 6 takes
    them there).

    System fonts only: the page loads nothing from outside the server.
    """
    theme = gr.themes.Base(
        primary_hue="sky",
        neutral_hue="slate",
        radius_size="lg",
        font=["ui-sans-serif", "system-ui", "DejaVu Sans", "sans-serif"],
        font_mono=["ui-monospace", "DejaVu Sans Mono", "monospace"],
    )
    return {"theme": theme, "css": CSS, **launch_limits()}  # no uploads, small bodies (request_limits)


def _card(caption: str, elem_id: str) -> gr.Image:
    """A tweet image under a caption (a column, so the caption never covers the picture)."""
    with gr.Column(scale=1, min_width=280):
        gr.Markdown(f"**{caption}**", elem_classes="caption")
        return gr.Image(show_label=False, type="pil", format="png", interactive=False, buttons=[],
                        elem_id=elem_id, elem_classes="card", container=False)


@dataclass
class _Page:
    """The components the handlers read and write."""

    day: gr.Dropdown
    summary: gr.Markdown
    cards: list[gr.Image]
    measures: gr.Dataframe
    charts: list[gr.Plot]
    prompt: gr.Textbox
    button: gr.Button
    fresh: gr.Image
    health: gr.Markdown


def _layout() -> _Page:
    """Title, explanation, the three cards, the run picker with its measures, the chart, the prompt box."""
    gr.Markdown(f"# {TITLE}")
    gr.Markdown(
        "Each day a small language model trained on one account's tweets (an LSTM or GPT-2, whichever "
        "scores better) answers its newest tweet, from its first two words and from nothing. Generated tweets are labelled parody; "
        "the summary under the cards says when the tweets are the invented sample corpus.",
        elem_id="intro",
    )
    with gr.Row(equal_height=False):
        cards = [_card("The account's tweet", "card-real"), _card("Generated from its first two words", "card-prompted"),
                 _card("Generated from nothing", "card-random")]
    with gr.Row():
        with gr.Column(scale=1, min_width=300):  # as wide as the table: a run's label is long
            day = gr.Dropdown(label="Run", choices=[], allow_custom_value=True, elem_id="day")
            summary = gr.Markdown(elem_id="summary")
        measures = gr.Dataframe(label="Measures of this run", interactive=False, wrap=True, scale=1, min_width=300,
                                column_widths=["31%", "23%", "23%", "23%"], elem_id="measures")
    gr.Markdown("### Measures over time: the real tweet under each model family (the A/B test), the champion's generations", elem_classes="caption")
    with gr.Row(equal_height=False):  # side by side on a wide screen, stacked on a phone
        charts = [gr.Plot(show_label=False, format="png", elem_id=elem_id, elem_classes="chart", min_width=300)
                  for elem_id in CHART_IDS]
    gr.Markdown("## Write the start of a tweet")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1):
            prompt = gr.Textbox(
                label=f"Prompt (at most {MAX_PROMPT_CHARS} characters; empty for a random tweet)",
                placeholder="The rocket", max_length=MAX_PROMPT_CHARS, elem_id="prompt",
            )
            button = gr.Button("Generate", variant="primary", elem_id="generate")
        fresh = _card("A fresh tweet", "card-fresh")
    health = gr.Markdown(elem_id="health")
    return _Page(day, summary, cards, measures, charts, prompt, button, fresh, health)


def build_app(
    store: FeatureStore, predictor: Predictor, username: str = "elonmusk", theme: str = "light", display_name: str | None = None,
    cache_sweep: tuple[int, int] = CACHE_SWEEP,
) -> gr.Blocks:
    """The page, with requests queued: up to ``GENERATE_CONCURRENCY`` generations at a time (the
    predictor runs those waiting for the model as one batch), reads two at a time.

    Args:
        store: where the monitor group is read (on page load, then at most every 30 s).
        predictor: the model behind the prompt box.
        username: the configured account (``TWEETGEN_USERNAME``); each card names the account its
            tweet belongs to (``tweetgen.ui.views.account_for``), this one only for its own tweets.
        display_name: the configured account's name (default: the handle).
        theme: the cards' colours, "light" or "dark".
        cache_sweep: (every N seconds, remove the images Gradio stored more than M seconds ago).
    """
    cache, runs, authors = MonitorCache(store, max_age_s=30), RunsCache(store, max_age_s=30), AuthorCache(store)
    with gr.Blocks(title="tweetgen", analytics_enabled=False, delete_cache=cache_sweep) as demo:
        page = _layout()

        def refresh() -> tuple:
            view, frame = page_view(cache, theme=theme, username=username, display_name=display_name)
            return (gr.Dropdown(choices=view.choices, value=view.choice), *view.images, view.summary, view.measures,
                    *measures_charts(frame), health_panel(runs.frame), message_image(FRESH_HINT, theme))

        def show_day(choice: str | None) -> tuple:
            view, _ = page_view(cache, choice, theme=theme, username=username, display_name=display_name)
            return (*view.images, view.summary, view.measures)

        def generate(prompt_text: str | None) -> Any:
            return generate_from_prompt(prompt_text, predictor, theme=theme, username=username, display_name=display_name,
                                        account=authors.account(username, display_name))

        shown = [*page.cards, page.summary, page.measures]
        demo.load(refresh, outputs=[page.day, *shown, *page.charts, page.health, page.fresh], api_name="refresh", api_visibility="undocumented",
                  concurrency_limit=2, concurrency_id="read")
        page.day.input(show_day, inputs=page.day, outputs=shown, api_name="show_day", concurrency_limit=2, concurrency_id="read")
        gr.on([page.button.click, page.prompt.submit], generate, inputs=page.prompt, outputs=page.fresh,
              api_name="generate", concurrency_limit=GENERATE_CONCURRENCY, concurrency_id="generate")
    demo.queue(max_size=32)
    return demo
