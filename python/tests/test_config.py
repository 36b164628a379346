import pytest

from faceattr.config import DEFAULT_HAAR_CASCADE, parse_config, parse_config_json


def test_accepts_the_documented_slice():
    cfg = parse_config_json(
        '{"threads": 0, "device": "auto", "max_message_bytes": 67108864,'
        ' "optimize_inference": true,'
        ' "detector": {"kind": "res10", "haar_cascade": "/x.xml", "res10_dir": "/w"},'
        ' "model": {"checkpoint": "models/default/model.pt", "pretrained": null}}'
    )
    assert cfg.threads == 0 and cfg.device == "auto" and cfg.max_message_bytes == 67108864
    assert (cfg.detector.kind, cfg.detector.res10_dir) == ("res10", "/w")
    assert cfg.model.checkpoint == "models/default/model.pt" and cfg.model.pretrained is None


def test_missing_keys_take_defaults():
    cfg = parse_config({})
    assert cfg.device == "auto" and cfg.detector.haar_cascade == DEFAULT_HAAR_CASCADE
    assert cfg.model.checkpoint is None


def test_is_frozen():
    cfg = parse_config({})
    with pytest.raises(AttributeError):
        cfg.threads = 3  # type: ignore[misc]


def test_names_every_bad_value():
    with pytest.raises(ValueError) as err:
        parse_config({"threads": -1, "device": "tpu", "detector": {"kind": "dlib"}})
    text = str(err.value)
    assert "threads" in text and "'tpu'" in text and "'dlib'" in text


def test_rejects_a_boolean_for_threads_and_invalid_json():
    with pytest.raises(ValueError, match="threads"):
        parse_config({"threads": True})
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_config_json("{threads: 0")


def test_res10_without_a_directory_is_an_error():
    with pytest.raises(ValueError, match="res10_dir"):
        parse_config({"detector": {"kind": "res10"}})


def test_reports_unknown_keys_without_failing():
    cfg = parse_config({"python": "/usr/bin/python3", "model": {"extra": 1}})
    assert cfg.unknown_keys == ("python", "model.extra")


def test_optimize_inference_defaults_to_true_and_must_be_a_boolean():
    assert parse_config({}).optimize_inference is True
    assert parse_config({"optimize_inference": False}).optimize_inference is False
    with pytest.raises(ValueError, match="optimize_inference must be true or false; got 'no'"):
        parse_config({"optimize_inference": "no"})


def test_scale_factor_defaults_to_1_1_and_must_lie_in_1_to_2():
    assert parse_config({}).detector.scale_factor == 1.1
    assert parse_config({"detector": {"scale_factor": 1.2}}).detector.scale_factor == 1.2
    for bad in (1.0, 0.9, 2.5, "1.2", True, None):
        with pytest.raises(ValueError, match="scale_factor must be a number in"):
            parse_config({"detector": {"scale_factor": bad}})


def test_coarse_scale_factor_defaults_to_1_3_may_be_null_and_must_lie_in_1_to_2():
    assert parse_config({}).detector.coarse_scale_factor == 1.3
    assert (
        parse_config({"detector": {"coarse_scale_factor": None}}).detector.coarse_scale_factor
        is None
    )
    for bad in (1.0, 2.5, "1.3", True):
        with pytest.raises(ValueError, match="coarse_scale_factor must be a number in"):
            parse_config({"detector": {"coarse_scale_factor": bad}})
