import numpy as np
import pytest
import torch

from course_utils import check, gaussian

X = np.array([1.0, 2.0, 3.0])


@pytest.mark.parametrize("got, needle", [
    (X**2, "correct"),
    (-(X**2), "sign is flipped"),
    (0.5 * X**2, "1/2"),
    (X**2 + 1, "constant ≈ 1"),
    ((X**2).sum(), "summed over the batch"),
    ((X**2).mean(), "averaged over the batch"),
    (np.stack([X**2 / 2, X**2 / 2], -1), "sum over latent dimensions"),
    (np.zeros((2, 2)), "shape (2, 2), expected (3,)"),
    (np.array([1.0, np.nan, 9.0]), "NaN"),
    (None, "return"),
    ("abc", "numbers were expected"),
    (X**2 + np.array([0.0, 0.1, -0.3]), "largest error"),
])
def test_diagnose_names_the_mistake(got, needle):
    fb = check.diagnose(got, X**2, name="f", lang="en")
    assert needle in str(fb)
    assert fb.passed == (needle == "correct")


def test_diagnose_speaks_spanish():
    assert "signo" in str(check.diagnose(-(X**2), X**2, name="f", lang="es"))


def test_function_reports_not_attempted_and_errors(capsys):
    def todo(x):
        raise NotImplementedError

    fb = check.function(todo, np.square, [(X,)], name="f", lang="en")
    assert not fb.passed and not fb.attempted and "not attempted" in capsys.readouterr().out
    fb = check.function(lambda x: 1 / 0, np.square, [(X,)], name="f", lang="en")
    assert not fb.passed and "ZeroDivisionError" in str(fb)
    assert check.function(np.square, np.square, [(X,), (X + 1,)], name="f", lang="en").passed


def test_function_stops_at_the_failing_case():
    fb = check.function(lambda x: x**2 if x[0] < 5 else x, np.square, [(X,), (X + 10,)], name="f", lang="en")
    assert not fb.passed and "case 1" in str(fb)


def test_function_rejects_bad_arguments():
    with pytest.raises(ValueError, match="cases is empty: give at least one tuple"):
        check.function(np.square, np.square, [], name="f")
    with pytest.raises(TypeError, match="case 0: expected a tuple of arguments, got ndarray"):
        check.function(np.square, np.square, [X], name="f")
    with pytest.raises(TypeError, match="student and reference must be callables"):
        check.function(None, np.square, [(X,)], name="f")


def test_kl_check_accepts_reference_and_catches_lecture_reduction():
    assert check.kl(gaussian.kl_normal_std, lang="en").passed
    lecture_line = lambda mu, logvar: -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())  # noqa: E731
    assert "summed over the batch" in str(check.kl(lecture_line, lang="en"))


def test_reparameterize_check_finds_each_mistake():
    assert check.reparameterize(gaussian.reparameterize, lang="en").passed
    var_as_std = lambda mu, logvar: mu + logvar.exp() * torch.randn_like(mu)  # noqa: E731
    assert "sigma = exp(logvar / 2)" in str(check.reparameterize(var_as_std, lang="en"))
    no_grad = lambda mu, logvar: torch.normal(mu.detach(), (0.5 * logvar).exp().detach())  # noqa: E731
    assert "no gradient" in str(check.reparameterize(no_grad, lang="en"))
    assert "shape" in str(check.reparameterize(lambda mu, logvar: mu[0], lang="en"))
    detached_mu = lambda mu, logvar: mu.detach() + (0.5 * logvar).exp() * torch.randn_like(mu)  # noqa: E731
    assert "no gradient" in str(check.reparameterize(detached_mu, lang="en"))
    detached_logvar = lambda mu, logvar: mu + (0.5 * logvar).exp().detach() * torch.randn_like(mu)  # noqa: E731
    assert "no gradient" in str(check.reparameterize(detached_logvar, lang="en"))


def test_tuple_of_tensors_needing_grad_gets_feedback_not_a_crash():
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    fb = check.diagnose((t * 2, t * 3), np.array([[2.0, 4.0], [3.0, 6.0]]), name="f", lang="en")
    assert fb.passed


# Wrong answers graded right, right answers graded wrong (issue 14)

def _kl_lecture(mu, logvar):
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)


def test_a_student_that_zeroes_its_inputs_in_place_is_not_graded_correct():
    def sneaky(mu, logvar):
        with torch.no_grad():
            mu.zero_()
            logvar.zero_()
        return torch.zeros(mu.shape[0], dtype=mu.dtype)  # KL of N(0, I) to itself

    assert not check.kl(sneaky, lang="en").passed


def test_the_reference_runs_first_on_its_own_copy():
    seen = []

    def reference(x):
        seen.append(x.clone())
        return x * 2

    def student(x):
        x.mul_(0)
        return x

    x = torch.ones(3)
    fb = check.function(student, reference, [(x,)], name="double", lang="en")
    assert not fb.passed and torch.equal(seen[0], torch.ones(3)) and torch.equal(x, torch.ones(3))


@pytest.mark.parametrize("lang", ["fr", "EN", ""])
def test_an_unknown_language_is_a_clear_error(lang):
    with pytest.raises(ValueError, match=rf"lang: expected one of \('es', 'en'\) or None, got {lang!r}"):
        check.function(_kl_lecture, _kl_lecture, [(torch.zeros(1, 2), torch.zeros(1, 2))], name="KL", lang=lang)


def test_none_nan_and_complex_answers_are_named():
    none = check.reparameterize(lambda mu, logvar: None, lang="en")
    nan = check.reparameterize(lambda mu, logvar: mu * float("nan"), lang="en")
    complex_kl = check.function(lambda mu, logvar: _kl_lecture(mu, logvar).to(torch.complex128), _kl_lecture,
                                [(torch.zeros(2, 3), torch.zeros(2, 3))], name="KL", lang="en")
    assert "returned None" in str(none) and "shape" not in str(none)
    assert "NaN" in str(nan) and "gradient" not in str(nan)
    assert not complex_kl.passed and "complex" in str(complex_kl)


def test_a_student_function_that_never_returns_is_stopped_with_a_message():
    def forever(x):
        while True:
            pass

    fb = check.function(forever, lambda x: x, [(1.0,)], name="loop", lang="en", seconds=0.3)
    assert not fb.passed and "did not finish within 0.3 s" in str(fb)
    es = check.function(forever, lambda x: x, [(1.0,)], name="bucle", lang="es", seconds=0.2)
    assert "no terminó en 0.2 s" in str(es)


def test_prediction_not_attempted_does_not_fail_loudly(capsys):
    fb = check.prediction(None, "rises", options=("stays", "rises"), lang="en")
    assert not fb.passed and not fb.attempted and "not attempted" in capsys.readouterr().out


def test_prediction_among_options():
    assert check.prediction("Rises ", "rises", options=("stays", "rises"), lang="en").passed
    wrong = check.prediction("stays", "rises", options=("stays", "rises"), explanation=["why"], lang="es")
    assert not wrong.passed and "la medición dice 'rises'" in str(wrong) and str(wrong).endswith("why")
    assert "not one of the options" in str(check.prediction("up", "rises", options=("stays", "rises"), lang="en"))


def test_prediction_as_a_number():
    assert check.prediction(1.0, 1.0, lang="en").passed
    assert check.prediction(0.9, 1.0, close=lambda a, b: abs(a - b) < 0.2, lang="en").passed
    assert not check.prediction(2.0, 1.0, lang="en").passed
    assert "is not a number" in str(check.prediction("big", 1.0, lang="en"))
    assert "is not a number" in str(check.prediction(True, 1.0, lang="en"))
