"""Self-check for exercises: compare a student's answer with a reference and say what is wrong.

Feedback is in the notebook's language (config.language()) and names the likely mistake
(sign, factor, constant, reduction over the batch, shape, NaN) instead of a bare False.
The reference is computed first, and the student's code gets fresh copies of the inputs, so code
that changes its inputs in place cannot change the expected answer. A student function that does
not return within `seconds` (default 10) is stopped where the platform allows it (a main-thread
alarm: Linux, macOS, Colab) and reported.
"""
from __future__ import annotations

import contextlib
import copy
import signal
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from . import config

MESSAGES = {
    "es": {
        "pass": "✅ {name}: correcto.",
        "todo": "⏳ {name}: todavía sin resolver (reemplaza `raise NotImplementedError`).",
        "error": "❌ {name}: tu código lanzó {err}.",
        "none": "❌ {name}: devolviste None; ¿falta un `return`?",
        "slow": "❌ {name}: tu código no terminó en {seconds:g} s (¿un bucle infinito?).",
        "complex": "❌ {name}: devolviste números complejos; se esperaban reales.",
        "type": "❌ {name}: devolviste {kind}; se esperaban números.",
        "nan": "❌ {name}: hay NaN o infinitos en tu resultado.",
        "sum": "❌ {name}: sumaste sobre el lote; devuelve un valor por ejemplo (forma {shape}).",
        "mean": "❌ {name}: promediaste sobre el lote; devuelve un valor por ejemplo (forma {shape}).",
        "shape": "❌ {name}: forma {got}, se esperaba {expected}.",
        "sign": "❌ {name}: el signo está invertido.",
        "factor": "❌ {name}: difiere por un factor constante ≈ {factor:.4g}{hint}.",
        "half": " (¿falta o sobra un 1/2?)",
        "offset": "❌ {name}: difiere por una constante ≈ {offset:.4g} (¿falta un término constante?).",
        "off": "❌ {name}: error máximo {err:.3g} (tolerancia {tol:.1g}) en el caso {case}.",
        "axis": "❌ {name}: falta sumar sobre las dimensiones latentes (último eje): forma {got}, se esperaba {expected}.",
        "nograd": "❌ {name}: el gradiente no llega a mu y logvar; ¿muestreaste sin reparametrizar?",
        "moments": "❌ {name}: las muestras tienen media ≈ {mean:.3g} y desviación ≈ {std:.3g}; se esperaban {mean_ref:.3g} y {std_ref:.3g}{hint}.",
        "var_as_std": " (¿usaste σ² = exp(logvar) como escala? σ = exp(logvar / 2))",
        "predict_todo": "⏳ {name}: todavía sin resolver (escribe tu predicción en `prediction` antes de medir).",
        "predict_option": "❌ {name}: {got!r} no es una de las opciones {options}.",
        "predict_number": "❌ {name}: {got!r} no es un número.",
        "predict_wrong": "❌ {name}: predijiste {got!r}; la medición dice {measured!r}.",
    },
    "en": {
        "pass": "✅ {name}: correct.",
        "todo": "⏳ {name}: not attempted yet (replace `raise NotImplementedError`).",
        "error": "❌ {name}: your code raised {err}.",
        "none": "❌ {name}: you returned None; is a `return` missing?",
        "slow": "❌ {name}: your code did not finish within {seconds:g} s (an infinite loop?).",
        "complex": "❌ {name}: you returned complex numbers; real ones were expected.",
        "type": "❌ {name}: you returned {kind}; numbers were expected.",
        "nan": "❌ {name}: your result holds NaN or infinite values.",
        "sum": "❌ {name}: you summed over the batch; return one value per example (shape {shape}).",
        "mean": "❌ {name}: you averaged over the batch; return one value per example (shape {shape}).",
        "shape": "❌ {name}: shape {got}, expected {expected}.",
        "sign": "❌ {name}: the sign is flipped.",
        "factor": "❌ {name}: off by a constant factor ≈ {factor:.4g}{hint}.",
        "half": " (a missing or extra 1/2?)",
        "offset": "❌ {name}: off by a constant ≈ {offset:.4g} (a missing constant term?).",
        "off": "❌ {name}: largest error {err:.3g} (tolerance {tol:.1g}) in case {case}.",
        "axis": "❌ {name}: the sum over latent dimensions (last axis) is missing: shape {got}, expected {expected}.",
        "nograd": "❌ {name}: no gradient reaches mu and logvar; did you sample without reparameterizing?",
        "moments": "❌ {name}: the samples have mean ≈ {mean:.3g} and std ≈ {std:.3g}; expected {mean_ref:.3g} and {std_ref:.3g}{hint}.",
        "var_as_std": " (did you use sigma^2 = exp(logvar) as the scale? sigma = exp(logvar / 2))",
        "predict_todo": "⏳ {name}: not attempted yet (write your prediction in `prediction` before measuring).",
        "predict_option": "❌ {name}: {got!r} is not one of the options {options}.",
        "predict_number": "❌ {name}: {got!r} is not a number.",
        "predict_wrong": "❌ {name}: you predicted {got!r}; the measurement says {measured!r}.",
    },
}


