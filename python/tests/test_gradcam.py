import gc

import pytest
import torch
from torch import nn

from faceattr.gradcam import GradCAM, predicted_class_score
from faceattr.runtime import rss_bytes


class ToyNet(nn.Module):
    """Conv trunk -> a spatial 'adapter' (the target) -> pooled linear logit per task."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.trunk = nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU6(inplace=True)
        )
        self.adapters = nn.ModuleDict({"a": nn.Conv2d(6, 4, 3, padding=1), "b": nn.Conv2d(6, 4, 1)})
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 1), "b": nn.Linear(4, 1)})

    def forward(self, x):
        f = self.trunk(x)
        return {
            t: self.heads[t](self.adapters[t](f).mean(dim=(2, 3))).squeeze(1) for t in ("a", "b")
        }


@pytest.fixture
def toy():
    model = ToyNet().eval()
    with GradCAM(model, dict(model.adapters)) as cam:
        yield model, cam


def explain(cam, x, names=("a", "b")):
    return cam.explain(x, {n: (lambda out, n=n: predicted_class_score(out[n])) for n in names})


def test_returns_a_map_per_target_at_input_size_in_0_to_1(toy):
    model, cam = toy
    result = explain(cam, torch.randn(3, 3, 10, 12))
    for name in ("a", "b"):
        assert tuple(result.maps[name].shape) == (3, 10, 12)
        assert result.maps[name].dtype == torch.float32
        assert float(result.maps[name].min()) >= 0 and float(result.maps[name].max()) <= 1
        assert tuple(result.flat[name].shape) == (3,)


def test_explains_the_predicted_class_so_a_negative_logit_explains_the_negative_class(toy):
    model, cam = toy
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        logit = float(model(x)["a"])
    sign = 1.0 if logit > 0 else -1.0
    # Flip the head so the same image gets the opposite prediction.
    with torch.no_grad():
        model.heads["a"].weight.mul_(-1)
        model.heads["a"].bias.mul_(-1)
    flipped = explain(cam, x, ("a",))
    with torch.no_grad():
        model.heads["a"].weight.mul_(-1)
        model.heads["a"].bias.mul_(-1)
    original = explain(cam, x, ("a",))
    assert float(original.output["a"]) * sign > 0 and float(flipped.output["a"]) * sign < 0
    # Explaining the predicted class of the flipped head is explaining the same evidence.
    torch.testing.assert_close(original.maps["a"], flipped.maps["a"])
    assert not bool(original.flat["a"])


def test_positive_logit_map_differs_from_explaining_the_other_class(toy):
    model, cam = toy
    x = torch.randn(1, 3, 8, 8)
    predicted = explain(cam, x, ("a",))
    other = cam.explain(x, {"a": lambda out: -predicted_class_score(out["a"])})
    assert not torch.allclose(predicted.maps["a"], other.maps["a"])


def test_a_flat_map_is_zeros_and_flagged_never_nan(toy):
    model, cam = toy
    with torch.no_grad():
        model.heads["a"].weight.zero_()
    result = explain(cam, torch.randn(2, 3, 8, 8), ("a",))
    assert bool(result.flat["a"].all())
    assert torch.count_nonzero(result.maps["a"]) == 0
    assert not torch.isnan(result.maps["a"]).any()


def test_each_image_in_a_batch_gets_its_single_image_map(toy):
    model, cam = toy
    x = torch.randn(4, 3, 8, 8)
    batch = explain(cam, x)
    for i in range(4):
        single = explain(cam, x[i : i + 1])
        for name in ("a", "b"):
            torch.testing.assert_close(
                batch.maps[name][i], single.maps[name][0], atol=1e-5, rtol=1e-4
            )
            assert bool(batch.flat[name][i]) == bool(single.flat[name][0])


def test_touches_no_parameter_gradients_and_restores_grad_mode(toy):
    model, cam = toy
    explain(cam, torch.randn(2, 3, 8, 8))
    assert all(p.grad is None for p in model.parameters())
    assert torch.is_grad_enabled()
    with torch.no_grad():
        explain(cam, torch.randn(2, 3, 8, 8))
        assert not torch.is_grad_enabled()


def test_records_no_autograd_graph_for_the_layers_before_the_targets(toy):
    model, cam = toy
    seen = []
    handle = model.trunk.register_forward_hook(lambda m, i, out: seen.append(out.requires_grad))
    try:
        explain(cam, torch.randn(2, 3, 8, 8))
    finally:
        handle.remove()
    assert seen == [False]


def test_hooks_pass_outputs_through_outside_explain(toy):
    model, cam = toy
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        hooked = model(x)
    cam.close()
    with torch.no_grad():
        plain = model(x)
    torch.testing.assert_close(hooked, plain)


def test_200_explains_leave_hook_count_and_memory_flat(toy):
    model, cam = toy
    x = torch.randn(2, 3, 16, 16)
    for _ in range(20):  # warm-up: allocator pools and lazy init settle first
        explain(cam, x)
    gc.collect()
    hooks_before, rss_before = cam.hook_count(), rss_bytes()
    # With the cycle collector off, anything kept alive by a reference cycle would pile up.
    gc.disable()
    try:
        for _ in range(200):
            explain(cam, x)
        rss_after = rss_bytes()
    finally:
        gc.enable()
    assert cam.hook_count() == hooks_before == {"a": 1, "b": 1}
    assert rss_after - rss_before < 8 * 1024 * 1024


def test_explain_leaves_no_reference_cycles(toy):
    model, cam = toy
    explain(cam, torch.randn(1, 3, 8, 8))
    gc.collect()
    gc.disable()
    try:
        explain(cam, torch.randn(1, 3, 8, 8))
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_close_removes_the_hooks_and_is_idempotent():
    model = ToyNet()
    cam = GradCAM(model, dict(model.adapters))
    assert cam.hook_count() == {"a": 1, "b": 1}
    cam.close()
    cam.close()
    assert cam.hook_count() == {"a": 0, "b": 0}
    with pytest.raises(RuntimeError, match="closed"):
        explain(cam, torch.randn(1, 3, 8, 8))


def test_rejects_unknown_targets_and_badly_shaped_scores(toy):
    model, cam = toy
    with pytest.raises(ValueError, match="unknown"):
        cam.explain(torch.randn(1, 3, 8, 8), {"z": lambda out: out["a"]})
    with pytest.raises(ValueError, match=r"tensor \[2\]"):
        cam.explain(torch.randn(2, 3, 8, 8), {"a": lambda out: out["a"].sum()})
