r"""SymPy derivation of the Gaussian KL divergence (chapter 03), and checks of candidate closed forms.

The lecture's steps as SymPy objects: the densities q(z|x) = N(z; mu, diag sigma^2) and
p(z) = N(z; 0, I), the expanded log-ratio log q/p, the three terms of E_q[log q/p] and the KL
itself, all obtained with sympy.integrate (nothing typed in). The verify_* functions return True
when SymPy proves that a candidate expression equals the derived one; assert_identity raises an
AssertionError showing both sides. tests/test_symbolic.py perturbs candidates to see them fail.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

Symbols = tuple[sp.Symbol, ...]
HALF = sp.Rational(1, 2)


def _check_dim(d: int) -> None:
    if not isinstance(d, int) or isinstance(d, bool):
        raise TypeError(f"d: expected an int (the latent dimension), got {type(d).__name__}")
    if d < 1:
        raise ValueError(f"d: expected a latent dimension >= 1, got {d}")


def _check_lengths(*groups: Symbols) -> None:
    lengths = {len(g) for g in groups}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"expected non-empty symbol tuples of one length, got lengths {[len(g) for g in groups]}")


@lru_cache(maxsize=None)
def symbols(d: int) -> tuple[Symbols, Symbols, Symbols]:
    """(z, mu, sigma) for dimension d: z_j and mu_j real, sigma_j positive, j = 1..d. Chapter 03."""
    _check_dim(d)
    z = sp.symbols(f"z_1:{d + 1}", real=True)
    mu = sp.symbols(f"mu_1:{d + 1}", real=True)
    sigma = sp.symbols(f"sigma_1:{d + 1}", positive=True)
    return tuple(z), tuple(mu), tuple(sigma)


@lru_cache(maxsize=None)
def logvar_symbols(d: int) -> Symbols:
    """(logvar_1, ..., logvar_d), real: logvar_j = log sigma_j^2, the encoder's output. Chapter 03."""
    _check_dim(d)
    return tuple(sp.symbols(f"logvar_1:{d + 1}", real=True))


def coordinate() -> tuple[sp.Symbol, sp.Symbol, sp.Symbol]:
    """(z_j, mu_j, sigma_j): one coordinate j, for the per-dimension terms. Chapter 03."""
    return sp.Symbol("z_j", real=True), sp.Symbol("mu_j", real=True), sp.Symbol("sigma_j", positive=True)


def pair_symbols() -> tuple[sp.Symbol, ...]:
    """(z, mu_q, sigma_q, mu_p, sigma_p) for the KL between two 1-D Gaussians. Chapter 03."""
    z, mu_q, mu_p = sp.symbols("z mu_q mu_p", real=True)
    sigma_q, sigma_p = sp.symbols("sigma_q sigma_p", positive=True)
    return z, mu_q, sigma_q, mu_p, sigma_p


def gaussian_density(z: Symbols, mu: Symbols, sigma: Symbols) -> sp.Expr:
    r"""The lecture's q(z|x) = exp(-1/2 sum_j (z_j - mu_j)^2 / sigma_j^2) / ((2 pi)^(d/2) prod_j sigma_j).

    Chapter 03.
    """
    _check_lengths(z, mu, sigma)
    quadratic = sp.Add(*((zj - mj) ** 2 / sj**2 for zj, mj, sj in zip(z, mu, sigma)))
    return sp.exp(-HALF * quadratic) / ((2 * sp.pi) ** sp.Rational(len(z), 2) * sp.Mul(*sigma))


def standard_normal_density(z: Symbols) -> sp.Expr:
    r"""The lecture's prior p(z) = exp(-1/2 sum_j z_j^2) / (2 pi)^(d/2). Chapter 03."""
    _check_lengths(z)
    return sp.exp(-HALF * sp.Add(*(zj**2 for zj in z))) / (2 * sp.pi) ** sp.Rational(len(z), 2)


def log_ratio(z: Symbols, mu: Symbols, sigma: Symbols) -> sp.Expr:
    """log q(z|x) / p(z) as SymPy expands it (expand_log, then expand). Chapter 03."""
    ratio = gaussian_density(z, mu, sigma) / standard_normal_density(z)
    return sp.expand(sp.expand_log(sp.log(ratio)))


@lru_cache(maxsize=None)
def integrate_1d(g: sp.Expr, zj: sp.Symbol, mj: sp.Symbol, sj: sp.Symbol) -> sp.Expr:
    """The integral of g(z_j) N(z_j; mu_j, sigma_j^2) over (-oo, oo), by sympy.integrate (cached). Chapter 03."""
    density = gaussian_density((zj,), (mj,), (sj,))
    return sp.simplify(sp.integrate(g * density, (zj, -sp.oo, sp.oo)))


def expectation(f: sp.Expr, z: Symbols, mu: Symbols, sigma: Symbols) -> sp.Expr:
    """E_q[f(z)] for q = N(mu, diag sigma^2) by sympy.integrate over each z_j in (-oo, oo). Chapter 03.

    q is a product of 1-D densities, so (Fubini) SymPy integrates one coordinate at a time,
    and (linearity) each term of the expanded f separately; each 1-D integral is cached.
    """
    _check_lengths(z, mu, sigma)
    total = sp.S.Zero
    for term in sp.Add.make_args(sp.expand(f)):
        for zj, mj, sj in zip(z, mu, sigma):
            coeff, g = term.as_independent(zj, as_Add=False)
            term = coeff * integrate_1d(g, zj, mj, sj)
        total += term
    return sp.expand(total)


