"""The ``tweetgen`` command line: one command per pipeline, plus ``query`` and ``doctor``.

Commands are thin: they read settings, open the backends and call a pipeline function. Errors a
user can fix are printed as one sentence on stderr with exit status 1, never as a stack trace;
usage errors (an unknown flag, a flag's value that cannot work) exit 2. The thin scripts
(``feature_engineering.py``, ...) run one command under their own name (``main(argv, command=...)``),
so their usage line names the script.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
import typer.main

from tweetgen.config import BACKENDS, ENVIRONMENT_HELP, LIVE_SOURCES, Settings
from tweetgen.errors import TweetgenError, UsageError
from tweetgen.model.families import FAMILIES, TOKENIZERS
from tweetgen.sources.factory import HISTORY_SOURCES

FORMATS = ("table", "csv", "json")  # tweetgen.store.query.format_result's (not imported here: it loads DuckDB)

app = typer.Typer(
    help="Learn to write tweets in the style of one account: feature, training and inference pipelines.",
    epilog=ENVIRONMENT_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



def one_of(choices: tuple[str, ...]) -> Callable[..., Optional[str]]:
    """A flag's check: its value, lowercased, is one of ``choices`` (or it is not given)."""

    def check(param: typer.CallbackParam, value: Optional[str]) -> Optional[str]:
        if value is None:
            return None
        if value.lower() not in choices:
            raise UsageError(f"{param.opts[0]} is {value!r}; use one of {', '.join(choices)}.")
        return value.lower()

    return check


def between(low: int, high: int | None = None) -> Callable[..., Any]:
    """A flag's check: a whole number from ``low`` (to ``high``), or not given."""

    def check(param: typer.CallbackParam, value: Any) -> Any:
        if value is not None and not (low <= value and (high is None or value <= high)):
            number = "a whole number" if isinstance(value, int) else "a number"
            wanted = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise UsageError(f"{param.opts[0]} is {value}; use {number} {wanted}.")
        return value

    return check


def choice_option(flag: str, choices: tuple[str, ...], help: str) -> Any:
    return typer.Option(flag, help=help, metavar="|".join(choices), callback=one_of(choices))


BackendOption = Annotated[
    Optional[str], choice_option("--backend", BACKENDS, "Feature store (default: TWEETGEN_BACKEND or local).")
]
DataDirOption = Annotated[
    Optional[Path],
    typer.Option("--data-dir", metavar="DIR", help="Root of the local store and registry (default: TWEETGEN_DATA_DIR or data)."),
]


def load_settings(backend: str | None = None, data_dir: Path | None = None, command: str | None = None, **overrides: object) -> Settings:
    """Settings from the environment and ``.env``, with CLI flags on top, checked for ``command``
    (``tweetgen.pipelines.preflight``) before any expensive work."""
    settings = Settings.load().with_overrides(backend=backend, data_dir=data_dir, **overrides)
    if command:
        from tweetgen.pipelines.preflight import check_command

        check_command(settings, command)
    return settings


