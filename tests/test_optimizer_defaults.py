"""AdamW's fused kernel by default where the device has one; routed settings win."""

import numpy as np
import pytest

from sktransfer import ImageClassifier, TextClassifier

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

pytestmark = pytest.mark.usefixtures("one_torch_thread")

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 255, (12, 32, 32, 3), dtype=np.uint8)
LABELS = np.array(["a", "b"] * 6)
TEXTS = ["good", "bad", "fine film", "awful film", "great", "poor"] * 2


@pytest.fixture
def adamw_calls(monkeypatch):
    """The keyword arguments of every AdamW the fits construct."""
    calls = []

    class Recording(torch.optim.AdamW):
        def __init__(self, params, **kwargs):
            calls.append(kwargs)
            super().__init__(params, **kwargs)

    monkeypatch.setattr(torch.optim, "AdamW", Recording)
    return calls


def test_fused_is_the_default_on_the_cpu(adamw_calls):
    ImageClassifier("toy-image", strategy="full", max_epochs=1).fit(IMAGES, LABELS)
    assert adamw_calls and all(call.get("fused") is True for call in adamw_calls)


def test_contrastive_training_uses_it_too(adamw_calls):
    TextClassifier(
        "toy-text", strategy="contrastive", contrastive_iterations=1, random_state=0
    ).fit(TEXTS, LABELS)
    assert adamw_calls and all(call.get("fused") is True for call in adamw_calls)


@pytest.mark.parametrize(
    "routed", [{"optimizer__foreach": True}, {"optimizer__fused": False}]
)
def test_a_routed_foreach_or_fused_setting_wins(adamw_calls, routed):
    ImageClassifier("toy-image", strategy="full", max_epochs=1, **routed).fit(
        IMAGES, LABELS
    )
    (name, value), *_ = routed.items()
    key = name.split("__")[1]
    assert adamw_calls and all(call.get(key) is value for call in adamw_calls)
    if key == "foreach":
        assert all("fused" not in call for call in adamw_calls)


def test_fused_and_default_steps_agree_to_float_rounding():
    torch.manual_seed(0)
    params = [torch.randn(64, 32), torch.randn(32)]
    grads = [torch.randn_like(p) for p in params]
    results = []
    for fused in (False, True):
        copies = [p.clone().requires_grad_() for p in params]
        optimizer = torch.optim.AdamW(copies, lr=1e-2, weight_decay=0.01, fused=fused)
        for _ in range(5):
            for p, g in zip(copies, grads, strict=True):
                p.grad = g.clone()
            optimizer.step()
        results.append(torch.cat([p.detach().flatten() for p in copies]))
    np.testing.assert_allclose(results[0], results[1], atol=1e-6)
