"""minialexnet.predict: every readable image predicted, the others named; photos of dark objects on light inverted."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from minialexnet.data import load_sample
from minialexnet.data.folder import load_image
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
    captured = capsys.readouterr()
    assert captured.out == ""  # notes go to stderr, results to stdout
    assert captured.err.count("a light background, but the model was trained on light objects on dark") == 3
    assert "inverted it (--invert no keeps it" in captured.err
    assert f"{trained / '0.png'}:" not in captured.err  # a light object on black is left as it is


def test_light_background_needs_a_bright_border_darker_centre():
    image = np.zeros((1, 40, 40), np.uint8)
    image[:, 10:30, 10:30] = 200
    assert not predict.on_light_background(image)
    assert predict.on_light_background(255 - image)
    grey = np.full((1, 40, 40), 150, np.uint8)  # a border brighter than its centre, but not light: a sandal's straps
    grey[:, 10:30, 10:30] = 20
    assert not predict.on_light_background(grey)


def test_no_genuine_fashion_mnist_image_is_inverted():
    """The sample's 1,000 test images include 12 sandals whose centre is darker than their border; none is taken for a
    photo on a light background (on the full dataset, tests/test_data.py checks all 70,000 where MINIALEXNET_DATA is)."""
    sample = load_sample()
    for images in (sample.train_images, sample.test_images):
        assert not any(predict.on_light_background(image) for image in images)
        assert max(predict.border_and_centre(image)[0] for image in images) < predict.LIGHT_BORDER - 25


def test_a_photo_stored_sideways_with_its_exif_orientation_is_read_upright(trained, tmp_path):
    upright = load_sample().test_images[1, 0]  # a trouser: sideways it reads as another class
    Image.fromarray(upright).save(tmp_path / "upright.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display": what a phone held upright writes
    Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90).save(tmp_path / "sideways.png", exif=exif)
    read = load_image(tmp_path / "sideways.png", 28, 1)
    np.testing.assert_array_equal(read, load_image(tmp_path / "upright.png", 28, 1))
    checkpoint = Checkpoint(trained / "run" / "best.npz")
    assert predict.predict_images(checkpoint, [tmp_path / "sideways.png"]) == predict.predict_images(checkpoint, [tmp_path / "upright.png"])


def test_images_go_through_in_batches_and_results_stream(trained, tmp_path, monkeypatch, capsys):
    """--batch-size 2 over five images: each forward pass sees at most two, the first results come before the third
    image is read, and the output equals one pass over all five."""
    checkpoint = Checkpoint(trained / "run" / "best.npz")
    paths = [str(trained / f"{index % 3}.png") for index in range(5)]
    read, real_load = [], predict.load_image
    monkeypatch.setattr(predict, "load_image", lambda *args: read.append(args[0]) or real_load(*args))
    stream = predict.predict_batches(checkpoint, paths, top=10, batch_size=2)
    first = next(stream)
    assert first[0] == paths[0] and len(read) == 2
    for (path, ranking), (other, whole) in zip([first, *stream], predict.predict_batches(checkpoint, paths, top=10), strict=True):
        assert path == other and dict(ranking) == pytest.approx(dict(whole), rel=1e-5)  # float32: another batch, other rounding
    assert predict.main(["--checkpoint", str(trained / "run" / "best.npz"), *paths, "--batch-size", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[::6] == paths and len(lines) == 30
