"""The thread setting (minialexnet/threads.py): read from the environment, checked, changeable."""

import pytest

from minialexnet import threads


@pytest.fixture
def unset(monkeypatch):
    """No thread variable set, and the setting read again at the next ``get_num_threads``."""
    for name in threads.THREAD_ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(threads._state, "threads", None)
    return monkeypatch


def test_thread_count_comes_from_the_environment(unset):
    assert threads.default_num_threads() == threads.available_cores()
    unset.setenv("OPENBLAS_NUM_THREADS", "3")
    assert threads.default_num_threads() == 3
    unset.setenv("OMP_NUM_THREADS", "5")
    assert threads.default_num_threads() == 5
    unset.setenv("MINIALEXNET_NUM_THREADS", "1")  # our own setting wins
    assert threads.default_num_threads() == 1
    assert threads.get_num_threads() == 1
    unset.setenv("MINIALEXNET_NUM_THREADS", "two")
    with pytest.raises(threads.ThreadSettingError, match="MINIALEXNET_NUM_THREADS='two' is not a whole number"):
        threads.default_num_threads()
    unset.setenv("MINIALEXNET_NUM_THREADS", "0")
    with pytest.raises(threads.ThreadSettingError, match="at least 1"):
        threads.default_num_threads()


def test_the_setting_is_read_once_and_set_num_threads_changes_it(unset):
    unset.setenv("MINIALEXNET_NUM_THREADS", "1")
    assert threads.get_num_threads() == 1
    unset.setenv("MINIALEXNET_NUM_THREADS", "2")
    assert threads.get_num_threads() == 1  # read once
    threads.set_num_threads(2)
    assert threads.get_num_threads() == 2
    with pytest.raises(ValueError, match="positive int"):
        threads.set_num_threads(0)


def test_more_threads_than_cores_is_named_with_its_variable(unset):
    cores = threads.available_cores()
    assert threads.oversubscription(cores) is None
    unset.setenv("OMP_NUM_THREADS", str(cores + 1))
    problem = threads.oversubscription(cores + 1)
    assert problem.startswith(f"OMP_NUM_THREADS={cores + 1} asks for more threads than the {cores} cores")
    assert f"set it to {cores} or less" in problem


@pytest.mark.parametrize("module", ["training.train", "tools.bench", "gradcheck"])
def test_command_lines_report_a_bad_thread_setting_in_one_line(module, monkeypatch, capsys):
    import importlib

    monkeypatch.setenv("MINIALEXNET_NUM_THREADS", "lots")
    monkeypatch.setitem(threads._state, "threads", None)  # read the environment again
    main = importlib.import_module(f"minialexnet.{module}").main
    assert main([]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: MINIALEXNET_NUM_THREADS='lots' is not a whole number; set it to the number of threads to use, "
        "e.g. MINIALEXNET_NUM_THREADS=2"
    )
