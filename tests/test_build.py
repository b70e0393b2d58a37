"""The build orchestrator skips up-to-date steps and rebuilds when an input changes."""

from __future__ import annotations

import sys

import pytest

from analysis import build, paths


@pytest.fixture()
def toy_steps(tmp_path, monkeypatch):
    """Two synthetic steps in a throwaway module; counts how often each one runs."""
    monkeypatch.setenv("PTCE_DATA_DIR", str(tmp_path / "data"))
    module_file = tmp_path / "toy_build_module.py"
    module_file.write_text(
        "from analysis import paths\n"
        "INPUT_SOURCES = ()\n"
        "CALLS = []\n"
        "def make_a():\n"
        "    CALLS.append('a'); p = paths.processed_dir() / 'a.txt'\n"
        "    p.parent.mkdir(parents=True, exist_ok=True); p.write_text('a')\n"
        "def make_b():\n"
        "    CALLS.append('b'); (paths.processed_dir() / 'b.txt').write_text('b')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("toy_build_module", None)
    import toy_build_module  # noqa: F401  (registered in sys.modules for the steps)

    extra = tmp_path / "registry.csv"
    extra.write_text("id\n1\n")
    steps = {
        "a": build.Step(
            "a", "toy_build_module", "make_a", (), lambda: [paths.processed_dir() / "a.txt"]
        ),
        "b": build.Step(
            "b",
            "toy_build_module",
            "make_b",
            ("a",),
            lambda: [paths.processed_dir() / "b.txt"],
            lambda: [extra],
        ),
    }
    monkeypatch.setattr(build, "STEPS", steps)
    yield sys.modules["toy_build_module"], extra
    sys.modules.pop("toy_build_module", None)


def test_second_build_skips_everything(toy_steps):
    module, _ = toy_steps
    seen = []
    build.build_all(report=lambda name, state, _: seen.append((name, state)))
    assert module.CALLS == ["a", "b"]
    assert seen == [("a", "built"), ("b", "built")]
    seen.clear()
    build.build_all(report=lambda name, state, _: seen.append((name, state)))
    assert module.CALLS == ["a", "b"], "nothing rebuilt when nothing changed"
    assert seen == [("a", "up to date"), ("b", "up to date")]


def test_changed_extra_input_rebuilds_only_its_step(toy_steps):
    module, extra = toy_steps
    build.build_all()
    extra.write_text("id\n1\n2\n")
    assert build.ensure_built("b") is True
    assert module.CALLS == ["a", "b", "b"]


def test_missing_output_triggers_rebuild_and_force_rebuilds(toy_steps):
    module, _ = toy_steps
    build.build_all()
    (paths.processed_dir() / "a.txt").unlink()
    build.ensure_built("a")
    assert module.CALLS == ["a", "b", "a"]
    build.build_all(force=True)
    assert module.CALLS == ["a", "b", "a", "a", "b"]
