r"""Training and evaluation objectives: VAEs with a Bernoulli decoder (chapter 05), beta-VAE with a capacity
constraint (chapter 06), the VQ-VAE (chapter 07), mixture density networks and World Models' M (chapter 08).

Every function returns one value per example (or per latent dimension); the caller reduces.
`model` is any VAE with encode(x) -> (mu, logvar), decode(z) -> x_logits and
forward(x, generator) -> (x_logits, mu, logvar), e.g. course_utils.models.MLPVAE.
"""
from __future__ import annotations

import math

import torch

from .gaussian import kl_normal_std, kl_normal_std_per_dim, log_normal, reparameterize
from .losses import bernoulli_nll, categorical_nll, codebook_loss, commitment_loss, mdn_nll, squared_error
from .quantize import code_counts, perplexity


def negative_elbo(model, x: torch.Tensor, *, beta: float = 1.0,
                  generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """-ELBO per example with one z ~ q(z|x): {'loss', 'recon', 'kl'}, each (N,). Chapter 05."""
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not (beta >= 0 and math.isfinite(beta)):
        raise ValueError(f"beta: expected a finite number >= 0 (the weight of the KL), got {beta!r}")
    x_logits, mu, logvar = model(x, generator=generator)  # (N, C, H, W), (N, d), (N, d)
    recon = bernoulli_nll(x_logits, x.reshape(x_logits.shape))  # (N,)
    kl = kl_normal_std(mu, logvar)  # (N,)
    # -ELBO(x) = E_q[-log p(x|z)] + beta * KL(q(z|x) || p(z)) ~ recon + beta * kl   (>= -log p(x) when beta = 1)
    #   recon: -log p(x|z) at one sample z, summed over the pixels; kl: closed form, summed over
    #   the d latent dimensions; nothing averaged over the N examples (fit and evaluate take the mean).
    return {"loss": recon + beta * kl, "recon": recon, "kl": kl}


@torch.no_grad()
def iwae_log_likelihood(model, x: torch.Tensor, k: int = 100, generator: torch.Generator | None = None,
                        chunk_size: int = 2**16) -> torch.Tensor:
    """Importance-weighted estimate of log p(x) with k samples (Burda et al. 2015, arXiv:1509.00519): (N,). Chapter 05.

    Evaluation only (no gradients). Decodes at most `chunk_size` latent samples at a time.
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k: expected a positive int (number of importance samples), got {k!r}")
    mu, logvar = model.encode(x)  # (N, d) each
    x = x.reshape(len(x), -1)  # (N, D)
    per_chunk = max(1, chunk_size // len(x))
    log_w = torch.cat([_log_weights(model, x, mu, logvar, min(per_chunk, k - start), generator)
                       for start in range(0, k, per_chunk)])  # (k, N)
    # log p(x) >= L_k = E[log (1/k) sum_i w_i],  w_i = p(x|z_i) p(z_i) / q(z_i|x),  z_i ~ q(z|x)
    return torch.logsumexp(log_w, dim=0) - math.log(k)  # (N,)


def _log_weights(model, x, mu, logvar, s, generator) -> torch.Tensor:
    """log w = log p(x|z) + log p(z) - log q(z|x) for s samples z per example: (s, N)."""
    n, d = mu.shape
    mu_s, logvar_s = mu.repeat(s, 1), logvar.repeat(s, 1)  # (s * N, d), sample-major
    z = reparameterize(mu_s, logvar_s, generator)  # (s * N, d)
    x_logits = model.decode(z).reshape(s * n, -1)  # (s * N, D)
    log_px_z = -bernoulli_nll(x_logits, x.repeat(s, 1))  # (s * N,)
    log_pz = log_normal(z, torch.zeros_like(z), torch.zeros_like(z))  # (s * N,), log N(z; 0, I)
    log_qz_x = log_normal(z, mu_s, logvar_s)  # (s * N,), log N(z; mu, diag exp(logvar))
    return (log_px_z + log_pz - log_qz_x).view(s, n)


@torch.no_grad()
def kl_per_dimension(model, x: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of KL(q(z_j|x) || N(0, 1)) for each latent dimension j: (z_dim,). Chapter 05.

    Dimensions with KL near 0 are inactive (the posterior equals the prior: posterior collapse).
    """
    mu, logvar = model.encode(x)  # (N, d) each
    # KL_j = 1/2 * (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1), averaged over N; sum over j = mean KL
    return kl_normal_std_per_dim(mu, logvar).mean(0)  # (d,)


def vq_vae_loss(model, x: torch.Tensor, *, beta: float = 0.25) -> dict[str, torch.Tensor]:
    """The VQ-VAE's three terms per example: {'loss', 'recon', 'codebook', 'commitment'}, each (N,). Chapter 07."""
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not (beta >= 0 and math.isfinite(beta)):
        raise ValueError(f"beta: expected a finite number >= 0 (the weight of the commitment), got {beta!r}")
    x_hat, z_e, z_q, _ = model(x)  # (N, C, H, W), (N, D, h, w), (N, D, h, w), (N, h, w)
    recon = squared_error(x_hat, x)  # ||x - x_hat||^2, summed over the pixels
    codebook = codebook_loss(z_e, z_q)  # ||sg[z_e] - e||^2: moves only the codes
    commitment = commitment_loss(z_e, z_q)  # ||z_e - sg[e]||^2: moves only the encoder
    # L = ||x - x_hat||^2 + ||sg[z_e] - e||^2 + beta ||z_e - sg[e]||^2   (per example, nothing averaged)
    #   With an EMA codebook (a buffer, not a parameter) the codebook term has no gradient: it only
    #   adds its value to the reported loss.
    return {"loss": recon + codebook + beta * commitment, "recon": recon, "codebook": codebook,
            "commitment": commitment}


def code_prior_nll(prior, indices: torch.Tensor) -> dict[str, torch.Tensor]:
    """-log p(i) in nats per code grid under an autoregressive prior: {'loss'} (N,). Chapter 07."""
    return {"loss": categorical_nll(prior(indices), indices)}


@torch.no_grad()
def code_indices(model, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The code grid of each image under the model in eval mode: (N, C, H, W) -> (N, h, w) long. Chapter 07."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    grids = [model.quantizer(model.encode(x[i:i + batch_size].to(device)))[1].cpu() for i in range(0, len(x), batch_size)]
    model.train(was_training)
    return torch.cat(grids)


def codebook_usage(model, x: torch.Tensor) -> dict[str, float]:
    """Codes in use, perplexity and dead codes over a whole data set (not a batch). Chapter 07."""
    counts = code_counts(code_indices(model, x), model.codebook_size)  # (K,)
    in_use = int((counts > 0).sum())
    return {"in_use": in_use, "fraction": in_use / model.codebook_size, "perplexity": perplexity(counts),
            "dead": model.codebook_size - in_use}


def capacity_loss(model, x: torch.Tensor, *, gamma: float, capacity: float,
                  generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Burgess et al. (2018): recon + gamma |mean KL - C| per example: {'loss', 'recon', 'kl'}. Chapter 06."""
    terms = negative_elbo(model, x, beta=0.0, generator=generator)
    # loss_i = recon_i + gamma * |(1/N) sum_n KL_n - C|   (the penalty is on the batch's mean KL, as in the paper;
    #   the mean over i of loss_i is their objective)
    penalty = gamma * (terms["kl"].mean() - capacity).abs()
    return {"loss": terms["recon"] + penalty, "recon": terms["recon"], "kl": terms["kl"]}


class CapacitySchedule:
    """capacity_loss with C raised linearly from 0 to capacity_max over ramp_steps training steps. Chapter 06."""

    def __init__(self, gamma: float = 1000.0, capacity_max: float = 25.0, ramp_steps: int = 10000):
        self.gamma, self.capacity_max, self.ramp_steps, self.step = gamma, capacity_max, ramp_steps, 0

    @property
    def capacity(self) -> float:
        """C at the current step, in nats."""
        return self.capacity_max * min(1.0, self.step / self.ramp_steps)

    def __call__(self, model, x: torch.Tensor) -> dict[str, torch.Tensor]:
        capacity = self.capacity
        terms = capacity_loss(model, x, gamma=self.gamma, capacity=capacity)
        if model.training:
            self.step += 1
        return terms | {"capacity": torch.full_like(terms["kl"], capacity)}


class DualAscent:
    """Lagrangian recon + beta (KL - C); after each training batch, beta <- max(0, beta + lr_beta (mean KL - C)). Chapter 06.

    Gradient descent on the model, projected gradient ascent on the multiplier beta >= 0: beta grows while
    the constraint KL <= C is violated and shrinks towards 0 while it is slack (complementary slackness).
    """

    def __init__(self, capacity: float, beta: float = 1.0, lr_beta: float = 0.01):
        if not (capacity >= 0 and beta >= 0 and lr_beta > 0):
            raise ValueError(f"expected capacity >= 0, beta >= 0 and lr_beta > 0, got {capacity}, {beta}, {lr_beta}")
        self.capacity, self.beta, self.lr_beta = capacity, float(beta), lr_beta
        self.betas: list[float] = []

    def __call__(self, model, x: torch.Tensor) -> dict[str, torch.Tensor]:
        terms = negative_elbo(model, x, beta=0.0)
        beta = self.beta
        # L_i = recon_i + beta * (KL_i - C)   (beta is a constant for the model's gradient)
        loss = terms["recon"] + beta * (terms["kl"] - self.capacity)
        if model.training:  # the dual step: ascent on beta along the constraint violation, projected on beta >= 0
            self.beta = max(0.0, beta + self.lr_beta * (float(terms["kl"].detach().mean()) - self.capacity))
            self.betas.append(self.beta)
        return {"loss": loss, "recon": terms["recon"], "kl": terms["kl"], "beta": torch.full_like(terms["kl"], beta)}


def mdn_regression_nll(model, xy: torch.Tensor) -> dict[str, torch.Tensor]:
    """-log p(y|x) of an MDN on pairs xy (N, in_dim + out_dim), x first: {'loss'} (N,). Chapter 08."""
    if xy.ndim != 2 or xy.shape[1] != model.in_dim + model.out_dim:
        raise ValueError(f"xy: expected shape (N, {model.in_dim + model.out_dim}) = (N, in_dim + out_dim), "
                         f"got {tuple(xy.shape)}")
    x, y = xy[:, :model.in_dim], xy[:, model.in_dim:]
    return {"loss": mdn_nll(*model(x), y)}  # -log sum_k pi_k(x) N(y; mu_k(x), sigma_k(x)^2), summed over y's coordinates


def mdn_rnn_loss(model, z: torch.Tensor, a: torch.Tensor, z_next: torch.Tensor, done: torch.Tensor,
                 mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """M's loss per sequence, summed over its real steps (mask) / T: {'loss', 'z_nll', 'done_bce'} (N,). Chapter 08.

    z, z_next (N, T, D): z_t and z_{t+1}; a (N, T, A); done, mask (N, T) floats in {0, 1} (mask 0 = padding).
    Every sequence is divided by the same T, so the mean over a batch weights every real step equally; dividing
    each by its own number of steps would weight the steps of short sequences (episode ends) more, and M would
    learn to predict the end too often.
    """
    log_pi, mu, log_sigma, done_logit, _ = model(z, a)  # (N, T, D, K) x 3, (N, T)
    z_nll = mdn_nll(log_pi, mu, log_sigma, z_next)  # (N, T): -log p(z_{t+1} | z_<=t, a_<=t)
    done_bce = torch.nn.functional.binary_cross_entropy_with_logits(done_logit, done, reduction="none")  # (N, T)
    real = mask > 0  # padding is dropped (not multiplied by 0, which would turn an inf there into NaN)
    # loss_n = 1/T * sum_t mask_t * [ -log p(z_{t+1} | h_t) - log p(done_t | h_t) ]   (per sequence n, same T for all)
    z_term = torch.where(real, z_nll, 0.0).sum(1) / z.shape[1]
    done_term = torch.where(real, done_bce, 0.0).sum(1) / z.shape[1]
    return {"loss": z_term + done_term, "z_nll": z_term, "done_bce": done_term}
