"""Auxiliary-classifier objectives: which samples D's classifier learns on (key ``ac_d_samples``)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_config

from relabelgan.core.config import resolve_config, run_spec
from relabelgan.core.errors import ConfigError
from relabelgan.methods import get_method
from relabelgan.networks import build_networks, network_arch
from relabelgan.training.losses import NonSaturatingLoss, WGANGPLoss

K = 3


def _nets_and_batch():
    torch.manual_seed(0)
    arch = network_arch(
        {"arch": "dcgan", "z_dim": 4, "embed_dim": 3, "embed_norm": False, "width": 4, "d_norm": "auto"},
        (1, 8, 8),
        K,
        "ac",
    )
    G, D = build_networks(arch)
    real, y_real = torch.rand(6, 1, 8, 8) * 2 - 1, torch.tensor([0, 1, 2, 0, 1, 2])
    z, y_fake = torch.randn(6, 4), torch.tensor([2, 2, 1, 1, 0, 0])
    return G, D, real, y_real, z, y_fake


def _classifier_grad(D, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Gradient of the cross-entropy of D's class logits on (x, y) with respect to D's classifier weights."""
    (grad,) = torch.autograd.grad(F.cross_entropy(D(x).cls, y), D.cls.weight)
    return grad


@pytest.mark.parametrize("loss_class", [NonSaturatingLoss, WGANGPLoss])
@pytest.mark.parametrize("fakes", [False, True])
def test_d_classifier_learns_on_fakes_only_when_enabled(loss_class, fakes):
    G, D, real, y_real, z, y_fake = _nets_and_batch()
    loss = loss_class(ac_weight_d=1.0, ac_weight_g=1.0, d_classifies_fakes=fakes)
    d_loss, stats = loss.d_loss(G, D, real, y_real, z, y_fake)
    (got,) = torch.autograd.grad(d_loss, D.cls.weight)
    with torch.no_grad():
        fake = G(z, y_fake)  # G in train mode uses batch statistics, so this is the same batch d_loss saw
    from_real, from_fake = _classifier_grad(D, real, y_real), _classifier_grad(D, fake, y_fake)
    assert from_fake.abs().max() > 1e-4  # fakes do carry a classifier gradient to add or leave out
    expected = from_real + from_fake if fakes else from_real
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-6)
    assert ("d_ac_fake" in stats) == fakes


def _loss_for(method_keys: dict):
    config = tiny_config()
    config["runs"] = {"run": {"dataset": "digits", **method_keys}}
    spec = run_spec(resolve_config(config), "run", 0)
    return get_method(spec["method"]).make_loss(spec)


@pytest.mark.parametrize(
    "keys, fakes",
    [
        ({"method": "acgan"}, True),  # AC-GAN's L_C: real and fake
        ({"method": "splitting"}, False),  # the class-splitting reference: real only
        ({"method": "acgan", "ac_d_samples": "real"}, False),
        ({"method": "splitting", "ac_d_samples": "real_and_fake"}, True),
    ],
)
def test_ac_d_samples_resolves_per_method(keys, fakes):
    assert _loss_for(keys).d_classifies_fakes is fakes


@pytest.mark.parametrize("embed_norm", [False, True])
def test_generator_class_embedding_is_unit_length_only_with_embed_norm(embed_norm):
    """embed_norm (the self-conditioned GAN code's LatentEmbeddingConcat) scales the class code, not z."""
    cfg = resolve_config(tiny_config(embed_norm=embed_norm, embed_dim=32))
    spec = run_spec(cfg, "grid-selfcond", 0)
    arch = network_arch(spec, (2,), 9, "heads")
    G, _ = build_networks(arch)
    assert arch["embed_norm"] is embed_norm
    G.body = torch.nn.Identity()  # see what the body receives: [z, class code]
    z, y = torch.randn(6, arch["z_dim"]), torch.arange(6)
    out = G(z, y)
    assert torch.equal(out[:, : arch["z_dim"]], z)
    lengths = out[:, arch["z_dim"] :].norm(dim=1)
    if embed_norm:
        assert torch.allclose(lengths, torch.ones(6))
    else:
        assert torch.allclose(lengths, G.embed(y).norm(dim=1)) and (lengths > 2).all()  # ~sqrt(32)


def _batchnorms(module: torch.nn.Module) -> int:
    return sum(isinstance(m, torch.nn.BatchNorm2d) for m in module.modules())


@pytest.mark.parametrize(
    "arch, d_norm, gradient_penalty, expected",
    [
        ("dcgan", "auto", False, "batch"),  # the DCGAN / AC-GAN discriminator
        ("dcgan", "auto", True, "none"),  # a WGAN-GP critic: its penalty is per sample
        ("dcgan", "none", False, "none"),
        ("mlp", "auto", False, "none"),
        ("resnet_small", "auto", False, "none"),
    ],
)
def test_d_norm_auto_puts_batchnorm_in_a_dcgan_d_only(arch, d_norm, gradient_penalty, expected):
    spec = {"arch": arch, "z_dim": 4, "embed_dim": 3, "embed_norm": False, "width": 4, "d_norm": d_norm}
    shape = (2,) if arch == "mlp" else (1, 8, 8)
    record = network_arch(spec, shape, K, "ac", gradient_penalty=gradient_penalty)
    assert record["d_norm"] == expected
    _, D = build_networks(record)
    # Every convolution but the first is followed by one (5 convolutions at 8x8).
    assert _batchnorms(D.body) == (4 if expected == "batch" else 0)


