"""The ``tweetgen`` command line: one command per pipeline, plus ``query`` and ``doctor``.

Commands are thin: they read settings, open the backends and call a pipeline function. Errors a
user can fix are printed as one sentence on stderr with exit status 1, never as a stack trace.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from tweetgen.config import ENVIRONMENT_HELP, Settings
from tweetgen.errors import TweetgenError

app = typer.Typer(
    help="Learn to write tweets in the style of one account: feature, training and inference pipelines.",
    epilog=ENVIRONMENT_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

BackendOption = Annotated[
    Optional[str], typer.Option("--backend", help="Feature store: local or hopsworks (default: TWEETGEN_BACKEND or local).")
]
DataDirOption = Annotated[
    Optional[Path], typer.Option("--data-dir", help="Root of the local store and registry (default: TWEETGEN_DATA_DIR or data).")
]


def load_settings(backend: str | None = None, data_dir: Path | None = None, command: str | None = None, **overrides: object) -> Settings:
    """Settings from the environment and ``.env``, with CLI flags on top, checked for ``command``
    (``tweetgen.pipelines.preflight``) before any expensive work."""
    settings = Settings.load().with_overrides(backend=backend and backend.lower(), data_dir=data_dir, **overrides)
    if command:
        from tweetgen.pipelines.preflight import check_command

        check_command(settings, command)
    return settings


@app.command("features")
def features_command(
    source: Annotated[str, typer.Option(help="History source: sample (invented, bundled, offline) or kaggle.")] = "sample",
    path: Annotated[Optional[list[Path]], typer.Option("--path", help="Kaggle CSV files or a folder of them.")] = None,
    download: Annotated[
        bool, typer.Option("--download", help="Kaggle: fetch the files with kagglehub (cached; needs the network) instead of --path.")
    ] = False,
    holdout: Annotated[
        Optional[int],
        typer.Option(help="Newest tweets held back for the replay (default 200, at most a tenth of the history); 0 holds none.", min=0),
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
    source: Annotated[Optional[str], typer.Option(help="replay (held-out tweets, offline) or x (X API, paid per post).")] = None,
    count: Annotated[int, typer.Option(help="Replay: tweets released per run.", min=1)] = 4,
    max_tweets: Annotated[
        int, typer.Option(help="X API: most posts asked for in one run (each read is paid); the next run reads what it left.", min=1)
    ] = 20,
    backend: BackendOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Add new tweets to the `tweets` group as `source = live` (default source: TWEETGEN_LIVE_SOURCE or replay)."""
    from tweetgen.pipelines.jobs import scrape_job

    settings = load_settings(backend, data_dir, "scrape", live_source=source and source.lower())
    for line in scrape_job(settings, count=count, max_tweets=max_tweets).lines():
        typer.echo(line)


