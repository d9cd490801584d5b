"""The Gradio app: real tweets next to generated ones, read from the monitor feature group.

Run it from the repository root with ``python app/app.py`` (http://127.0.0.1:7860, or ``--port`` /
``--host``, or ``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT``) once the package is installed
(``make install``); it is ``python -m tweetgen app`` under this script's name. On a Hugging Face
Space it is the ``app_file`` of the folder ``scripts/build_space.py`` assembles, next to its own
copy of the package. Settings come from the environment, as for every pipeline: on a Space, the
variables ``TWEETGEN_BACKEND=hopsworks`` and ``HOPSWORKS_PROJECT`` and the secret
``HOPSWORKS_API_KEY`` (until they are set, the page says so).
"""

import sys

from tweetgen.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="app", prog="app.py"))
