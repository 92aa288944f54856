"""The paper's architectures and the small models of the embedded tasks."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

PRUNABLE_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d)
"""Layer types whose ``weight`` global magnitude pruning acts on (biases and BatchNorm stay)."""


def prunable_parameters(model: nn.Module) -> dict[str, nn.Parameter]:
    """Return the weights that global magnitude pruning acts on, in module order.

    These are the ``weight`` tensors of every linear and convolutional layer; biases and
    normalisation parameters are never pruned (as in the paper's code).

    Args:
        model: Any module.

    Returns:
        Mapping from the parameter's qualified name (as in ``model.named_parameters()``) to it.

    Example:
        >>> net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
        >>> list(prunable_parameters(net))
        ['0.weight', '2.weight']
    """
    found = {}
    for module_name, module in model.named_modules():
        if isinstance(module, PRUNABLE_TYPES) and module.weight is not None:
            found[f"{module_name}.weight" if module_name else "weight"] = module.weight
    return found


# ---------------------------------------------------------------------------- builders

MODELS = ("mlp", "cnn", "fc5", "fc12", "alexnet", "vgg16", "resnet18", "resnet50")
"""Names accepted by :func:`build`: two small models for the embedded datasets, then the paper's."""

PAPER_MODELS = ("fc5", "fc12", "alexnet", "vgg16", "resnet18", "resnet50")
"""The architectures of the paper, as defined in the authors' code."""

NORMALISATION_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)
"""Layer types whose parameters :func:`count_parameters` reports as ``normalisation``."""

FC5_WIDTHS = (1000, 600, 300, 100)
"""Hidden widths of FC5 (five linear layers)."""

FC12_WIDTHS = (1000, 900, 800, 750, 700, 650, 600, 500, 400, 200, 100)
"""Hidden widths of FC12 (twelve linear layers)."""

VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
"""VGG16's features: 3x3 convolutions (with bias) + BatchNorm + ReLU; ``M`` is a 2x2 max-pool."""

ALEXNET_INPUT = 224
"""AlexNet upsamples its input bilinearly to this size (x7 for CIFAR's 32 pixels)."""

_OPTIONS = {"mlp": {"hidden": [32, 32]}, "cnn": {"channels": [25, 25, 25]}}


class MLP(nn.Sequential):
    """Flatten, then linear layers with ReLU between them (none after the last).

    Args:
        in_features: Number of input features (the product of the input shape).
        hidden: Widths of the hidden layers.
        num_classes: Number of outputs.
    """

    def __init__(self, in_features: int, hidden: list[int] | tuple[int, ...], num_classes: int):
        widths = [in_features, *hidden, num_classes]
        layers: list[nn.Module] = [nn.Flatten()]
        for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Linear(fan_in, fan_out))
            if i < len(widths) - 2:
                layers.append(nn.ReLU())
        super().__init__(*layers)


