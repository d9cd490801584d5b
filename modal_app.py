"""The cloud deployment on Modal: scheduled scrapes, retraining and batch inference, GPU training, the app.

    modal secret create hopsworks HOPSWORKS_API_KEY=... HOPSWORKS_PROJECT=...
    modal secret create x-api X_BEARER_TOKEN=... [X_USER_ID=...]
    modal deploy modal_app.py                 # the cron jobs and the web app (page and /api)
    python -m tweetgen smoke https://<you>--tweetgen-web.modal.run   # right after a deploy
    modal run modal_app.py::train             # fine-tune GPT-2 on a GPU, register to Hopsworks

Every function calls the same job as the command line (``tweetgen.pipelines.jobs``) with settings read
from the environment. The image sets ``TWEETGEN_BACKEND=hopsworks`` and reads live tweets from the
X API; the secrets bring the keys. Job notification settings (``TWEETGEN_SMTP_*``,
``TWEETGEN_NOTIFY_*``) set in the deploying shell or ``.env`` travel to the jobs as a secret.
Every job run is recorded in the ``job_runs`` feature group as run by ``modal``. Cron specs come from ``tweetgen.config``, where the local
scheduler (``python -m tweetgen schedule``) reads them too.

A container's disk is thrown away after each run, so nothing is kept there: the X source keeps
its cursor and the account's user id in the feature store. The Volume ``tweetgen-data`` backs
``TWEETGEN_DATA_DIR``, and ``TWEETGEN_DATA_VOLUME`` says so: the local backend on Modal is refused
unless that marker names a mounted volume holding the data dir.
"""

from pathlib import Path

import modal

from tweetgen.config import INFERENCE_CRON, RETRAIN_CRON, SCRAPE_CRON, notify_environment

REPO = Path(__file__).resolve().parent
DATA_MOUNT = "/data"  # where the Volume is mounted; the data dir and the marker point at it
CLOUD_ENV = {
    "TWEETGEN_BACKEND": "hopsworks",
    "TWEETGEN_LIVE_SOURCE": "x",
    "TWEETGEN_DATA_DIR": DATA_MOUNT,
    "TWEETGEN_DATA_VOLUME": DATA_MOUNT,
    "GRADIO_ANALYTICS_ENABLED": "False",
}
GPU = "L4"  # bf16-capable and inexpensive; "A100" or "H100" train GPT-2 124M several times faster
# Requests (cores, MiB); Modal reserves 0.125 core and 128 MiB otherwise. Measured on a laptop: the
# imports (hopsworks, torch, transformers, gradio) take ~470 MiB resident, GPT-2 124M generating ~1 GiB.
SCRAPE_RESOURCES = {"cpu": 0.5, "memory": 1024}  # tweepy, pandas and the Hopsworks client; no model
MODEL_RESOURCES = {"cpu": 2.0, "memory": 3072}  # the model on the CPU: batch inference and the app

app = modal.App("tweetgen")
image = (
    modal.Image.debian_slim(python_version="3.11")
    .apt_install("fonts-noto-color-emoji", "fonts-noto-cjk", "fonts-dejavu-core")
    .uv_pip_install(requirements=[str(REPO / "requirements.txt")])  # the runtime set only, pinned
    .env(CLOUD_ENV)
    # Last, so editing the package does not rebuild the image. By default only .py files are
    # shipped; the package's avatar picture is data, so everything but bytecode goes.
    .add_local_python_source("tweetgen", ignore=["**/__pycache__/**", "**/*.pyc"])
)
data_volume = modal.Volume.from_name("tweetgen-data", create_if_missing=True)
volumes = {DATA_MOUNT: data_volume}
hopsworks_secret = modal.Secret.from_name("hopsworks", required_keys=["HOPSWORKS_API_KEY", "HOPSWORKS_PROJECT"])
x_api_secret = modal.Secret.from_name("x-api", required_keys=["X_BEARER_TOKEN"])  # and X_USER_ID, if you know it
# Job notifications: the TWEETGEN_SMTP_* / TWEETGEN_NOTIFY_* settings of the deploying shell (or .env).
notify_secret = modal.Secret.from_dict(notify_environment())


