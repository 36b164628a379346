import json

import numpy as np
import pytest

from faceattr.protocol import (
    BAD_HEADER,
    BAD_TENSOR,
    PROTOCOL_VERSION,
    ProtocolError,
    decode_reply,
    decode_request,
    dump_json,
    encode_error,
    encode_reply,
    encode_request,
)


def header(**fields):
    base = {"v": 1, "id": "r1", "op": "predict", "tensors": [], "options": {}}
    base.update(fields)
    return json.dumps(base).encode()


def test_version_is_one():
    assert PROTOCOL_VERSION == 1


def test_round_trips_a_request_with_tensors():
    images = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    labels = np.array([[1.0, np.nan], [0.0, 1.0]], dtype=np.float32)
    frames = encode_request("r42", "train_step", {"lr": 0.1}, {"images": images, "labels": labels})
    request = decode_request([bytes(f) for f in frames])
    assert (request.id, request.op, request.options) == ("r42", "train_step", {"lr": 0.1})
    np.testing.assert_array_equal(request.tensors["images"], images)
    np.testing.assert_array_equal(request.tensors["labels"], labels)


def test_decoded_tensors_are_views_of_the_frames_not_copies():
    frame = bytearray(np.zeros(12, dtype=np.float32).tobytes())
    hdr = header(tensors=[{"name": "x", "dtype": "float32", "shape": [3, 4]}])
    tensor = decode_request([hdr, frame]).tensors["x"]
    frame[0:4] = np.float32(7.0).tobytes()
    assert tensor[0, 0] == 7.0


def test_rejects_a_tensor_frame_of_the_wrong_byte_length_with_bad_tensor():
    hdr = header(tensors=[{"name": "images", "dtype": "uint8", "shape": [1, 2, 2, 3]}])
    with pytest.raises(ProtocolError) as err:
        decode_request([hdr, b"\x00" * 11])
    assert err.value.code == BAD_TENSOR and err.value.request_id == "r1"
    assert "12 bytes" in err.value.message


def test_rejects_a_missing_tensor_frame_and_an_unknown_dtype():
    hdr = header(tensors=[{"name": "x", "dtype": "uint8", "shape": [1]}])
    with pytest.raises(ProtocolError) as err:
        decode_request([hdr])
    assert err.value.code == BAD_TENSOR
    hdr = header(tensors=[{"name": "x", "dtype": "float64", "shape": [1]}])
    with pytest.raises(ProtocolError) as err:
        decode_request([hdr, b"\x00" * 8])
    assert err.value.code == BAD_TENSOR


def test_rejects_negative_dims_with_bad_tensor():
    hdr = header(tensors=[{"name": "x", "dtype": "uint8", "shape": [-1]}])
    with pytest.raises(ProtocolError) as err:
        decode_request([hdr, b""])
    assert err.value.code == BAD_TENSOR


def test_rejects_bad_json_with_bad_header_and_a_null_id():
    with pytest.raises(ProtocolError) as err:
        decode_request([b'{"v": 1, "id": "r1",'])
    assert err.value.code == BAD_HEADER and err.value.request_id is None
    with pytest.raises(ProtocolError) as err:
        decode_request([b"\xff\xfe"])
    assert err.value.code == BAD_HEADER


def test_rejects_a_wrong_version_but_keeps_the_id():
    with pytest.raises(ProtocolError) as err:
        decode_request([header(v=2)])
    assert err.value.code == BAD_HEADER and err.value.request_id == "r1"
    with pytest.raises(ProtocolError) as err:
        decode_request([header(v=True)])
    assert err.value.code == BAD_HEADER


@pytest.mark.parametrize(
    "fields",
    [{"id": 7}, {"op": ""}, {"options": []}, {"tensors": {}}, {"tensors": [{"dtype": "uint8"}]}],
)
def test_rejects_malformed_fields_with_bad_header(fields):
    with pytest.raises(ProtocolError) as err:
        decode_request([header(**fields)])
    assert err.value.code == BAD_HEADER


def test_rejects_an_empty_message_and_a_json_array():
    for frames in ([], [b"[1, 2]"], [b""]):
        with pytest.raises(ProtocolError) as err:
            decode_request(frames)
        assert err.value.code == BAD_HEADER


def test_options_and_tensors_may_be_omitted():
    request = decode_request([b'{"v": 1, "id": "a", "op": "hello"}'])
    assert request.options == {} and request.tensors == {}


def test_encodes_a_reply_with_a_float32_tensor_that_decodes_back():
    cam = np.linspace(0, 1, 2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)
    frames = encode_reply("r9", {"logits": {"gender": [0.5]}}, {"cam.gender": cam})
    head = json.loads(bytes(frames[0]))
    assert head["ok"] is True and head["v"] == 1
    assert head["tensors"] == [{"name": "cam.gender", "dtype": "float32", "shape": [2, 3, 3]}]
    reply = decode_reply([bytes(f) for f in frames])
    np.testing.assert_array_equal(reply.tensors["cam.gender"], cam)


def test_encodes_an_error_reply():
    head = json.loads(bytes(encode_error(None, BAD_HEADER, "nope")[0]))
    assert head == {
        "v": 1,
        "id": None,
        "ok": False,
        "error": {"code": "BAD_HEADER", "message": "nope"},
    }
    with pytest.raises(ValueError):
        encode_error("x", "NOT_A_CODE", "nope")


def test_non_finite_numbers_become_null_because_json_has_none():
    assert json.loads(dump_json({"loss": float("nan"), "x": [float("inf"), 1.5]})) == {
        "loss": None,
        "x": [None, 1.5],
    }


def test_refuses_to_encode_an_unsupported_dtype():
    with pytest.raises(ValueError, match="float64"):
        encode_reply("r", {}, {"x": np.zeros(2)})
