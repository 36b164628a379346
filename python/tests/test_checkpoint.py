import io
import json
import os
import zipfile

import pytest
import torch
from conftest import TINY_ARCH

from faceattr.card import new_card
from faceattr.checkpoint import card_path_for, load_checkpoint, save_checkpoint, sha256_file
from faceattr.model import ArchConfig, FaceAttributeNet


def make_cuda_tagged_file(path, payload):
    """torch.save on CPU, then relabel every storage location 'cpu' -> 'cuda:0'.

    torch.save pickles with protocol 2 (no frame lengths), where a storage's location is the
    string opcode X + 4-byte length + text, so the swap keeps the pickle valid.
    """
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    cpu, cuda = b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as target:
        for name in source.namelist():
            data = source.read(name)
            if name.endswith("/data.pkl"):
                assert data.count(cpu) >= 1
                data = data.replace(cpu, cuda)
            target.writestr(name, data)


@pytest.fixture
def model():
    torch.manual_seed(0)
    return FaceAttributeNet(TINY_ARCH)


def card_for(model):
    return new_card(ArchConfig.from_dict(TINY_ARCH), 64) | {"epoch": 3}


def test_round_trips_weights_optimizer_scheduler_and_card(model, tmp_path):
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
    model(torch.randn(2, 3, 64, 64))["gender"].sum().backward()
    optimizer.step()
    path = str(tmp_path / "run" / "model.pt")
    saved = save_checkpoint(
        path, model.state_dict(), card_for(model), optimizer.state_dict(), {"epoch": 3, "lr": 0.5}
    )
    assert saved.card_path == str(tmp_path / "run" / "model.json")
    assert saved.sha256 == sha256_file(path) and saved.bytes == os.path.getsize(path)
    card = json.loads(open(saved.card_path).read())
    assert card["sha256"] == saved.sha256 and card["torch_version"] == torch.__version__
    assert card["epoch"] == 3 and card["protocol"] == 1

    loaded = load_checkpoint(path, "cpu")
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.model_state[key], value), key
    restored = torch.optim.AdamW(model.parameters(), lr=0.5)
    restored.load_state_dict(loaded.optimizer_state)
    assert restored.param_groups[0]["lr"] == 0.01
    assert loaded.scheduler_state == {"epoch": 3, "lr": 0.5} and loaded.warnings == []


def test_leaves_no_temp_files_and_replaces_an_existing_pair(model, tmp_path):
    path = str(tmp_path / "model.pt")
    first = save_checkpoint(path, model.state_dict(), card_for(model))
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    second = save_checkpoint(path, model.state_dict(), card_for(model))
    assert sorted(os.listdir(tmp_path)) == ["model.json", "model.pt"]
    assert first.sha256 != second.sha256


def test_a_failed_save_keeps_the_old_files(model, tmp_path):
    path = str(tmp_path / "model.pt")
    save_checkpoint(path, model.state_dict(), card_for(model))
    before = sha256_file(path)
    with pytest.raises(ValueError):
        save_checkpoint(path, model.state_dict(), card_for(model) | {"metric": float("nan")})
    assert sha256_file(path) == before and sorted(os.listdir(tmp_path)) == [
        "model.json",
        "model.pt",
    ]


def test_a_checkpoint_with_cuda_storages_loads_on_cpu_with_map_location(model, tmp_path):
    path = tmp_path / "gpu.pt"
    make_cuda_tagged_file(path, {"model": model.state_dict()})
    (tmp_path / "gpu.json").write_text(json.dumps(card_for(model)))
    if not torch.cuda.is_available():
        # Proves the file really is CUDA-tagged: without map_location it cannot load here.
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(path, weights_only=False)
    loaded = load_checkpoint(str(path), torch.device("cpu"))
    first = next(iter(loaded.model_state.values()))
    assert first.device.type == "cpu"
    assert torch.equal(first, next(iter(model.state_dict().values())))


def test_a_card_whose_sha256_differs_is_reported_as_a_warning(model, tmp_path):
    path = str(tmp_path / "model.pt")
    saved = save_checkpoint(path, model.state_dict(), card_for(model))
    card = json.loads(open(saved.card_path).read()) | {"sha256": "0" * 64}
    open(saved.card_path, "w").write(json.dumps(card))
    assert "differs" in load_checkpoint(path, "cpu").warnings[0]


def test_a_missing_card_or_a_non_torch_file_is_an_error(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"not a zip")
    with pytest.raises(OSError):
        load_checkpoint(str(path), "cpu")
    (tmp_path / "model.json").write_text("{}")
    with pytest.raises(ValueError, match="cannot read"):
        load_checkpoint(str(path), "cpu")


def test_checkpoint_paths_must_end_in_pt():
    assert card_path_for("a/b/model.pt") == "a/b/model.json"
    with pytest.raises(ValueError, match=".pt"):
        card_path_for("a/b/model.pth")
