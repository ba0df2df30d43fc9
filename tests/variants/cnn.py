"""Variants of solutions/cnn.py: realistic student mistakes, and correct rewrites.

Each broken variant must lose points in cnn, with `feedback` in the feedback
of a failed test; each correct one must score full marks. tests/test_variants.py
grades them all: broken ones on the public tests, correct ones with the hidden tests too.

HIDDEN_ONLY_VARIANTS pass every public test and lose their points only when the
hidden tests (grader/hidden/test_cnn.py) run: they answer the published cases
and nothing more. tests/test_variants.py grades them with the hidden tests on.

A point rests only on values the grader recomputes (grader/suite/test_cnn.py):
a mistake only the student's own process can see (autograd recording inside
evaluate, hooks left behind that write into a dict nobody holds) costs no
point, and its variant is listed with the correct ones, saying so.
"""

from tests.helpers import Variant

MODULE = "cnn"

CONVNET_LAYERS = """        self.layer1 = nn.Sequential(
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
"""
SIDE_LOOP = """        side = image_size
        for _ in range(2):  # layer1, then layer2: the conv keeps the size, the pool halves it
            side = conv_output_size(side, 5, stride=1, padding=2)
            side = pool_output_size(side, 2, stride=2)
        self.fc = nn.Linear(32 * side * side, num_classes)
"""
EVALUATE_LOOP = """    try:
        with torch.no_grad():
            for inputs, targets in loader:
                inputs, targets = inputs.to(device), targets.to(device)
                predictions = model(inputs).argmax(dim=1)
                correct += (predictions == targets).sum().item()
                total += len(targets)
    finally:
        model.train(was_training)
"""
TRAIN_LOOP = """    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = criterion(model(inputs), targets)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(targets)
        total_examples += len(targets)
"""
CAPTURE_BODY = """    modules = dict(model.named_modules())
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
"""


def broken(name, edits, feedback):
    return Variant(name=name, module=MODULE, edits=edits, feedback=feedback)


def correct(name, edits):
    return Variant(name=name, module=MODULE, edits=edits, correct=True)


