"""Neural networks in PyTorch: a fully connected net, a small ConvNet, and their training loop.

The models follow the classic MNIST tutorials: `NeuralNet` is one hidden
layer, `ConvNet` is two blocks of Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d
and a linear classifier. Images are float tensors of shape (N, C_in, H, W)
with H == W == image_size; labels are int64 class indices of shape (N,).
The helpers train for one epoch, measure accuracy, count parameters and
look inside a model with forward hooks.
"""

import torch
from torch import nn

from .conv_size import conv_output_size, pool_output_size


class NeuralNet(nn.Module):
    """A fully connected network with one hidden ReLU layer.

    Formula: logits = fc2(relu(fc1(flatten(x))))

    Args:
        input_size: D, the number of values in one example once flattened.
        hidden_size: H, the number of hidden units.
        num_classes: C, the number of classes.

    Attributes:
        fc1: nn.Linear(D, H).
        relu: nn.ReLU().
        fc2: nn.Linear(H, C).

    Example:
        >>> NeuralNet(input_size=12, hidden_size=5, num_classes=3)(torch.zeros(2, 3, 4)).shape
        torch.Size([2, 3])
    """

    def __init__(self, input_size=784, hidden_size=500, num_classes=10):
        super().__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        """Logits for a batch of examples of any shape.

        Formula: logits = fc2(relu(fc1(x reshaped to (N, D))))

        Args:
            x: float tensor of shape (N, ...) whose trailing dims hold D values per example.

        Returns:
            float tensor of shape (N, C): unnormalised class scores.

        Hint: torch.flatten(x, start_dim=1) keeps the batch dim and flattens the rest.

        Example:
            >>> NeuralNet()(torch.zeros(4, 1, 28, 28)).shape
            torch.Size([4, 10])
        """
        x = torch.flatten(x, start_dim=1)
        return self.fc2(self.relu(self.fc1(x)))


