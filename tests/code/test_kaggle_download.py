"""`feature_engineering.py --source kaggle --download`: kagglehub's own download path, run against
a Kaggle API server on 127.0.0.1 (``tests.fakes.kaggle_server``) serving year files written here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fakes.kaggle_files import write_kaggle_years
from tests.fakes.kaggle_server import API, STORAGE, KaggleServer, kaggle_endpoint, kaggle_server, zip_folder
from tweetgen.cli import main
from tweetgen.config import Settings
from tweetgen.schema import HELD_OUT_TWEETS, JOB_RUNS, TWEETS
from tweetgen.sources.kaggle_download import KAGGLE_DATASET
from tweetgen.sources.replay import holdout_size
from tweetgen.store.local import LocalFeatureStore

OWNER, SLUG = KAGGLE_DATASET.split("/")
N_TWEETS = 40


@pytest.fixture
def kaggle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """The Kaggle dataset (two year files of invented tweets) served at version 3, kagglehub pointed at it."""
    tweets = write_kaggle_years(tmp_path / "published", N_TWEETS)
    state = KaggleServer(OWNER, SLUG, version=3, archive=zip_folder(tmp_path / "published"))
    with kaggle_server(state):
        kaggle_endpoint(monkeypatch, state.url, tmp_path / "kagglehub")
        state.tweets = tweets  # type: ignore[attr-defined]
        yield state


def store() -> LocalFeatureStore:
    return LocalFeatureStore(Settings.load().feature_store_dir)


def test_download_fetches_the_dataset_with_kagglehub_and_ingests_it(kaggle: KaggleServer, tmp_path: Path, capsys) -> None:
    assert main(["features", "--source", "kaggle", "--download"]) == 0
    out = capsys.readouterr().out
    held = holdout_size(N_TWEETS)
    assert re.search(rf"source +kaggle csv \(2 files\)\nlines read +{N_TWEETS + 2}  \(2 header, 0 blank, {N_TWEETS} in rows\)\n"
                     rf"rows read +{N_TWEETS}\n", out)
    assert re.search(rf"held out +{held}  \(the newest", out) and re.search(rf"rows inserted +{N_TWEETS - held}\n", out)
    tweets, held_out = store().read(TWEETS), store().read(HELD_OUT_TWEETS)
    ids = [t.id for t in kaggle.tweets]
    assert sorted(tweets["tweet_id"]) == ids[: N_TWEETS - held] and sorted(held_out["tweet_id"]) == ids[N_TWEETS - held :]
    assert set(tweets["username"]) == {"elonmusk"} and (tweets["source"] == "history").all()
    # kagglehub's own path: the current version, the download (redirected to storage), then unpacked into its cache.
    assert kaggle.paths == [API + "GetDataset", API + "DownloadDataset", STORAGE]
    assert kaggle.requests[1][2] == {"ownerSlug": OWNER, "datasetSlug": SLUG, "datasetVersionNumber": 3}
    cached = tmp_path / "kagglehub" / "datasets" / OWNER / SLUG / "versions" / "3"
    assert sorted(p.name for p in cached.iterdir()) == ["2019.csv", "2021.csv"]
    assert all(auth is None for *_, auth in kaggle.requests), "a public dataset needs no credentials"


def test_a_second_download_comes_from_kagglehubs_cache(kaggle: KaggleServer, capsys) -> None:
    assert main(["features", "--source", "kaggle", "--download"]) == 0
    assert main(["features", "--source", "kaggle", "--download"]) == 0
    assert kaggle.paths.count(API + "DownloadDataset") == 1 and kaggle.paths.count(API + "GetDataset") == 2
    assert "Nothing new: every tweet was already in the feature group." in capsys.readouterr().out


def test_credentials_go_to_kaggle_and_never_into_the_refusal(kaggle: KaggleServer, monkeypatch, capsys) -> None:
    kaggle.refuse = 403
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "secret-kaggle-key-123")
    assert main(["features", "--source", "kaggle", "--download"]) == 1
    _, err = capsys.readouterr()
    assert err.startswith(f"error: Kaggle refused to download {KAGGLE_DATASET} (403); sign in: set KAGGLE_API_TOKEN")
    assert err.count("\n") == 1 and "secret-kaggle-key-123" not in err and "Traceback" not in err
    assert kaggle.requests[-1][3].startswith("Basic ")  # kagglehub sent them (HTTP basic auth)
    assert not store().exists(TWEETS) and not store().exists(HELD_OUT_TWEETS)
    assert store().read(JOB_RUNS)[["job", "status"]].values.tolist() == [["features", "failed"]]


@pytest.mark.parametrize(
    ("change", "sentence"),
    [
        ({"refuse": 404}, f"Kaggle has no dataset {KAGGLE_DATASET} (404)"),
        ({"refuse": 500}, f"Kaggle answered 500 to the download of {KAGGLE_DATASET}"),
        ({"corrupt": True}, f"The download of {KAGGLE_DATASET} was damaged (its checksum does not match)"),
    ],
)
def test_a_failed_download_is_one_sentence_and_writes_nothing(kaggle: KaggleServer, capsys, change: dict, sentence: str) -> None:
    for name, value in change.items():
        setattr(kaggle, name, value)
    assert main(["features", "--source", "kaggle", "--download"]) == 1
    _, err = capsys.readouterr()
    assert err.splitlines()[-1].startswith(f"error: {sentence}") and "Traceback" not in err  # after kagglehub's progress bar
    assert not store().exists(TWEETS)


def test_kaggle_out_of_reach_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with kaggle_server(KaggleServer(OWNER, SLUG, 1, b"")) as gone:
        url = gone.url  # a port nothing listens on once the block ends
    kaggle_endpoint(monkeypatch, url, tmp_path / "kagglehub")
    assert main(["features", "--source", "kaggle", "--download"]) == 1
    _, err = capsys.readouterr()
    assert err.startswith(f"error: Kaggle could not be reached to download {KAGGLE_DATASET} (ConnectionError)")
    assert "--path" in err and err.count("\n") == 1


@pytest.mark.parametrize("args", [["--source", "kaggle", "--download", "--path", "x"], ["--download"]])
def test_download_goes_with_the_kaggle_source_alone(args: list[str], capsys) -> None:
    assert main(["features", *args]) == 1
    assert capsys.readouterr().err == "error: --download fetches the Kaggle files: use it with --source kaggle and without --path.\n"