def test_a_checkpoint_made_before_d_norm_rebuilds_its_d_without_batchnorm():
    record = network_arch(
        {"arch": "dcgan", "z_dim": 4, "embed_dim": 3, "embed_norm": False, "width": 4, "d_norm": "auto"},
        (1, 8, 8),
        K,
        "ac",
    )
    del record["d_norm"]
    _, D = build_networks(record)
    assert _batchnorms(D) == 0


@pytest.mark.parametrize("method, expected", [("acgan", "batch"), ("selfcond", "batch"), ("splitting", "none")])
def test_init_resolves_d_norm_from_the_method_loss(method, expected, tmp_path):
    from relabelgan.initialise import init_model
    from relabelgan.training.checkpoint import load_checkpoint

    cfg = tiny_config()
    cfg["datasets"]["digits"] = {"kind": "digits"}
    cfg["runs"] = {"d": {"dataset": "digits", "method": method, "k": 10 if method != "splitting" else 1, "width": 4}}
    spec = run_spec(resolve_config(cfg), "d", 0)
    init_model(spec, str(tmp_path / "model.pt"))
    assert load_checkpoint(str(tmp_path / "model.pt"))["arch"]["d_norm"] == expected


def test_real_data_statistics_make_eval_mode_features_those_of_the_real_batch():
    """After a phase, D's BatchNorm running statistics are the real data's, not a mix with G's fakes."""
    from relabelgan.networks import real_data_statistics

    torch.manual_seed(0)
    spec = {"arch": "dcgan", "z_dim": 4, "embed_dim": 3, "embed_norm": False, "width": 4, "d_norm": "batch"}
    _, D = build_networks(network_arch(spec, (1, 8, 8), K, "heads"))
    real, fakes = torch.rand(256, 1, 8, 8) * 2 - 1, torch.rand(256, 1, 8, 8) * 0.1 + 0.5
    D.train()
    with torch.no_grad():
        for _ in range(20):  # what training leaves: running statistics of real and fake batches in turn
            D.features(real[:64]), D.features(fakes[:64])
        D.eval()
        mixed = D.features(real)
        real_data_statistics(D, real, 64, "cpu")
        assert not D.training
        calibrated = D.features(real)
        D.train()
        batch = D.features(real)  # normalised by the real data's own statistics
    assert not torch.allclose(mixed, batch, atol=0.05)
    assert torch.allclose(calibrated, batch, atol=0.05)


def test_real_data_statistics_leave_a_d_without_batchnorm_alone():
    from relabelgan.networks import real_data_statistics

    spec = {"arch": "dcgan", "z_dim": 4, "embed_dim": 3, "embed_norm": False, "width": 4, "d_norm": "none"}
    _, D = build_networks(network_arch(spec, (1, 8, 8), K, "heads"))
    before = {k: v.clone() for k, v in D.state_dict().items()}
    real_data_statistics(D, torch.rand(32, 1, 8, 8), 16, "cpu")
    assert all(torch.equal(before[k], v) for k, v in D.state_dict().items())


def test_dcgan_shallow_is_the_self_conditioned_gans_stacked_mnist_network():
    """stevliu/self-conditioned-gan's dcgan_shallow: G 4x4x8w -> three transposed convs -> 32 px; D four
    4x4 stride-2 convs, each with BatchNorm, whose 2x2x8w output (2,048 at width 64) is clustered."""
    spec = {"arch": "dcgan_shallow", "z_dim": 128, "embed_dim": 256, "embed_norm": True, "width": 64, "d_norm": "auto"}
    record = network_arch(spec, (3, 32, 32), 100, "heads")
    assert record["d_norm"] == "batch"
    G, D = build_networks(record)
    z, y = torch.randn(3, 128), torch.tensor([0, 5, 99])
    x = G(z, y)
    out = D(x, y)
    assert x.shape == (3, 3, 32, 32) and out.features.shape == (3, 2048) and out.adv.shape == (3,)
    convs = [m for m in D.body if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (3, 64, (4, 4), (2, 2)),
        (64, 128, (4, 4), (2, 2)),
        (128, 256, (4, 4), (2, 2)),
        (256, 512, (4, 4), (2, 2)),
    ]
    assert _batchnorms(D.body) == 4
    ups = [m for m in G.body.net if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(u.in_channels, u.out_channels) for u in ups] == [(512, 256), (256, 128), (128, 64)]


def test_dcgan_shallow_refuses_images_other_than_32_px():
    spec = {"arch": "dcgan_shallow", "z_dim": 4, "embed_dim": 3, "embed_norm": False, "width": 4, "d_norm": "auto"}
    with pytest.raises(ConfigError, match="arch dcgan_shallow is the self-conditioned GAN's 32x32"):
        build_networks(network_arch(spec, (1, 8, 8), K, "heads"))
