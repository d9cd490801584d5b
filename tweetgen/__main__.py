"""``python -m tweetgen``: the command line (see ``tweetgen.cli``)."""

import sys

from tweetgen.cli import main

sys.exit(main())
