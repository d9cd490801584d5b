"""The Gradio app: real tweets next to generated ones, read from the monitor feature group.

Run it from the repository root with ``python app/app.py`` (http://127.0.0.1:7860). On a Hugging
Face Space it is the ``app_file``; the ``tweetgen`` package is copied next to it (see README.md).
Settings come from the environment, as for every pipeline: on a Space, set the secrets
``TWEETGEN_BACKEND=hopsworks``, ``HOPSWORKS_API_KEY`` and ``HOPSWORKS_PROJECT``.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if not (HERE / "tweetgen").is_dir():  # in the repository the package sits one folder up
    sys.path.insert(0, str(HERE.parent))

from tweetgen.config import Settings  # noqa: E402 (after the path is set)
from tweetgen.serve import serve_app  # noqa: E402

if __name__ == "__main__":
    serve_app(Settings.load())
