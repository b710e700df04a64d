"""course_utils.models: shapes, logits (no sigmoid inside), reparameterized forward, config, image shapes, input checks."""
import pytest
import torch

from course_utils.gaussian import reparameterize
from course_utils.models import ConvVAE, MLPVAE

MODELS = {"mlp": {"hidden": 32, "z_dim": 3}, "conv": {"z_dim": 3, "channels": 4}}


@pytest.fixture(params=sorted(MODELS))
def make(request, tiny_mlp_vae, tiny_conv_vae):
    """A factory of fresh small VAEs of each kind (z_dim 3)."""
    factory = tiny_mlp_vae if request.param == "mlp" else tiny_conv_vae
    return lambda **kw: factory(**{**MODELS[request.param], **kw})


@pytest.mark.parametrize("shape", [(5, 1, 28, 28), (5, 784)])
def test_shapes_of_encode_decode_forward(make, shape):
    model = make()
    x = torch.rand(shape)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, model.z_dim)
    x_logits, mu2, logvar2 = model(x)
    assert x_logits.shape == (5, 1, 28, 28)
    assert torch.equal(mu, mu2) and torch.equal(logvar, logvar2)
    assert model.decode(torch.randn(7, model.z_dim)).shape == (7, 1, 28, 28)


def test_forward_is_encode_reparameterize_decode_with_the_generator(make):
    model = make()
    x = torch.rand(4, 1, 28, 28)
    x_logits, mu, logvar = model(x, generator=torch.Generator().manual_seed(3))
    z = reparameterize(mu, logvar, torch.Generator().manual_seed(3))
    assert torch.allclose(x_logits, model.decode(z))
    again, _, _ = model(x, generator=torch.Generator().manual_seed(3))
    assert torch.equal(x_logits, again)


def test_gradients_reach_every_parameter(make):
    model = make()
    x_logits, mu, logvar = model(torch.rand(3, 1, 28, 28), generator=torch.Generator().manual_seed(0))
    (x_logits.sum() + mu.sum() + logvar.sum()).backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_decoder_returns_unbounded_logits(tiny_mlp_vae):
    model = tiny_mlp_vae()
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
    assert model.config == {"image_shape": [1, 28, 28], "hidden": 400, "z_dim": 20}


@pytest.mark.parametrize("image_shape", [(1, 28, 28), (3, 64, 64), (1, 5, 7)])
def test_mlp_image_shape(image_shape, tiny_mlp_vae):
    model = tiny_mlp_vae(image_shape=image_shape)
    C, H, W = image_shape
    assert model.image_shape == image_shape and model.config["image_shape"] == list(image_shape)
    assert model.encoder_hidden.in_features == C * H * W == model.decoder_logits.out_features
    x_logits, mu, _ = model(torch.rand(2, *image_shape))
    assert x_logits.shape == (2, *image_shape) and mu.shape == (2, 2)
    assert model.encode(torch.rand(2, C * H * W))[0].shape == (2, 2)  # flat input accepted too
    assert tiny_mlp_vae(image_shape=list(image_shape)).image_shape == image_shape  # a JSON list works


def test_conv_on_mnist_has_two_stride_2_layers(tiny_conv_vae):
    model = tiny_conv_vae()
    convs = [m for m in model.encoder_conv if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.stride) for c in convs] == [(1, 4, (2, 2)), (4, 8, (2, 2))]
    assert model.feature_shape == (8, 7, 7)


