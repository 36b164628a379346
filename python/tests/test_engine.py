import logging
import os
import time

import numpy as np
import pytest
import torch
from conftest import HAAR_CASCADE, TINY_ARCH, TINY_SIZE

from faceattr.config import parse_config
from faceattr.detect import HaarDetector
from faceattr.engine import Engine
from faceattr.gradcam import decision_logit
from faceattr.model import normalize_images
from faceattr.protocol import ProtocolError

FRESH = {"arch": TINY_ARCH, "input_size": TINY_SIZE, "pretrained": None}
TRAIN = {
    "lr": 1e-3,
    "weight_decay": 0.0,
    "freeze_trunk": False,
    "seed": 0,
    "conflict": "none",
    "task_weights": {"gender": 1.0, "smile": 1.0},
}


def make_engine(checkpoint=None):
    config = parse_config({"device": "cpu", "model": {"checkpoint": checkpoint}})
    detector = HaarDetector(HAAR_CASCADE) if os.path.isfile(HAAR_CASCADE) else None
    return Engine(config, torch.device("cpu"), 1, detector, "no cascade")


@pytest.fixture(scope="module")
def served():
    """One engine with a fresh model, shared by tests that only read (predict, detect...)."""
    torch.manual_seed(0)
    engine = make_engine()
    engine.handle("load_model", dict(FRESH), {})
    yield engine
    engine.close()


@pytest.fixture
def engine():
    """An engine of its own, for tests that train, save, load or replace the model."""
    torch.manual_seed(0)
    engine = make_engine()
    engine.handle("load_model", dict(FRESH), {})
    yield engine
    engine.close()


def code_of(engine, op, options=None, tensors=None):
    with pytest.raises(ProtocolError) as err:
        engine.handle(op, options or {}, tensors or {})
    return err.value.code


def test_ops_needing_a_model_answer_no_model_before_load_model():
    engine = make_engine()
    images = np.zeros((2, TINY_SIZE, TINY_SIZE, 3), np.uint8)
    assert code_of(engine, "predict", {}, {"images": images}) == "NO_MODEL"
    assert code_of(engine, "configure_training", TRAIN) == "NO_MODEL"
    assert engine.handle("hello", {}, {})[0]["model"] is None


def test_a_missing_default_checkpoint_logs_a_warning_and_leaves_no_model(tmp_path, caplog):
    engine = make_engine(str(tmp_path / "absent.pt"))
    with caplog.at_level(logging.WARNING):
        engine.load_startup_model()
    assert "not found" in caplog.text
    assert engine.handle("stats", {}, {})[0]["hooks"] == {}


def test_load_model_builds_a_fresh_model_and_says_pretrained_weights_were_absent():
    engine = make_engine()
    result, _ = engine.handle("load_model", dict(FRESH), {})
    assert result["pretrained_loaded"] is False and result["warnings"]
    assert result["card"]["input_size"] == TINY_SIZE and result["card"]["arch"] == TINY_ARCH
    assert (
        code_of(engine, "load_model", {"arch": {"output_stride": 8}, "input_size": 64})
        == "BAD_OPTIONS"
    )
    assert code_of(engine, "load_model", {}) == "BAD_OPTIONS"


def test_a_seeded_load_model_gives_the_same_initial_weights_whatever_ran_before(tiny_images):
    engine = make_engine()
    first = dict(FRESH, seed=7)
    engine.handle("load_model", first, {})
    a = engine.handle("eval_step", {}, {"images": tiny_images})[0]["logits"]
    torch.rand(1000)  # anything else drawing from torch's generator in between
    engine.handle("load_model", dict(FRESH), {})
    other = engine.handle("eval_step", {}, {"images": tiny_images})[0]["logits"]
    engine.handle("load_model", first, {})
    b = engine.handle("eval_step", {}, {"images": tiny_images})[0]["logits"]
    assert a == b and a != other
    assert code_of(engine, "load_model", dict(FRESH, seed=-1)) == "BAD_OPTIONS"
    engine.close()


def test_predict_returns_logits_by_task_without_explain(served, tiny_images):
    result, tensors = served.handle("predict", {}, {"images": tiny_images})
    assert set(result["logits"]) == {"gender", "smile"} and len(result["logits"]["smile"]) == 4
    assert result["explained"] == {} and tensors == {}


def test_predict_with_explain_returns_a_cam_per_task_and_the_explained_class(served, tiny_images):
    result, tensors = served.handle(
        "predict", {"explain": ["smile", "gender"]}, {"images": tiny_images}
    )
    assert sorted(tensors) == ["cam.gender", "cam.smile"]
    for task in ("gender", "smile"):
        cam = tensors[f"cam.{task}"]
        assert cam.dtype == np.float32 and cam.shape == (4, TINY_SIZE, TINY_SIZE)
        assert cam.min() >= 0.0 and cam.max() <= 1.0 and not np.isnan(cam).any()
        explained = result["explained"][task]
        assert explained["positive"] == [z >= 0 for z in result["logits"][task]]
        assert len(explained["flat"]) == 4
    plain, _ = served.handle("predict", {}, {"images": tiny_images})
    np.testing.assert_allclose(
        plain["logits"]["gender"], result["logits"]["gender"], rtol=1e-4, atol=1e-5
    )


