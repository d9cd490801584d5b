"""The Gradio app: real tweets next to generated ones, read from the monitor feature group.

Run it from the repository root with ``python app/app.py`` (http://127.0.0.1:7860) once the
package is installed (``make install``). On a Hugging Face Space it is the ``app_file``.
Settings come from the environment, as for every pipeline: on a Space, set the secrets
``TWEETGEN_BACKEND=hopsworks``, ``HOPSWORKS_API_KEY`` and ``HOPSWORKS_PROJECT``.
"""

from tweetgen.config import Settings
from tweetgen.ui.serve import serve_app

if __name__ == "__main__":
    serve_app(Settings.load())
