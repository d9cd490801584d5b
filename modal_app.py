"""The cloud deployment on Modal: scheduled scrapes, retraining and batch inference, GPU training, the app.

Deploying needs only ``pip install modal`` on your machine (this file imports nothing else but the
package's standard-library modules); docs/deploy.md has the steps in order:

    modal setup
    modal secret create hopsworks HOPSWORKS_API_KEY=... HOPSWORKS_PROJECT=... HOPSWORKS_HOST=...
    modal secret create x-api X_BEARER_TOKEN=... [X_USER_ID=...]
    modal deploy modal_app.py                 # the cron jobs and the web app (page and /api)
    python -m tweetgen smoke https://<you>--tweetgen-web.modal.run   # right after a deploy
    modal run --detach modal_app.py::train    # fine-tune GPT-2 on a GPU, register to Hopsworks

Every function calls the same job as the command line (``tweetgen.pipelines.jobs``) with settings read
from the environment. The images set ``TWEETGEN_BACKEND=hopsworks`` and read live tweets from the
X API; the secrets bring the keys. Job notification settings (``TWEETGEN_SMTP_*``,
``TWEETGEN_NOTIFY_*``) set in the deploying shell or ``.env`` travel to the jobs as a secret.
Every job run is recorded in the ``job_runs`` feature group as run by ``modal``. Cron specs come from ``tweetgen.config``, where the local
scheduler (``python -m tweetgen schedule``) reads them too.

Two images: the scrape, the batch inference and the web app run on the CPU, so their image has
PyTorch's CPU build (no CUDA libraries, several GB less to build and to start); only ``train``
gets the CUDA build, from PyPI. ``bench/bench_images.py`` resolves both and reports their sizes.

Timeouts follow from the write plan (``tweetgen.clients.write_plan``): a job's own work, then for
each feature group it writes the worst wait for its materialization jobs (``HOPSWORKS_JOB_TIMEOUT``)
and calls (``HOPSWORKS_TIMEOUT``), with a margin. They are read from the deploying shell (or
``.env``) and handed to the functions in their image, so both use the same values: set them there,
not in the ``hopsworks`` secret.

A container's disk is thrown away after each run, so nothing is kept there: the X source keeps
its cursor and the account's user id in the feature store. The Volume ``tweetgen-data`` backs
``TWEETGEN_DATA_DIR``, and ``TWEETGEN_DATA_VOLUME`` says so: the local backend on Modal is refused
unless that marker names a mounted volume holding the data dir. ``train`` saves a checkpoint there
every ten minutes, so a run that is cut off (preempted, or stopped) resumes when it runs again.
"""

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import modal

from tweetgen.clients.write_plan import WORK_S, job_timeout_s
from tweetgen.config import INFERENCE_CRON, RETRAIN_CRON, SCRAPE_CRON, Settings, notify_environment

REPO = Path(__file__).resolve().parent
DATA_MOUNT = "/data"  # where the Volume is mounted; the data dir and the marker point at it
DEPLOYED = Settings.load()  # the deploying shell's (and .env's) timeouts, which the functions get too
CLOUD_ENV = {
    "TWEETGEN_BACKEND": "hopsworks",
    "TWEETGEN_LIVE_SOURCE": "x",
    "TWEETGEN_DATA_DIR": DATA_MOUNT,
    "TWEETGEN_DATA_VOLUME": DATA_MOUNT,
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HOPSWORKS_TIMEOUT": f"{DEPLOYED.hopsworks_timeout_s:g}",
    "HOPSWORKS_JOB_TIMEOUT": f"{DEPLOYED.hopsworks_job_timeout_s:g}",
}
GPU = "L4"  # bf16-capable and inexpensive; "A100" or "H100" train GPT-2 124M several times faster
# Requests (cores, MiB); Modal reserves 0.125 core and 128 MiB otherwise. Measured on a laptop: the
# imports (hopsworks, torch, transformers, gradio) take ~470 MiB resident, GPT-2 124M generating ~1 GiB.
SCRAPE_RESOURCES = {"cpu": 0.5, "memory": 1024}  # tweepy, pandas and the Hopsworks client; no model
MODEL_RESOURCES = {"cpu": 2.0, "memory": 3072}  # the model on the CPU: batch inference and the app
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"