def test_predict_explains_the_class_the_cards_threshold_and_temperature_show(
    engine, tiny_images, tmp_path
):
    # At init the trunk's activations shrink to ~1e-10 and every image gets the same logit.
    # Re-estimating the BatchNorm statistics on these four images (as after training) makes
    # the features, and so the logits, depend on the image.
    model = engine._loaded.model
    card = engine._loaded.card
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # a cumulative average: one pass sets the batch statistics
    model.train()
    with torch.no_grad():
        model(normalize_images(torch.from_numpy(tiny_images), card["mean"], card["std"]))
    model.eval()
    engine._loaded.weights_changed()
    logits = engine.handle("predict", {}, {"images": tiny_images})[0]["logits"]["smile"]
    low, high = sorted(logits)[1:3]
    assert high - low > 1e-4, f"the images must give distinct logits: {logits}"
    cut = (low + high) / 2  # two images on each side of the decision point
    temperature = 2.0
    threshold = 1.0 / (1.0 + np.exp(-cut / temperature))  # sigmoid(cut / T)
    path = str(tmp_path / "calibrated.pt")
    card = {"thresholds": {"gender": 0.5, "smile": threshold}, "temperature": {"smile": 2.0}}
    card["temperature"]["gender"] = 1.0
    engine.handle("save", {"path": path, "card": card}, {})
    engine.handle("load_model", {"checkpoint": path}, {})
    result, tensors = engine.handle("predict", {"explain": ["smile"]}, {"images": tiny_images})
    shown = [1.0 / (1.0 + np.exp(-z / temperature)) >= threshold for z in logits]
    assert result["explained"]["smile"]["positive"] == shown
    assert sorted(shown) == [False, False, True, True]


def test_decision_logit_inverts_the_calibration_rule():
    assert decision_logit(0.5, 3.0) == 0.0
    assert decision_logit(0.8, 2.0) == pytest.approx(2.0 * np.log(4.0))
    assert decision_logit(0.0, 1.0) == -np.inf and decision_logit(1.0, 1.0) == np.inf


@pytest.mark.parametrize(
    "options, images, code",
    [
        ({"explain": ["age"]}, (1, 64, 64, 3), "BAD_OPTIONS"),
        ({"explain": "smile"}, (1, 64, 64, 3), "BAD_OPTIONS"),
        ({"explains": ["smile"]}, (1, 64, 64, 3), "BAD_OPTIONS"),
        ({}, (1, 96, 96, 3), "BAD_TENSOR"),
        ({}, (0, 64, 64, 3), "BAD_TENSOR"),
    ],
)
def test_predict_rejects_bad_requests_by_code(served, options, images, code):
    assert code_of(served, "predict", options, {"images": np.zeros(images, np.uint8)}) == code


def test_train_step_needs_configure_training_and_a_batch_of_two(engine, tiny_images):
    labels = np.array([[1, 0], [0, 1], [1, np.nan], [np.nan, 0]], np.float32)
    tensors = {"images": tiny_images, "labels": labels}
    assert code_of(engine, "train_step", {}, tensors) == "NOT_TRAINING"
    assert code_of(engine, "configure_training", {"lr": 0.1}) == "BAD_OPTIONS"
    assert engine.handle("configure_training", TRAIN, {})[0]["trainable_params"] > 0
    one = {"images": tiny_images[:1], "labels": labels[:1]}
    assert code_of(engine, "train_step", {}, one) == "BAD_OPTIONS"
    nan = {"images": tiny_images, "labels": np.full((4, 2), np.nan, np.float32)}
    assert code_of(engine, "train_step", {}, nan) == "BAD_TENSOR"
    result, _ = engine.handle("train_step", {"lr": 0.01, "measure_conflict": True}, tensors)
    assert result["counts"] == {"gender": 3, "smile": 3} and result["loss"] > 0
    assert isinstance(result["grad_cosine"], float)


def test_eval_step_gives_logits(served, tiny_images):
    result, _ = served.handle("eval_step", {}, {"images": tiny_images})
    assert len(result["logits"]["gender"]) == 4


def test_save_then_load_model_serves_the_same_predictions(engine, tiny_images, tmp_path):
    path = str(tmp_path / "m" / "model.pt")
    saved, _ = engine.handle(
        "save", {"path": path, "card": {"epoch": 2}, "include_optimizer": False}, {}
    )
    assert saved["card_path"].endswith("model.json") and len(saved["sha256"]) == 64
    before, _ = engine.handle("predict", {}, {"images": tiny_images})
    other = make_engine()
    result, _ = other.handle("load_model", {"checkpoint": path}, {})
    assert result["card"]["epoch"] == 2 and result["pretrained_loaded"] is False
    after, _ = other.handle("predict", {}, {"images": tiny_images})
    np.testing.assert_allclose(before["logits"]["smile"], after["logits"]["smile"], rtol=1e-5)