@dataclass
class Feedback:
    """Result of a check: `passed` plus the messages shown to the student. Every chapter."""

    passed: bool
    messages: list[str] = field(default_factory=list)
    attempted: bool = True

    def __str__(self) -> str:
        return "\n".join(self.messages)

    def __repr__(self) -> str:
        return str(self)

    def __bool__(self) -> bool:
        return self.passed


TIME_LIMIT = 10.0


def _msg(lang: str, key: str, **kw: Any) -> str:
    return MESSAGES[lang][key].format(**kw)


def _lang(lang: str | None) -> str:
    if lang is None:
        return config.language()
    if lang not in MESSAGES:
        raise ValueError(f"lang: expected one of {tuple(MESSAGES)} or None, got {lang!r}")
    return lang


def _fresh(x: Any) -> Any:
    """A copy of an argument that the student may change without touching the original."""
    if hasattr(x, "detach") and hasattr(x, "clone"):
        return x.detach().clone().requires_grad_(bool(getattr(x, "requires_grad", False)))
    if isinstance(x, (tuple, list)):
        return type(x)(_fresh(item) for item in x)
    try:
        return copy.deepcopy(x)
    except Exception:  # a module, a model with hooks, ...: shared as it is
        return x


class _TooSlow(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float | None):
    """Raise _TooSlow inside the block after `seconds` (main thread with SIGALRM only; else no limit)."""
    usable = seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def alarm(signum, frame):
        raise _TooSlow

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _is_complex(x: Any) -> bool:
    if hasattr(x, "is_complex"):
        return bool(x.is_complex())
    if isinstance(x, (list, tuple)):
        return any(_is_complex(item) for item in x)
    return bool(np.iscomplexobj(x))


def _as_array(x: Any) -> np.ndarray | None:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    elif isinstance(x, (list, tuple)):
        x = [_as_array(item) for item in x]
        if any(item is None for item in x):
            return None
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError, RuntimeError):
        return None
    return arr


def diagnose(got: Any, expected: Any, *, name: str, rtol: float = 1e-5, atol: float = 1e-7,
             case: int = 0, lang: str | None = None) -> Feedback:
    """Compare one answer with the expected value and name the likely mistake. Every chapter."""
    lang = _lang(lang)
    exp = _as_array(expected)
    if exp is None:
        raise TypeError(f"expected value must be numeric, got {type(expected).__name__}")
    if got is None:
        return Feedback(False, [_msg(lang, "none", name=name)])
    if _is_complex(got):
        return Feedback(False, [_msg(lang, "complex", name=name)])
    arr = _as_array(got)
    if arr is None or arr.dtype == object:
        return Feedback(False, [_msg(lang, "type", name=name, kind=type(got).__name__)])
    if not np.all(np.isfinite(arr)) and np.all(np.isfinite(exp)):
        return Feedback(False, [_msg(lang, "nan", name=name)])
    if arr.shape != exp.shape:
        return Feedback(False, [_shape_message(arr, exp, name, lang, rtol, atol)])
    tol = atol + rtol * np.abs(exp)
    if np.all(np.abs(arr - exp) <= tol):
        return Feedback(True, [_msg(lang, "pass", name=name)])
    return Feedback(False, [_value_message(arr, exp, name, lang, rtol, atol, case)])


def _shape_message(arr, exp, name, lang, rtol, atol) -> str:
    if arr.size == 1 and exp.ndim >= 1 and exp.size > 1:
        for key, reduced in (("sum", exp.sum()), ("mean", exp.mean())):
            if abs(arr.item() - reduced) <= atol + rtol * abs(reduced):
                return _msg(lang, key, name=name, shape=tuple(exp.shape))
    if arr.ndim == exp.ndim + 1 and arr.shape[:-1] == exp.shape:
        if np.all(np.abs(arr.sum(-1) - exp) <= atol + rtol * np.abs(exp)):
            return _msg(lang, "axis", name=name, got=tuple(arr.shape), expected=tuple(exp.shape))
    return _msg(lang, "shape", name=name, got=tuple(arr.shape), expected=tuple(exp.shape))


