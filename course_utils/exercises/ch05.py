"""Chapter 05 (a VAE on MNIST): reference answers of the exercises, and the self-checks of the
predict-then-run question and of the open experiment.

Exercise 1 (transcription): `negative_elbo`, the per-example loss, on `negative_elbo_cases()`.
Exercise 2 (derivation): `bernoulli_logit_gradient`, d(-log p(x|z))/d(logit) = sigmoid(logit) - x.
Exercise 3 (predict, then run): what averaging the reconstruction over the pixels does to the KL;
`pixel_mean_negative_elbo` is that loss, `pixel_mean_feedback` compares the prediction with the measured KL.
Exercise 4 (open experiment): `experiment` trains the student's VAE and checks the claimed direction of its
test -ELBO against the chapter's model.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from .. import check, config, montecarlo, objectives, train
from ..check import Feedback
from ..gaussian import kl_normal_std
from ..losses import bernoulli_nll


def negative_elbo(x_logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Chapter 05, exercise 1: -ELBO per example, Bernoulli decoder and closed-form KL.

    x_logits, x (N, 1, 28, 28); mu, logvar (N, d) -> (N,): pixels and latent dimensions summed, the batch not.
    """
    return bernoulli_nll(x_logits, x) + kl_normal_std(mu, logvar)


def negative_elbo_cases() -> list[tuple[torch.Tensor, ...]]:
    """Chapter 05, exercise 1: three (x_logits, x, mu, logvar) cases, float64, N = 4, 3, 1 and d = 20, 2, 5."""
    def case(n, d, seed):
        g = torch.Generator().manual_seed(seed)
        x_logits = 3 * torch.randn(n, 1, 28, 28, generator=g, dtype=torch.float64)
        x = torch.bernoulli(torch.full((n, 1, 28, 28), 0.2, dtype=torch.float64), generator=g)
        return (x_logits, x, torch.randn(n, d, generator=g, dtype=torch.float64),
                torch.randn(n, d, generator=g, dtype=torch.float64))

    return [case(4, 20, 0), case(3, 2, 1), case(1, 5, 2)]


