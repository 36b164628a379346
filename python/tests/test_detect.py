import itertools

import cv2
import numpy as np
import pytest
from conftest import CELEBA_IMAGES, HAAR_CASCADE, RES10_DIR

from faceattr.config import DetectorConfig
from faceattr.detect import (
    Box,
    HaarDetector,
    Res10Detector,
    build_detector,
    detect_faces,
    haar_score,
    unpad_boxes,
)

needs_cascade = pytest.mark.skipif(
    not __import__("os").path.isfile(HAAR_CASCADE), reason=f"opencv-data absent: {HAAR_CASCADE}"
)


class FakeDetector:
    """Finds the given boxes only on images at least ``min_width`` wide."""

    kind = "fake"

    def __init__(self, boxes, min_width=0):
        self.boxes, self.min_width, self.calls = boxes, min_width, []

    def find(self, rgb, min_size):
        self.calls.append((rgb.shape, min_size))
        return list(self.boxes) if rgb.shape[1] >= self.min_width else []

    def describe(self):
        return {"kind": self.kind}


def celeba_face() -> np.ndarray:
    """One aligned CelebA crop, RGB uint8 (109 x 89)."""
    path = sorted(CELEBA_IMAGES.iterdir())[0]
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


needs_faces = pytest.mark.skipif(
    not CELEBA_IMAGES.is_dir(), reason=f"face images absent: {CELEBA_IMAGES}"
)


def test_boxes_come_largest_first_and_low_scores_are_dropped():
    boxes = [Box(0, 0, 10, 10, 0.9), Box(5, 5, 30, 30, 0.8), Box(1, 1, 50, 50, 0.2)]
    found = detect_faces(FakeDetector(boxes), np.zeros((100, 100, 3), np.uint8), min_score=0.5)
    assert [b.w for b in found.boxes] == [30, 10] and not found.padded


def test_min_face_size_is_a_fraction_of_the_shorter_side():
    fake = FakeDetector([])
    detect_faces(fake, np.zeros((200, 400, 3), np.uint8), min_size_frac=0.25, pad_retry=False)
    assert fake.calls == [((200, 400, 3), 50)]


def test_tight_crop_retry_pads_40_percent_and_maps_boxes_back():
    # Found only on the padded image (100 + 2*40 wide), at padded coordinates.
    fake = FakeDetector([Box(30, 30, 60, 60, 0.9)], min_width=180)
    found = detect_faces(fake, np.zeros((100, 100, 3), np.uint8), min_size_frac=0.1)
    assert fake.calls[1][0] == (180, 180, 3)
    assert found.padded and found.boxes == [Box(0, 0, 50, 50, 0.9)]


def test_no_retry_when_disabled_and_padded_false_when_retry_finds_nothing():
    found = detect_faces(FakeDetector([]), np.zeros((50, 50, 3), np.uint8), pad_retry=True)
    assert found.boxes == [] and not found.padded
    fake = FakeDetector([Box(0, 0, 9, 9, 1.0)], min_width=60)
    assert detect_faces(fake, np.zeros((50, 50, 3), np.uint8), pad_retry=False).boxes == []


def test_unpad_clips_to_the_image_and_drops_boxes_outside_it():
    boxes = [Box(10, 10, 100, 20, 0.7), Box(0, 0, 5, 5, 0.6)]
    assert unpad_boxes(boxes, 20, 20, 50, 40) == [Box(0, 0, 50, 10, 0.7)]


def test_rejects_an_image_that_is_not_rgb_uint8():
    with pytest.raises(ValueError, match=r"uint8 \[H, W, 3\]"):
        detect_faces(FakeDetector([]), np.zeros((10, 10), np.uint8))


def test_haar_score_is_in_0_to_1_and_monotonic():
    grid = list(itertools.product(range(0, 21), [-5.0, 0.0, 50.0, 53.7, 54.0, 58.0, 200.0]))
    scores = {(lv, w): haar_score(lv, w, 20, 53.7) for lv, w in grid}
    assert all(0.0 <= s <= 1.0 for s in scores.values())
    values = [scores[k] for k in sorted(grid)]  # by level, then weight
    assert values == sorted(values)
    assert scores[(20, 58.0)] > scores[(20, 54.0)] > scores[(19, 200.0)]
    assert haar_score(20, 53.7, 20, 53.7) == 0.5 and haar_score(19, 99.0, 20, 53.7) < 0.5


