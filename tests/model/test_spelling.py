"""Taking back invented words while sampling (``tweetgen.model.spelling``)."""

from __future__ import annotations

import pytest
import torch

from tweetgen.model import generate, spelling
from tweetgen.model.build import byte_tokenizer
from tweetgen.model.evaluate import framed_ids
from tweetgen.model.generate import Generation, best_rows, rank_keys, sample_tweets
from tweetgen.model.lstm import build_lstm
from tweetgen.model.measures import Vocabulary
from tweetgen.model.ngram import count_ngrams
from tweetgen.model.spelling import Speller, Word, attach_words, tweet_words, word_tokens

CORPUS = ["the cat sat on the mat", "a dog ran to the car", "we go to mars soon", "starship flies to mars"] * 4


def small_lstm(tokenizer, ngram_weight: float = 0.6):
    model = build_lstm(tokenizer, n_embd=32, hidden_size=96, seed=1)
    model.attach_ngram(count_ngrams(framed_ids(tokenizer, CORPUS), 4, len(tokenizer)), ngram_weight)
    model.config.tweet_words = []
    return model


def use_vocabulary(monkeypatch: pytest.MonkeyPatch, known: list[str]) -> Vocabulary:
    """Sampling checks words against ``known`` alone (no English list)."""
    vocabulary = Vocabulary(known, frozenset())
    monkeypatch.setattr(generate, "model_vocabulary", lambda model: vocabulary)
    return vocabulary


def test_tweet_words_are_the_training_words_english_lacks_sorted() -> None:
    texts = ["Mechazilla catches the booster", "@teslaownerssv the Mechazilla tower", "10x faster, 2nd try"]
    assert tweet_words(texts) == ["mechazilla", "teslaownerssv"]  # "10x" and "2nd" are no words of letters


def test_the_words_travel_with_the_saved_model(tmp_path) -> None:
    tokenizer = byte_tokenizer()
    model = build_lstm(tokenizer, n_embd=8, hidden_size=16, seed=1)
    attach_words(model, ["Mechazilla is ready"])
    model.save_pretrained(tmp_path)
    from transformers import AutoModelForCausalLM

    from tweetgen.model.lstm import register_auto_classes

    register_auto_classes()
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert loaded.config.tweet_words == ["mechazilla"]
    assert spelling.model_vocabulary(loaded).is_known("mechazilla")
    assert not spelling.model_vocabulary(loaded).is_known("gowero")
    assert spelling.applies(loaded, tokenizer)


def test_a_model_saved_without_its_words_is_not_checked() -> None:
    tokenizer = byte_tokenizer()
    model = build_lstm(tokenizer, n_embd=8, hidden_size=16, seed=1)
    assert spelling.model_vocabulary(model) is None and not spelling.applies(model, tokenizer)


def test_word_tokens_are_letters_digits_apostrophes_underscores_and_non_ascii_bytes() -> None:
    tokenizer = byte_tokenizer()
    flags = word_tokens(tokenizer)
    token = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    for text in ["a", "Z", "0", "9", "'", "_", "é", "中"]:
        assert all(flags[i] for i in token(text)), text
    for text in [" ", ".", ",", "!", "-", "@", "#", "\n", "/"]:
        assert not flags[token(text)[0]], text
    assert not any(flags[i] for i in tokenizer.all_special_ids)
    assert int(flags.sum()) == 26 * 2 + 10 + 2 + 128  # letters, digits, ' and _, bytes 0x80-0xff