class CNN(nn.Sequential):
    """Small convolutional network: MNIST-1D's reference ``ConvBase`` (Greydanus 2020).

    Convolutions with stride 2 and padding 1 (kernel 5 for the first, 3 for the others), each
    followed by ReLU, then one linear layer on the flattened features. With the default
    ``channels=[25, 25, 25]`` and inputs ``(1, 40)`` the lengths are 40 -> 19 -> 10 -> 5, so the
    linear layer sees 125 features and the network has 5,210 parameters. Inputs ``(C, H, W)`` get
    the same layers in 2-D.

    Args:
        in_shape: ``(C, L)`` for ``Conv1d`` or ``(C, H, W)`` for ``Conv2d``.
        channels: Output channels of each convolution.
        num_classes: Number of outputs.
    """

    def __init__(self, in_shape: tuple[int, ...], channels: list[int], num_classes: int):
        conv = nn.Conv1d if len(in_shape) == 2 else nn.Conv2d
        sizes, layers, c_in = list(in_shape[1:]), [], in_shape[0]
        for i, c_out in enumerate(channels):
            k = 5 if i == 0 else 3
            layers += [conv(c_in, c_out, k, stride=2, padding=1), nn.ReLU()]
            sizes = [(s + 2 - k) // 2 + 1 for s in sizes]
            c_in = c_out
        if min(sizes) < 1:
            raise ValueError(
                f"input {tuple(in_shape)} is too small for {len(channels)} convolutions"
            )
        super().__init__(*layers, nn.Flatten(), nn.Linear(c_in * math.prod(sizes), num_classes))


class AlexNet(nn.Module):
    """The authors' AlexNet: the input is upsampled bilinearly to 224x224 at every forward pass.

    Conv(3->96, 11, stride 4, pad 1), ReLU, MaxPool(3, 2); Conv(96->256, 5, pad 2), ReLU,
    MaxPool(3, 2); Conv(256->384, 3, pad 1), ReLU; Conv(384->384), ReLU; Conv(384->256), ReLU,
    MaxPool(3, 2); Linear 6400-4096-4096-classes with ReLU; no dropout, no BatchNorm.

    Args:
        in_channels: Channels of the input image.
        num_classes: Number of outputs.
    """

    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 96, 11, stride=4, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(96, 256, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(256, 384, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 384, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(3, 2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(256 * 5 * 5, 4096),
            nn.ReLU(),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Upsample to 224x224, then classify.

        Args:
            x: Images ``(N, C, H, W)``.

        Returns:
            Logits ``(N, num_classes)``.
        """
        x = F.interpolate(
            x, size=(ALEXNET_INPUT, ALEXNET_INPUT), mode="bilinear", align_corners=False
        )
        return self.classifier(self.features(x))


class VGG(nn.Module):
    """The authors' VGG16 with BatchNorm, for 32x32 (or larger) images.

    Features as in :data:`VGG16_CFG`, then average pooling to 1x1 and ``Linear(512, classes)``.
    The authors pool with ``AvgPool2d(1)`` on CIFAR's 1x1 maps; adaptive pooling is the same
    there and also accepts 64x64 inputs (2x2 maps).

    Args:
        in_channels: Channels of the input image.
        num_classes: Number of outputs.
        cfg: Layer configuration.
    """

    def __init__(self, in_channels: int, num_classes: int, cfg=VGG16_CFG):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = in_channels
        for item in cfg:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(c_in, item, 3, padding=1), nn.BatchNorm2d(item), nn.ReLU()]
                c_in = item
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Classify images.

        Args:
            x: Images ``(N, C, H, W)``.

        Returns:
            Logits ``(N, num_classes)``.
        """
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


class BasicBlock(nn.Module):
    """ResNet block of two 3x3 convolutions; 1x1 convolution + BatchNorm shortcut on a shape change.

    Args:
        c_in: Input channels.
        planes: Output channels.
        stride: Stride of the first convolution and of the shortcut.
    """

    expansion = 1

    def __init__(self, c_in: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = _shortcut(c_in, planes, stride)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block.

        Args:
            x: Feature maps.

        Returns:
            ``relu(residual(x) + shortcut(x))``.
        """
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    """ResNet bottleneck block: 1x1, 3x3 (strided), 1x1 convolutions, expansion 4.

    Args:
        c_in: Input channels.
        planes: Width of the middle convolution; the block outputs ``4 * planes`` channels.
        stride: Stride of the 3x3 convolution and of the shortcut.
    """

    expansion = 4

    def __init__(self, c_in: int, planes: int, stride: int = 1):
        super().__init__()
        out = self.expansion * planes
        self.conv1 = nn.Conv2d(c_in, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.shortcut = _shortcut(c_in, out, stride)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block.

        Args:
            x: Feature maps.

        Returns:
            ``relu(residual(x) + shortcut(x))``.
        """
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))


def _shortcut(c_in: int, c_out: int, stride: int) -> nn.Module:
    """Return the identity, or a 1x1 convolution + BatchNorm when the shape changes.

    Args:
        c_in: Input channels.
        c_out: Output channels.
        stride: Spatial stride.

    Returns:
        The shortcut module.
    """
    if stride == 1 and c_in == c_out:
        return nn.Sequential()
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
    )


class ResNet(nn.Module):
    """The CIFAR-style ResNet of the authors' code.

    3x3 stem convolution with stride 1 and no max-pool, four stages of blocks with 64, 128, 256
    and 512 planes (stride 2 from the second stage on), adaptive average pooling and one linear
    layer. Convolutions have no bias. TinyImageNet (64x64) uses the same network: the paper's
    code has no TinyImageNet variant, so only the number of classes changes.

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck`.
        num_blocks: Blocks per stage.
        in_channels: Channels of the input image.
        num_classes: Number of outputs.
    """

    def __init__(self, block, num_blocks, in_channels: int, num_classes: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        stages, c_in = [], 64
        for i, (planes, count) in enumerate(zip((64, 128, 256, 512), num_blocks)):
            blocks = []
            for j in range(count):
                blocks.append(block(c_in, planes, 2 if (i > 0 and j == 0) else 1))
                c_in = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(c_in, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Classify images.

        Args:
            x: Images ``(N, C, H, W)``.

        Returns:
            Logits ``(N, num_classes)``.
        """
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.linear(torch.flatten(self.pool(out), 1))


def init_weights(model: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    r"""Initialise a model as the authors do, drawing from ``generator``.

    Convolution and linear weights: Kaiming-normal (fan-in, ReLU gain $\sqrt 2$); biases zero;
    BatchNorm scale 1, shift 0, running statistics reset. Every parameter and buffer is set, so
    this also fills a model whose storage was allocated uninitialised.

    Args:
        model: The model, changed in place.
        generator: Source of the random weights; None uses torch's global generator.

    Returns:
        The same model.

    Raises:
        TypeError: If a module of another type holds parameters or buffers of its own.
    """
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, PRUNABLE_TYPES):
                nn.init.kaiming_normal_(
                    module.weight, mode="fan_in", nonlinearity="relu", generator=generator
                )
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, NORMALISATION_TYPES):
                module.reset_parameters()
            elif any(True for _ in module.parameters(recurse=False)) or any(
                True for _ in module.buffers(recurse=False)
            ):
                raise TypeError(
                    f"init_weights cannot initialise {name!r} ({type(module).__name__})"
                )
    return model


def _check_positive_int(value, what: str) -> int:
    """Return ``value`` as an int if it is a positive integer.

    Args:
        value: The value.
        what: Its name, for the message.

    Returns:
        The integer.

    Raises:
        ValueError: If it is not a positive integer.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def build(
    name: str,
    *,
    num_classes: int,
    in_shape: tuple[int, ...] | list[int],
    generator: torch.Generator | None = None,
    **options,
) -> nn.Module:
    """Build a model by name, initialised as in the authors' code (:func:`init_weights`).

    Models (``in_shape`` excludes the batch dimension):

    - ``"mlp"``: :class:`MLP`, any ``in_shape`` (flattened); option ``hidden`` (list of widths,
      default ``[32, 32]``). On the digits with ``hidden=[32, 32]``: 3,466 parameters.
    - ``"cnn"``: :class:`CNN`, ``in_shape`` ``(C, L)`` or ``(C, H, W)``; option ``channels``
      (default ``[25, 25, 25]``).
    - ``"fc5"``, ``"fc12"``: :class:`MLP` with the widths :data:`FC5_WIDTHS`, :data:`FC12_WIDTHS`.
    - ``"alexnet"``, ``"vgg16"``: :class:`AlexNet`, :class:`VGG`; ``in_shape`` ``(C, H, W)``.
    - ``"resnet18"``, ``"resnet50"``: :class:`ResNet` with blocks ``[2, 2, 2, 2]`` of
      :class:`BasicBlock` or ``[3, 4, 6, 3]`` of :class:`Bottleneck`; ``in_shape`` ``(C, H, W)``.

    The modules are created on the ``meta`` device and then initialised, so the global RNG is not
    touched when a ``generator`` is given and the same generator state gives the same weights.

    Args:
        name: One of :data:`MODELS`.
        num_classes: Number of outputs.
        in_shape: Shape of one input, e.g. ``pnlib.data.info(name).in_shape``.
        generator: Source of the initial weights; None uses torch's global generator.
        **options: Model options (see above); other models take none.

    Returns:
        The model on the CPU, in training mode.

    Raises:
        ValueError: If the name, an option, ``num_classes`` or ``in_shape`` is not allowed.

    Example:
        >>> gen = torch.Generator().manual_seed(0)
        >>> net = build("mlp", num_classes=10, in_shape=(64,), hidden=[32, 32], generator=gen)
        >>> count_parameters(net)
        {'total': 3466, 'prunable': 3392, 'normalisation': 0, 'other': 74}
    """
    key = str(name).lower()
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    allowed = _OPTIONS.get(key, {})
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"model {key!r} takes no option {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(allowed) or 'none'}"
        )
    opts = {**allowed, **options}
    num_classes = _check_positive_int(num_classes, "num_classes")
    shape = tuple(in_shape)
    for size in shape:
        _check_positive_int(size, f"every entry of in_shape {shape}")
    if not shape:
        raise ValueError("in_shape must have at least one dimension")
    if key in ("alexnet", "vgg16", "resnet18", "resnet50") and len(shape) != 3:
        raise ValueError(f"{key} needs in_shape (C, H, W), got {shape}")
    if key == "vgg16" and min(shape[1:]) < 32:
        raise ValueError(f"vgg16 needs images of at least 32x32 (five 2x2 max-pools), got {shape}")
    if key == "cnn" and len(shape) not in (2, 3):
        raise ValueError(f"cnn needs in_shape (C, L) or (C, H, W), got {shape}")
    for opt in ("hidden", "channels"):
        if opt in opts:
            widths = opts[opt]
            if isinstance(widths, (int, str)) or not all(
                isinstance(w, (int, np.integer)) and not isinstance(w, bool) and w >= 1
                for w in widths
            ):
                raise ValueError(f"{opt} must be a list of positive integers, got {widths!r}")
            if opt == "channels" and len(widths) == 0:
                raise ValueError("channels must name at least one convolution")
            opts[opt] = [int(w) for w in widths]

    with torch.device("meta"):
        if key in ("mlp", "fc5", "fc12"):
            hidden = {"mlp": opts.get("hidden"), "fc5": FC5_WIDTHS, "fc12": FC12_WIDTHS}[key]
            model = MLP(math.prod(shape), list(hidden), num_classes)
        elif key == "cnn":
            model = CNN(shape, opts["channels"], num_classes)
        elif key == "alexnet":
            model = AlexNet(shape[0], num_classes)
        elif key == "vgg16":
            model = VGG(shape[0], num_classes)
        elif key == "resnet18":
            model = ResNet(BasicBlock, (2, 2, 2, 2), shape[0], num_classes)
        else:
            model = ResNet(Bottleneck, (3, 4, 6, 3), shape[0], num_classes)
    model = model.to_empty(device="cpu")
    return init_weights(model, generator).train()


def count_parameters(model: nn.Module) -> dict[str, int]:
    """Count a model's parameters by role.

    Args:
        model: Any module.

    Returns:
        ``total``; ``prunable`` (weights of linear and convolutional layers,
        :func:`prunable_parameters`); ``normalisation`` (parameters of BatchNorm, LayerNorm and
        GroupNorm layers); ``other`` (the rest, mostly biases). Shared parameters count once.
    """
    params = dict(model.named_parameters())
    prunable = {id(p) for p in prunable_parameters(model).values()}
    norm = {
        id(p)
        for module in model.modules()
        if isinstance(module, NORMALISATION_TYPES)
        for p in module.parameters(recurse=False)
    }
    counts = {"total": 0, "prunable": 0, "normalisation": 0, "other": 0}
    for p in params.values():
        n = p.numel()
        counts["total"] += n
        if id(p) in prunable:
            counts["prunable"] += n
        elif id(p) in norm:
            counts["normalisation"] += n
        else:
            counts["other"] += n
    return counts