@needs_cascade
def test_haar_finds_nothing_on_flat_grey():
    found = detect_faces(HaarDetector(HAAR_CASCADE), np.full((120, 160, 3), 128, np.uint8))
    assert found.boxes == [] and not found.padded


@needs_cascade
@needs_faces
def test_haar_finds_a_face_placed_in_a_larger_image():
    face = celeba_face()
    canvas = np.full((240, 320, 3), 90, np.uint8)
    canvas[60:169, 150:239] = face
    found = detect_faces(HaarDetector(HAAR_CASCADE), canvas)
    assert found.boxes and not found.padded
    box = found.boxes[0]
    assert 150 <= box.x + box.w / 2 <= 239 and 60 <= box.y + box.h / 2 <= 169
    assert 0.5 <= box.score <= 1.0


@needs_cascade
@needs_faces
def test_haar_boxes_on_a_tight_crop_lie_inside_it():
    face = celeba_face()[20:95, 10:80]  # tighter than the aligned crop
    found = detect_faces(HaarDetector(HAAR_CASCADE), face)
    for box in found.boxes:
        assert box.x >= 0 and box.y >= 0 and box.x + box.w <= 70 and box.y + box.h <= 75


@pytest.mark.skipif(not RES10_DIR.is_dir(), reason=f"Res10-SSD files absent: {RES10_DIR}")
@needs_faces
def test_res10_finds_a_face_with_its_confidence_as_score():
    canvas = np.full((240, 320, 3), 90, np.uint8)
    canvas[60:169, 150:239] = celeba_face()
    found = detect_faces(Res10Detector(str(RES10_DIR)), canvas)
    assert found.boxes and 0.5 <= found.boxes[0].score <= 1.0
    box = found.boxes[0]
    assert 150 <= box.x + box.w / 2 <= 239 and 60 <= box.y + box.h / 2 <= 169


def test_a_missing_cascade_is_an_error_and_missing_res10_falls_back_to_haar(tmp_path):
    with pytest.raises(FileNotFoundError):
        HaarDetector(str(tmp_path / "none.xml"))
    if __import__("os").path.isfile(HAAR_CASCADE):
        config = DetectorConfig("res10", HAAR_CASCADE, str(tmp_path))
        assert build_detector(config).kind == "haar"


