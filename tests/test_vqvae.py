"""The VQ-VAE of chapter 07: VQVAE, its three losses and their gradient routing, CodePrior, checkpoints, pretrain_vq."""
import json
import math
import re

import pytest
import torch

from course_utils import checkpoints
from course_utils.instructor import pretrain_vq
from course_utils.losses import categorical_nll, codebook_loss, commitment_loss, squared_error
from course_utils.models import VQVAE, CodePrior
from course_utils.objectives import code_indices, code_prior_nll, codebook_usage, vq_vae_loss
from course_utils.quantize import straight_through


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: extra threads only add overhead


@pytest.fixture
def make_vqvae():
    """Factory of fresh, seeded small VQVAEs on MNIST's shape: make_vqvae(seed=0, **overrides)."""
    def make(seed: int = 0, **kwargs) -> VQVAE:
        torch.manual_seed(seed)
        return VQVAE(**{"channels": 4, "code_dim": 3, "codebook_size": 8, **kwargs})

    return make


@pytest.fixture
def make_prior():
    """Factory of fresh, seeded small CodePriors on a 3 x 4 grid of 5 codes, in eval mode (no dropout)."""
    def make(seed: int = 0, **kwargs) -> CodePrior:
        torch.manual_seed(seed)
        return CodePrior(**{"codebook_size": 5, "grid": (3, 4), "width": 16, "layers": 2, "heads": 2,
                            **kwargs}).eval()

    return make


