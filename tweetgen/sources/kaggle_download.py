"""Fetch the Kaggle "Elon Musk tweets 2010-2021" year files with ``kagglehub`` (``--download``).

kagglehub does the work: it asks Kaggle for the dataset's current version, downloads the archive
(following Kaggle's redirect to its storage, checking the checksum, showing progress), unpacks it
into its cache (``~/.cache/kagglehub``, or ``KAGGLEHUB_CACHE``) and returns the folder. A second
run finds the same version there and downloads nothing. The dataset is public: no account is
needed; where Kaggle asks for one, kagglehub reads ``KAGGLE_API_TOKEN``, or ``KAGGLE_USERNAME``
and ``KAGGLE_KEY``, from the environment, or ``~/.kaggle/kaggle.json``. The files are then read
by ``tweetgen.sources.kaggle`` like any folder passed with ``--path``.
"""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

from tweetgen.errors import SourceError

KAGGLE_DATASET = "ayhmrba/elon-musk-tweets-2010-2021"
DATASET_PAGE = f"https://www.kaggle.com/datasets/{KAGGLE_DATASET}"


def download_kaggle_files(handle: str = KAGGLE_DATASET) -> list[Path]:
    """Download the dataset ``handle`` (or find it in kagglehub's cache); return its CSV files, sorted.

    Raises:
        SourceError: Kaggle cannot be reached, refuses the download, has no such dataset, the
            download is damaged, or the dataset holds no CSV file (one sentence each).
    """
    import kagglehub
    import requests
    from kagglehub.exceptions import DataCorruptionError

    try:
        folder = Path(kagglehub.dataset_download(handle))
    except requests.HTTPError as error:
        raise SourceError(_http_sentence(handle, error)) from None
    except requests.RequestException as error:
        raise SourceError(
            f"Kaggle could not be reached to download {handle} ({type(error).__name__}); check the network, "
            f"or download the files from {DATASET_PAGE} and pass their folder with --path."
        ) from None
    except DataCorruptionError:
        raise SourceError(f"The download of {handle} was damaged (its checksum does not match); run the command again.") from None
    except (OSError, ValueError) as error:  # a full disk, an unreadable cache or kaggle.json
        raise SourceError(f"Downloading {handle} failed: {_first_line(error)}; fix that, or pass the files with --path.") from None
    files = sorted(path for path in folder.rglob("*.csv") if path.is_file())
    if not files:
        raise SourceError(f"The Kaggle dataset {handle}, downloaded to {folder}, holds no .csv file; is it the right dataset?")
    return files


def _http_sentence(handle: str, error: Exception) -> str:
    """One sentence for an HTTP error status Kaggle answered with."""
    response = getattr(error, "response", None)
    status = response.status_code if response is not None else None
    if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
        return (
            f"Kaggle refused to download {handle} ({status}); sign in: set KAGGLE_API_TOKEN (or KAGGLE_USERNAME and "
            "KAGGLE_KEY) in the environment, or put the kaggle.json of https://www.kaggle.com/settings in ~/.kaggle/."
        )
    if status == HTTPStatus.NOT_FOUND:
        return f"Kaggle has no dataset {handle} (404); check the handle at {DATASET_PAGE}."
    return f"Kaggle answered {status} to the download of {handle}; try again later, or download the files from {DATASET_PAGE} and pass --path."


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
