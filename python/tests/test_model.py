import pytest
import torch
from conftest import PRETRAINED, TINY_ARCH

from faceattr.model import (
    TASKS,
    ArchConfig,
    FaceAttributeNet,
    load_pretrained_trunk,
    normalize_images,
)


@pytest.mark.parametrize("stride, side", [(16, 6), (32, 3)])
def test_96px_input_gives_a_map_of_96_over_the_output_stride(stride, side):
    model = FaceAttributeNet({"output_stride": stride, "adapter_channels": 8}).eval()
    with torch.no_grad():
        features = model.trunk(torch.zeros(2, 3, 96, 96))
        adapted = model.adapters["smile"](features)
        logits = model(torch.zeros(2, 3, 96, 96))
    assert tuple(features.shape) == (2, 1280, side, side)
    assert tuple(adapted.shape) == (2, 8, side, side)
    assert list(logits) == list(TASKS)
    assert all(tuple(v.shape) == (2,) for v in logits.values())


def test_each_task_has_its_own_adapter_and_head():
    model = FaceAttributeNet(TINY_ARCH)
    assert set(model.adapters) == set(model.heads) == set(TASKS)
    assert model.adapters["gender"] is not model.adapters["smile"]


@pytest.mark.parametrize(
    "arch, word",
    [
        ({"backbone": "resnet18"}, "backbone"),
        ({"output_stride": 8}, "output_stride"),
        ({"output_stride": 16.0}, "output_stride"),
        ({"adapter_channels": 0}, "adapter_channels"),
        ({"dropout": 1.0}, "dropout"),
        ({"width": 2}, "unknown keys"),
    ],
)
def test_arch_rejects_bad_values_by_name(arch, word):
    with pytest.raises(ValueError, match=word):
        ArchConfig.from_dict(arch)


def test_normalize_turns_uint8_nhwc_into_float_nchw_with_mean_and_std():
    images = torch.full((1, 2, 2, 3), 255, dtype=torch.uint8)
    x = normalize_images(images, [0.5, 0.5, 0.5], [0.25, 0.5, 1.0])
    assert x.dtype == torch.float32 and tuple(x.shape) == (1, 3, 2, 2) and x.is_contiguous()
    assert x[0, :, 0, 0].tolist() == [2.0, 1.0, 0.5]
    with pytest.raises(ValueError, match="uint8"):
        normalize_images(images.float(), [0, 0, 0], [1, 1, 1])


@pytest.mark.skipif(not PRETRAINED.is_file(), reason=f"pretrained weights absent: {PRETRAINED}")
def test_pretrained_torchvision_weights_load_strictly_into_the_trunk():
    model = FaceAttributeNet(TINY_ARCH)
    loaded, warnings = load_pretrained_trunk(model, str(PRETRAINED))
    state = torch.load(PRETRAINED, map_location="cpu", weights_only=True)
    assert loaded and warnings == []
    assert torch.equal(model.trunk[0][0].weight, state["features.0.0.weight"])
    assert torch.equal(model.trunk[18][1].running_var, state["features.18.1.running_var"])


def test_missing_pretrained_file_gives_random_init_and_a_warning(tmp_path):
    model = FaceAttributeNet(TINY_ARCH)
    loaded, warnings = load_pretrained_trunk(model, str(tmp_path / "absent.pth"))
    assert not loaded and "random init" in warnings[0]


def test_a_state_dict_that_does_not_fit_the_trunk_is_refused(tmp_path):
    path = tmp_path / "wrong.pth"
    torch.save({"features.0.0.weight": torch.zeros(1), "classifier.1.bias": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="does not fit"):
        load_pretrained_trunk(FaceAttributeNet(TINY_ARCH), str(path))
