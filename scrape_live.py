"""Live tweets into the `tweets` feature group.

    python scrape_live.py                                  # replay: release 4 held-out tweets, offline
    X_BEARER_TOKEN=... python scrape_live.py --source x    # the X API v2 (paid per post read)

Same as `python -m tweetgen scrape`; all logic lives in `tweetgen.pipelines.live`.
"""

import sys

from tweetgen.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="scrape", prog="scrape_live.py"))