@app.command("features")
def features_command(
    source: Annotated[
        str, choice_option("--source", HISTORY_SOURCES, "History source: sample (invented, bundled, offline) or kaggle (the Kaggle files).")
    ] = "sample",
    path: Annotated[
        Optional[list[Path]], typer.Option("--path", metavar="PATH", help="Kaggle CSV files or a folder of them (repeat for several).")
    ] = None,
    download: Annotated[
        bool, typer.Option("--download", help="Kaggle: fetch the files with kagglehub (cached; needs the network) instead of --path.")
    ] = False,
    holdout: Annotated[
        Optional[int],
        typer.Option(metavar="N", callback=between(0),
                     help="Newest tweets held back for the replay (default 200, at most a tenth of the history); 0 holds none."),
    ] = None,
    backend: BackendOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Build the `tweets` feature group from historical tweets (idempotent: upsert on tweet_id); the
    newest go to `held_out_tweets`, for the replay to release as live tweets."""
    from tweetgen.pipelines.jobs import features_job

    settings = load_settings(backend, data_dir, "features")
    for line in features_job(settings, source, path or [], holdout=holdout, download=download).lines():
        typer.echo(line)


@app.command("scrape")
def scrape_command(
    source: Annotated[
        Optional[str], choice_option("--source", LIVE_SOURCES, "replay (held-out tweets, offline) or x (X API, paid per post).")
    ] = None,
    count: Annotated[int, typer.Option(metavar="N", callback=between(1), help="Replay: tweets released per run.")] = 4,
    max_tweets: Annotated[
        int,
        typer.Option(metavar="N", callback=between(1),
                     help="X API: most posts asked for in one run (each read is paid); the next run reads what it left."),
    ] = 20,
    backend: BackendOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Add new tweets to the `tweets` group as `source = live` (default source: TWEETGEN_LIVE_SOURCE or replay)."""
    from tweetgen.pipelines.jobs import scrape_job

    settings = load_settings(backend, data_dir, "scrape", live_source=source)
    for line in scrape_job(settings, count=count, max_tweets=max_tweets).lines():
        typer.echo(line)


@app.command("schedule")
def schedule_command(
    max_runs: Annotated[
        Optional[int], typer.Option(metavar="N", callback=between(1), help="Stop after this many runs (default: run until Ctrl-C).")
    ] = None,
    backend: BackendOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run the scheduled jobs in this process, on the same cron specs as the Modal app."""
    from tweetgen.pipelines.jobs import scheduled_jobs
    from tweetgen.pipelines.preflight import check_schedule
    from tweetgen.pipelines.scheduler import run_forever

    settings = load_settings(backend, data_dir)
    check_schedule(settings)  # every job's requirements now, not at its first run
    run_forever(scheduled_jobs(settings), max_runs=max_runs)


@app.command("train")
def train_command(
    model: Annotated[Optional[str], choice_option("--model", FAMILIES, "Family built from scratch (default: lstm).")] = None,
    tokenizer: Annotated[
        Optional[str], choice_option("--tokenizer", TOKENIZERS, "byte (the LSTM's default) or bpe (GPT-2's default).")
    ] = None,
    base_model: Annotated[
        str, typer.Option(metavar="MODEL", help="tiny (built from the data, offline), gpt2 (pretrained, for a GPU), a hub id or a local folder.")
    ] = "tiny",
    max_seconds: Annotated[
        Optional[float],
        typer.Option(metavar="SECONDS", help="Training time budget in seconds (default: 300 when no steps or epochs are given)."),
    ] = None,
    max_steps: Annotated[Optional[int], typer.Option(metavar="N", help="Optimizer steps.")] = None,
    epochs: Annotated[Optional[float], typer.Option(metavar="N", help="Passes over the training blocks (a fraction too).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(metavar="N", help="Blocks per step (default: the family's).")] = None,
    seed: Annotated[int, typer.Option(metavar="N", help="Seed of the initial weights, batches and samples.")] = 0,
    ngram_order: Annotated[
        Optional[int],
        typer.Option(metavar="N", help="Order of the n-gram of the training tweets the LSTM mixes in (default 7; 0: none)."),
    ] = None,
    checkpoint_dir: Annotated[
        Optional[Path], typer.Option(metavar="DIR", help="Save a checkpoint here every 10 minutes; run again to resume.")
    ] = None,
    warm_start: Annotated[
        bool, typer.Option("--warm-start", help="Continue the champion's weights (same family, tokenizer and shape; default budget 60 s).")
    ] = False,
    backend: BackendOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Train on the `tweets` group until held-out bits/char stops improving (or the budget is spent),
    keep the best weights, register the model; it becomes champion only if it is better. With
    --warm-start, continue the champion on the tweets now in the store."""
    from tweetgen.pipelines.preflight import check_train_options

    check_train_options(max_steps=max_steps, batch_size=batch_size, epochs=epochs, max_seconds=max_seconds,
                        family=model, tokenizer=tokenizer, ngram_order=ngram_order)
    settings = load_settings(backend, data_dir, "train")
    from tweetgen.model.train import DEFAULT_MAX_SECONDS, TrainConfig
    from tweetgen.pipelines.jobs import train_job

    if max_seconds is None and max_steps is None and epochs is None and not warm_start:
        max_seconds = DEFAULT_MAX_SECONDS  # no horizon given: the default budget, with early stopping (a warm start's is shorter)
    config = TrainConfig(base_model=base_model, family=model, tokenizer=tokenizer,
                         max_seconds=max_seconds, max_steps=max_steps, epochs=epochs, batch_size=batch_size, seed=seed,
                         ngram_order=ngram_order, checkpoint_dir=checkpoint_dir and str(checkpoint_dir), warm_start=warm_start)
    typer.echo(train_job(settings, config).summary())


@app.command("retrain")
def retrain_command(
    max_seconds: Annotated[
        Optional[float], typer.Option(metavar="SECONDS", help="Training time budget of a warm start, in seconds (default 60).")
    ] = None,
    backend: BackendOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run the retrain job once, as the scheduler would: continue the champion if enough new tweets
    arrived since its data (TWEETGEN_RETRAIN_MIN_NEW_TWEETS) or it drifts, and say what was decided."""
    settings = load_settings(backend, data_dir, "retrain")
    from tweetgen.model.train import TrainConfig
    from tweetgen.pipelines.jobs import retrain_job

    for line in retrain_job(settings, TrainConfig(max_seconds=max_seconds)).lines():
        typer.echo(line)


@app.command("models")
def models_command(backend: BackendOption = None, data_dir: DataDirOption = None) -> None:
    """List the registered model versions, their metrics and the champion."""
    from tweetgen.registry.factory import open_model_registry
    from tweetgen.registry.port import format_versions

    settings = load_settings(backend, data_dir, "models")
    registry = open_model_registry(settings)
    typer.echo(format_versions(registry, settings.model_name))


@app.command("doctor")
def doctor_command(
    x: Annotated[bool, typer.Option("--x", help="Also check X_BEARER_TOKEN: one paid user lookup (about $0.010).")] = False,
    modal: Annotated[bool, typer.Option("--modal", help="Also check the Modal token and the secrets modal_app.py mounts.")] = False,
    backend: BackendOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check the cloud setup before deploying: settings, Hopsworks login, feature groups, a scratch group
    written, materialized, read back and deleted, model registry, files; X (paid) and Modal when asked;
    on the local backend, the data directory and its store too."""
    from tweetgen.pipelines.doctor import run_doctor

    report = run_doctor(load_settings(backend, data_dir), check_x=x, check_modal=modal, echo=typer.echo)
    typer.echo(report.summary())
    if report.failed:
        raise typer.Exit(1)


@app.command("infer")
def infer_command(
    as_of: Annotated[
        Optional[datetime], typer.Option(metavar="TIME", help="Use the newest tweet at or before this UTC time, e.g. 2026-03-20 or 2026-03-20T06:00.")
    ] = None,
    seed: Annotated[Optional[int], typer.Option(metavar="N", callback=between(0), help="Sampling seed (default: derived from the tweet id).")] = None,
    backend: BackendOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Daily batch inference: generate next to the newest real tweet, into `generated_tweets`."""
    from tweetgen.pipelines.jobs import inference_job

    settings = load_settings(backend, data_dir, "infer")
    for line in inference_job(settings, as_of=as_of and as_of.replace(tzinfo=UTC), seed=seed).lines():
        typer.echo(line)


PortOption = Annotated[
    Optional[int], typer.Option(metavar="PORT", callback=between(1, 65535), help="Port of the app (default: GRADIO_SERVER_PORT or 7860).")
]
HostOption = Annotated[
    Optional[str],
    typer.Option(metavar="HOST", help="Interface to listen on (default: GRADIO_SERVER_NAME or 127.0.0.1; 0.0.0.0 for all)."),
]


@app.command("app")
def app_command(port: PortOption = None, host: HostOption = None, backend: BackendOption = None, data_dir: DataDirOption = None) -> None:
    """Serve the app: real and generated tweets as tweet images, a prompt box, job health, and the JSON API (/api)."""
    from tweetgen.pipelines.preflight import check_command
    from tweetgen.ui.serve import serve_app

    settings = load_settings(backend, data_dir)
    if not settings.space_id:  # a Space without its settings serves a page that lists them instead
        check_command(settings, "app")
    warn_missing_fonts()
    serve_app(settings, port, host)


@app.command("demo")
def demo_command(
    serve: Annotated[bool, typer.Option(help="Serve the app when the pipeline is done.")] = True,
    train_seconds: Annotated[
        float, typer.Option(metavar="SECONDS", help="Training budget, shared by the two model families (LSTM, GPT-2).")
    ] = 150.0,
    port: PortOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run every pipeline offline on the local backend, then serve the app."""
    from tweetgen.pipelines.demo import run_demo

    settings = load_settings("local", data_dir, "demo")
    if serve:  # a busy port is said now, not after minutes of pipelines
        from tweetgen.ui.serve import listening_socket

        listening_socket(*settings.app_address(port)).close()
    warn_missing_fonts()
    report = run_demo(settings, train_seconds=train_seconds, echo=typer.echo)
    typer.echo("\n".join(["", "Demo pipeline done:", *report.lines()]))
    if serve:
        from tweetgen.ui.serve import serve_app

        serve_app(settings, port)


def warn_missing_fonts() -> None:
    """Say on stderr which fonts the tweet images lack here and how to install them (``make demo``
    does; ``python -m tweetgen demo`` alone does not)."""
    from tweetgen.ui.render import missing_fonts_warning

    if warning := missing_fonts_warning():
        typer.echo(warning, err=True)


@app.command("query")
def query_command(
    sql: Annotated[
        Optional[str], typer.Argument(metavar="SQL", help="SQL over the feature groups, e.g. \"SELECT count(*) FROM tweets\".")
    ] = None,
    last: Annotated[
        Optional[int],
        typer.Option("--last", metavar="N", callback=between(1),
                     help="The last N runs of the daily job (monitor group), each with its champion and challenger rows."),
    ] = None,
    arms: Annotated[
        bool, typer.Option("--arms", help="The A/B test of the model families: per family, arm and version, over time (monitor group).")
    ] = False,
    runs: Annotated[bool, typer.Option("--runs", help="The last runs of each job (job_runs group): status, counts, error.")] = False,
    drift: Annotated[
        bool,
        typer.Option("--drift", help="Per day and model family: the real tweets' bits/char and its change, the generations' "
                                     "lengths, copied words and sentiment (monitor group)."),
    ] = False,
    fmt: Annotated[str, choice_option("--format", FORMATS, "How to print the result.")] = "table",
    backend: BackendOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run SQL over the feature groups (DuckDB) and print the result; --last, --arms and --drift ask the monitor group, --runs the job runs."""
    from tweetgen.pipelines.runs import RUNS_SQL
    from tweetgen.store.factory import open_feature_store
    from tweetgen.store.query import ARMS_SQL, DRIFT_SQL, LAST_RUNS_SQL, format_result, run_query

    asked = (sql, last is not None and LAST_RUNS_SQL.format(n=int(last)), arms and ARMS_SQL, runs and RUNS_SQL, drift and DRIFT_SQL)
    questions = [q for q in asked if q]
    if len(questions) != 1:
        raise typer.BadParameter("give exactly one of: SQL, --last N, --arms, --runs, --drift.")
    settings = load_settings(backend, data_dir, "query")
    store = open_feature_store(settings)
    result = run_query(store, questions[0], memory_mb=settings.query_memory_mb, timeout_s=settings.query_timeout_s)
    typer.echo(format_result(result, fmt), nl=False)


@app.command("smoke")
def smoke_command(
    url: Annotated[
        str, typer.Argument(metavar="URL", help="The deployed app, e.g. https://<you>--tweetgen-web.modal.run or http://127.0.0.1:7860.")
    ],
    timeout: Annotated[
        float, typer.Option(metavar="SECONDS", callback=between(1), help="Seconds to wait for each answer (a cold start loads the model).")
    ] = 120.0,
    backend: Annotated[
        Optional[str], choice_option("--backend", BACKENDS, "Also check that the app reads this store: its newest run is the app's.")
    ] = None,
    data_dir: Annotated[
        Optional[Path], typer.Option("--data-dir", metavar="DIR", help="The local store to compare with (implies --backend local).")
    ] = None,
) -> None:
    """Check a deployed app: /api/health and /api/generate answer (and with --backend or --data-dir, that
    /api/runs answers the store's newest run); exit 1 if one does not."""
    from tweetgen.clients.smoke import smoke_test

    store_run = None
    if backend or data_dir:
        store_run = newest_run(load_settings(backend or "local", data_dir, "query"))
    report = smoke_test(url, timeout_s=timeout, store_run=store_run)
    for line in report.lines():
        typer.echo(line, err=not report.ok)
    if not report.ok:
        raise typer.Exit(1)


def newest_run(settings: Settings) -> Any:
    """The newest run of the daily job in the store ``settings`` name (``tweetgen.clients.smoke.StoreRun``)."""
    from tweetgen.clients.smoke import StoreRun
    from tweetgen.schema import GENERATED_TWEETS
    from tweetgen.store.factory import open_feature_store
    from tweetgen.store.query import NEWEST_RUN_SQL, run_query

    store = open_feature_store(settings)
    if not store.exists(GENERATED_TWEETS):
        return StoreRun(store.where, None)
    rows = run_query(store, NEWEST_RUN_SQL)
    if rows.empty:
        return StoreRun(store.where, None)
    newest = rows["generated_at"].iloc[0].to_pydatetime()
    return StoreRun(store.where, newest, frozenset(zip(rows["tweet_id"].tolist(), rows["model_version"].tolist(), strict=True)))


def command_line(command: str | None = None) -> Any:
    """The click command of ``app`` (or of one of its commands), its help free of type labels: a
    flag shows no value, every other option the metavar it was given (``N``, ``DIR``, ``lstm|gpt2``),
    and an argument its name alone (Typer would add ``<str>``)."""
    root = typer.main.get_command(app)
    commands = list(root.commands.values())  # type: ignore[attr-defined]
    for each in [root, *commands]:
        help_option = each.get_help_option(typer.Context(each))
        for param in [*each.params, help_option]:
            if param is not None and getattr(param, "is_flag", False):
                param.metavar = ""
            elif param is not None and param.param_type_name == "argument":
                param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
    return root.commands[command] if command else root  # type: ignore[attr-defined]


def main(argv: list[str] | None = None, command: str | None = None, prog: str | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 1 user error, 2 usage error).

    ``command`` runs one command alone, as a script does, with ``prog`` (the script's name) on its
    usage line: ``main(sys.argv[1:], command="features", prog="feature_engineering.py")``.
    """
    try:
        # a command's typer.Exit(code) comes back as its code
        status = command_line(command).main(args=argv, prog_name=prog, standalone_mode=False)
    except UsageError as error:
        typer.echo(f"error: {error}", err=True)
        return 2
    except TweetgenError as error:
        typer.echo(f"error: {error}", err=True)
        return 1
    except typer.Exit as done:
        return done.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("Aborted.", err=True)
        return 130
    except typer.TyperException as error:  # usage errors: bad flags, missing arguments
        error.show()  # type: ignore[attr-defined]
        return getattr(error, "exit_code", 2)
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