def torch_pin() -> str:
    """The ``torch==`` line of requirements.txt, so both images install the version it pins."""
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if line.split("#")[0].strip().startswith("torch=="):
            return line.split("#")[0].strip()
    raise RuntimeError("requirements.txt pins no torch version")


def runtime_image(torch_index: str | None) -> modal.Image:
    """The runtime set on Debian with the fonts the cards use; torch from ``torch_index`` (None: PyPI)."""
    image = modal.Image.debian_slim(python_version="3.11").apt_install(
        "fonts-noto-color-emoji", "fonts-noto-cjk", "fonts-dejavu-core"
    )
    if torch_index is not None:  # first, so requirements.txt finds torch installed (2.13.0+cpu is 2.13.0)
        image = image.uv_pip_install(torch_pin(), index_url=torch_index)
    return (
        image.uv_pip_install(requirements=[str(REPO / "requirements.txt")])  # the runtime set only, pinned
        .env(CLOUD_ENV)
        # Last, so editing the package does not rebuild the image. By default only .py files are
        # shipped; the package's avatar picture is data, so everything but bytecode goes.
        .add_local_python_source("tweetgen", ignore=["**/__pycache__/**", "**/*.pyc"])
    )


app = modal.App("tweetgen")
image = runtime_image(CPU_TORCH_INDEX)  # scrape, daily_inference, web
gpu_image = runtime_image(None)  # train: PyPI's torch wheel for Linux is the CUDA build
data_volume = modal.Volume.from_name("tweetgen-data", create_if_missing=True)
volumes = {DATA_MOUNT: data_volume}
hopsworks_secret = modal.Secret.from_name("hopsworks", required_keys=["HOPSWORKS_API_KEY", "HOPSWORKS_PROJECT"])
x_api_secret = modal.Secret.from_name("x-api", required_keys=["X_BEARER_TOKEN"])  # and X_USER_ID, if you know it
# Job notifications: the TWEETGEN_SMTP_* / TWEETGEN_NOTIFY_* settings of the deploying shell (or .env).
notify_secret = modal.Secret.from_dict(notify_environment())
SCRAPE_TIMEOUT_S = job_timeout_s("scrape", DEPLOYED)
INFERENCE_TIMEOUT_S = job_timeout_s("inference", DEPLOYED)
RETRAIN_TIMEOUT_S = job_timeout_s("retrain", DEPLOYED)
TRAIN_TIMEOUT_S = job_timeout_s("train", DEPLOYED)
MAX_TRAIN_SECONDS = WORK_S["train"] - 1800  # the rest of train's work: loading, evaluation, registering
WEB_TIMEOUT_S = 600
CHECKPOINT_COMMIT_S = 120.0  # train commits the Volume this often: its checkpoints (every 10 min) survive a cut-off


def checkpoint_folder(settings: Settings) -> Path:
    """Where train keeps its checkpoint: under the data dir, the Volume on Modal; one folder per
    model name (the training pipeline removes it once the model is registered)."""
    return settings.data_dir / "checkpoints" / settings.model_name


@contextlib.contextmanager
def committing(volume: modal.Volume, every_s: float, active: bool = True) -> Iterator[None]:
    """Commit ``volume`` every ``every_s`` seconds while the block runs, and once at its end, so
    that a checkpoint written there survives a container that is cut off (a Volume's changes are
    seen by the next container only once committed). Off Modal (``active`` False) it does nothing."""
    if not active:
        yield
        return
    stop = threading.Event()

    def commit_until_stopped() -> None:
        while not stop.wait(every_s):
            volume.commit()

    worker = threading.Thread(target=commit_until_stopped, name="volume-commits", daemon=True)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join()
        volume.commit()


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
    timeout=SCRAPE_TIMEOUT_S,  # X reads (240 s at most), then tweets, x_cursor and job_runs as the write plan says
    retries=0,  # a retry would pay for the same posts again; the next day's run resumes where this stopped
    **SCRAPE_RESOURCES,
)
def scrape() -> list[str]:
    """New tweets of the account into the `tweets` feature group."""
    from tweetgen.pipelines.jobs import scrape_job

    return _report(scrape_job(Settings.load(), runner="modal").lines())


