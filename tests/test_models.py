"""course_utils.models: shapes, logits (no sigmoid inside), reparameterized forward, config, input checks."""
import pytest
import torch

from course_utils.losses import reparameterize
from course_utils.models import ConvVAE, MLPVAE

MODELS = [lambda: MLPVAE(hidden=32, z_dim=3), lambda: ConvVAE(z_dim=3, channels=4)]


@pytest.mark.parametrize("make", MODELS)
@pytest.mark.parametrize("shape", [(5, 1, 28, 28), (5, 784)])
def test_shapes_of_encode_decode_forward(make, shape):
    torch.manual_seed(0)
    model = make()
    x = torch.rand(shape)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, model.z_dim)
    x_logits, mu2, logvar2 = model(x)
    assert x_logits.shape == (5, 1, 28, 28)
    assert torch.equal(mu, mu2) and torch.equal(logvar, logvar2)
    assert model.decode(torch.randn(7, model.z_dim)).shape == (7, 1, 28, 28)


@pytest.mark.parametrize("make", MODELS)
def test_forward_is_encode_reparameterize_decode_with_the_generator(make):
    model = make()
    x = torch.rand(4, 1, 28, 28)
    x_logits, mu, logvar = model(x, generator=torch.Generator().manual_seed(3))
    z = reparameterize(mu, logvar, torch.Generator().manual_seed(3))
    assert torch.allclose(x_logits, model.decode(z))
    again, _, _ = model(x, generator=torch.Generator().manual_seed(3))
    assert torch.equal(x_logits, again)


def test_decoder_returns_unbounded_logits():
    model = MLPVAE(hidden=16, z_dim=2)
    with torch.no_grad():
        model.decoder_logits.bias.fill_(5.0)
    x_logits = model.decode(torch.zeros(2, 2))
    assert (x_logits > 1).any()  # a sigmoid inside would keep every value in (0, 1)


def test_mlp_architecture_matches_pytorch_examples():
    model = MLPVAE()
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters() if name.endswith("weight")}
    assert shapes == {"encoder_hidden.weight": (400, 784), "encoder_mu.weight": (20, 400),
                      "encoder_logvar.weight": (20, 400), "decoder_hidden.weight": (400, 20),
                      "decoder_logits.weight": (784, 400)}
    assert sum(p.numel() for p in model.parameters()) == 652824


def test_config_rebuilds_the_same_architecture():
    for model in (MLPVAE(hidden=8, z_dim=2), ConvVAE(z_dim=5, channels=6)):
        rebuilt = type(model)(**model.config)
        assert rebuilt.config == model.config
        assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in model.parameters()]


@pytest.mark.parametrize("make", MODELS)
def test_input_errors_say_what_was_expected(make):
    model = make()
    with pytest.raises(ValueError, match=r"expected shape \(N, 1, 28, 28\) or \(N, 784\).*got \(5, 28, 28\)"):
        model.encode(torch.rand(5, 28, 28))
    with pytest.raises(TypeError, match="floating-point"):
        model(torch.zeros(2, 784, dtype=torch.uint8))
    with pytest.raises(TypeError, match="expected a torch.Tensor"):
        model.encode([[0.0] * 784])
    with pytest.raises(ValueError, match=r"z: expected shape \(N, 3\)"):
        model.decode(torch.zeros(2, 4))


def test_constructor_errors():
    with pytest.raises(ValueError, match="z_dim must be a positive int"):
        MLPVAE(z_dim=0)
    with pytest.raises(ValueError, match="x_dim must be 784"):
        MLPVAE(x_dim=100)
    with pytest.raises(ValueError, match="channels must be a positive int"):
        ConvVAE(channels=2.5)
