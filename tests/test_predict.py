"""minialexnet.predict: every readable image predicted, the others named; photos of dark objects on light inverted."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from minialexnet.data import load_sample
from minialexnet.training import predict, train
from minialexnet.training.checkpoint import Checkpoint


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A checkpoint of the sample (light clothes on black) and a few of its test images as PNG files."""
    d = tmp_path_factory.mktemp("predict")
    assert train.main(["--limit", "200", "--batch-size", "50", "--epochs", "1", "--seed", "1", "--out", str(d / "run")]) == 0
    sample = load_sample()
    for index in range(3):
        Image.fromarray(sample.test_images[index, 0]).save(d / f"{index}.png")
        Image.fromarray(255 - sample.test_images[index, 0]).save(d / f"{index}-inverted.png")  # dark on light
    return d


def test_good_images_are_predicted_and_a_missing_one_is_named_exit_2(trained, capsys):
    good, missing, good2 = trained / "0.png", trained / "missing.png", trained / "1.png"
    assert predict.main(["--checkpoint", str(trained / "run" / "best.npz"), str(good), str(missing), str(good2)]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == f"error: {missing}: cannot read the image ([Errno 2] No such file or directory: '{missing}')"
    lines = captured.out.splitlines()
    assert [lines[0], lines[6]] == [str(good), str(good2)] and len(lines) == 12


def test_invert_auto_turns_dark_on_light_into_what_the_model_saw_and_says_so(trained, capsys):
    checkpoint = Checkpoint(trained / "run" / "best.npz")
    assert predict.trained_on_dark(checkpoint)
    for index in range(3):
        original = predict.predict_images(checkpoint, [trained / f"{index}.png"], invert="auto")
        inverted = trained / f"{index}-inverted.png"
        assert predict.predict_images(checkpoint, [inverted], invert="auto") == original  # 255 - (255 - x) = x exactly
        assert predict.predict_images(checkpoint, [inverted], invert="yes") == original
        assert predict.predict_images(checkpoint, [inverted], invert="no") != original
    said = capsys.readouterr().out
    assert said.count("its border is brighter than its centre") == 3 and "inverted it (--invert no keeps it" in said
    assert f"{trained / '0.png'}:" not in said  # a light object on black is left as it is


def test_border_brighter_than_centre():
    image = np.zeros((1, 40, 40), np.uint8)
    image[:, 10:30, 10:30] = 200
    assert not predict.border_brighter_than_centre(image)
    assert predict.border_brighter_than_centre(255 - image)