def _value_message(arr, exp, name, lang, rtol, atol, case) -> str:
    close = lambda a, b: np.all(np.abs(a - b) <= atol + rtol * np.abs(b))  # noqa: E731
    if close(-arr, exp):
        return _msg(lang, "sign", name=name)
    nonzero = np.abs(exp) > 1e-12
    if exp.size > 1 and nonzero.sum() >= 2:
        ratio = arr[nonzero] / exp[nonzero]
        if np.ptp(ratio) <= 1e-6 * max(1.0, abs(ratio.mean())):
            f = float(ratio.mean())
            hint = _msg(lang, "half") if min(abs(f - 2), abs(f - 0.5)) < 1e-6 else ""
            return _msg(lang, "factor", name=name, factor=f, hint=hint)
        offset = arr - exp
        if np.ptp(offset) <= 1e-6 * max(1.0, abs(offset.mean())):
            return _msg(lang, "offset", name=name, offset=float(offset.mean()))
    err = float(np.max(np.abs(arr - exp)))
    return _msg(lang, "off", name=name, err=err, tol=float(atol + rtol * np.max(np.abs(exp))), case=case)


def value(answer: Any, expected: Any, *, name: str, rtol: float = 1e-5, atol: float = 1e-7,
          lang: str | None = None) -> Feedback:
    """Check a number or array answer; prints and returns the feedback. Every chapter."""
    return _report(diagnose(answer, expected, name=name, rtol=rtol, atol=atol, lang=lang))


def _call_student(student: Callable, args: tuple, name: str, lang: str, seconds: float | None = TIME_LIMIT,
                  copy_args: bool = True) -> tuple[Any, Feedback | None]:
    """Run the student's code (on copies of args); a placeholder, a crash or a hang becomes feedback."""
    try:
        with _time_limit(seconds):
            return student(*(_fresh(args) if copy_args else args)), None
    except _TooSlow:
        return None, Feedback(False, [_msg(lang, "slow", name=name, seconds=seconds)])
    except NotImplementedError:
        return None, Feedback(False, [_msg(lang, "todo", name=name)], attempted=False)
    except Exception as err:  # the student's bug, reported rather than raised
        return None, Feedback(False, [_msg(lang, "error", name=name, err=f"{type(err).__name__}: {err}")])


def function(student: Callable, reference: Callable, cases: Iterable[tuple], *, name: str,
             rtol: float = 1e-5, atol: float = 1e-7, lang: str | None = None,
             seconds: float | None = TIME_LIMIT) -> Feedback:
    """Run `student` and `reference` on each tuple of arguments in `cases`; stop at the first mistake. Every chapter."""
    lang = _lang(lang)
    if not callable(student) or not callable(reference):
        raise TypeError("student and reference must be callables")
    cases = list(cases)
    if not cases:
        raise ValueError("cases is empty: give at least one tuple of arguments")
    for i, args in enumerate(cases):
        if not isinstance(args, tuple):
            raise TypeError(f"case {i}: expected a tuple of arguments, got {type(args).__name__}")
        expected = reference(*_fresh(args))  # first, and on its own copy
        got, failed = _call_student(student, args, name, lang, seconds)
        if failed is not None:
            return _report(failed)
        fb = diagnose(got, expected, name=name, rtol=rtol, atol=atol, case=i, lang=lang)
        if not fb.passed:
            return _report(fb)
    return _report(Feedback(True, [_msg(lang, "pass", name=name)]))


def expression(student_expression: Callable[[], Any], symbols: Sequence, reference: Callable,
               cases: Iterable[tuple], *, name: str, rtol: float = 1e-9, atol: float = 1e-12,
               lang: str | None = None) -> Feedback:
    """A derivation typed as a SymPy expression, checked by value: `student_expression()` (no arguments; it may raise
    NotImplementedError) is evaluated at `cases` (tuples of arrays, one per symbol) and compared with `reference`.

    Prints and returns the feedback of `function`, so a missing factor or constant is named. Chapters 02 and 03.
    """
    import sympy as sp

    symbols = tuple(symbols)

    def evaluate(*values):
        formula = sp.lambdify(symbols, sp.sympify(student_expression()), "numpy")
        return np.broadcast_to(formula(*values), np.shape(values[0]))

    return function(evaluate, reference, cases, name=name, rtol=rtol, atol=atol, lang=lang)


def _as_number(x: Any) -> float | None:
    """A finite real number (int, float, NumPy or 0-d tensor), else None; True, False and strings are not numbers."""
    if isinstance(x, (bool, str)):
        return None
    try:
        number = float(x)
    except (TypeError, ValueError, RuntimeError):
        return None
    return number if np.isfinite(number) else None