def bernoulli_logit_gradient(x_logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Chapter 05, exercise 2: d/d(logit) of -log p(x|z) = sum_j [log(1 + e^l_j) - x_j l_j], pixel by pixel.

    x_logits, x: same shape (any) -> same shape: sigmoid(l_j) - x_j, always in [-1, 1].
    """
    return torch.sigmoid(x_logits) - x


def logit_gradient_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Chapter 05, exercise 2: (x_logits, x) cases, float64: random logits, and saturated ones (|l| up to 200)."""
    g = torch.Generator().manual_seed(5)
    random_logits = 4 * torch.randn(3, 1, 28, 28, generator=g, dtype=torch.float64)
    bits = torch.bernoulli(torch.full_like(random_logits, 0.3), generator=g)
    extreme = torch.tensor([[-200.0, -30.0, 0.0, 30.0, 200.0]] * 2, dtype=torch.float64)  # (2, 5)
    extreme_bits = torch.tensor([[1.0] * 5, [0.0] * 5], dtype=torch.float64)
    return [(random_logits, bits), (extreme, extreme_bits)]


PIXEL_MEAN_OPTIONS = ("larger", "about the same", "smaller")
PIXEL_MEAN_WHY = {
    "es": ("Dividir la reconstrucción entre 784 píxeles equivale a multiplicar la KL por β = 784 (salvo un "
           "factor común de toda la pérdida, que a Adam casi no le importa): cada nat de información en z pesa "
           "784 veces más que un nat de reconstrucción, así que el encoder devuelve el prior para todas "
           "las imágenes y la KL cae casi a 0 (posterior collapse, sección 8)."),
    "en": ("Dividing the reconstruction by 784 pixels is the same as multiplying the KL by β = 784 (up to a "
           "common factor of the whole loss, which Adam barely notices): each nat of information in z weighs 784 "
           "times more than a nat of reconstruction, so the encoder returns the prior for every image and the KL "
           "drops to almost 0 (posterior collapse, section 8)."),
}


def pixel_mean_negative_elbo(model, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Chapter 05, exercise 3: the common bug, the reconstruction averaged over the D pixels instead of summed
    (as binary_cross_entropy(..., reduction="mean") does), plus the KL summed: {'loss', 'recon', 'kl'}, (N,)."""
    terms = objectives.negative_elbo(model, x)
    pixels = terms["recon"].new_tensor(x[0].numel())
    return {"loss": terms["recon"] / pixels + terms["kl"], "recon": terms["recon"], "kl": terms["kl"]}


def pixel_mean_feedback(prediction: Any, kl_pixel_mean: float, kl_sum: float, *,
                        lang: str | None = None) -> Feedback:
    """Chapter 05, exercise 3: the prediction against the measured test KL (nats per image) of the model trained
    with the pixel mean and of the one trained with the sum. "smaller" when the ratio is below 1/2, "larger"
    above 2, else "about the same". The right prediction is "smaller"."""
    ratio = kl_pixel_mean / kl_sum
    measured = "smaller" if ratio < 0.5 else "larger" if ratio > 2 else "about the same"
    why = "   " + PIXEL_MEAN_WHY[lang or config.language()]
    return check.prediction(prediction, measured, options=PIXEL_MEAN_OPTIONS, explanation=[why], lang=lang)


CLAIM_OPTIONS = ("lower", "higher")
EXPERIMENT = {
    "es": {
        "todo": "⏳ claim: todavía sin resolver (escribe build_my_vae y tu afirmación en `claim`).",
        "error": "❌ claim: {where} lanzó {err}.",
        "result": "-ELBO de prueba por imagen: el tuyo {mine:.2f} nats, el de la sección 4 {theirs:.2f} nats; "
                  "diferencia por dígito {diff:+.2f} ± {se:.2f} nats.",
        "unclear": "sin diferencia clara",
        "why": "La diferencia se mide dígito a dígito (los mismos dígitos de prueba, el mismo generador) y es "
               "clara cuando supera 4 errores estándar.",
        "build": "build_my_vae()",
        "train": "el entrenamiento de tu modelo",
    },
    "en": {
        "todo": "⏳ claim: not attempted yet (write build_my_vae and your claim in `claim`).",
        "error": "❌ claim: {where} raised {err}.",
        "result": "test -ELBO per image: yours {mine:.2f} nats, section 4's {theirs:.2f} nats; "
                  "per-digit difference {diff:+.2f} ± {se:.2f} nats.",
        "unclear": "no clear difference",
        "why": "The difference is measured digit by digit (the same test digits, the same generator) and is "
               "clear when it exceeds 4 standard errors.",
        "build": "build_my_vae()",
        "train": "training your model",
    },
}


def per_digit_negative_elbo(model, x: torch.Tensor, seed: int = 3) -> torch.Tensor:
    """-ELBO per test image (N,), one z per image from a generator seeded with `seed`. Chapter 05, exercise 4."""
    model.eval()
    with torch.no_grad():
        return objectives.negative_elbo(model, x, generator=torch.Generator().manual_seed(seed))["loss"]


def experiment(build: Callable[[], torch.nn.Module], claim: Any, x_train: torch.Tensor, x_test: torch.Tensor,
               reference: torch.nn.Module, *, epochs: int, batch_size: int, seed: int = 0,
               lang: str | None = None) -> Feedback:
    """Chapter 05, exercise 4 (open experiment): train the VAE that `build()` returns on x_train with the same
    budget as `reference` (epochs, batch_size, Adam, seed) and check the claim, "lower" or "higher", about its
    test -ELBO against the reference's, by the per-digit difference on x_test (clear beyond 4 standard errors).
    Once the model is trained, the returned feedback holds it in `.model`."""
    lang = config.language() if lang is None else lang
    text = EXPERIMENT[lang]
    if claim is None:
        return _print(Feedback(False, [text["todo"]], attempted=False))
    if claim not in CLAIM_OPTIONS:
        return check.prediction(claim, "", options=CLAIM_OPTIONS, name="claim", lang=lang)
    torch.manual_seed(seed)
    try:
        model = build()
    except NotImplementedError:
        return _print(Feedback(False, [text["todo"]], attempted=False))
    except Exception as err:  # the student's bug, reported rather than raised
        return _print(Feedback(False, [text["error"].format(where=text["build"], err=f"{type(err).__name__}: {err}")]))
    try:
        train.fit(model, x_train, objectives.negative_elbo, epochs=epochs, batch_size=batch_size, seed=seed,
                  progress=False)
        mine = per_digit_negative_elbo(model, x_test)  # (N,)
    except Exception as err:
        return _print(Feedback(False, [text["error"].format(where=text["train"], err=f"{type(err).__name__}: {err}")]))
    theirs = per_digit_negative_elbo(reference, x_test)  # (N,)
    diff, se = (float(v) for v in montecarlo.mean_and_stderr(mine - theirs))
    print(text["result"].format(mine=float(mine.mean()), theirs=float(theirs.mean()), diff=diff, se=se))
    measured = "lower" if diff < -4 * se else "higher" if diff > 4 * se else text["unclear"]
    feedback = check.prediction(claim, measured, options=CLAIM_OPTIONS, name="claim", explanation=["   " + text["why"]],
                                lang=lang)
    feedback.model = model  # the trained model, for a closer look
    return feedback


def _print(feedback: Feedback) -> Feedback:
    print(feedback)
    return feedback