def test_the_speller_takes_back_an_unknown_word_up_to_its_tries_then_keeps_it() -> None:
    tokenizer = byte_tokenizer()
    speller = Speller(tokenizer, Vocabulary(["the", "cat"], frozenset()), tries=2)
    past = (torch.zeros(1, 1, 4), torch.zeros(1, 1, 4), torch.zeros(1, 3, dtype=torch.long))
    logits = torch.zeros(1, len(tokenizer))
    ids = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    space = ids(" ")[0]

    def write(word: Word | None, new: list[int], text: str) -> Word | None:
        for token in ids(text):
            word, back = speller.check(word, new, token, past, logits, 0)
            assert not back
            new.append(token)
        return word

    new: list[int] = []
    word = write(None, new, "cat")
    assert word is not None and word.start == 0
    assert speller.check(word, new, space, past, logits, 0) == (None, False)  # a known word ends: kept
    new.append(space)
    word = write(None, new, "cta")
    for tries in (1, 2):
        word_after, back = speller.check(word, new, space, past, logits, 0)
        assert back and word_after is word and word.tries == tries and word.start == 4
        del new[word.start :]
        word = write(word, new, "cta")
    assert speller.check(word, new, space, past, logits, 0) == (None, False)  # out of tries: the word stays
    eos = tokenizer.eos_token_id
    assert speller.check(write(None, [], "xq"), ids("xq"), eos, past, logits, 0)[1]  # the tweet's end ends a word too
    assert speller.check(Word(-1, (), torch.empty(0)), ids("xq"), space, past, logits, 0) == (None, False)  # begun in the prompt


def test_after_a_word_is_taken_back_the_row_reads_on_from_exactly_where_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    tokenizer = byte_tokenizer()
    model = small_lstm(tokenizer)
    use_vocabulary(monkeypatch, ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "to", "car", "we", "go"])
    generation = Generation(model, tokenizer, max_new_tokens=50)
    generation.add([("the c", 1), ("", 2), ("we", 3), ("x", 4)], [0, 1, 2, 3])
    taken_back = 0
    while generation.rows:
        generation.step()
        for cohort in generation._cohorts:
            for index, row in enumerate(cohort.rows):
                fresh = model(input_ids=torch.tensor([row.prompt_ids + row.new])).logits[0, -1]
                assert torch.allclose(fresh, cohort.logits[index], atol=1e-4), row.new
                taken_back += row.word is not None and row.word.tries > 0
    assert taken_back > 0, "the premise: some word was taken back"


def test_checked_samples_invent_fewer_words_than_plain_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    tokenizer = byte_tokenizer()
    model = small_lstm(tokenizer, ngram_weight=0.3)
    known = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "to", "car", "we", "go", "mars", "soon", "starship", "flies"]
    vocabulary = use_vocabulary(monkeypatch, known)
    plain = sample_tweets(model, tokenizer, "", n=12, max_new_tokens=60, seed=7, spell=False)
    checked = sample_tweets(model, tokenizer, "", n=12, max_new_tokens=60, seed=7)
    unknown = lambda samples: sum(len(vocabulary.non_words(s.text)) for s in samples)  # noqa: E731
    assert unknown(plain) > 0, "the premise: plain sampling invents words"
    assert unknown(checked) < unknown(plain)


def test_a_row_writes_the_same_with_others_in_its_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    tokenizer = byte_tokenizer()
    model = small_lstm(tokenizer, ngram_weight=0.3)
    use_vocabulary(monkeypatch, ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "to", "car"])
    together = generate.sample_rows(model, tokenizer, [("the", 1), ("", 2), ("a dog", 3)], max_new_tokens=40)
    alone = [generate.sample_rows(model, tokenizer, [request], max_new_tokens=40)[0] for request in [("the", 1), ("", 2), ("a dog", 3)]]
    assert together == alone


def test_the_best_candidate_has_the_fewest_unknown_words_then_the_fewest_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    tokenizer = byte_tokenizer()
    model = small_lstm(tokenizer)
    use_vocabulary(monkeypatch, ["the", "cat", "sat"])
    keys = rank_keys(model, tokenizer, {0: "the cat sat", 1: "the cat zat", 2: "the qat zat", 3: "the sat cat"})
    assert [unknown for unknown, _ in keys.values()] == [0, 1, 2, 0]
    assert min(keys, key=keys.__getitem__) in (0, 3)
    rows = best_rows(model, tokenizer, [("the", 5)], candidates=4, max_new_tokens=30, spell=False)
    drawn = generate.sample_rows(model, tokenizer, [("the", 5 + j) for j in range(4)], max_new_tokens=30, spell=False)
    ranked = rank_keys(model, tokenizer, {i: s.text for i, s in enumerate(drawn)})
    assert rows[0] == drawn[min(ranked, key=ranked.__getitem__)]