@pytest.mark.parametrize("channels_in", [1, 3])
def test_conv_on_64x64_has_four_layers_and_round_trips_shapes(channels_in, tiny_conv_vae):
    model = tiny_conv_vae(image_shape=(channels_in, 64, 64), z_dim=5, channels=4)
    convs = [m for m in model.encoder_conv if isinstance(m, torch.nn.Conv2d)]
    deconvs = [m for m in model.decoder_deconv if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(convs) == len(deconvs) == 4
    assert [c.out_channels for c in convs] == [4, 8, 16, 32]  # channels double at each layer
    assert convs[0].in_channels == channels_in == deconvs[-1].out_channels
    assert model.feature_shape == (32, 4, 4)  # 64 -> 32 -> 16 -> 8 -> 4
    x = torch.rand(3, channels_in, 64, 64)
    x_logits, mu, logvar = model(x, generator=torch.Generator().manual_seed(0))
    assert x_logits.shape == (3, channels_in, 64, 64) and mu.shape == logvar.shape == (3, 5)
    assert model.decode(torch.zeros(2, 5)).shape == (2, channels_in, 64, 64)
    assert model.config == {"image_shape": [channels_in, 64, 64], "z_dim": 5, "channels": 4}
    assert isinstance(model.decoder_deconv[-1], torch.nn.ConvTranspose2d), "no ReLU after the last layer: logits"


@pytest.mark.parametrize("image_shape", [(1, 7, 7), (1, 6, 6), (3, 9, 64), (1, 28), (0, 28, 28), (1, 28.0, 28),
                                         "1x28x28", (1, 28, True)])
def test_conv_rejects_bad_image_shapes(image_shape):
    with pytest.raises(ValueError, match="image_shape"):
        ConvVAE(image_shape=image_shape)


@pytest.mark.parametrize("image_shape", [(1, 28), (1, -28, 28), None, (1, 2, 3, 4)])
def test_mlp_rejects_bad_image_shapes(image_shape):
    with pytest.raises(ValueError, match=r"image_shape: expected \(C, H, W\), three positive ints"):
        MLPVAE(image_shape=image_shape)


def test_config_rebuilds_the_same_architecture():
    for model in (MLPVAE(hidden=8, z_dim=2), ConvVAE(z_dim=5, channels=6), ConvVAE((3, 64, 64), z_dim=2, channels=2),
                  MLPVAE((3, 8, 8), hidden=4, z_dim=2)):
        rebuilt = type(model)(**model.config)
        assert rebuilt.config == model.config
        assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in model.parameters()]


def test_input_errors_say_what_was_expected(make):
    model = make()
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 1, 28, 28\) or \(N, 784\).*got \(5, 28, 28\)"):
        model.encode(torch.rand(5, 28, 28))
    with pytest.raises(ValueError, match=r"x: expected shape .*with N >= 1, got \(0, 784\)"):
        model.encode(torch.rand(0, 784))
    with pytest.raises(TypeError, match="x: expected a floating-point tensor"):
        model(torch.zeros(2, 784, dtype=torch.uint8))
    with pytest.raises(TypeError, match="x: expected a torch.Tensor"):
        model.encode([[0.0] * 784])
    with pytest.raises(ValueError, match=r"z: expected shape \(N, 3\)"):
        model.decode(torch.zeros(2, 4))
    with pytest.raises(TypeError, match="z: expected a floating-point tensor"):
        model.decode(torch.zeros(2, 3, dtype=torch.long))


def test_model_refuses_an_input_of_another_dtype(make):
    model = make()
    with pytest.raises(TypeError, match=r"x: dtype torch.float64 differs from the model's torch.float32"):
        model(torch.rand(2, 1, 28, 28, dtype=torch.float64))
    with pytest.raises(TypeError, match="dtype"):
        model.encode(torch.rand(2, 784, dtype=torch.float64))
    model.double()
    x_logits, _, _ = model(torch.rand(2, 1, 28, 28, dtype=torch.float64))  # same dtype: accepted
    assert x_logits.dtype == torch.float64


def test_constructor_errors():
    with pytest.raises(ValueError, match="z_dim: expected a positive int, got 0"):
        MLPVAE(z_dim=0)
    with pytest.raises(ValueError, match="hidden: expected a positive int, got True"):
        MLPVAE(hidden=True)
    with pytest.raises(ValueError, match="channels: expected a positive int, got 2.5"):
        ConvVAE(channels=2.5)
    with pytest.raises(TypeError, match="x_dim"):  # the old keyword is gone: image_shape replaces it
        MLPVAE(x_dim=784)
