"""The character n-gram model: a proper distribution, exact trigram Viterbi, 8-gram exclusion."""
import numpy as np
import pytest

from kuzushiji.language_model import NgramLM, filter_lines
from kuzushiji.vocab import char_to_code

CODES = [char_to_code(c) for c in "あいうえおかきくけこ"] + ["rare"]
LINES = ["あいうえお", "かきくけこ", "あいうかき", "おかきくけ"] * 5


@pytest.mark.parametrize("order", [2, 3, 4, 5])
def test_probabilities_sum_to_one(order):
    lm = NgramLM.fit(CODES, LINES, order=order)
    C = len(lm.codes)
    for ctx in [(C, C, C, C), (C, C, C, 0), (C, 0, 1, 2), (1, 2, 4, 9), (C - 1, 2, C - 1, 3)]:  # starts, seen, unseen, unknown
        p = np.exp(lm.logprob(*ctx, np.arange(C)))
        assert abs(p.sum() - 1) < 1e-4 and (p > 0).all()


@pytest.mark.parametrize("order", [2, 3, 4, 5])
def test_viterbi_is_exact(order):
    """The Viterbi path scores as well as the best of every path (brute force over 3^5 paths)."""
    import itertools
    lm = NgramLM.fit(CODES, LINES, order=order)
    rng = np.random.default_rng(order)
    C, T, K = len(lm.codes), 5, 3
    cand = rng.integers(0, C - 1, (T, K))
    logp = np.log(rng.dirichlet(np.ones(K), T))

    def score(path):
        seq = [C] * (order - 1) + [int(cand[t, k]) for t, k in enumerate(path)]
        lp = sum(lm.logprob(*seq[t: t + order]) for t in range(T))
        return float(lp) * 0.8 + sum(logp[t, k] for t, k in enumerate(path))

    best = max(score(p) for p in itertools.product(range(K), repeat=T))
    assert score(lm.viterbi(cand, logp, 0.8).tolist()) == pytest.approx(best)


def test_trigram_viterbi_prefers_the_seen_sequence(tmp_path):
    lm = NgramLM.fit(CODES, LINES, order=3)
    lm.save(tmp_path / "lm.npz")
    lm = NgramLM.load(tmp_path / "lm.npz")
    i = {c: lm.index[char_to_code(c)] for c in "あいうえおかきくけこ"}
    # the classifier slightly prefers け at step 3, but "あいう" is followed by え or か, never け
    cand = np.array([[i["あ"], i["お"]], [i["い"], i["こ"]], [i["う"], i["く"]], [i["け"], i["え"]]])
    logp = np.log(np.array([[0.9, 0.1], [0.9, 0.1], [0.9, 0.1], [0.55, 0.45]]))
    assert lm.viterbi(cand, logp, 0.0).tolist() == [0, 0, 0, 0]
    assert lm.viterbi(cand, logp, 1.0).tolist() == [0, 0, 0, 1]
    assert lm.viterbi(cand[:1], logp[:1], 1.0).tolist() == [0]


def test_filter_lines_drops_shared_8grams():
    kept = filter_lines(["abcdefghijk", "zzzzzzzzzz", "xxabcdefghyy"], ["abcdefgh"])
    assert kept == ["zzzzzzzzzz"]
