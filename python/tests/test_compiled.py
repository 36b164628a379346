"""The compiled serving trunk: same answers as the eager model, rebuilt when weights change."""

import logging

import numpy as np
import pytest
import torch
from conftest import TINY_SIZE

from faceattr.gradcam import predicted_class_score
from faceattr.holder import LoadedModel
from faceattr.model import TASKS, FaceAttributeNet
from test_engine import FRESH, TRAIN, make_engine

# Output stride 16 (dilated) is the default architecture; 32 is the other choice.
ARCHS = [
    {"output_stride": 16, "adapter_channels": 8, "dropout": 0.0},
    {"output_stride": 32, "adapter_channels": 8, "dropout": 0.0},
]


def holder(arch, optimize=True):
    torch.manual_seed(0)
    model = FaceAttributeNet(arch)
    # Non-trivial BatchNorm statistics, so folding them into the convolutions is tested.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    card = {"input_size": TINY_SIZE, "mean": [0.5] * 3, "std": [0.25] * 3, "arch": arch}
    return LoadedModel(model, card, torch.device("cpu"), optimize=optimize)


def batch(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, TINY_SIZE, TINY_SIZE, 3), dtype=np.uint8)


@pytest.mark.parametrize("arch", ARCHS, ids=["os16", "os32"])
@pytest.mark.parametrize("n", [1, 3, 8])
def test_compiled_logits_match_the_eager_model(arch, n):
    loaded = holder(arch)
    x = loaded.prepare(batch(n))
    with torch.no_grad():
        eager = loaded.model(x)
        served = loaded.serving_forward(x)
    assert loaded.compiled
    for task in TASKS:
        assert served[task].shape == (n,)
        torch.testing.assert_close(served[task], eager[task], rtol=1e-4, atol=1e-4)


def test_compiled_maps_match_the_eager_maps_and_hooks_stay_one_per_task():
    loaded = holder(ARCHS[0])
    x = loaded.prepare(batch(4, seed=1))
    select = {t: (lambda out, t=t: predicted_class_score(out[t])) for t in TASKS}
    eager = loaded.explainer.explain(x, select)
    for _ in range(3):
        fast = loaded.explainer.explain(x, select, forward=loaded.serving_forward)
    for task in TASKS:
        torch.testing.assert_close(fast.maps[task], eager.maps[task], rtol=1e-3, atol=1e-3)
        assert torch.equal(fast.flat[task], eager.flat[task])
    assert loaded.explainer.hook_count() == {t: 1 for t in TASKS}


def test_a_weight_change_rebuilds_the_compiled_trunk():
    loaded = holder(ARCHS[1])
    x = loaded.prepare(batch(2))
    with torch.no_grad():
        before = loaded.serving_forward(x)["gender"].clone()
        for p in loaded.model.trunk.parameters():
            p.mul_(1.5)
        # Not told: the compiled copy still holds the old (folded) weights.
        stale = loaded.serving_forward(x)["gender"]
        loaded.weights_changed()
        assert not loaded.compiled
        after = loaded.serving_forward(x)["gender"]
        eager = loaded.model(x)["gender"]
    torch.testing.assert_close(stale, before)
    torch.testing.assert_close(after, eager, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(after, before)


def test_train_step_and_load_through_the_engine_keep_predict_equal_to_eval_step(tmp_path):
    engine = make_engine()
    engine.handle("load_model", dict(FRESH), {})
    engine.handle("configure_training", dict(TRAIN), {})
    images = batch(4, seed=2)
    labels = np.array([[1, 0], [0, 1], [1, np.nan], [np.nan, 1]], np.float32)
    path = str(tmp_path / "start.pt")
    engine.handle("save", {"path": path}, {})
    predicted = []
    for _ in range(2):
        engine.handle("train_step", {"lr": 0.05}, {"images": images, "labels": labels})
        assert engine.handle("stats", {}, {})[0]["compiled"] is False
        got = engine.handle("predict", {}, {"images": images})[0]["logits"]
        want = engine.handle("eval_step", {}, {"images": images})[0]["logits"]
        assert engine.handle("stats", {}, {})[0]["compiled"] is True
        for task in TASKS:
            np.testing.assert_allclose(got[task], want[task], rtol=1e-4, atol=1e-4)
        predicted.append(got["gender"])
    assert predicted[0] != predicted[1]
    engine.handle("load", {"path": path}, {})
    got = engine.handle("predict", {}, {"images": images})[0]["logits"]
    want = engine.handle("eval_step", {}, {"images": images})[0]["logits"]
    np.testing.assert_allclose(got["smile"], want["smile"], rtol=1e-4, atol=1e-4)
    engine.close()


def test_optimize_false_serves_the_eager_model():
    loaded = holder(ARCHS[1], optimize=False)
    x = loaded.prepare(batch(2))
    with torch.no_grad():
        out = loaded.serving_forward(x)
        torch.testing.assert_close(out["smile"], loaded.model(x)["smile"])
    assert not loaded.compiled


def test_a_failing_compilation_logs_a_warning_and_serves_the_eager_model(monkeypatch, caplog):
    def broken_trace(*args, **kwargs):
        raise RuntimeError("tracing is not supported here")

    monkeypatch.setattr(torch.jit, "trace", broken_trace)
    loaded = holder(ARCHS[0])
    x = loaded.prepare(batch(2))
    with caplog.at_level(logging.WARNING), torch.no_grad():
        out = loaded.serving_forward(x)
        again = loaded.serving_forward(x)
    assert "compiling the trunk failed" in caplog.text
    assert caplog.text.count("compiling the trunk failed") == 1
    assert not loaded.compiled
    with torch.no_grad():
        torch.testing.assert_close(out["gender"], loaded.model(x)["gender"])
    torch.testing.assert_close(again["gender"], out["gender"])
