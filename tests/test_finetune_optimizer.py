"""``optimizer__param_groups`` merges with the discriminative learning rates."""

import numpy as np
import pytest

from sktransfer import ImageClassifier

pytestmark = pytest.mark.usefixtures("one_torch_thread")

X = np.random.default_rng(0).normal(size=(24, 5)).astype(np.float32)
y = np.arange(24) % 2


def _lrs(clf):
    """Learning rate of every optimised parameter, by name."""
    net = clf._net
    by_id = {
        id(p): group["lr"]
        for group in net.optimizer_.param_groups
        for p in group["params"]
    }
    return {
        name: by_id[id(p)]
        for name, p in net.module_.named_parameters()
        if id(p) in by_id
    }


def test_user_param_groups_override_the_discriminative_rates():
    common = dict(backbone="toy-numeric", strategy="full", max_epochs=1, random_state=0)
    plain = _lrs(ImageClassifier(**common).fit(X, y))
    assert len(set(plain.values())) > 1  # discriminative: the head faster than the body
    clf = ImageClassifier(**common, optimizer__param_groups=[("*", {"lr": 0.5})])
    assert set(_lrs(clf.fit(X, y)).values()) == {0.5}
    # a pattern over part of the network: only those parameters change
    clf = ImageClassifier(
        **common,
        optimizer__param_groups=[("head.*", {"lr": 0.25, "weight_decay": 0.1})],
    ).fit(X, y)
    lrs = _lrs(clf)
    assert {lr for name, lr in lrs.items() if name.startswith("head.")} == {0.25}
    assert {n: lr for n, lr in lrs.items() if not n.startswith("head.")} == {
        n: lr for n, lr in plain.items() if not n.startswith("head.")
    }
    decays = {
        g["weight_decay"] for g in clf._net.optimizer_.param_groups if g["lr"] == 0.25
    }
    assert decays == {0.1}


def test_a_param_groups_pattern_that_matches_nothing_is_an_error():
    clf = ImageClassifier(
        "toy-numeric", max_epochs=1, optimizer__param_groups=[("nope.*", {"lr": 0.5})]
    )
    with pytest.raises(ValueError, match="'nope.\\*' matches no learnable parameter"):
        clf.fit(X, y)