def test_save_refuses_a_card_that_contradicts_the_model_and_a_non_pt_path(engine, tmp_path):
    path = str(tmp_path / "model.pt")
    assert code_of(engine, "save", {"path": path, "card": {"input_size": 96}}) == "BAD_OPTIONS"
    assert code_of(engine, "save", {"path": str(tmp_path / "model.bin")}) == "BAD_OPTIONS"
    assert code_of(engine, "save", {"path": path, "include_optimizer": True}) == "NOT_TRAINING"


def test_load_resumes_weights_and_optimizer_state(engine, tiny_images, tmp_path):
    labels = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], np.float32)
    engine.handle("configure_training", TRAIN, {})
    engine.handle("train_step", {}, {"images": tiny_images, "labels": labels})
    path = str(tmp_path / "model.pt")
    options = {"path": path, "include_optimizer": True, "scheduler_state": {"step": 1}}
    engine.handle("save", options, {})
    saved, _ = engine.handle("eval_step", {}, {"images": tiny_images})
    engine.handle("train_step", {}, {"images": tiny_images, "labels": labels})
    result, _ = engine.handle("load", {"path": path, "include_optimizer": True}, {})
    assert result["scheduler_state"] == {"step": 1}
    restored, _ = engine.handle("eval_step", {}, {"images": tiny_images})
    np.testing.assert_allclose(saved["logits"]["gender"], restored["logits"]["gender"], rtol=1e-5)
    assert code_of(engine, "load", {"path": str(tmp_path / "absent.pt")}) == "IO_ERROR"


def test_load_model_replaces_the_explainer_and_releases_the_old_hooks(engine):
    old_adapter = engine._loaded.model.adapters["gender"]
    engine.handle("load_model", dict(FRESH), {})
    assert len(old_adapter._forward_hooks) == 0
    assert engine.handle("stats", {}, {})[0]["hooks"] == {"gender": 1, "smile": 1}


def test_stats_reports_memory_hooks_and_served_requests(served):
    first, _ = served.handle("stats", {}, {})
    second, _ = served.handle("stats", {}, {})
    assert first["rss_bytes"] > 0 and second["served"] == first["served"] + 1
    assert second["cpu_seconds"] > first["cpu_seconds"] > 0


@pytest.mark.skipif(not os.path.isfile(HAAR_CASCADE), reason=f"opencv-data absent: {HAAR_CASCADE}")
def test_detect_answers_boxes_and_padded(served):
    result, _ = served.handle("detect", {}, {"image": np.full((60, 80, 3), 128, np.uint8)})
    assert result == {"boxes": [], "padded": False}
    bad = {"min_size_frac": 0}
    assert code_of(served, "detect", bad, {"image": np.zeros((8, 8, 3), np.uint8)}) == "BAD_OPTIONS"
    assert code_of(served, "detect", {}, {"image": np.zeros((8, 8), np.uint8)}) == "BAD_TENSOR"


def test_an_unknown_op_is_unknown_op(served):
    assert code_of(served, "fly") == "UNKNOWN_OP"


def test_a_train_step_seed_makes_dropout_repeatable():
    def loss_with(seed, noise):
        torch.manual_seed(0)
        engine = make_engine()
        engine.handle("load_model", FRESH | {"arch": TINY_ARCH | {"dropout": 0.5}}, {})
        engine.handle("configure_training", TRAIN, {})
        torch.rand(noise)  # a different generator state before the step
        images = np.random.default_rng(0).integers(0, 256, (4, TINY_SIZE, TINY_SIZE, 3), np.uint8)
        labels = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], np.float32)
        result, _ = engine.handle(
            "train_step", {"seed": seed}, {"images": images, "labels": labels}
        )
        engine.close()
        return result["loss"]

    assert loss_with(5, 3) == loss_with(5, 7)
    assert loss_with(5, 3) != loss_with(6, 3)


def test_hello_can_be_slowed_down_for_deadline_tests(served):
    started = time.perf_counter()
    assert served.handle("hello", {"sleep_ms": 50}, {})[0]["protocol"] == 1
    assert time.perf_counter() - started >= 0.05
    assert code_of(served, "hello", {"sleep_ms": -1}) == "BAD_OPTIONS"


def test_explicit_null_pretrained_overrides_the_configured_file(tmp_path):
    missing = str(tmp_path / "would-be-loaded.pth")
    config = parse_config({"device": "cpu", "model": {"checkpoint": None, "pretrained": missing}})
    engine = Engine(config, torch.device("cpu"), 1, None, "no cascade")
    try:
        result, _ = engine.handle("load_model", dict(FRESH), {})
        assert result["pretrained_loaded"] is False
        assert not any("would-be-loaded" in w for w in result["warnings"])
    finally:
        engine.close()
