"""Tests of pnlib.models: the paper's parameter counts, forward passes, deterministic init."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pnlib import models

CIFAR = (3, 32, 32)
TINY = (3, 64, 64)

# the authors' architectures: (model, classes, conv+linear and prunable weights, BatchNorm)
PAPER_COUNTS = [
    ("fc5", 10, 3_885_010, 3_883_000, 0),
    ("fc12", 10, 7_269_610, 7_263_000, 0),
    ("alexnet", 10, 46_787_978, 46_778_400, 0),
    ("vgg16", 10, 14_719_818, 14_715_584, 8_448),
    ("resnet18", 100, 11_210_532, 11_210_432, 9_600),
    ("resnet50", 100, 23_652_132, 23_652_032, 53_120),
]

# the classifier's input width, for the TinyImageNet variants (200 classes)
FC_IN = {"fc5": 100, "fc12": 100, "alexnet": 4096, "vgg16": 512, "resnet18": 512, "resnet50": 2048}


@pytest.fixture(scope="module")
def paper_nets():
    gen = torch.Generator().manual_seed(0)
    return {
        name: models.build(name, num_classes=classes, in_shape=CIFAR, generator=gen)
        for name, classes, *_ in PAPER_COUNTS
    }


@pytest.mark.parametrize(("name", "classes", "conv_linear", "prunable", "bn"), PAPER_COUNTS)
def test_paper_parameter_counts(paper_nets, name, classes, conv_linear, prunable, bn):
    counts = models.count_parameters(paper_nets[name])
    assert counts == {
        "total": conv_linear + bn,
        "prunable": prunable,
        "normalisation": bn,
        "other": conv_linear - prunable,
    }


def test_architecture_shapes(paper_nets):
    weights = {n: list(models.prunable_parameters(m).values()) for n, m in paper_nets.items()}
    assert [w.shape[0] for w in weights["fc5"]] == [1000, 600, 300, 100, 10]
    assert [w.shape[0] for w in weights["fc12"]][:-1] == list(models.FC12_WIDTHS)
    # ResNet18: stem, 8 blocks of 2 convolutions, 3 projection shortcuts, fc
    assert len(weights["resnet18"]) == 1 + 16 + 3 + 1
    # ResNet50: stem, 16 bottlenecks of 3 convolutions, 4 projection shortcuts, fc
    assert len(weights["resnet50"]) == 1 + 48 + 4 + 1
    assert all(m.bias is None for m in paper_nets["resnet18"].modules() if isinstance(m, nn.Conv2d))
    assert [w.shape[0] for w in weights["alexnet"]] == [96, 256, 384, 384, 256, 4096, 4096, 10]
    assert len(weights["vgg16"]) == 14


@pytest.mark.parametrize("name", list(FC_IN))
def test_tinyimagenet_variants_change_only_the_classifier(paper_nets, name):
    row = next(r for r in PAPER_COUNTS if r[0] == name)
    classes = row[1]
    net = models.build(name, num_classes=200, in_shape=TINY)
    total = models.count_parameters(paper_nets[name])["total"]
    extra = (200 - classes) * (FC_IN[name] + 1)
    if name in ("fc5", "fc12"):  # the MLPs see 4x as many input features (AlexNet resizes)
        extra += 3 * 32 * 32 * 3 * 1000
    assert models.count_parameters(net)["total"] == total + extra
    x = torch.randn(2, *TINY, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = net.eval()(x)
    assert out.shape == (2, 200) and torch.isfinite(out).all()


@pytest.mark.parametrize(("name", "classes", "conv_linear", "prunable", "bn"), PAPER_COUNTS)
def test_forward_cifar(paper_nets, name, classes, conv_linear, prunable, bn):
    net = paper_nets[name].eval()
    x = torch.randn(2, *CIFAR, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        out = net(x)
    assert out.shape == (2, classes) and torch.isfinite(out).all()
    assert out.std() > 0  # a broken (e.g. uninitialised) network would give constant output


def test_alexnet_upsamples_by_seven_as_the_authors():
    net = models.build("alexnet", num_classes=10, in_shape=CIFAR).eval()
    x = torch.randn(2, *CIFAR, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        up = F.interpolate(x, scale_factor=7, mode="bilinear")
        expected = net.classifier(net.features(up))
        torch.testing.assert_close(net(x), expected)


def test_digits_mlp_counts_and_structure():
    gen = torch.Generator().manual_seed(0)
    net = models.build("mlp", num_classes=10, in_shape=(64,), hidden=[32, 32], generator=gen)
    assert models.count_parameters(net) == {
        "total": 3466,
        "prunable": 3392,
        "normalisation": 0,
        "other": 74,
    }
    linear = [m for m in net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(64, 32), (32, 32), (32, 10)]
    assert isinstance(net[-1], nn.Linear)  # logits, no ReLU after the last layer
    out = net(torch.randn(5, 8, 8))  # inputs are flattened
    assert out.shape == (5, 10)
    default = models.build("mlp", num_classes=10, in_shape=(64,))
    assert models.count_parameters(default)["total"] == 3466


def test_cnn_mnist1d_and_2d():
    net = models.build("cnn", num_classes=10, in_shape=(1, 40))
    # 1*25*5+25, 25*25*3+25 twice, 25*5*10+10: MNIST-1D's reference ConvBase
    assert models.count_parameters(net)["total"] == 150 + 2 * 1900 + 1260 == 5210
    assert sum(isinstance(m, nn.Conv1d) for m in net.modules()) == 3
    assert net(torch.randn(4, 1, 40)).shape == (4, 10)
    net2 = models.build("cnn", num_classes=3, in_shape=(3, 16, 16), channels=[4, 8])
    # 16 -> 7 -> 4 pixels: linear on 8*4*4 features
    assert models.count_parameters(net2)["total"] == (3 * 4 * 25 + 4) + (4 * 8 * 9 + 8) + (
        128 * 3 + 3
    )
    assert net2(torch.randn(2, 3, 16, 16)).shape == (2, 3)


def test_generator_makes_init_deterministic_and_leaves_global_rng():
    def make(seed):
        gen = torch.Generator().manual_seed(seed)
        return models.build("resnet18", num_classes=10, in_shape=CIFAR, generator=gen)

    state = torch.get_rng_state()
    a, b, c = make(5), make(5), make(6)
    assert torch.equal(torch.get_rng_state(), state)
    for (name, pa), pb, pc in zip(
        a.state_dict().items(), b.state_dict().values(), c.state_dict().values()
    ):
        assert torch.equal(pa, pb), name
        if name.endswith("conv1.weight"):
            assert not torch.equal(pa, pc)
    torch.manual_seed(9)
    g1 = models.build("mlp", num_classes=10, in_shape=(64,))
    torch.manual_seed(9)
    g2 = models.build("mlp", num_classes=10, in_shape=(64,))
    assert all(torch.equal(p, q) for p, q in zip(g1.parameters(), g2.parameters()))


def test_initialisation_statistics():
    net = models.build(
        "fc5", num_classes=10, in_shape=CIFAR, generator=torch.Generator().manual_seed(0)
    )
    w = net[1].weight.detach().double()
    n, sigma = w.numel(), math.sqrt(2 / 3072)  # Kaiming normal, fan-in, ReLU gain
    assert abs(w.mean().item()) < 5 * sigma / math.sqrt(n)
    assert abs(w.std().item() - sigma) < 5 * sigma / math.sqrt(2 * n)
    assert all(torch.all(m.bias == 0) for m in net.modules() if isinstance(m, nn.Linear))
    vgg = models.build("vgg16", num_classes=10, in_shape=CIFAR)
    for bn in (m for m in vgg.modules() if isinstance(m, nn.BatchNorm2d)):
        assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)
        assert torch.all(bn.running_mean == 0) and torch.all(bn.running_var == 1)
        assert bn.num_batches_tracked.item() == 0
    assert vgg.training


def test_init_weights_refuses_unknown_parameterised_modules():
    with pytest.raises(TypeError, match="Embedding"):
        models.init_weights(nn.Sequential(nn.Embedding(3, 2)))


def test_count_parameters_counts_shared_once():
    layer = nn.Linear(4, 4)
    net = nn.Sequential(layer, nn.LayerNorm(4), layer)
    assert models.count_parameters(net) == {
        "total": 28,
        "prunable": 16,
        "normalisation": 8,
        "other": 4,
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "lenet"}, "mlp, cnn, fc5, fc12, alexnet, vgg16, resnet18, resnet50"),
        ({"name": "mlp", "width": 3}, "allowed: hidden"),
        ({"name": "resnet18", "hidden": [3]}, "allowed: none"),
        ({"name": "mlp", "hidden": 32}, "list of positive integers"),
        ({"name": "mlp", "hidden": [32, 0]}, "list of positive integers"),
        ({"name": "cnn", "channels": []}, "at least one"),
        ({"name": "resnet50", "in_shape": (3072,)}, r"\(C, H, W\)"),
        ({"name": "vgg16", "in_shape": (3, 16, 16)}, "32x32"),
        ({"name": "cnn", "in_shape": (40,)}, r"\(C, L\)"),
        ({"name": "mlp", "num_classes": 0}, "num_classes"),
        ({"name": "cnn", "in_shape": (1, 2), "channels": [2]}, "too small"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message):
    args = {"num_classes": 10, "in_shape": (64,), **kwargs}
    if args["name"] not in ("mlp", "lenet") and "in_shape" not in kwargs:
        args["in_shape"] = CIFAR
    name = args.pop("name")
    with pytest.raises(ValueError, match=message):
        models.build(name, **args)