class _StrictMisses:
    """A detector whose strict pass finds nothing; the loose pass finds one big face."""

    kind = "stub"

    def __init__(self) -> None:
        self.loose_min_sizes: list[int] = []

    def find(self, rgb, min_size):
        return []

    def find_loose(self, rgb, min_size):
        self.loose_min_sizes.append(min_size)
        h, w = rgb.shape[:2]
        return [Box(w // 4, h // 4, w // 2, h // 2, 0.5)]


def test_a_tight_crop_falls_back_to_the_loose_pass_for_big_faces_only():
    from faceattr.detect import detect_faces

    stub = _StrictMisses()
    image = np.zeros((100, 80, 3), dtype=np.uint8)
    found = detect_faces(stub, image, min_size_frac=0.1)
    assert found.padded and len(found.boxes) == 1
    # The loose pass only accepts faces of at least 30 % of the shorter side.
    assert stub.loose_min_sizes == [24]
    assert detect_faces(stub, image, pad_retry=False).boxes == []


def test_the_padded_retry_looks_only_for_faces_a_tight_crop_can_hold():
    # Nothing found anywhere: the first pass asks for 8 % of the short side,
    # the padded retry for a quarter of it (smaller faces were the first
    # pass's to find).
    fake = FakeDetector([], min_width=10_000)
    detect_faces(fake, np.zeros((200, 300, 3), np.uint8), min_size_frac=0.08)
    assert [size for _, size in fake.calls] == [16, 50]
    assert fake.calls[1][0] == (360, 540, 3)
    # A larger first-pass minimum wins over the quarter.
    fake = FakeDetector([], min_width=10_000)
    detect_faces(fake, np.zeros((200, 300, 3), np.uint8), min_size_frac=0.5)
    assert [size for _, size in fake.calls] == [100, 100]


def test_haar_scale_factor_is_checked_and_reported():
    with pytest.raises(ValueError, match="scale_factor"):
        HaarDetector(HAAR_CASCADE, scale_factor=1.0)
    if __import__("os").path.isfile(HAAR_CASCADE):
        config = DetectorConfig(haar_cascade=HAAR_CASCADE, scale_factor=1.25)
        assert build_detector(config).describe()["scale_factor"] == 1.25


@needs_cascade
@needs_faces
def test_haar_with_a_coarser_scale_step_still_finds_a_large_placed_face():
    # Coarser steps give fewer overlapping hits: this aligned crop pasted on
    # grey is found at 1.1 when twice its size, at 1.15 and 1.2 only when
    # three times its size (the README's detector trade-off).
    canvas = np.full((480, 640, 3), 90, np.uint8)
    canvas[100:427, 250:517] = cv2.resize(celeba_face(), (267, 327))
    found = detect_faces(HaarDetector(HAAR_CASCADE, scale_factor=1.2), canvas)
    assert found.boxes and not found.padded
    box = found.boxes[0]
    assert 250 <= box.x + box.w / 2 <= 517 and 100 <= box.y + box.h / 2 <= 427


class RecordingCascade:
    """Stands in for cv2.CascadeClassifier: answers each search from a table, records it."""

    def __init__(self, coarse_hits, fine_by_range):
        self.coarse_hits, self.fine_by_range, self.calls = coarse_hits, fine_by_range, []

    def detectMultiScale(self, grey, scaleFactor, minNeighbors, minSize):
        self.calls.append(("coarse", scaleFactor, minNeighbors, minSize[0], None))
        return np.array(self.coarse_hits, dtype=np.int32).reshape(-1, 4)

    def detectMultiScale3(self, grey, scaleFactor, minNeighbors, minSize, maxSize, **_):
        largest = maxSize[0] or None
        self.calls.append(("fine", scaleFactor, minNeighbors, minSize[0], largest))
        rects = self.fine_by_range.get((minSize[0], largest), [])
        n = len(rects)
        return np.array(rects, np.int32).reshape(-1, 4), np.full(n, 99), np.full(n, 5.0)


def two_step_detector(cascade):
    detector = HaarDetector(HAAR_CASCADE, scale_factor=1.1, coarse_scale_factor=1.3)
    detector._cascade = cascade
    return detector


@needs_cascade
def test_a_coarse_search_narrows_the_fine_search_to_the_sizes_it_found():
    cascade = RecordingCascade(
        [(10, 10, 100, 100), (200, 50, 60, 60)], {(41, 145): [(12, 9, 98, 98)]}
    )
    boxes = two_step_detector(cascade).find(np.zeros((300, 400, 3), np.uint8), 20)
    # 60 / 1.45 = 41.4 -> 41; 100 * 1.45 = 145
    assert cascade.calls == [("coarse", 1.3, 1, 20, None), ("fine", 1.1, 3, 41, 145)]
    assert [(b.x, b.y, b.w, b.h) for b in boxes] == [(12, 9, 98, 98)]


@needs_cascade
def test_the_fine_search_covers_every_size_when_the_coarse_one_finds_or_confirms_nothing():
    for coarse_hits in ([], [(0, 0, 200, 200)]):
        cascade = RecordingCascade(coarse_hits, {(20, None): [(5, 5, 30, 30)]})
        boxes = two_step_detector(cascade).find(np.zeros((300, 400, 3), np.uint8), 20)
        assert cascade.calls[-1] == ("fine", 1.1, 3, 20, None)
        assert len(cascade.calls) == (2 if not coarse_hits else 3)
        assert [(b.x, b.w) for b in boxes] == [(5, 30)]
    # The narrowed range never goes below the requested smallest face.
    cascade = RecordingCascade([(0, 0, 22, 22)], {})
    two_step_detector(cascade).find(np.zeros((300, 400, 3), np.uint8), 20)
    assert cascade.calls[1] == ("fine", 1.1, 3, 20, 32)


def test_coarse_scale_factor_is_checked_reported_and_off_when_not_coarser():
    with pytest.raises(ValueError, match="coarse_scale_factor"):
        HaarDetector(HAAR_CASCADE, scale_factor=1.1, coarse_scale_factor=2.5)
    if __import__("os").path.isfile(HAAR_CASCADE):
        assert build_detector(DetectorConfig(haar_cascade=HAAR_CASCADE)).describe()[
            "coarse_scale_factor"
        ] == pytest.approx(1.3)
        same = HaarDetector(HAAR_CASCADE, scale_factor=1.2, coarse_scale_factor=1.2)
        assert same.describe()["coarse_scale_factor"] is None


@needs_cascade
@needs_faces
def test_two_step_search_finds_the_placed_face_where_one_search_does():
    canvas = np.full((480, 640, 3), 90, np.uint8)
    canvas[100:427, 250:517] = cv2.resize(celeba_face(), (267, 327))
    one = detect_faces(HaarDetector(HAAR_CASCADE, 1.1), canvas).boxes
    two = detect_faces(HaarDetector(HAAR_CASCADE, 1.1, coarse_scale_factor=1.3), canvas).boxes
    assert one and two
    # Not always the same pixels: the fine search groups fewer neighbouring hits.
    a, b = one[0], two[0]
    overlap = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x)) * max(
        0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    )
    assert overlap / (a.w * a.h + b.w * b.h - overlap) > 0.85