class ConvNet(nn.Module):
    """Two convolutional blocks and a linear classifier, for square images of any size >= 4.

    Formula: logits = fc(flatten(layer2(layer1(x)))), each layer = MaxPool(ReLU(BatchNorm(Conv(.))))

    Args:
        num_classes: C, the number of classes.
        in_channels: C_in, the number of channels of the input images.
        image_size: H == W of the input images (at least 4).

    Attributes:
        layer1: nn.Sequential(Conv2d(C_in, 16, F=5, S=1, P=2), BatchNorm2d(16), ReLU(), MaxPool2d(2, 2)).
        layer2: nn.Sequential(Conv2d(16, 32, F=5, S=1, P=2), BatchNorm2d(32), ReLU(), MaxPool2d(2, 2)).
        fc: nn.Linear(32 * s * s, C), where s is the side of layer2's output,
            computed from image_size with conv_output_size and pool_output_size
            (s = 7 for 28x28 images, 3 for 13x13, 2 for 8x8).

    Hint: apply conv_output_size(size, 5, stride=1, padding=2) and then
    pool_output_size(size, 2, stride=2) once per block.

    Example:
        >>> ConvNet(num_classes=10, in_channels=1, image_size=8)(torch.zeros(2, 1, 8, 8)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes=10, in_channels=1, image_size=28):
        super().__init__()
        self.layer1 = nn.Sequential(
            nn.Conv2d(in_channels, 16, kernel_size=5, stride=1, padding=2),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.layer2 = nn.Sequential(
            nn.Conv2d(16, 32, kernel_size=5, stride=1, padding=2),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        side = image_size
        for _ in range(2):  # layer1, then layer2: the conv keeps the size, the pool halves it
            side = conv_output_size(side, 5, stride=1, padding=2)
            side = pool_output_size(side, 2, stride=2)
        self.fc = nn.Linear(32 * side * side, num_classes)

    def forward(self, x):
        """Logits for a batch of images.

        Formula: logits = fc(flatten(layer2(layer1(x))))

        Args:
            x: float tensor of shape (N, C_in, image_size, image_size).

        Returns:
            float tensor of shape (N, C): unnormalised class scores.

        Hint: torch.flatten(out, start_dim=1) turns (N, 32, s, s) into (N, 32*s*s).

        Example:
            >>> ConvNet()(torch.zeros(4, 1, 28, 28)).shape
            torch.Size([4, 10])
        """
        out = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(out, start_dim=1))


def count_parameters(model, trainable_only=True):
    """Number of scalar parameters of a model.

    Formula: sum of p.numel() over model.parameters() (only those with p.requires_grad when trainable_only)

    Args:
        model: an nn.Module.
        trainable_only: count only parameters with requires_grad=True (frozen ones are skipped).

    Returns:
        int, the number of scalars (buffers such as BatchNorm's running statistics are not parameters).

    Hint: Tensor.numel() gives the number of scalars in a tensor.

    Example:
        >>> count_parameters(nn.Linear(3, 2))
        8
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def train_one_epoch(model, loader, optimizer, criterion=None, device="cpu"):
    """One pass of minibatch training over `loader`, in train mode.

    Formula: per batch: zero_grad; loss = criterion(model(X), y); loss.backward(); optimizer.step()

    Args:
        model: an nn.Module already on `device`, whose parameters `optimizer` updates.
        loader: iterable of (X, y) batches, X of shape (B, ...) and y int64 of shape (B,);
            the last batch may be smaller.
        optimizer: a torch.optim optimizer over model's parameters.
        criterion: loss function giving the mean loss of a batch; None means nn.CrossEntropyLoss().
        device: where each batch is moved before the forward pass.

    Returns:
        float, the mean loss over all examples of the epoch (each batch's mean loss
        weighted by its size, so a small last batch counts less).

    Hint: loss.item() turns the 0-dim loss tensor into a Python float.

    Example:
        >>> data = torch.utils.data.TensorDataset(torch.zeros(6, 4), torch.zeros(6, dtype=torch.long))
        >>> model = nn.Linear(4, 3)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> type(train_one_epoch(model, torch.utils.data.DataLoader(data, batch_size=4), optimizer))
        <class 'float'>
    """
    if criterion is None:
        criterion = nn.CrossEntropyLoss()
    model.train()
    total_loss, total_examples = 0.0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = criterion(model(inputs), targets)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(targets)
        total_examples += len(targets)
    if total_examples == 0:
        raise ValueError("train_one_epoch: the loader yielded no examples")
    return total_loss / total_examples


def evaluate(model, loader, device="cpu"):
    """Classification accuracy of `model` on `loader`, in eval mode and without building a graph.

    Formula: accuracy = (number of examples with argmax(logits) == y) / (number of examples)

    Args:
        model: an nn.Module already on `device`, mapping X to logits of shape (B, C).
        loader: iterable of (X, y) batches, y int64 of shape (B,).
        device: where each batch is moved before the forward pass.

    Returns:
        float in [0, 1]. The model's train/eval mode afterwards is what it was before
        the call, and BatchNorm's running statistics are unchanged.

    Hint: torch.no_grad() stops autograd from recording the forward passes.

    Example:
        >>> data = torch.utils.data.TensorDataset(torch.zeros(6, 4), torch.zeros(6, dtype=torch.long))
        >>> 0.0 <= evaluate(nn.Linear(4, 3), torch.utils.data.DataLoader(data, batch_size=4)) <= 1.0
        True
    """
    was_training = model.training
    model.eval()
    correct, total = 0, 0
    try:
        with torch.no_grad():
            for inputs, targets in loader:
                inputs, targets = inputs.to(device), targets.to(device)
                predictions = model(inputs).argmax(dim=1)
                correct += (predictions == targets).sum().item()
                total += len(targets)
    finally:
        model.train(was_training)
    if total == 0:
        raise ValueError("evaluate: the loader yielded no examples")
    return correct / total


def capture_activations(model, x, layer_names):
    """Outputs of named submodules during one forward pass, captured with forward hooks.

    Formula: activations[name] = output of model.get_submodule(name) while computing model(x)

    Args:
        model: an nn.Module.
        x: the input tensor model(x) expects, e.g. of shape (N, C_in, H, W).
        layer_names: list of submodule names as in model.named_modules(), e.g. ["layer1.0", "fc"].

    Returns:
        dict {name: tensor} with one entry per name: that submodule's output, e.g. of
        shape (N, 16, H, W) for "layer1.0" of a ConvNet. Every hook is removed afterwards,
        also when the forward pass raises.

    Raises:
        KeyError: a name that is not a submodule of model (checked before running it).

    Hint: module.register_forward_hook(hook) returns a handle whose .remove() takes the hook off.

    Example:
        >>> capture_activations(ConvNet(), torch.zeros(2, 1, 28, 28), ["layer1"])["layer1"].shape
        torch.Size([2, 16, 14, 14])
    """
    modules = dict(model.named_modules())
    for name in layer_names:
        if name not in modules:
            raise KeyError(f"capture_activations: the model has no submodule named {name!r}")
    activations = {}
    handles = []
    try:
        for name in layer_names:

            def record(module, inputs, output, name=name):
                activations[name] = output.detach()

            handles.append(modules[name].register_forward_hook(record))
        model(x)
    finally:
        for handle in handles:
            handle.remove()
    return activations