@app.command("schedule")
def schedule_command(
    max_runs: Annotated[Optional[int], typer.Option(help="Stop after this many runs (default: run until Ctrl-C).")] = None,
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
    model: Annotated[Optional[str], typer.Option("--model", help="Family built from scratch: lstm (default) or gpt2.")] = None,
    tokenizer: Annotated[Optional[str], typer.Option(help="byte (the LSTM's default) or bpe (GPT-2's default).")] = None,
    base_model: Annotated[str, typer.Option(help="tiny (built from the data, offline), gpt2 (pretrained, for a GPU), a hub id or a local folder.")] = "tiny",
    max_seconds: Annotated[
        Optional[float], typer.Option(help="Training time budget in seconds (default: 300 when no steps or epochs are given).")
    ] = None,
    max_steps: Annotated[Optional[int], typer.Option(help="Optimizer steps.")] = None,
    epochs: Annotated[Optional[float], typer.Option(help="Passes over the training blocks.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Blocks per step (default: the family's).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the initial weights, batches and samples.")] = 0,
    ngram_order: Annotated[
        Optional[int], typer.Option(help="Order of the n-gram of the training tweets the LSTM mixes in (default 7; 0: none).")
    ] = None,
    checkpoint_dir: Annotated[Optional[Path], typer.Option(help="Save a checkpoint here every 10 minutes; run again to resume.")] = None,
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
    config = TrainConfig(base_model=base_model, family=model and model.lower(), tokenizer=tokenizer and tokenizer.lower(),
                         max_seconds=max_seconds, max_steps=max_steps, epochs=epochs, batch_size=batch_size, seed=seed,
                         ngram_order=ngram_order, checkpoint_dir=checkpoint_dir and str(checkpoint_dir), warm_start=warm_start)
    typer.echo(train_job(settings, config).summary())


@app.command("retrain")
def retrain_command(
    max_seconds: Annotated[
        Optional[float], typer.Option(help="Training time budget of a warm start, in seconds (default 60).", min=1)
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
) -> None:
    """Check the cloud setup before deploying: settings, Hopsworks login, feature groups, a scratch group
    written, materialized, read back and deleted, model registry, files; X (paid) and Modal when asked."""
    from tweetgen.pipelines.doctor import run_doctor

    report = run_doctor(load_settings(), check_x=x, check_modal=modal, echo=typer.echo)
    typer.echo(report.summary())
    if report.failed:
        raise typer.Exit(1)


@app.command("infer")
def infer_command(
    as_of: Annotated[Optional[datetime], typer.Option(help="Use the newest tweet at or before this UTC time.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Sampling seed (default: derived from the tweet id).")] = None,
    backend: BackendOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Daily batch inference: generate next to the newest real tweet, into `generated_tweets`."""
    from tweetgen.pipelines.jobs import inference_job

    settings = load_settings(backend, data_dir, "infer")
    for line in inference_job(settings, as_of=as_of and as_of.replace(tzinfo=UTC), seed=seed).lines():
        typer.echo(line)


PortOption = Annotated[Optional[int], typer.Option(help="Port of the app (default: GRADIO_SERVER_PORT or 7860).")]
HostOption = Annotated[
    Optional[str], typer.Option(help="Interface to listen on (default: GRADIO_SERVER_NAME or 127.0.0.1; 0.0.0.0 for all).")
]


@app.command("app")
def app_command(port: PortOption = None, host: HostOption = None, backend: BackendOption = None, data_dir: DataDirOption = None) -> None:
    """Serve the app: real and generated tweets as tweet images, a prompt box, job health, and the JSON API (/api)."""
    from tweetgen.ui.serve import serve_app

    serve_app(load_settings(backend, data_dir, "app"), port, host)


@app.command("demo")
def demo_command(
    serve: Annotated[bool, typer.Option(help="Serve the app when the pipeline is done.")] = True,
    train_seconds: Annotated[float, typer.Option(help="Training budget, shared by the two model families (LSTM, GPT-2).")] = 150.0,
    port: PortOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run every pipeline offline on the local backend, then serve the app."""
    from tweetgen.pipelines.demo import run_demo

    settings = load_settings("local", data_dir, "demo")
    report = run_demo(settings, train_seconds=train_seconds, echo=typer.echo)
    typer.echo("\n".join(["", "Demo pipeline done:", *report.lines()]))
    if serve:
        from tweetgen.ui.serve import serve_app

        serve_app(settings, port)


@app.command("query")
def query_command(
    sql: Annotated[Optional[str], typer.Argument(help="SQL over the feature groups, e.g. \"SELECT count(*) FROM tweets\".")] = None,
    last: Annotated[Optional[int], typer.Option("--last", help="The last N batch inference runs (monitor group).")] = None,
    arms: Annotated[
        bool, typer.Option("--arms", help="The A/B test of the model families: per family, arm and version, over time (monitor group).")
    ] = False,
    runs: Annotated[bool, typer.Option("--runs", help="The last runs of each job (job_runs group): status, counts, error.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    backend: BackendOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run SQL over the feature groups (DuckDB) and print the result; --last and --arms ask the monitor group, --runs the job runs."""
    from tweetgen.pipelines.runs import RUNS_SQL
    from tweetgen.store.factory import open_feature_store
    from tweetgen.store.query import ARMS_SQL, LAST_RUNS_SQL, format_result, run_query

    questions = [q for q in (sql, last is not None and LAST_RUNS_SQL.format(n=int(last)), arms and ARMS_SQL, runs and RUNS_SQL) if q]
    if len(questions) != 1:
        raise typer.BadParameter("give exactly one of: SQL, --last N, --arms, --runs.")
    store = open_feature_store(load_settings(backend, data_dir, "query"))
    typer.echo(format_result(run_query(store, questions[0]), fmt), nl=False)


@app.command("smoke")
def smoke_command(
    url: Annotated[str, typer.Argument(help="The deployed app, e.g. https://<you>--tweetgen-web.modal.run or http://127.0.0.1:7860.")],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each answer (a cold start loads the model).", min=1)] = 120.0,
) -> None:
    """Check a deployed app: /api/health and /api/generate answer; exit 1 if one does not."""
    from tweetgen.clients.smoke import smoke_test

    report = smoke_test(url, timeout_s=timeout)
    for line in report.lines():
        typer.echo(line, err=not report.ok)
    if not report.ok:
        raise typer.Exit(1)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 1 user error, 2 usage error)."""
    try:
        status = app(args=argv, standalone_mode=False)  # a command's typer.Exit(code) comes back as its code
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
