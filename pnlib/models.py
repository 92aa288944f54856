"""The paper's architectures and the small models of the embedded tasks."""

from __future__ import annotations

from torch import nn

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