@app.function(
    image=image,
    secrets=[hopsworks_secret, notify_secret],
    volumes=volumes,
    schedule=modal.Cron(RETRAIN_CRON, timezone="UTC"),
    timeout=RETRAIN_TIMEOUT_S,
    **MODEL_RESOURCES,
)
def retrain() -> list[str]:
    """Continue the champion on its new tweets when enough arrived or it drifts: an LSTM here on
    the CPU, a GPT-2 champion on the GPU function."""
    from tweetgen.pipelines.jobs import retrain_job, retrain_needs_gpu

    settings = Settings.load()
    if retrain_needs_gpu(settings):
        return retrain_on_gpu.remote()
    return _report(retrain_job(settings, runner="modal").lines())


@app.function(image=gpu_image, secrets=[hopsworks_secret, notify_secret], volumes=volumes, gpu=GPU, timeout=RETRAIN_TIMEOUT_S)
def retrain_on_gpu() -> list[str]:
    """The retrain job of a GPT-2 champion, on the GPU (called by ``retrain``)."""
    from tweetgen.pipelines.jobs import retrain_job

    return _report(retrain_job(Settings.load(), runner="modal").lines())


@app.function(
    image=image,
    secrets=[hopsworks_secret, notify_secret],
    volumes=volumes,
    schedule=modal.Cron(INFERENCE_CRON, timezone="UTC"),
    timeout=INFERENCE_TIMEOUT_S,  # generation, then generated_tweets and job_runs as the write plan says
    retries=modal.Retries(max_retries=1, initial_delay=60.0),  # free to repeat: a rerun adds no row twice
    **MODEL_RESOURCES,
)
def daily_inference() -> list[str]:
    """The champion (and challenger) answer the newest tweet into `generated_tweets`."""
    from tweetgen.pipelines.jobs import inference_job

    return _report(inference_job(Settings.load(), runner="modal").lines())


@app.function(image=gpu_image, secrets=[hopsworks_secret, notify_secret], volumes=volumes, gpu=GPU, timeout=TRAIN_TIMEOUT_S)
def train(
    base_model: str = "gpt2", epochs: float = 3.0, max_seconds: float = 3600.0, batch_size: int = 32, seed: int = 0
) -> str:
    """Fine-tune ``base_model`` in bf16 on the GPU for ``epochs`` (at most ``max_seconds``) and
    register it; it becomes champion only if it beats the current one. A checkpoint is saved on
    the Volume every ten minutes: the same call, run again after a cut-off, resumes from it."""
    from tweetgen.errors import ConfigError
    from tweetgen.model.train import TrainConfig
    from tweetgen.pipelines.jobs import train_job

    if max_seconds > MAX_TRAIN_SECONDS:
        raise ConfigError(
            f"max_seconds={max_seconds:g} leaves evaluation and registering no room in train's {TRAIN_TIMEOUT_S} s "
            f"timeout; pass at most {MAX_TRAIN_SECONDS:g}, or raise WORK_S['train'] in tweetgen/clients/write_plan.py."
        )
    settings = Settings.load()
    config = TrainConfig(
        base_model=base_model, max_seconds=max_seconds, epochs=epochs, batch_size=batch_size, seed=seed, precision="auto",
        checkpoint_dir=str(checkpoint_folder(settings)),
    )
    with committing(data_volume, every_s=CHECKPOINT_COMMIT_S, active=settings.on_modal):
        summary = train_job(settings, config, runner="modal").summary()
    print(summary, flush=True)
    return summary


@app.function(image=image, secrets=[hopsworks_secret], volumes=volumes, max_containers=1, timeout=WEB_TIMEOUT_S, **MODEL_RESOURCES)
@modal.concurrent(max_inputs=20)
@modal.asgi_app()
def web():
    """The app (the Gradio page and the JSON API under /api), for those without a Hugging Face Space."""
    from tweetgen.ui.serve import server_from_settings

    return server_from_settings(Settings.load())