@needs_cascade
def test_small_images_are_searched_in_one_step():
    cascade = RecordingCascade([(0, 0, 50, 50)], {})
    two_step_detector(cascade).find(np.zeros((200, 256, 3), np.uint8), 20)
    # Nothing found: the equalised search, then the plain-grey one, each in one step.
    assert cascade.calls == [("fine", 1.1, 3, 20, None)] * 2


class CornerCascade:
    """Finds one face when the top-left grey value is ``hit``; records the value per search."""

    def __init__(self, hit):
        self.hit, self.seen = hit, []

    def detectMultiScale3(self, grey, scaleFactor, minNeighbors, minSize, maxSize, **_):
        self.seen.append(int(grey[0, 0]))
        rects = [(40, 30, 50, 50)] if grey[0, 0] == self.hit else []
        n = len(rects)
        return np.array(rects, np.int32).reshape(-1, 4), np.full(n, 99), np.full(n, 5.0)


@needs_cascade
def test_haar_searches_the_plain_grey_image_only_when_the_equalised_one_has_no_face():
    image = np.full((120, 160, 3), 200, np.uint8)  # a backdrop of 200 ...
    image[40:80, 60:100] = 90  # ... equalises to 255
    detector = HaarDetector(HAAR_CASCADE)
    for hit, searches in ((200, [255, 200]), (255, [255]), (7, [255, 200])):
        detector._cascade = cascade = CornerCascade(hit)
        boxes = detector.find(image, 20)
        assert cascade.seen == searches  # equalised first; plain grey only after a miss
        assert [(b.x, b.y) for b in boxes] == ([] if hit == 7 else [(40, 30)])
    assert detector.describe()["plain_grey_retry"] is True


@needs_cascade
@needs_faces
def test_haar_finds_a_face_on_a_white_backdrop_that_equalising_hides():
    face = cv2.resize(celeba_face(), (178, 218))
    canvas = np.full((480, 640, 3), 255, np.uint8)
    canvas[130:348, 230:408] = face
    detector = HaarDetector(HAAR_CASCADE, 1.1, 1.3)
    equalised = cv2.equalizeHist(cv2.cvtColor(canvas, cv2.COLOR_RGB2GRAY))
    assert not [b for b in detector._search(equalised, 38) if b.score >= 0.5]
    found = detect_faces(detector, canvas, 0.08)
    assert len(found.boxes) == 1 and not found.padded
    box = found.boxes[0]
    assert 230 <= box.x + box.w / 2 <= 408 and 130 <= box.y + box.h / 2 <= 348