def images(n: int = 4, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def codes(n: int, grid=(3, 4), k: int = 5, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, k, (n, *grid), generator=torch.Generator().manual_seed(seed))


def grads(module: torch.nn.Module) -> list[torch.Tensor]:
    """The gradients of a module's parameters, None read as zero."""
    return [torch.zeros_like(p) if p.grad is None else p.grad for p in module.parameters()]


def has_grad(module: torch.nn.Module) -> bool:
    return any(bool(g.abs().sum() > 0) for g in grads(module))


# --- VQVAE forward ------------------------------------------------------------------------------

def test_forward_quantizes_z_e_to_its_nearest_codes(make_vqvae):
    model = make_vqvae().eval()
    x_hat, z_e, z_q, indices = model(images(3))
    assert x_hat.shape == (3, 1, 28, 28) and z_e.shape == z_q.shape == (3, 3, 7, 7)
    assert indices.dtype == torch.long and indices.shape == (3, 7, 7)
    codebook = model.quantizer.codebook.detach()
    assert torch.equal(z_q, model.quantizer.codebook[indices].permute(0, 3, 1, 2))
    assert torch.equal(model.lookup(indices), z_q)
    flat = z_e.detach().permute(0, 2, 3, 1).reshape(-1, 3)
    brute = torch.cdist(flat, codebook, compute_mode="donot_use_mm_for_euclid_dist").argmin(1)
    assert torch.equal(indices.flatten(), brute)
    assert torch.allclose(x_hat, model.decode(z_q), atol=1e-6)  # straight-through: the value of z_q


def test_the_recon_gradient_reaches_the_encoder_unchanged_through_the_argmin(make_vqvae):
    model = make_vqvae()
    x = images(2)
    z_e = model.encode(x)
    z_q, _ = model.quantizer(z_e)
    st = straight_through(z_e, z_q)
    z_e.retain_grad(), st.retain_grad()
    squared_error(model.decode(st), x).sum().backward()
    assert torch.equal(z_e.grad, st.grad)  # the decoder's gradient at z_q is copied to z_e
    assert has_grad(model.encoder)


# --- gradient routing of the three terms --------------------------------------------------------

@pytest.mark.parametrize("term, encoder, decoder, codebook", [
    ("codebook", False, False, True),  # ||sg[z_e] - e||^2 moves only the codes
    ("commitment", True, False, False),  # ||z_e - sg[e]||^2 moves only the encoder
    ("recon", True, True, False),  # ||x - x_hat||^2 reaches the encoder by straight-through, not the codes
])
def test_each_loss_term_moves_only_its_own_parameters(make_vqvae, term, encoder, decoder, codebook):
    model = make_vqvae(ema_decay=None)
    x = images(3)
    x_hat, z_e, z_q, _ = model(x)
    loss = {"codebook": codebook_loss(z_e, z_q), "commitment": commitment_loss(z_e, z_q),
            "recon": squared_error(x_hat, x)}[term]
    assert loss.shape == (3,)
    loss.sum().backward()
    assert has_grad(model.encoder) is encoder
    assert has_grad(model.decoder) is decoder
    assert has_grad(model.quantizer) is codebook


def test_an_ema_codebook_is_a_buffer_out_of_reach_of_the_optimizer(make_vqvae):
    model = make_vqvae(ema_decay=0.99)
    assert all("codebook" not in name for name, _ in model.named_parameters())
    vq_vae_loss(model, images(2))["loss"].sum().backward()  # the codebook term has no gradient: no error
    assert has_grad(model.encoder) and has_grad(model.decoder)


# --- vq_vae_loss --------------------------------------------------------------------------------

def test_vq_vae_loss_terms_per_example(make_vqvae):
    model = make_vqvae().eval()
    x = images(5)
    terms = vq_vae_loss(model, x, beta=0.4)
    assert set(terms) == {"loss", "recon", "codebook", "commitment"}
    assert all(t.shape == (5,) for t in terms.values())
    assert torch.equal(terms["loss"], terms["recon"] + terms["codebook"] + 0.4 * terms["commitment"])
    x_hat, z_e, _, _ = model(x)
    assert torch.allclose(terms["recon"], ((x - x_hat) ** 2).sum((1, 2, 3)), rtol=1e-6)
    # both code terms are, in value, the squared distance of each z_e to its nearest code
    flat = z_e.detach().permute(0, 2, 3, 1).reshape(5, 49, 3)
    nearest = torch.cdist(flat, model.quantizer.codebook.detach()[None]).min(-1).values.pow(2).sum(1)
    assert torch.allclose(terms["codebook"], nearest, rtol=1e-4)
    assert torch.equal(terms["codebook"], terms["commitment"])


@pytest.mark.parametrize("beta", [-0.1, math.nan, math.inf, True, "0.25"])
def test_vq_vae_loss_rejects_a_bad_beta(make_vqvae, beta):
    with pytest.raises(ValueError, match=re.escape(f"beta: expected a finite number >= 0 (the weight of the "
                                                   f"commitment), got {beta!r}")):
        vq_vae_loss(make_vqvae(), images(1), beta=beta)


# --- code_indices, codebook_usage ---------------------------------------------------------------

def test_code_indices_and_codebook_usage(make_vqvae):
    model = make_vqvae().train()
    x = images(6)
    grid = code_indices(model, x, batch_size=4)
    assert model.training  # restored
    assert grid.dtype == torch.long and grid.shape == (6, 7, 7)
    model.eval()
    assert torch.equal(grid, model(x)[3])
    usage = codebook_usage(model, x)
    k = model.codebook_size
    assert usage["in_use"] == len(grid.unique())
    assert usage["in_use"] + usage["dead"] == k
    assert usage["fraction"] == usage["in_use"] / k
    assert 1 <= usage["perplexity"] <= usage["in_use"] + 1e-9


# --- CodePrior ----------------------------------------------------------------------------------

def test_code_prior_is_causal_in_raster_order(make_prior):
    prior = make_prior()
    i = codes(2)
    logits = prior(i)
    assert logits.shape == (2, 5, 3, 4)
    base = logits.reshape(2, 5, 12)
    for t in range(12):
        changed = i.clone().reshape(2, 12)
        changed[:, t] = (changed[:, t] + 1) % 5
        other = prior(changed.reshape(2, 3, 4)).reshape(2, 5, 12)
        assert torch.allclose(other[:, :, :t + 1], base[:, :, :t + 1], rtol=0, atol=1e-6), f"t={t}"
        if t < 11:
            assert (other[:, :, t + 1] - base[:, :, t + 1]).abs().max() > 1e-4, f"t={t}"


def test_code_prior_nll_is_the_categorical_log_probability(make_prior):
    prior = make_prior()
    i = codes(3, seed=1)
    nll = code_prior_nll(prior, i)["loss"]
    logits = prior(i).permute(0, 2, 3, 1)  # (N, h, w, K)
    oracle = -torch.distributions.Categorical(logits=logits).log_prob(i).sum((1, 2))
    assert nll.shape == (3,) and torch.allclose(nll, oracle, rtol=1e-5)


def test_uniform_logits_cost_log_k_per_position(make_prior):
    i = codes(4, seed=2)
    assert torch.allclose(categorical_nll(torch.zeros(4, 5, 3, 4), i), torch.full((4,), 12 * math.log(5)))
    prior = make_prior()
    with torch.no_grad():
        prior.head.weight.zero_(), prior.head.bias.zero_()
    assert torch.allclose(code_prior_nll(prior, i)["loss"], torch.full((4,), 12 * math.log(5)))


@pytest.mark.parametrize("training", [True, False])
def test_sample_is_reproducible_in_range_and_keeps_the_mode(make_prior, training):
    prior = make_prior().train(training)
    a = prior.sample(3, torch.Generator().manual_seed(5))
    assert prior.training is training
    assert a.dtype == torch.long and a.shape == (3, 3, 4)
    assert int(a.min()) >= 0 and int(a.max()) < 5
    assert torch.equal(a, prior.sample(3, torch.Generator().manual_seed(5)))


def test_sample_follows_the_logits(make_prior):
    prior = make_prior()
    with torch.no_grad():
        prior.head.weight.zero_()
        prior.head.bias.copy_(torch.tensor([0.0, 0.0, 100.0, 0.0, 0.0]))  # p(code 2) = 1 - 4e-44
    assert torch.equal(prior.sample(2, torch.Generator().manual_seed(0)), torch.full((2, 3, 4), 2))


# --- bad input ----------------------------------------------------------------------------------

def test_vqvae_rejects_bad_shapes_and_indices(make_vqvae):
    model = make_vqvae()
    with pytest.raises(ValueError, match=re.escape("x: expected shape (N, 1, 28, 28) with N >= 1, got (2, 1, 28, 27)")):
        model(torch.rand(2, 1, 28, 27))
    with pytest.raises(ValueError, match=re.escape("image_shape: H and W must be multiples of 4")):
        make_vqvae(image_shape=(1, 30, 28))
    with pytest.raises(TypeError, match="indices: expected a long tensor \\(N, h, w\\), got torch.float32"):
        model.lookup(torch.zeros(1, 7, 7))
    bad = torch.zeros(1, 7, 7, dtype=torch.long)
    bad[0, 3, 3] = 8
    with pytest.raises(ValueError, match=re.escape("indices: expected values in [0, 8), got [0, 8]")):
        model.lookup(bad)
    with pytest.raises(ValueError, match=re.escape("indices: expected values in [0, 8), got [-1, 0]")):
        model.lookup(bad.clamp(max=0) - (bad > 0).long())
    with pytest.raises(ValueError, match=re.escape("z_q: expected shape (N, 3, h, w), got (1, 4, 7, 7)")):
        model.decode(torch.zeros(1, 4, 7, 7))


def test_code_prior_rejects_bad_indices(make_prior):
    prior = make_prior()
    with pytest.raises(ValueError, match=re.escape("indices: expected shape (N, 3, 4) with N >= 1, got (2, 4, 3)")):
        prior(torch.zeros(2, 4, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="indices: expected a long tensor of code indices .*got torch.float32"):
        prior(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=re.escape("width: must be a multiple of heads=3, got 16")):
        CodePrior(5, (3, 4), width=16, heads=3)


def test_categorical_nll_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=re.escape("logits(2, 5, 3, 4) and indices(2, 4, 3): expected")):
        categorical_nll(torch.zeros(2, 5, 3, 4), torch.zeros(2, 4, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="indices: expected a long tensor, got torch.float32"):
        categorical_nll(torch.zeros(2, 5, 3, 4), torch.zeros(2, 3, 4))


# --- checkpoints --------------------------------------------------------------------------------

def test_vqvae_and_code_prior_round_trip_through_checkpoints(make_vqvae, make_prior, tmp_path):
    model = make_vqvae(ema_decay=0.99, restart_after=20).train()
    for seed in range(3):  # move the EMA buffers and unused_steps away from their start
        model(images(2, seed))
    model.eval()
    checkpoints.save(model, tmp_path / "vq")
    loaded = checkpoints.load(tmp_path / "vq")
    assert isinstance(loaded, VQVAE) and loaded.config == model.config and not loaded.training
    for name in ("codebook", "cluster_size", "embed_sum", "unused_steps"):
        assert torch.equal(getattr(loaded.quantizer, name), getattr(model.quantizer, name)), name
    assert not torch.equal(model.quantizer.cluster_size, torch.ones(8))
    x = images(3, seed=9)
    for a, b in zip(model(x), loaded(x)):
        assert torch.equal(a, b)

    prior = make_prior()
    checkpoints.save(prior, tmp_path / "prior")
    loaded_prior = checkpoints.load(tmp_path / "prior")
    assert isinstance(loaded_prior, CodePrior) and loaded_prior.config == prior.config
    i = codes(3)
    assert torch.equal(loaded_prior(i), prior(i))


# --- pretrain_vq --------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["vqvae", "--ema-decay", "1.5"], "expected 'none' or a number in [0, 1), got 1.5"),
    (["vqvae", "--epochs", "0"], "expected a positive int, got 0"),
    (["prior", "--heads", "-2"], "expected a positive int, got -2"),
])
def test_pretrain_vq_parser_rejects_bad_values(argv, message, capsys):
    with pytest.raises(SystemExit, match="^2$"):
        pretrain_vq._parser().parse_args(argv)
    assert message in capsys.readouterr().err


