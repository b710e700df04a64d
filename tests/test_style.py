"""course_utils.display.style and .diagrams: text size at the size the book shows a figure; the drawn diagrams."""
import matplotlib.pyplot as plt
import pytest

from course_utils import config
from course_utils.display import diagrams, style
from course_utils.display.animation import localize_jshtml


def _figure(width_in: float, fontsize: float, dpi: int = 100):
    fig, ax = plt.subplots(figsize=(width_in, 3), dpi=dpi)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("title", fontsize=fontsize)
    return fig


def test_display_points_is_the_font_size_at_the_size_shown():
    # 10 pt on a 6.4 in figure at 100 dpi is shown 640 px wide: 640 / (6.4 * 96) = 1.042 of its size
    assert style.display_points(_figure(6.4, 10)) == pytest.approx(10 * 640 / (6.4 * 96))


def test_a_figure_wider_than_the_column_is_scaled_down_with_its_text():
    wide = style.display_points(_figure(12, 10))
    assert wide == pytest.approx(10 * style.COLUMN_PX / (12 * 96))
    assert wide < style.MIN_POINTS < style.display_points(_figure(6, 10))


def test_display_points_at_an_explicit_width_and_bad_input():
    assert style.display_points(_figure(4, 10), shown_px=192) == pytest.approx(5.0)
    assert style.display_points(plt.figure()) == float("inf")
    with pytest.raises(TypeError, match="fig"):
        style.display_points("not a figure")
    with pytest.raises(ValueError, match="shown_px"):
        style.display_points(_figure(4, 10), shown_px=0)


def test_report_figure_writes_only_inside_a_notebook_kernel(tmp_path, monkeypatch):
    report = tmp_path / "report.jsonl"
    monkeypatch.setenv(style.REPORT_VARIABLE, str(report))
    style.report_figure(_figure(6, 10), where="test")
    assert not report.exists(), "pytest is not a kernel: nothing is reported"
    monkeypatch.setattr(style, "_shell", lambda: object())
    style.report_figure(_figure(6, 10), where="test")
    assert '"min_points": 10.42' in report.read_text()


def test_use_course_style_sets_readable_defaults(monkeypatch):
    with plt.rc_context():
        style.use_course_style()
        assert plt.rcParams["font.size"] >= style.MIN_POINTS
        assert plt.rcParams["xtick.labelsize"] >= style.MIN_POINTS
        fig = plt.figure()
        fig.text(0.5, 0.5, "x")
        assert style.display_points(fig) >= style.MIN_POINTS


@pytest.mark.parametrize("lang", ["es", "en"])
@pytest.mark.parametrize("draw", [diagrams.graphical_model, diagrams.landscape,
                                  lambda: diagrams.vae_pipeline(False), lambda: diagrams.vae_pipeline(True)])
def test_diagrams_fit_the_column_with_readable_text(draw, lang, monkeypatch):
    monkeypatch.setattr(config, "language", lambda: lang)
    fig = draw()
    assert fig.get_figwidth() * fig.dpi <= style.COLUMN_PX
    assert style.display_points(fig) >= style.MIN_POINTS


def _texts(fig):
    return {t.get_text() for t in fig.findobj(plt.Text) if t.get_text().strip()}


def test_diagram_words_follow_the_language_and_the_math_does_not(monkeypatch):
    monkeypatch.setattr(config, "language", lambda: "es")
    es = _texts(diagrams.vae_pipeline(False))
    monkeypatch.setattr(config, "language", lambda: "en")
    en = _texts(diagrams.vae_pipeline(False))
    assert "gradiente de la pérdida" in es and "gradient of the loss" in en
    assert r"$z \sim \mathcal{N}(\mu, \sigma^2)$" in es & en


def test_only_the_reparameterized_pipeline_lets_the_gradient_reach_the_encoder(monkeypatch):
    monkeypatch.setattr(config, "language", lambda: "en")
    assert "✕" in _texts(diagrams.vae_pipeline(False))
    assert "✕" not in _texts(diagrams.vae_pipeline(True))
    with pytest.raises(TypeError, match="reparameterized"):
        diagrams.vae_pipeline("yes")


def test_animation_pages_get_alt_text_and_spanish_controls():
    page = '<img id="_anim_img1"><button title="Next frame"></button><label for="_anim_radio1_1">Once</label>'
    es = localize_jshtml(page, "a rollout", lang="es")
    assert 'alt="a rollout"' in es and 'title="Fotograma siguiente"' in es and "Una vez" in es
    en = localize_jshtml(page, "a rollout", lang="en")
    assert 'title="Next frame"' in en and 'alt="a rollout"' in en
    with pytest.raises(ValueError, match="alt"):
        localize_jshtml(page, " ")
