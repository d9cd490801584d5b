"""The model registry: validation, versions on disk, loading, corruption, and the champion rule."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from tests.fakes.tweet_texts import invented_tweets
from tweetgen.errors import TweetgenError
from tweetgen.model.build import build_tiny_model, train_tokenizer
from tweetgen.registry.champion import challengers, decide_champion
from tweetgen.registry.local import LocalModelRegistry
from tweetgen.registry.model_card import loss_curve_png
from tweetgen.registry.port import ModelVersion, RegistryError

CARD = {"eval_set_id": "sha256:aaaa", "data_version": "tweets v1 @ 3", "loss_curve": [3.0, 2.5, 2.2], "samples": ["hi 🚀"]}


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> Path:
    """A one-layer model and its tokenizer saved with save_pretrained."""
    folder = tmp_path_factory.mktemp("saved")
    tokenizer = train_tokenizer(invented_tweets(100), vocab_size=300)
    build_tiny_model(tokenizer, n_layer=1, n_embd=32, n_head=2, n_positions=32).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def version(number: int, score: float | None, eval_set: str | None = "sha256:aaaa", family: str | None = None) -> ModelVersion:
    metrics = {} if score is None else {"eval_bits_per_char": score}
    return ModelVersion("m", number, metrics, {"eval_set_id": eval_set} | ({"family": family} if family else {}))


@pytest.mark.parametrize("name", ["tweet-gpt2", "", "tweet gpt2", "modèle", "a/b"])
def test_invalid_model_names_are_refused_before_writing(tmp_path, saved_model, name) -> None:
    with pytest.raises(RegistryError, match="letters, digits and underscores"):
        LocalModelRegistry(tmp_path / "models").register(saved_model, name, {"loss": 1.0}, CARD)
    assert not (tmp_path / "models").exists()


@pytest.mark.parametrize("value", ["1.5", None, True, float("nan"), float("inf")])
def test_metrics_must_be_finite_numbers(tmp_path, saved_model, value) -> None:
    with pytest.raises(RegistryError, match="must be finite numbers"):
        LocalModelRegistry(tmp_path / "models").register(saved_model, "m", {"loss": value}, CARD)
    assert not (tmp_path / "models").exists()


def test_register_writes_a_complete_version_that_loads_identically(tmp_path, saved_model) -> None:
    registry = LocalModelRegistry(tmp_path / "models")
    first = registry.register(saved_model, "tweet_gpt2", {"eval_bits_per_char": 2.5, "steps": 10}, CARD)
    second = registry.register(saved_model, "tweet_gpt2", {"eval_bits_per_char": 2.4}, CARD)
    assert (first.version, second.version) == (1, 2)
    folder = tmp_path / "models" / "tweet_gpt2" / "1"
    for name in ("model.safetensors", "tokenizer.json", "metrics.json", "card.json", "model_card.md", "loss_curve.png"):
        assert (folder / name).is_file(), name
    assert (folder / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"
    card_text = (folder / "model_card.md").read_text()
    assert "tweet_gpt2, version 1" in card_text and "tweets v1 @ 3" in card_text and "hi 🚀" in card_text
    assert [v.metrics for v in registry.versions("tweet_gpt2")] == [{"eval_bits_per_char": 2.5, "steps": 10.0}, {"eval_bits_per_char": 2.4}]
    assert registry.champion("tweet_gpt2") is None  # registering never promotes
    model, tokenizer = registry.load(first)
    reference = build_tiny_model(tokenizer, n_layer=1, n_embd=32, n_head=2, n_positions=32).eval()
    x = torch.tensor([[tokenizer.bos_token_id, 10, 11, 12, 13]])
    assert torch.equal(model(input_ids=x).logits, reference(input_ids=x).logits)  # same seed, same weights


def test_concurrent_registrations_get_distinct_numbers(tmp_path, saved_model) -> None:
    registry = LocalModelRegistry(tmp_path / "models")
    with ThreadPoolExecutor(4) as pool:
        numbers = list(pool.map(lambda i: registry.register(saved_model, "m", {"i": i}, {}).version, range(6)))
    assert sorted(numbers) == [1, 2, 3, 4, 5, 6]
    assert sorted(v.metrics["i"] for v in registry.versions("m")) == [0, 1, 2, 3, 4, 5]
    assert [p.name for p in (tmp_path / "models" / "m").iterdir() if p.name.startswith(".incoming")] == []


@pytest.mark.parametrize("damage", ["model.safetensors", "metrics.json"])
def test_a_corrupt_version_folder_is_named(tmp_path, saved_model, damage) -> None:
    registry = LocalModelRegistry(tmp_path / "models")
    registered = registry.register(saved_model, "m", {"eval_bits_per_char": 2.0}, CARD)
    path = tmp_path / "models" / "m" / "1" / damage
    if damage == "metrics.json":
        path.write_text("{not json")
    else:
        path.unlink()
    with pytest.raises(TweetgenError, match=r"models/m/1"):
        registry.versions("m")
    with pytest.raises(TweetgenError, match=r"models/m/1"):
        registry.load(registered)


def test_unreadable_weights_fail_to_load_with_the_folder_named(tmp_path, saved_model) -> None:
    registry = LocalModelRegistry(tmp_path / "models")
    registered = registry.register(saved_model, "m", {"eval_bits_per_char": 2.0}, CARD)
    (tmp_path / "models" / "m" / "1" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(RegistryError, match=r"The model version folder .*models/m/1 is corrupt"):
        registry.load(registered)


def test_champion_rule_on_the_same_eval_set() -> None:
    assert decide_champion(version(1, 2.0), None, None).promoted
    assert decide_champion(version(2, 1.9), version(1, 2.0), None).promoted
    worse = decide_champion(version(2, 2.1), version(1, 2.0), None)
    assert not worse.promoted and "does not beat" in worse.reason
    assert not decide_champion(version(2, 2.0), version(1, 2.0), None).promoted  # a tie keeps the champion
    assert not decide_champion(version(2, None), version(1, 2.0), None).promoted
    assert not decide_champion(version(1, None), None, None).promoted


def test_champion_is_rescored_on_a_different_eval_set() -> None:
    calls: list[int] = []

    def rescore(champion: ModelVersion) -> float:
        calls.append(champion.version)
        return 2.5  # the old champion does worse on the new, harder set

    decision = decide_champion(version(2, 2.2, "sha256:new"), version(1, 2.0, "sha256:old"), rescore)
    assert decision.promoted and calls == [1] and decision.champion_score == 2.5
    assert "re-scored" in decision.reason
    kept = decide_champion(version(2, 2.2, "sha256:new"), version(1, 2.0, "sha256:old"), lambda _: 2.1)
    assert not kept.promoted
    assert not decide_champion(version(2, 1.0, "sha256:new"), version(1, 2.0, "sha256:old"), None).promoted
    decide_champion(version(2, 1.0), version(1, 2.0), rescore)
    assert calls == [1]  # the same set is never re-scored


def test_promote_if_better_records_the_champion_and_why(tmp_path, saved_model) -> None:
    registry = LocalModelRegistry(tmp_path / "models")
    first = registry.register(saved_model, "m", {"eval_bits_per_char": 2.0}, CARD)
    assert registry.promote_if_better(first).promoted
    worse = registry.register(saved_model, "m", {"eval_bits_per_char": 2.2}, CARD)
    assert not registry.promote_if_better(worse).promoted
    assert registry.champion("m").version == 1
    better = registry.register(saved_model, "m", {"eval_bits_per_char": 1.8}, CARD)
    assert registry.promote_if_better(better).promoted
    record = json.loads((tmp_path / "models" / "m" / "champion.json").read_text())
    assert record["version"] == 3 and record["previous"] == 1 and record["previous_score"] == 2.0
    assert "beats version 1" in record["reason"]
    assert registry.champion("m").version == 3


def test_loss_curve_png_reads_the_stored_file_or_draws_it_from_the_card(tmp_path: Path) -> None:
    card = {"loss_curve": [3.0, 2.5, 2.0], "eval_losses": [[3, 2.2]]}
    remote = ModelVersion("m", 1, {}, card, "Models/m/1")  # e.g. a Hopsworks path: nothing local
    assert loss_curve_png(remote)[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "loss_curve.png").write_bytes(b"\x89PNG stored")
    assert loss_curve_png(ModelVersion("m", 2, {}, card, str(tmp_path))) == b"\x89PNG stored"
    with pytest.raises(TweetgenError, match="no loss curve"):
        loss_curve_png(ModelVersion("m", 3, {}, {}, "Models/m/3"))


def test_the_challenger_of_each_other_family_is_its_best_whole_version_on_the_champions_eval_set() -> None:
    champion = version(2, 2.0, family="lstm")
    versions = [
        version(1, 2.3),  # no family recorded: a GPT-2 from before families
        champion,
        version(3, 2.1, family="gpt2"),  # the best GPT-2 on the champion's set...
        version(4, 2.05, family="gpt2"),  # ...but its files are broken
        version(5, 1.5, "sha256:other", family="gpt2"),  # scored on another set: not comparable
        version(6, 1.9, family="lstm"),  # the champion's family: no arm
        version(7, 9.9, "sha256:other", family="llama"),  # a family with no comparable score: its newest
        version(8, 9.0, "sha256:other2", family="llama"),
    ]
    picked = challengers(versions, champion, is_whole=lambda v: v.version != 4)
    assert [(v.family, v.version) for v in picked] == [("gpt2", 3), ("llama", 8)]
    assert challengers([champion, version(6, 1.9, family="lstm")], champion, lambda v: True) == []


def test_every_branch_of_the_champion_rule_decides_every_field() -> None:
    from tweetgen.registry.champion import ChampionDecision

    champion = version(1, 2.0)
    cases = [
        (decide_champion(version(2, None), champion, None),
         ChampionDecision(False, 2, 1, "Version 2 has no finite eval_bits_per_char.", None)),
        (decide_champion(version(2, 1.5), champion, None, candidate_damage="weights cut short"),
         ChampionDecision(False, 2, 1, "Version 2 cannot be loaded (weights cut short), so it is not promoted.", 1.5)),
        (decide_champion(version(2, 1.5), None, None),
         ChampionDecision(True, 2, None, "Version 2 becomes the first champion (1.5000 bits/char).", 1.5)),
        (decide_champion(version(2, 2.5), champion, None, champion_damage="no weights"),
         ChampionDecision(True, 2, 1, "Version 1, the champion, cannot be loaded (no weights); version 2 (2.5000 bits/char) replaces it.",
                          2.5, previous_damage="no weights")),
        (decide_champion(version(2, 1.9999), champion, None),
         ChampionDecision(True, 2, 1, "Version 2 (1.9999 bits/char) beats version 1 (2.0000) on the same eval set.", 1.9999, 2.0)),
        (decide_champion(version(2, 2.0), champion, None),
         ChampionDecision(False, 2, 1, "Version 2 (2.0000 bits/char) does not beat version 1 (2.0000) on the same eval set.", 2.0, 2.0)),
        (decide_champion(version(2, 2.0001), champion, None),
         ChampionDecision(False, 2, 1, "Version 2 (2.0001 bits/char) does not beat version 1 (2.0000) on the same eval set.", 2.0001, 2.0)),
        (decide_champion(version(2, 1.0, "sha256:new"), champion, None),
         ChampionDecision(False, 2, 1, "Version 1 was scored on another eval set and no re-scoring was given; the champion stays.", 1.0)),
        (decide_champion(version(2, 1.0, "sha256:new"), version(1, None), lambda v: 0.5),
         ChampionDecision(False, 2, 1, "Version 2 (1.0000 bits/char) does not beat version 1 (0.5000) re-scored on eval set sha256:new.",
                          1.0, 0.5)),
        (decide_champion(version(2, 1.0), version(1, 2.0, None), lambda v: 1.5),  # the champion names no eval set
         ChampionDecision(True, 2, 1, "Version 2 (1.0000 bits/char) beats version 1 (1.5000) re-scored on eval set sha256:aaaa.", 1.0, 1.5)),
    ]
    for decided, expected in cases:
        assert decided == expected


def test_the_champion_record_holds_every_field_and_a_utc_decision_time(monkeypatch) -> None:
    import time
    from datetime import UTC, datetime

    from tweetgen.registry.champion import new_champion_record

    candidate, champion = version(3, 1.9, "sha256:new"), version(1, 2.0, "sha256:old")
    decision = decide_champion(candidate, champion, lambda _: 2.25)
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # a machine's zone far from UTC
    time.tzset()
    try:
        record = new_champion_record(candidate, decision)
    finally:
        monkeypatch.undo()
        time.tzset()
    decided = datetime.fromisoformat(record.pop("decided_at"))
    assert decided.utcoffset().total_seconds() == 0 and abs((datetime.now(UTC) - decided).total_seconds()) < 3600
    assert record == {
        "version": 3, "metric": "eval_bits_per_char", "score": 1.9, "eval_set_id": "sha256:new", "previous": 1,
        "previous_score": 2.25, "previous_damage": None,
        "reason": "Version 3 (1.9000 bits/char) beats version 1 (2.2500) re-scored on eval set sha256:new.",
    }


def test_of_two_challengers_with_the_same_score_the_newer_one_is_picked_in_any_order() -> None:
    champion = version(1, 2.0, family="lstm")
    tied = [version(3, 2.1, family="gpt2"), version(5, 2.1, family="gpt2"), version(4, 2.1, family="gpt2")]
    for versions in (tied, tied[::-1]):
        assert [v.version for v in challengers([champion, *versions], champion, lambda v: True)] == [5]


def test_the_card_shows_the_family_early_stopping_the_ngram_and_the_sample_measures(tmp_path, saved_model) -> None:
    metrics = {"eval_bits_per_char": 2.0, "sample_count": 100.0, "sample_distinct_1": 0.61, "sample_distinct_2": 0.93,
               "sample_copy_rate": 0.04, "sample_copy_words": 3.2, "sample_mean_chars": 71.4,
               "val_bits_per_char": 2.1, "ngram_order": 5.0, "ngram_weight": 0.24, "val_bits_per_char_with_ngram": 2.05}
    card = {**CARD, "family": "lstm", "best_step": 400, "stopped_by": "patience", "val_bits_per_char": [[200, 2.3], [400, 2.1], [600, 2.2]]}
    registered = LocalModelRegistry(tmp_path / "models").register(saved_model, "m", metrics, card)
    text = (Path(registered.location) / "model_card.md").read_text()
    assert "Model family: **lstm**." in text
    assert "Trained to step 600 (held-out bits/char stopped improving); kept step 400, the best on the validation slice (2.1000 bits/char)." in text
    assert "## 100 samples" in text and "| 0.610 | 0.930 | 4% | 3.2 words | 71 characters |" in text
    assert ("An order-5 n-gram of the training tweets (modified Kneser-Ney) gives 24% of every prediction (the weight fitted on the validation "
            "slice): 2.1000 bits/char there without it, 2.0500 with it.") in text
    assert (Path(registered.location) / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"
