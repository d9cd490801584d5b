"""Daily batch inference: the champion model writes tweets next to the newest real one.

    python batch_inference.py                        # local store and registry
    python batch_inference.py --as-of 2026-03-20     # the newest tweet at or before a day
    python -m tweetgen query "SELECT * FROM generated_tweets ORDER BY generated_at DESC LIMIT 5"

Same as `python -m tweetgen infer`; all logic lives in `tweetgen.pipelines.inference`.
"""

import sys

from tweetgen.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="infer", prog="batch_inference.py"))