def term_integrand(k: int) -> sp.Expr:
    """Integrand of the lecture's Term k (1, 2 or 3) for coordinate j: -log sigma_j, (z_j-mu_j)^2/sigma_j^2, z_j^2.

    Chapter 03.
    """
    zj, mj, sj = coordinate()
    integrands = {1: -sp.log(sj), 2: (zj - mj) ** 2 / sj**2, 3: zj**2}
    if k not in integrands:
        raise ValueError(f"k: expected the term number 1, 2 or 3, got {k!r}")
    return integrands[k]


@lru_cache(maxsize=None)
def term(k: int) -> sp.Expr:
    """E_q[Term k integrand] under N(mu_j, sigma_j^2), by sympy.integrate (not typed in). Chapter 03."""
    zj, mj, sj = coordinate()
    return expectation(term_integrand(k), (zj,), (mj,), (sj,))


def kl_from_terms(d: int) -> sp.Expr:
    """The lecture's assembly sum_j [Term1 - 1/2 Term2 + 1/2 Term3] in the symbols of dimension d. Chapter 03."""
    _, mj, sj = coordinate()
    per_coordinate = term(1) - HALF * term(2) + HALF * term(3)
    _, mu, sigma = symbols(d)
    return sp.Add(*(per_coordinate.subs({mj: m, sj: s}) for m, s in zip(mu, sigma)))


@lru_cache(maxsize=None)
def kl_by_integration(d: int) -> sp.Expr:
    """D_KL(q || p) = E_q[log q/p] integrated by SymPy in dimension d, in (mu_j, sigma_j). Chapter 03."""
    z, mu, sigma = symbols(d)
    return expectation(log_ratio(z, mu, sigma), z, mu, sigma)


@lru_cache(maxsize=None)
def kl_two_gaussians_by_integration() -> sp.Expr:
    """KL(N(mu_q, sigma_q^2) || N(mu_p, sigma_p^2)) in 1-D, by sympy.integrate. Chapter 03 (learned priors)."""
    z, mu_q, sigma_q, mu_p, sigma_p = pair_symbols()
    q = gaussian_density((z,), (mu_q,), (sigma_q,))
    p = gaussian_density((z,), (mu_p,), (sigma_p,))
    return expectation(sp.expand(sp.expand_log(sp.log(q / p))), (z,), (mu_q,), (sigma_q,))


def is_identity(lhs: sp.Expr, rhs: sp.Expr) -> bool:
    """True when SymPy proves lhs - rhs = 0 (expand_log, then simplify; uses the symbols' assumptions). Chapter 03."""
    return sp.simplify(sp.expand_log(sp.sympify(lhs) - sp.sympify(rhs))) == 0


def assert_identity(lhs: sp.Expr, rhs: sp.Expr, what: str = "identity") -> None:
    """Raise AssertionError, showing both sides and their difference, unless SymPy proves lhs = rhs. Chapter 03."""
    if not is_identity(lhs, rhs):
        diff = sp.simplify(sp.expand_log(sp.sympify(lhs) - sp.sympify(rhs)))
        raise AssertionError(f"{what}: SymPy cannot show {lhs} = {rhs}; lhs - rhs simplifies to {diff}")


def _candidate(candidate: sp.Expr, allowed: Symbols, what: str) -> sp.Expr:
    expr = sp.sympify(candidate)
    if not isinstance(expr, sp.Expr):
        raise TypeError(f"{what}: expected a SymPy expression, got {type(candidate).__name__}")
    extra = expr.free_symbols - set(allowed)
    if extra:
        raise ValueError(f"{what}: unknown symbols {sorted(map(str, extra))}; build the candidate from "
                         f"{[str(s) for s in allowed]} (same names and assumptions: real, positive)")
    return expr


def verify_log_ratio(candidate: sp.Expr, d: int) -> bool:
    """True when candidate (in z_j, mu_j, sigma_j of symbols(d)) equals log q(z|x)/p(z). Chapter 03."""
    z, mu, sigma = symbols(d)
    return is_identity(_candidate(candidate, z + mu + sigma, "log-ratio"), log_ratio(z, mu, sigma))


def verify_term(k: int, candidate: sp.Expr) -> bool:
    """True when candidate (in mu_j, sigma_j of coordinate()) equals the integrated Term k. Chapter 03."""
    _, mj, sj = coordinate()
    return is_identity(_candidate(candidate, (mj, sj), f"Term {k}"), term(k))


def verify_kl_closed_form(candidate: sp.Expr, d: int) -> bool:
    """True when candidate, in (mu_j, sigma_j) or (mu_j, logvar_j), equals the integrated KL in dimension d.

    Chapter 03.
    """
    _, mu, sigma = symbols(d)
    logvar = logvar_symbols(d)
    expr = _candidate(candidate, mu + sigma + logvar, "KL closed form")
    in_sigma = expr.subs({lv: sp.log(s**2) for lv, s in zip(logvar, sigma)})
    return is_identity(in_sigma, kl_by_integration(d))


def verify_kl_two_gaussians(candidate: sp.Expr) -> bool:
    """True when candidate (in mu_q, sigma_q, mu_p, sigma_p) equals the integrated 1-D KL(q || p). Chapter 03."""
    _, mu_q, sigma_q, mu_p, sigma_p = pair_symbols()
    expr = _candidate(candidate, (mu_q, sigma_q, mu_p, sigma_p), "two-Gaussian KL")
    return is_identity(expr, kl_two_gaussians_by_integration())
