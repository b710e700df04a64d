import pytest

from course_utils import environment


def test_detect_reports_this_runtime(monkeypatch):
    monkeypatch.setenv("COURSE_TIER", "ci")
    env = environment.detect()
    assert env.colab is False
    assert env.tier == "ci"
    assert env.device in ("cpu", "cuda", "mps") or env.device.startswith("cuda")
    assert env.ipywidgets_major in (7, 8)


@pytest.mark.parametrize("lang, words", [("es", ["Entorno del curso", "Dispositivo", "Nivel de cómputo"]),
                                         ("en", ["Course environment", "Device", "Compute tier"])])
def test_report_speaks_the_notebook_language(lang, words):
    text = environment.report(environment.detect(), lang)
    for word in words:
        assert word in text


def test_report_rejects_unknown_language():
    with pytest.raises(ValueError, match="lang='fr': expected one of"):
        environment.report(environment.detect(), "fr")


def test_report_warns_without_ipywidgets():
    env = environment.detect()
    env = environment.Environment(**{**env.__dict__, "ipywidgets_major": None})
    assert "pip install ipywidgets" in environment.report(env, "en")


def test_check_environment_prints_and_returns(capsys):
    found = environment.check_environment("en")
    assert set(found) >= {"colab", "python", "torch", "device", "ipywidgets_major", "tier", "language"}
    assert "Course environment" in capsys.readouterr().out