def test_pretrain_vq_parser_reads_none():
    args = pretrain_vq._parser().parse_args(["vqvae", "--ema-decay", "None", "--restart-after", "none"])
    assert args.ema_decay is None and args.restart_after is None


def test_pretrain_vq_trains_a_vqvae_and_its_prior_end_to_end(tmp_path):
    # small channels, large batches and one thread keep this to a few seconds on a CPU
    extra = pretrain_vq.main(["vqvae", "--epochs", "1", "--codebook-size", "16", "--channels", "4",
                              "--code-dim", "4", "--batch-size", "250", "--threads", "1",
                              "--out", str(tmp_path / "vq")])
    stored = json.loads((tmp_path / "vq.json").read_text())["extra"]
    assert {"command", "hardware", "test_mse_per_pixel", "train_codes_in_use"} <= set(stored)
    assert stored["command"].startswith("python -m course_utils.instructor.pretrain_vq vqvae --epochs 1")
    assert stored["test_mse_per_pixel"] == extra["test_mse_per_pixel"] > 0
    assert 1 <= stored["train_codes_in_use"] <= 16 and stored["threads"] == 1
    vqvae = checkpoints.load(tmp_path / "vq")
    assert isinstance(vqvae, VQVAE) and vqvae.codebook_size == 16

    pretrain_vq.main(["prior", "--vqvae", str(tmp_path / "vq"), "--epochs", "1", "--width", "16", "--layers", "1",
                      "--heads", "2", "--batch-size", "250", "--threads", "1", "--out", str(tmp_path / "prior")])
    stored = json.loads((tmp_path / "prior.json").read_text())["extra"]
    assert {"command", "hardware", "test_bits_per_image", "uniform_bits_per_image"} <= set(stored)
    assert 0 < stored["test_bits_per_image"] < math.inf
    assert stored["uniform_bits_per_image"] == pytest.approx(49 * math.log2(16))
    prior = checkpoints.load(tmp_path / "prior")
    assert isinstance(prior, CodePrior) and prior.codebook_size == 16 and prior.grid == (7, 7)
