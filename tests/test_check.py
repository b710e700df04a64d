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
