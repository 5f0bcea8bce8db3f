import gzip
import hashlib
import http.server
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import FASHION_DIR, NO_FASHION
from PIL import Image

from minialexnet.data import DataFileError, load_cifar10, load_dataset, load_fashion_mnist, load_image_folder, load_sample, read_idx
from minialexnet.data import fashion_mnist as fm
from minialexnet.data.idx import write_idx


def make_fashion_files(directory: Path, n_train=20, n_test=10, compress=True, seed=0):
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for stem, array in arrays.items():
        write_idx(directory / (stem + (".gz" if compress else "")), array, compress=compress)
    return arrays


@pytest.fixture
def isolated_search(tmp_path, monkeypatch):
    """No real data is found unless a test puts it somewhere."""
    monkeypatch.delenv("MINIALEXNET_DATA", raising=False)
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "debian")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


@pytest.mark.parametrize("compress", [True, False])
def test_idx_round_trip(tmp_path, compress):
    arrays = make_fashion_files(tmp_path, compress=compress)
    data = load_fashion_mnist(tmp_path, download=False)
    np.testing.assert_array_equal(data.train_images[:, 0], arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(data.test_labels, arrays["t10k-labels-idx1-ubyte"])
    assert data.train_images.shape == (20, 1, 28, 28) and data.class_names[9] == "Ankle boot"


def test_truncated_idx_names_file_and_problem(tmp_path):
    make_fashion_files(tmp_path, compress=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataFileError, match=r"train-images-idx3-ubyte: truncated: header says \(20, 28, 28\)"):
        load_fashion_mnist(tmp_path, download=False)


def test_bad_magic_corrupt_gzip_and_count_mismatch(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 8)
    with pytest.raises(DataFileError, match="bad: not an IDX file"):
        read_idx(bad)
    make_fashion_files(tmp_path / "gz")
    corrupt = tmp_path / "gz" / "t10k-images-idx3-ubyte.gz"
    corrupt.write_bytes(corrupt.read_bytes()[:40])
    with pytest.raises(DataFileError, match="t10k-images-idx3-ubyte.gz: corrupt gzip"):
        load_fashion_mnist(tmp_path / "gz", download=False)
    make_fashion_files(tmp_path / "count")
    write_idx(tmp_path / "count" / "train-labels-idx1-ubyte.gz", np.zeros(7, np.uint8))
    with pytest.raises(DataFileError, match="7 labels for 20 images"):
        load_fashion_mnist(tmp_path / "count", download=False)


def test_label_out_of_range(tmp_path):
    make_fashion_files(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.full(10, 12, np.uint8))
    with pytest.raises(DataFileError, match="label 12 is outside 0..9"):
        load_fashion_mnist(tmp_path, download=False)


def test_user_folder_missing_files_is_explained(tmp_path):
    with pytest.raises(DataFileError, match="no Fashion-MNIST here; missing train-images-idx3-ubyte"):
        load_fashion_mnist(tmp_path, download=False)


def test_search_order_env_then_debian_then_cache(isolated_search, monkeypatch):
    root = isolated_search
    make_fashion_files(root / "cache" / "minialexnet" / "fashion-mnist", n_train=3)
    assert len(load_fashion_mnist(download=False).train_labels) == 3
    make_fashion_files(root / "debian", n_train=4)
    assert len(load_fashion_mnist(download=False).train_labels) == 4
    make_fashion_files(root / "env" / "fashion-mnist", n_train=5)
    monkeypatch.setenv("MINIALEXNET_DATA", str(root / "env"))
    assert len(load_fashion_mnist(download=False).train_labels) == 5
    make_fashion_files(root / "user", n_train=6)
    assert len(load_fashion_mnist(root / "user", download=False).train_labels) == 6


def test_nothing_found_without_download_lists_the_places(isolated_search):
    with pytest.raises(DataFileError, match="Fashion-MNIST not found \\(searched .*debian"):
        load_fashion_mnist(download=False)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def local_server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = lambda *a, **k: _QuietHandler(*a, directory=str(served), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_download_from_a_local_server_checks_sha256(local_server, tmp_path):
    served, url = local_server
    arrays = make_fashion_files(served)
    checksums = {stem: hashlib.sha256(gzip.decompress((served / (stem + ".gz")).read_bytes())).hexdigest() for stem in arrays}
    target = fm.download_fashion_mnist(tmp_path / "dl", base_url=url, checksums=checksums)
    data = load_fashion_mnist(target, download=False)
    np.testing.assert_array_equal(data.train_labels, arrays["train-labels-idx1-ubyte"])


def test_download_with_wrong_checksum_deletes_and_names_the_file(local_server, tmp_path):
    served, url = local_server
    arrays = make_fashion_files(served)
    checksums = dict.fromkeys(arrays, "0" * 64)
    with pytest.raises(DataFileError, match="checksum mismatch for train-images-idx3-ubyte"):
        fm.download_fashion_mnist(tmp_path / "dl", base_url=url, checksums=checksums)
    assert not list((tmp_path / "dl").glob("*"))


def test_download_failure_is_explained_and_names_the_four_files(local_server, tmp_path):
    _, url = local_server  # serves nothing
    with pytest.raises(DataFileError, match="download failed") as caught:
        fm.download_fashion_mnist(tmp_path / "dl", base_url=url)
    for stem in fm.FILES.values():
        assert f"{stem}.gz" in str(caught.value)
    assert f"from {url} by hand" in str(caught.value)


def test_wide_modes_become_8_bit_by_their_white():
    from minialexnet.data.folder import to_8_bit

    values = np.array([[0, 257, 65535, 32896]], dtype=np.int32)
    np.testing.assert_array_equal(np.asarray(to_8_bit(Image.fromarray(values, "I"))), [[0, 1, 255, 128]])
    floats = np.array([[0.0, 0.5, 1.0, 0.25]], dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(to_8_bit(Image.fromarray(floats, "F"))), [[0, 128, 255, 64]])
    big = np.array([[0, 200000]], dtype=np.int32)  # beyond 16 bits: scaled by its largest value
    np.testing.assert_array_equal(np.asarray(to_8_bit(Image.fromarray(big, "I"))), [[0, 255]])


def test_swapped_train_and_test_files_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(fm, "TRAIN_SIZE", 30)  # Fashion-MNIST's 60000 and 10000, scaled down
    monkeypatch.setattr(fm, "TEST_SIZE", 12)
    make_fashion_files(tmp_path / "right", n_train=30, n_test=12)
    assert len(load_fashion_mnist(tmp_path / "right", download=False).train_labels) == 30
    make_fashion_files(tmp_path / "swapped", n_train=12, n_test=30)
    with pytest.raises(
        DataFileError, match="training files hold 12 images and the test files 30, but Fashion-MNIST has 30 training"
    ) as caught:
        load_fashion_mnist(tmp_path / "swapped", download=False)
    assert "look swapped; rename them" in str(caught.value)


def test_a_16_bit_grey_png_is_scaled_by_its_range_not_clipped(tmp_path, rng):
    """A 16-bit PNG holding an 8-bit image times 257 (65535 = white) reads back as that 8-bit image."""
    from minialexnet.data.folder import load_image

    pixels = rng.integers(0, 256, (20, 30), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "8.png")
    Image.fromarray(pixels.astype(np.uint16) * 257).save(tmp_path / "16.png")
    with Image.open(tmp_path / "16.png") as image:
        assert image.mode == "I;16"
    for channels in (1, 3):
        np.testing.assert_array_equal(load_image(tmp_path / "16.png", 20, channels), load_image(tmp_path / "8.png", 20, channels))


def test_official_checksums_are_the_ones_documented():
    assert fm.SHA256["train-images-idx3-ubyte"] == "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
    assert len(fm.SHA256) == 4


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason=NO_FASHION)
def test_real_fashion_mnist_loads_and_matches_checksums():
    data = load_fashion_mnist(FASHION_DIR, download=False)
    assert data.train_images.shape == (60000, 1, 28, 28) and data.test_images.shape == (10000, 1, 28, 28)
    assert np.bincount(data.train_labels).tolist() == [6000] * 10
    raw = gzip.decompress((FASHION_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes())
    assert hashlib.sha256(raw).hexdigest() == fm.SHA256["t10k-labels-idx1-ubyte"]
    from minialexnet.training.predict import on_light_background

    # predict --invert auto never takes a genuine image for a photo on a light background (the old rule took 771)
    assert not any(on_light_background(image) for images in (data.train_images, data.test_images) for image in images)


def test_builtin_sample_is_balanced_and_small():
    data = load_sample()
    assert data.train_images.shape == (6000, 1, 28, 28) and data.train_images.dtype == np.uint8
    assert np.bincount(data.train_labels).tolist() == [600] * 10
    assert np.bincount(data.test_labels).tolist() == [100] * 10
    from minialexnet.data.sample import SAMPLE_PATH

    assert SAMPLE_PATH.stat().st_size < 5_000_000


def make_cifar(directory: Path, per_batch=4, seed=0):
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True)
    records = {}
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        labels = rng.integers(0, 10, per_batch, dtype=np.uint8)
        pixels = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        np.concatenate([labels[:, None], pixels], axis=1).tofile(directory / name)
        records[name] = (labels, pixels)
    (directory / "batches.meta.txt").write_text(
        "\n".join(["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]) + "\n\n"
    )
    return records


def test_cifar10_binary_reader(tmp_path):
    records = make_cifar(tmp_path / "cifar-10-batches-bin")
    data = load_cifar10(tmp_path)
    assert data.train_images.shape == (20, 3, 32, 32) and data.test_images.shape == (4, 3, 32, 32)
    labels, pixels = records["data_batch_2.bin"]
    np.testing.assert_array_equal(data.train_labels[4:8], labels)
    np.testing.assert_array_equal(data.train_images[4, 1].ravel(), pixels[0, 1024:2048])  # green plane
    assert data.class_names[1] == "car"
    assert load_dataset(f"cifar10:{tmp_path}").name == "cifar10"


def test_cifar10_truncated_and_missing(tmp_path):
    make_cifar(tmp_path / "c")
    path = tmp_path / "c" / "test_batch.bin"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataFileError, match="test_batch.bin: size .* not a whole number of 3073-byte"):
        load_cifar10(tmp_path / "c")
    with pytest.raises(DataFileError, match="missing data_batch_1.bin"):
        load_cifar10(tmp_path)


def make_folder(root: Path, classes=("cat", "dog"), per_class=3, size=(40, 30)):
    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.{'png' if i % 2 else 'jpg'}")


def test_image_folder_resizes_to_256_and_centre_crops(tmp_path):
    make_folder(tmp_path / "imgs", size=(400, 300))
    data = load_image_folder(tmp_path / "imgs", test_fraction=0.5)
    assert data.class_names == ["cat", "dog"]
    assert data.train_images.shape[1:] == (3, 256, 256)
    assert len(data.train_labels) + len(data.test_labels) == 6


def test_image_folder_with_train_and_test_splits(tmp_path):
    make_folder(tmp_path / "r" / "train")
    make_folder(tmp_path / "r" / "val", per_class=1)
    data = load_image_folder(tmp_path / "r", size=64)
    assert len(data.train_labels) == 6 and len(data.test_labels) == 2 and data.train_images.shape[2:] == (64, 64)


def test_unreadable_images_are_skipped_with_a_warning(tmp_path):
    make_folder(tmp_path / "imgs")
    (tmp_path / "imgs" / "cat" / "broken.jpg").write_bytes(b"not an image")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_image_folder(tmp_path / "imgs", size=32)
    assert any(
        "skipped 1 unreadable image(s): " + str(tmp_path / "imgs" / "cat" / "broken.jpg") == str(w.message).partition(": ")[2]
        for w in caught
    )
    assert len(data.train_labels) + len(data.test_labels) == 6


def test_the_skip_warning_names_a_few_files_then_counts_the_rest(tmp_path):
    make_folder(tmp_path / "imgs")
    for i in range(7):
        (tmp_path / "imgs" / "cat" / f"broken{i}.png").write_bytes(b"not an image")
    with pytest.warns(UserWarning) as caught:
        load_image_folder(tmp_path / "imgs", size=32)
    message = str(caught[0].message)
    assert "skipped 7 unreadable image(s)" in message and message.endswith("broken4.png and 2 more")
    assert "broken0.png" in message and "broken5.png" not in message


def test_fashion_dir_for_tests_follows_minialexnet_data(tmp_path, monkeypatch):
    import conftest

    make_fashion_files(tmp_path / "data" / "fashion-mnist", n_train=2)
    monkeypatch.setenv("MINIALEXNET_DATA", str(tmp_path / "data"))
    assert conftest._fashion_dir() == tmp_path / "data" / "fashion-mnist"


def test_minialexnet_data_pointing_nowhere_is_an_error(isolated_search, monkeypatch):
    monkeypatch.setenv("MINIALEXNET_DATA", str(isolated_search / "missing"))
    with pytest.raises(DataFileError, match="MINIALEXNET_DATA=.*missing is not a folder; point it at"):
        load_fashion_mnist(download=False)


def test_empty_class_folder_and_empty_dataset_are_errors(tmp_path):
    make_folder(tmp_path / "imgs")
    (tmp_path / "imgs" / "empty").mkdir()
    with pytest.raises(DataFileError, match="empty: class folder is empty"):
        load_image_folder(tmp_path / "imgs")
    (tmp_path / "none").mkdir()
    with pytest.raises(DataFileError, match="no class folders"):
        load_image_folder(tmp_path / "none")
    (tmp_path / "bad" / "a").mkdir(parents=True)
    (tmp_path / "bad" / "a" / "x.png").write_bytes(b"junk")
    with pytest.raises(DataFileError, match="a: none of its 1 image files can be read"):
        load_image_folder(tmp_path / "bad")


def test_unknown_data_name():
    with pytest.raises(DataFileError, match="unknown data 'imagenet'"):
        load_dataset("imagenet")
