import os

import pytest

from minialexnet.training.files import write_atomically


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("old")

    def fails_halfway(file):
        file.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, fails_halfway)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]


def test_written_files_get_the_umask_mode_not_mkstemps_0600(tmp_path):
    previous = os.umask(0o027)
    try:
        path = write_atomically(tmp_path / "a.bin", lambda file: file.write(b"x"))
    finally:
        os.umask(previous)
    assert path.read_bytes() == b"x"
    assert path.stat().st_mode & 0o777 == 0o640
