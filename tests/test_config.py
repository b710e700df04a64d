import numpy as np
import pytest
import torch

from course_utils import config


def test_tier_reads_environment(monkeypatch):
    monkeypatch.setenv("COURSE_TIER", "ci")
    assert config.tier() == "ci" and config.budget(ci=1, full=100) == 1
    monkeypatch.setenv("COURSE_TIER", "full")
    assert config.tier() == "full" and config.budget(ci=1, full=100) == 100
    monkeypatch.delenv("COURSE_TIER")
    assert config.tier() == "full"


def test_bad_tier_says_what_is_expected(monkeypatch):
    monkeypatch.setenv("COURSE_TIER", "fast")
    with pytest.raises(ValueError, match="COURSE_TIER='fast': expected one of"):
        config.tier()


def test_language_from_env_path_and_override(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "_language_override", None)
    monkeypatch.delenv("COURSE_LANG", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    (tmp_path / "notebooks" / "es").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "notebooks" / "es")
    assert config.language() == "es"
    monkeypatch.setenv("JPY_SESSION_NAME", "/x/notebooks/en/02_elbo_jensen.ipynb")
    assert config.language() == "en"
    monkeypatch.setenv("COURSE_LANG", "es")
    assert config.language() == "es"
    config.set_language("en")
    assert config.language() == "en" and config.tr(es="hola", en="hello") == "hello"
    monkeypatch.setattr(config, "_language_override", None)


def test_language_defaults_to_english_elsewhere(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "_language_override", None)
    monkeypatch.delenv("COURSE_LANG", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert config.language() == "en"


def test_set_language_rejects_unknown():
    with pytest.raises(ValueError, match=r"lang: expected one of \('es', 'en'\), got 'fr'"):
        config.set_language("fr")


def test_unknown_course_lang_is_an_error_not_english(monkeypatch):
    monkeypatch.setattr(config, "_language_override", None)
    monkeypatch.setenv("COURSE_LANG", "fr")
    with pytest.raises(ValueError, match=r"COURSE_LANG='fr': expected one of \('es', 'en'\)"):
        config.language()


def test_colab_language_is_asked_once_per_kernel(monkeypatch, tmp_path):
    """In Colab the notebook's metadata.course.lang is fetched once, then cached (each call may take 5 s)."""
    import sys
    import types

    calls = []

    def blocking_request(kind, timeout_sec):
        calls.append(kind)
        return {"ipynb": {"metadata": {"course": {"lang": "es"}}}}

    colab = types.ModuleType("google.colab")
    colab._message = types.SimpleNamespace(blocking_request=blocking_request)
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(config, "_language_override", None)
    monkeypatch.delenv("COURSE_LANG", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    config._language_from_colab.cache_clear()
    try:
        assert [config.tr(es="hola", en="hello") for _ in range(20)] == ["hola"] * 20
        assert calls == ["get_ipynb"]
    finally:
        config._language_from_colab.cache_clear()


def test_device_is_available_and_prefer_is_checked():
    assert config.device().type in ("cpu", "cuda", "mps")
    assert config.device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="prefer='tpu': expected 'cuda', 'mps' or 'cpu'"):
        config.device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="device 'cuda' was requested but is not available"):
            config.device("cuda")


def test_seed_everything_reproduces_numbers():
    config.seed_everything(3)
    a = (torch.randn(4), np.random.rand(2))
    config.seed_everything(3)
    b = (torch.randn(4), np.random.rand(2))
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    g1, g2 = config.seed_everything(5), config.seed_everything(5)
    assert torch.equal(torch.randn(3, generator=g1), torch.randn(3, generator=g2))


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_seed_everything_rejects_bad_seed(seed):
    with pytest.raises(ValueError, match="non-negative int"):
        config.seed_everything(seed)
