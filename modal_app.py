"""The cloud deployment on Modal: scheduled scrapes and batch inference, GPU training, the app.

    modal secret create hopsworks HOPSWORKS_API_KEY=... HOPSWORKS_PROJECT=...
    modal secret create x-api X_BEARER_TOKEN=...
    modal deploy modal_app.py                 # the cron jobs and the web app (page and /api)
    python -m tweetgen smoke https://<you>--tweetgen-web.modal.run   # right after a deploy
    modal run modal_app.py::train             # fine-tune GPT-2 on a GPU, register to Hopsworks

Every function calls the same job as the command line (``tweetgen.pipelines.jobs``) with settings read
from the environment. The image sets ``TWEETGEN_BACKEND=hopsworks`` and reads live tweets from the
X API; the secrets bring the keys. Job notification settings (``TWEETGEN_SMTP_*``,
``TWEETGEN_NOTIFY_*``) set in the deploying shell or ``.env`` travel to the jobs as a secret.
Every job run is recorded in the ``job_runs`` feature group as run by ``modal``. Cron specs come from ``tweetgen.config``, where the local
scheduler (``python -m tweetgen schedule``) reads them too.
"""

from pathlib import Path

import modal

from tweetgen.config import INFERENCE_CRON, SCRAPE_CRON, notify_environment

REPO = Path(__file__).resolve().parent
CLOUD_ENV = {"TWEETGEN_BACKEND": "hopsworks", "TWEETGEN_LIVE_SOURCE": "x", "GRADIO_ANALYTICS_ENABLED": "False"}
GPU = "L4"  # bf16-capable and inexpensive; "A100" or "H100" train GPT-2 124M several times faster

app = modal.App("tweetgen")
image = (
    modal.Image.debian_slim(python_version="3.11")
    .apt_install("fonts-noto-color-emoji", "fonts-noto-cjk", "fonts-dejavu-core")
    .uv_pip_install(requirements=[str(REPO / "requirements.txt")])
    .env(CLOUD_ENV)
    .add_local_python_source("tweetgen")  # last, so editing the package does not rebuild the image
)
hopsworks_secret = modal.Secret.from_name("hopsworks", required_keys=["HOPSWORKS_API_KEY", "HOPSWORKS_PROJECT"])
x_api_secret = modal.Secret.from_name("x-api", required_keys=["X_BEARER_TOKEN"])
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
    schedule=modal.Cron(SCRAPE_CRON, timezone="UTC"),
    timeout=300,
    retries=modal.Retries(max_retries=2, initial_delay=60.0),
)
def scrape() -> list[str]:
    """New tweets of the account into the `tweets` feature group."""
    from tweetgen.config import Settings
    from tweetgen.pipelines.jobs import scrape_job

    return _report(scrape_job(Settings.load(), runner="modal").lines())


@app.function(
    image=image,
    secrets=[hopsworks_secret, notify_secret],
    schedule=modal.Cron(INFERENCE_CRON, timezone="UTC"),
    timeout=900,
    retries=modal.Retries(max_retries=1, initial_delay=60.0),
)
def daily_inference() -> list[str]:
    """The champion (and challenger) answer the newest tweet into `generated_tweets`."""
    from tweetgen.config import Settings
    from tweetgen.pipelines.jobs import inference_job

    return _report(inference_job(Settings.load(), runner="modal").lines())


@app.function(image=image, secrets=[hopsworks_secret, notify_secret], gpu=GPU, timeout=3 * 3600)
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


@app.function(image=image, secrets=[hopsworks_secret], max_containers=1, timeout=600)
@modal.concurrent(max_inputs=20)
@modal.asgi_app()
def web():
    """The app (the Gradio page and the JSON API under /api), for those without a Hugging Face Space."""
    from tweetgen.config import Settings
    from tweetgen.ui.serve import server_from_settings

    return server_from_settings(Settings.load())
