"""Feature pipeline: historical tweets into the `tweets` feature group.

    python feature_engineering.py                                  # bundled sample corpus, local store
    python feature_engineering.py --source kaggle --path DIR       # the Kaggle CSVs
    TWEETGEN_BACKEND=hopsworks python feature_engineering.py       # the same group on Hopsworks

Same as `python -m tweetgen features`; all logic lives in `tweetgen.pipelines.features`.
"""

import sys

from tweetgen.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], command="features", prog="feature_engineering.py"))