VARIANTS = [
    # ConvNet
    broken(
        "cnn_hard_coded_flatten_size",
        [
            (
                "        self.fc = nn.Linear(32 * side * side, num_classes)\n",
                "        self.fc = nn.Linear(32 * 7 * 7, num_classes)\n",
            )
        ],
        feedback="hard-coded flatten size",
    ),
    broken(
        "cnn_convnet_without_batchnorm",
        [("            nn.BatchNorm2d(16),\n", ""), ("            nn.BatchNorm2d(32),\n", "")],
        feedback="BatchNorm2d is missing",
    ),
    broken(
        "cnn_conv_padding_1",
        [
            (CONVNET_LAYERS, CONVNET_LAYERS.replace("padding=2", "padding=1")),
            ("conv_output_size(side, 5, stride=1, padding=2)", "conv_output_size(side, 5, stride=1, padding=1)"),
        ],
        feedback="wrong Conv2d padding",
    ),
    broken(
        "cnn_relu_before_batchnorm",
        [
            (
                CONVNET_LAYERS,
                CONVNET_LAYERS.replace(
                    "nn.BatchNorm2d(16),\n            nn.ReLU(),", "nn.ReLU(),\n            nn.BatchNorm2d(16),"
                ).replace("nn.BatchNorm2d(32),\n            nn.ReLU(),", "nn.ReLU(),\n            nn.BatchNorm2d(32),"),
            )
        ],
        feedback="another order",
    ),
    broken(
        "cnn_average_pooling",
        [(CONVNET_LAYERS, CONVNET_LAYERS.replace("nn.MaxPool2d", "nn.AvgPool2d"))],
        feedback="average pooling instead of MaxPool2d",
    ),
    broken(
        "cnn_forward_skips_layer2",
        [
            ("        out = self.layer2(self.layer1(x))\n", "        out = self.layer1(x)\n"),
            (
                "        self.fc = nn.Linear(32 * side * side, num_classes)\n",
                "        self.fc = nn.Linear(16 * (image_size // 2) ** 2, num_classes)\n",
            ),
        ],
        feedback="fc.weight: expected shape",
    ),
    # NeuralNet
    broken(
        "cnn_neural_net_sigmoid",
        [
            (
                "        return self.fc2(self.relu(self.fc1(x)))\n",
                "        return self.fc2(torch.sigmoid(self.fc1(x)))\n",
            )
        ],
        feedback="sigmoid instead of ReLU",
    ),
    broken(
        "cnn_neural_net_returns_numpy",
        [
            (
                "        return self.fc2(self.relu(self.fc1(x)))\n",
                "        return self.fc2(self.relu(self.fc1(x))).detach().numpy()\n",
            )
        ],
        feedback="not a tensor of logits",
    ),
    broken(
        "cnn_neural_net_hard_coded_784",
        [("        x = torch.flatten(x, start_dim=1)\n", "        x = x.reshape(-1, 784)\n")],
        feedback="shape '[-1, 784]' is invalid",
    ),
    # count_parameters
    broken(
        "cnn_count_parameters_ignores_trainable_only",
        [
            (
                "    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)\n",
                "    return sum(p.numel() for p in model.parameters())\n",
            )
        ],
        feedback="trainable_only is ignored",
    ),
    broken(
        "cnn_count_parameters_from_state_dict",
        [
            (
                "    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)\n",
                "    return sum(v.numel() for v in model.state_dict().values())\n",
            )
        ],
        feedback="counted the buffers too",
    ),
    # train_one_epoch
    broken(
        "cnn_train_without_zero_grad", [("        optimizer.zero_grad()\n", "")], feedback="zero_grad() is not called"
    ),
    broken("cnn_train_without_model_train", [("    model.train()\n", "")], feedback="model.train() is not called"),
    broken(
        "cnn_train_mean_of_batch_means",
        [
            ("        total_loss += loss.item() * len(targets)\n", "        total_loss += loss.item()\n"),
            ("        total_examples += len(targets)\n", "        total_examples += 1\n"),
        ],
        feedback="mean of the batch means",
    ),
    broken(
        "cnn_train_ignores_criterion",
        [
            (
                "    if criterion is None:\n        criterion = nn.CrossEntropyLoss()\n",
                "    criterion = nn.CrossEntropyLoss()\n",
            )
        ],
        feedback="criterion argument is ignored",
    ),
    broken(
        "cnn_train_returns_a_tensor",
        [
            (
                "        total_loss += loss.item() * len(targets)\n",
                "        total_loss += loss.detach() * len(targets)\n",
            )
        ],
        feedback="expected a float; got a torch.Tensor",
    ),
    # evaluate
    broken("cnn_evaluate_without_eval", [("    model.eval()\n", "")], feedback="model.eval() is not called"),
    broken(
        "cnn_evaluate_sets_the_training_flag_instead_of_eval",
        [("    model.eval()\n", "    model.training = False\n")],
        feedback="only model.training = False was set",
    ),
    broken(
        "cnn_evaluate_does_not_restore_the_mode",
        [("    finally:\n        model.train(was_training)\n", "    finally:\n        pass\n")],
        feedback="leaves the model in eval mode",
    ),
    broken(
        "cnn_evaluate_always_back_to_train",
        [("        model.train(was_training)\n", "        model.train()\n")],
        feedback="always switches back to train mode",
    ),
    broken(
        "cnn_evaluate_restores_only_the_training_attribute",
        [("        model.train(was_training)\n", "        model.training = was_training\n")],
        feedback="only model.training was assigned",
    ),
    broken(
        "cnn_evaluate_mean_of_batch_accuracies",
        [
            (
                EVALUATE_LOOP,
                """    accuracies = []
    with torch.no_grad():
        for inputs, targets in loader:
            predictions = model(inputs.to(device)).argmax(dim=1)
            accuracies.append((predictions == targets.to(device)).float().mean().item())
            total += len(targets)
    model.train(was_training)
""",
            ),
            ("    return correct / total\n", "    return sum(accuracies) / len(accuracies)\n"),
        ],
        feedback="mean of the per-batch accuracies",
    ),
    # capture_activations
    broken(
        "cnn_capture_leaves_hooks",
        [
            (
                "    finally:\n        for handle in handles:\n            handle.remove()\n",
                "    finally:\n        pass\n",
            )
        ],
        feedback="hooks are still registered",
    ),
    broken(
        "cnn_capture_removes_only_the_first_hook",
        [("        for handle in handles:\n            handle.remove()\n", "        handles[0].remove()\n")],
        feedback="hooks are still registered",
    ),
    broken(
        "cnn_capture_with_get_submodule",
        [
            (
                "    modules = dict(model.named_modules())\n    for name in layer_names:\n"
                "        if name not in modules:\n"
                '            raise KeyError(f"capture_activations: the model has no submodule named {name!r}")\n',
                "    modules = {name: model.get_submodule(name) for name in layer_names}\n",
            )
        ],
        feedback="get_submodule raises AttributeError",
    ),
    broken(
        "cnn_capture_runs_the_model_per_name",
        [
            (
                CAPTURE_BODY,
                """    modules = dict(model.named_modules())
    activations = {}
    for name in layer_names:
        if name not in modules:
            raise KeyError(name)
        handle = modules[name].register_forward_hook(
            lambda module, inputs, output, name=name: activations.__setitem__(name, output.detach()))
        try:
            model(x)
        finally:
            handle.remove()
    return activations
""",
            )
        ],
        feedback="run model(x) once",
    ),
    # Correct rewrites
    correct(
        "cnn_convnet_built_with_a_block_helper_and_view",
        [
            (
                CONVNET_LAYERS + SIDE_LOOP,
                """        self.layer1 = conv_block(in_channels, 16)
        self.layer2 = conv_block(16, 32)
        side = pool_output_size(conv_output_size(image_size, 5, padding=2), 2)
        side = pool_output_size(conv_output_size(side, 5, padding=2), 2)
        self.fc = nn.Linear(32 * side ** 2, num_classes)
""",
            ),
            (
                "        out = self.layer2(self.layer1(x))\n        return self.fc(torch.flatten(out, start_dim=1))\n",
                "        out = self.layer2(self.layer1(x))\n        return self.fc(out.reshape(out.size(0), -1))\n",
            ),
            (
                "class NeuralNet(nn.Module):\n",
                '''def conv_block(channels_in, channels_out):
    """Conv2d(5, padding 2) -> BatchNorm2d -> ReLU -> MaxPool2d(2), built from an OrderedDict."""
    from collections import OrderedDict

    layers = OrderedDict()
    for index, layer in enumerate([nn.Conv2d(channels_in, channels_out, 5, padding=2),
                                   nn.BatchNorm2d(channels_out), nn.ReLU(), nn.MaxPool2d(2)]):
        layers[str(index)] = layer
    return nn.Sequential(layers)


class NeuralNet(nn.Module):
''',
            ),
            (
                "        x = torch.flatten(x, start_dim=1)\n        return self.fc2(self.relu(self.fc1(x)))\n",
                "        return self.fc2(self.relu(self.fc1(x.view(len(x), -1))))\n",
            ),
        ],
    ),
    correct(
        "cnn_loops_written_differently",
        [
            (
                TRAIN_LOOP,
                """    for inputs, targets in loader:
        outputs = model(inputs.to(device))
        loss = criterion(outputs, targets.to(device))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        total_loss += float(loss) * inputs.shape[0]
        total_examples += inputs.shape[0]
""",
            ),
            (
                "    if criterion is None:\n        criterion = nn.CrossEntropyLoss()\n",
                "    criterion = criterion or nn.CrossEntropyLoss()\n",
            ),
            (
                EVALUATE_LOOP,
                """    with torch.inference_mode():
        for inputs, targets in loader:
            logits = model(inputs.to(device))
            correct += int((logits.argmax(1) == targets.to(device)).sum())
            total += targets.numel()
    model.train(mode=was_training)
""",
            ),
            (
                "    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)\n",
                "    parameters = list(model.parameters())\n"
                "    if trainable_only:\n"
                "        parameters = [p for p in parameters if p.requires_grad]\n"
                "    return int(sum(p.numel() for p in parameters))\n",
            ),
        ],
    ),
    correct(
        "cnn_capture_key_error_from_the_lookup",
        [
            (
                CAPTURE_BODY,
                """    modules = dict(model.named_modules())
    activations, handles = {}, []

    def recorder(name):
        def hook(module, inputs, output):
            activations[name] = output
        return hook

    try:
        for name in layer_names:
            handles.append(modules[name].register_forward_hook(recorder(name)))  # KeyError if unknown
        model(x)
    finally:
        while handles:
            handles.pop().remove()
    return activations
""",
            )
        ],
    ),
    correct(
        "cnn_convnet_forward_with_torch_functional",
        [
            ("from torch import nn\n", "import torch.nn.functional as F\nfrom torch import nn\n"),
            (
                "        out = self.layer2(self.layer1(x))\n        return self.fc(torch.flatten(out, start_dim=1))\n",
                """        for block in (self.layer1, self.layer2):  # the same layers and keys, applied with F.*
            conv, norm = block[0], block[1]
            x = F.conv2d(x, conv.weight, conv.bias, stride=1, padding=2)
            x = F.batch_norm(x, norm.running_mean, norm.running_var, norm.weight, norm.bias,
                             training=self.training, momentum=norm.momentum, eps=norm.eps)
            x = F.max_pool2d(F.relu(x), kernel_size=2, stride=2)
        return F.linear(x.flatten(1), self.fc.weight, self.fc.bias)
""",
            ),
        ],
    ),
    correct(
        "cnn_evaluate_restores_each_modules_mode",
        [
            (
                "    was_training = model.training\n",
                "    modes = [(module, module.training) for module in model.modules()]\n",
            ),
            (
                "        model.train(was_training)\n",
                "        for module, training in modes:\n            module.training = training\n",
            ),
        ],
    ),
    correct(
        "cnn_capture_with_an_exit_stack",
        [
            (
                CAPTURE_BODY,
                """    import contextlib

    modules = dict(model.named_modules())
    unknown = [name for name in layer_names if name not in modules]
    if unknown:
        raise KeyError(unknown[0])
    activations = {}
    with contextlib.ExitStack() as stack:
        for name in layer_names:

            def store(module, inputs, output, name=name):
                activations[name] = output

            stack.enter_context(modules[name].register_forward_hook(store))  # a handle removes itself on exit
        with torch.no_grad():
            model(x)
    return activations
""",
            )
        ],
    ),
    # The PyTorch tutorial's quickstart: an nn.Flatten() layer as an attribute beside fc1, relu, fc2.
    correct(
        "cnn_neural_net_with_an_nn_flatten_layer",
        [
            (
                "        super().__init__()\n        self.fc1 = nn.Linear(input_size, hidden_size)\n",
                "        super().__init__()\n        self.flatten = nn.Flatten()\n"
                "        self.fc1 = nn.Linear(input_size, hidden_size)\n",
            ),
            (
                "        x = torch.flatten(x, start_dim=1)\n        return self.fc2(self.relu(self.fc1(x)))\n",
                "        x = self.flatten(x)\n        return self.fc2(self.relu(self.fc1(x)))\n",
            ),
        ],
    ),
    # pytorch/examples' MNIST train() and test(): F.cross_entropy when no criterion is given,
    # enumerate(loader), pred.eq(target.view_as(pred)), counts from data.size(0).
    correct(
        "cnn_train_and_evaluate_pytorch_examples_style",
        [
            ("from torch import nn\n", "import torch.nn.functional as F\nfrom torch import nn\n"),
            ("    if criterion is None:\n        criterion = nn.CrossEntropyLoss()\n", ""),
            (
                TRAIN_LOOP,
                """    for batch_idx, (data, target) in enumerate(loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.cross_entropy(output, target) if criterion is None else criterion(output, target)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * data.size(0)
        total_examples += data.size(0)
""",
            ),
            (
                EVALUATE_LOOP,
                """    try:
        with torch.no_grad():
            for data, target in loader:
                data, target = data.to(device), target.to(device)
                output = model(data)
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()
                total += data.size(0)
    finally:
        model.train(was_training)
""",
            ),
        ],
    ),
    # A parameter count from each tensor's shape (math.prod(p.shape)) over named_parameters().
    correct(
        "cnn_count_parameters_from_shapes_of_named_parameters",
        [
            ("import torch\n", "import math\n\nimport torch\n"),
            (
                "    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)\n",
                """    total = 0
    for _, param in model.named_parameters():
        if trainable_only and not param.requires_grad:
            continue
        total += math.prod(param.shape)
    return int(total)
""",
            ),
        ],
    ),
    # The SaveOutput hook class of forward-hook tutorials: one callable object per name, the
    # handles kept in a list and removed in finally.
    correct(
        "cnn_capture_with_a_save_output_hook_class",
        [
            (
                CAPTURE_BODY,
                """    modules = dict(model.named_modules())
    missing = [name for name in layer_names if name not in modules]
    if missing:
        raise KeyError(f"no submodule named {missing[0]!r}")
    savers = {name: SaveOutput() for name in layer_names}
    handles = [modules[name].register_forward_hook(savers[name]) for name in layer_names]
    try:
        model(x)
    finally:
        for handle in handles:
            handle.remove()
    return {name: saver.outputs[-1] for name, saver in savers.items()}


class SaveOutput:
    def __init__(self):
        self.outputs = []

    def __call__(self, module, module_in, module_out):
        self.outputs.append(module_out.detach())
""",
            )
        ],
    ),
    # The feature map's side from conv_size in a helper with keyword arguments (pool stride left to
    # default to the kernel), and out.flatten(1) in forward.
    correct(
        "cnn_convnet_side_from_a_keyword_helper",
        [
            (
                SIDE_LOOP,
                "        self.fc = nn.Linear(32 * feature_side(image_size) ** 2, num_classes)\n",
            ),
            (
                "        out = self.layer2(self.layer1(x))\n        return self.fc(torch.flatten(out, start_dim=1))\n",
                "        out = self.layer2(self.layer1(x))\n        return self.fc(out.flatten(1))\n",
            ),
            (
                "def count_parameters(",
                """def feature_side(image_size, blocks=2):
    side = image_size
    for _ in range(blocks):
        side = conv_output_size(input_size=side, kernel_size=5, stride=1, padding=2)
        side = pool_output_size(input_size=side, kernel_size=2)
    return side


def count_parameters(""",
            ),
        ],
    ),
    # Not point losses: what only the student's process sees (see the module docstring).
    correct(  # autograd records evaluate's forward passes: slower and heavier, but the same accuracy
        "cnn_evaluate_without_no_grad",
        [(EVALUATE_LOOP, EVALUATE_LOOP.replace("        with torch.no_grad():\n", "        if True:\n"))],
    ),
    correct(  # hooks left behind when KeyError is raised write into a dict that is never returned
        "cnn_capture_hooks_left_on_key_error",
        [
            (
                CAPTURE_BODY,
                """    modules = dict(model.named_modules())
    activations = {}
    handles = []
    for name in layer_names:
        if name not in modules:
            raise KeyError(f"capture_activations: the model has no submodule named {name!r}")

        def record(module, inputs, output, name=name):
            activations[name] = output.detach()

        handles.append(modules[name].register_forward_hook(record))
    model(x)
    for handle in handles:
        handle.remove()
    return activations
""",
            )
        ],
    ),
]

HIDDEN_ONLY_VARIANTS = [
    broken(
        "cnn_convnet_table_of_the_public_image_sizes",
        [
            (
                SIDE_LOOP,
                """        side = {28: 7, 13: 3, 8: 2, 4: 1}[image_size]  # the sizes the public checks use
        self.fc = nn.Linear(32 * side * side, num_classes)
""",
            )
        ],
        feedback="hidden test failed: your code raised KeyError",
    ),
    broken(
        "cnn_count_parameters_of_the_layers_it_knows",
        [
            (
                "    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)\n",
                """    total = 0
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.BatchNorm1d)):  # no Conv2d nor BatchNorm2d
            for p in module.parameters(recurse=False):
                if p.requires_grad or not trainable_only:
                    total += p.numel()
    return total
""",
            )
        ],
        feedback="hidden test failed: wrong result from count_parameters",
    ),
]