def prediction(answer: Any, measured: Any, *, options: Sequence[str] | None = None,
               close: Callable[[float, float], bool] | None = None, explanation: Sequence[str] = (),
               name: str = "prediction", lang: str | None = None) -> Feedback:
    """Predict, then run: compare a student's prediction with what the code measured; prints and returns. Chapters 00-05.

    answer: None (not attempted yet: it does not fail), one of `options` (words, compared case-insensitively), or a
    number when `options` is None, right when close(answer, measured) (default: equal to 1e-9 relative).
    explanation: lines printed after the verdict, right or wrong (the measured numbers, and why).
    """
    lang = _lang(lang)
    if answer is None:
        return _report(Feedback(False, [_msg(lang, "predict_todo", name=name)], attempted=False))
    if options is not None:
        options = tuple(options)
        got = answer.strip().lower() if isinstance(answer, str) else answer
        if got not in options:
            return _report(Feedback(False, [_msg(lang, "predict_option", name=name, got=answer, options=options)]))
        right = got == measured
    else:
        got = _as_number(answer)
        if got is None:
            return _report(Feedback(False, [_msg(lang, "predict_number", name=name, got=answer)]))
        right = close(got, float(measured)) if close else bool(np.isclose(got, float(measured), rtol=1e-9))
    verdict = (_msg(lang, "pass", name=name) if right
               else _msg(lang, "predict_wrong", name=name, got=got, measured=measured))
    return _report(Feedback(right, [verdict, *explanation]))


def _random_gaussian_params(shapes, seed: int = 0):
    import torch

    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(s, generator=g, dtype=torch.float64),
             torch.randn(s, generator=g, dtype=torch.float64)) for s in shapes]


def kl(student: Callable, *, lang: str | None = None) -> Feedback:
    """Check a student's KL(N(mu, diag exp(logvar)) || N(0, I)) per example on random inputs (chapter 03)."""
    from .gaussian import kl_normal_std

    cases = _random_gaussian_params([(4, 3), (2, 5), (1, 1)])
    return function(student, kl_normal_std, cases, name="KL", rtol=1e-6, atol=1e-9, lang=lang)


def reparameterize(student: Callable, *, lang: str | None = None, n: int = 20000) -> Feedback:
    """Check a student's reparameterize(mu, logvar): shape, gradient path, sample moments (chapter 04)."""
    import torch

    lang = _lang(lang)
    name = "reparameterize"
    mean_ref = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)  # the answer, fixed before the student runs
    logvar_ref = torch.tensor([0.0, 1.0, -2.0], dtype=torch.float64)
    std_ref = (0.5 * logvar_ref).exp()
    mu = mean_ref.repeat(n, 1).requires_grad_()  # (n, 3): the student's own leaves
    logvar = logvar_ref.repeat(n, 1).requires_grad_()
    z, failed = _call_student(student, (mu, logvar), name, lang, copy_args=False)
    if failed is not None:
        return _report(failed)
    if z is None:
        return _report(Feedback(False, [_msg(lang, "none", name=name)]))
    if not isinstance(z, torch.Tensor) or z.shape != mu.shape:
        got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        return _report(Feedback(False, [_msg(lang, "shape", name=name, got=got, expected=tuple(mu.shape))]))
    if z.is_complex():
        return _report(Feedback(False, [_msg(lang, "complex", name=name)]))
    if not torch.isfinite(z).all():
        return _report(Feedback(False, [_msg(lang, "nan", name=name)]))
    if not _gradient_reaches(z, mu, logvar):
        return _report(Feedback(False, [_msg(lang, "nograd", name=name)]))
    mean, std = z.detach().mean(0), z.detach().std(0)
    mean_ok = ((mean - mean_ref).abs() <= 5 * std_ref / n**0.5).all()
    std_ok = ((std - std_ref).abs() <= 5 * std_ref / (2 * n) ** 0.5).all()
    if mean_ok and std_ok:
        return _report(Feedback(True, [_msg(lang, "pass", name=name)]))
    j = int(((std - std_ref).abs() / std_ref + (mean - mean_ref).abs()).argmax())
    hint = _msg(lang, "var_as_std") if torch.allclose(std, std_ref**2, rtol=0.05) else ""
    return _report(Feedback(False, [_msg(lang, "moments", name=name, mean=float(mean[j]), std=float(std[j]),
                                         mean_ref=float(mean_ref[j]), std_ref=float(std_ref[j]), hint=hint)]))


def _gradient_reaches(z, mu, logvar) -> bool:
    """True when both mu and logvar receive a non-zero gradient through z (wrong scales are left to the moments)."""
    import torch

    if not z.requires_grad:
        return False
    g_mu, g_logvar = torch.autograd.grad(z.sum(), (mu, logvar), allow_unused=True)
    return g_mu is not None and g_logvar is not None and bool(g_mu.abs().sum() > 0 and g_logvar.abs().sum() > 0)


def _report(fb: Feedback) -> Feedback:
    print(fb)
    return fb