def _report(lines: list[str]) -> list[str]:
    """Print a job's report in the function's log and return it to a caller."""
    for line in lines:
        print(line, flush=True)
    return lines


@app.function(
    image=image,
    secrets=[hopsworks_secret, x_api_secret, notify_secret],
    volumes=volumes,
    schedule=modal.Cron(SCRAPE_CRON, timezone="UTC"),
    timeout=600,  # X reads stop within 240 s (MODAL_TIME_BUDGET_S); the write then waits up to HOPSWORKS_JOB_TIMEOUT (240 s)
    retries=0,  # a retry would pay for the same posts again; the next day's run resumes where this stopped
    **SCRAPE_RESOURCES,
)
def scrape() -> list[str]:
    """New tweets of the account into the `tweets` feature group."""
    from tweetgen.config import Settings
    from tweetgen.pipelines.jobs import scrape_job

    return _report(scrape_job(Settings.load(), runner="modal").lines())


@app.function(
    image=image,
    secrets=[hopsworks_secret, notify_secret],
    volumes=volumes,
    schedule=modal.Cron(RETRAIN_CRON, timezone="UTC"),
    timeout=1800,
    **MODEL_RESOURCES,
)
def retrain() -> list[str]:
    """Continue the champion on its new tweets when enough arrived or it drifts: an LSTM here on
    the CPU, a GPT-2 champion on the GPU function."""
    from tweetgen.config import Settings
    from tweetgen.pipelines.jobs import retrain_job, retrain_needs_gpu

    settings = Settings.load()
    if retrain_needs_gpu(settings):
        return retrain_on_gpu.remote()
    return _report(retrain_job(settings, runner="modal").lines())


@app.function(image=image, secrets=[hopsworks_secret, notify_secret], volumes=volumes, gpu=GPU, timeout=3600)
def retrain_on_gpu() -> list[str]:
    """The retrain job of a GPT-2 champion, on the GPU (called by ``retrain``)."""
    from tweetgen.config import Settings
    from tweetgen.pipelines.jobs import retrain_job

    return _report(retrain_job(Settings.load(), runner="modal").lines())


@app.function(
    image=image,
    secrets=[hopsworks_secret, notify_secret],
    volumes=volumes,
    schedule=modal.Cron(INFERENCE_CRON, timezone="UTC"),
    timeout=900,
    retries=modal.Retries(max_retries=1, initial_delay=60.0),  # free to repeat: a rerun adds no row twice
    **MODEL_RESOURCES,
)
def daily_inference() -> list[str]:
    """The champion (and challenger) answer the newest tweet into `generated_tweets`."""
    from tweetgen.config import Settings
    from tweetgen.pipelines.jobs import inference_job

    return _report(inference_job(Settings.load(), runner="modal").lines())


@app.function(image=image, secrets=[hopsworks_secret, notify_secret], volumes=volumes, gpu=GPU, timeout=3 * 3600)
def train(
    base_model: str = "gpt2", epochs: float = 3.0, max_seconds: float = 3600.0, batch_size: int = 32, seed: int = 0
) -> str:
    """Fine-tune ``base_model`` in bf16 on the GPU for ``epochs`` (at most ``max_seconds``) and
    register it; it becomes champion only if it beats the current one."""
    from tweetgen.config import Settings
    from tweetgen.model.train import TrainConfig
    from tweetgen.pipelines.jobs import train_job

    config = TrainConfig(
        base_model=base_model, max_seconds=max_seconds, epochs=epochs, batch_size=batch_size, seed=seed, precision="auto"
    )
    summary = train_job(Settings.load(), config, runner="modal").summary()
    print(summary, flush=True)
    return summary


@app.function(image=image, secrets=[hopsworks_secret], volumes=volumes, max_containers=1, timeout=600, **MODEL_RESOURCES)
@modal.concurrent(max_inputs=20)
@modal.asgi_app()
def web():
    """The app (the Gradio page and the JSON API under /api), for those without a Hugging Face Space."""
    from tweetgen.config import Settings
    from tweetgen.ui.serve import server_from_settings

    return server_from_settings(Settings.load())
