import copy
import math

import pytest
import torch
import torch.nn.functional as F
from conftest import TINY_ARCH, TINY_SIZE

from faceattr.model import FaceAttributeNet
from faceattr.train import (
    configure_training,
    eval_step,
    masked_losses,
    parse_train_config,
    pcgrad_combine,
    train_step,
)

OPTIONS = {
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "freeze_trunk": False,
    "seed": 0,
    "conflict": "none",
    "task_weights": {"gender": 1.0, "smile": 1.0},
}
NAN = float("nan")


@pytest.fixture
def model():
    torch.manual_seed(0)
    return FaceAttributeNet(TINY_ARCH)


def batch(n=4):
    torch.manual_seed(1)
    return torch.randn(n, 3, TINY_SIZE, TINY_SIZE)


def test_masked_losses_average_over_known_labels_only():
    logits = {"gender": torch.tensor([2.0, -1.0, 0.5]), "smile": torch.tensor([0.3, 0.1, 0.2])}
    labels = torch.tensor([[1.0, NAN], [NAN, NAN], [0.0, NAN]])
    losses, counts = masked_losses(logits, labels)
    expected = F.binary_cross_entropy_with_logits(
        torch.tensor([2.0, 0.5]), torch.tensor([1.0, 0.0])
    )
    torch.testing.assert_close(losses["gender"], expected)
    assert losses["smile"] is None and counts == {"gender": 2, "smile": 0}


def test_all_nan_smile_labels_leave_the_smile_layers_unchanged_and_match_gender_only_gradients(
    model,
):
    reference = copy.deepcopy(model)
    state = configure_training(model, OPTIONS)
    smile_before = copy.deepcopy(
        list(model.heads["smile"].parameters()) + list(model.adapters["smile"].parameters())
    )
    x, labels = batch(), torch.tensor([[1.0, NAN], [0.0, NAN], [1.0, NAN], [0.0, NAN]])
    result = train_step(model, state, x, labels)

    assert result.losses["smile"] is None and result.counts == {"gender": 4, "smile": 0}
    smile_after = list(model.heads["smile"].parameters()) + list(
        model.adapters["smile"].parameters()
    )
    assert all(torch.equal(a, b) for a, b in zip(smile_before, smile_after))
    reference.train()
    loss = F.binary_cross_entropy_with_logits(reference(x)["gender"], labels[:, 0])
    loss.backward()
    assert result.loss == pytest.approx(float(loss), rel=1e-5)
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        if q.grad is None:
            assert p.grad is None, name
        else:
            torch.testing.assert_close(p.grad, q.grad, msg=name)


def test_a_batch_of_one_is_refused_because_of_batchnorm(model):
    state = configure_training(model, OPTIONS)
    with pytest.raises(ValueError, match="at least 2"):
        train_step(model, state, batch(1), torch.tensor([[1.0, 0.0]]))


def test_first_configure_needs_every_field_later_ones_any_subset():
    with pytest.raises(ValueError, match="needs"):
        parse_train_config({"lr": 0.1}, None)
    first = parse_train_config(OPTIONS, None)
    later = parse_train_config({"lr": 0.5}, first)
    assert later.lr == 0.5 and later.weight_decay == first.weight_decay


@pytest.mark.parametrize(
    "bad, word",
    [
        ({"lr": -1}, "lr"),
        ({"conflict": "mgda"}, "conflict"),
        ({"task_weights": {"gender": 1}}, "task_weights"),
        ({"freeze_trunk": 1}, "freeze_trunk"),
        ({"seed": 1.5}, "seed"),
        ({"momentum": 0.9}, "unknown"),
    ],
)
def test_configure_names_bad_values(bad, word):
    with pytest.raises(ValueError, match=word):
        parse_train_config(OPTIONS | bad, None)


def test_frozen_trunk_keeps_weights_and_batchnorm_statistics(model):
    state = configure_training(model, OPTIONS | {"freeze_trunk": True})
    trunk_before = copy.deepcopy(model.trunk.state_dict())
    total = sum(p.numel() for p in model.parameters())
    assert 0 < state.trainable_params < total
    train_step(model, state, batch(), torch.tensor([[1.0, 0.0], [0.0, 1.0]] * 2))
    assert all(torch.equal(v, model.trunk.state_dict()[k]) for k, v in trunk_before.items())
    state = configure_training(model, {"freeze_trunk": False}, state)
    assert state.trainable_params == total


def test_measures_the_cosine_between_task_gradients_on_the_trunk(model):
    state = configure_training(model, OPTIONS)
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    result = train_step(model, state, batch(), labels, measure_conflict=True)
    assert result.grad_cosine is not None and -1.0 <= result.grad_cosine <= 1.0
    assert train_step(model, state, batch(), labels).grad_cosine is None


def test_pcgrad_steps_and_reports_the_cosine(model):
    state = configure_training(model, OPTIONS | {"conflict": "pcgrad"})
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    before = copy.deepcopy(model.trunk[0][0].weight)
    result = train_step(model, state, batch(), labels)
    assert math.isfinite(result.loss) and result.grad_cosine is not None
    assert not torch.equal(before, model.trunk[0][0].weight)


def test_pcgrad_projects_only_conflicting_gradients():
    g1, g2 = torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 1.0])
    torch.testing.assert_close(pcgrad_combine([g1, g2]), torch.tensor([0.5, 1.5]))
    agree = torch.tensor([1.0, 1.0])
    torch.testing.assert_close(pcgrad_combine([g1, agree]), g1 + agree)


def test_the_lr_option_sets_every_param_group(model):
    state = configure_training(model, OPTIONS)
    train_step(model, state, batch(), torch.tensor([[1.0, 0.0]] * 4), lr=0.25)
    assert [g["lr"] for g in state.optimizer.param_groups] == [0.25, 0.25]


def test_eval_step_is_in_eval_mode_so_logits_do_not_depend_on_the_batch(model):
    x = batch()
    model.train()
    full = eval_step(model, x)
    assert not model.training
    part = eval_step(model, x[:2])
    torch.testing.assert_close(full["smile"][:2], part["smile"], atol=1e-5, rtol=1e-4)
    assert not full["gender"].requires_grad
