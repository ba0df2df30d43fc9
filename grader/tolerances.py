"""How close is close enough: every figure the graded checks compare a student's answer with.

`TOLERANCES[function][check]` is one comparison of one graded function of the
contract: what the answer is compared with, the figures, and why those
figures. The public suite (`grader/suite/`) and the hidden re-checks
(`grader/hidden/`) take their figures from here, and the "Tolerances" section
of docs/contract.md shows this table to students (tests/test_tolerances.py
keeps the two equal). A figure is meant to pass every correct float64
implementation, an epsilon up to the contract's allowance included, and no
real mistake.

The figures mean:

- `rtol`, `atol`: `abs(got - expected) <= atol + rtol * abs(expected)`
  elementwise (NumPy's isclose; `math.isclose` for a single number), a
  comparison that fails on NaN. Both 0: exactly equal (ints, shapes, names).
- `relative_error`: CS231n's relative error
  `max(abs(a - b) / max(1e-8, abs(a) + abs(b)))` is at most this. Its
  elementwise form (`Tolerance.isclose`) is rtol `2b / (1 - b)`, atol
  `1e-8 * b`: every answer within the bound passes it.
- `epsilon`: the largest epsilon the answer may clip to or add to a
  probability before a log; the shift it causes is allowed on top of atol.
- `at_least`: a score the answer must reach (an accuracy, a fraction of
  passes, a speed-up factor; `compared_with` says which).
- `standard_errors`: a statistical check passes within this many standard
  errors of the expected value.
"""

from __future__ import annotations

import dataclasses
import re

# The contract's relative_error: max(|a - b| / max(1e-8, |a| + |b|)).
RELATIVE_ERROR_FLOOR = 1e-8
# The contract's numerical_gradient step, and the grader's own central differences.
CENTRAL_DIFFERENCE_STEP = 1e-5
# The largest epsilon cross_entropy may clip to or add: a zero probability then
# costs at least -log(1e-6) ~= 13.8, and a probability p moves by at most 1e-6 / p.
EPSILON_ALLOWED = 1e-6


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """One comparison: what the answer is compared with, its figures (see the module docstring), and why."""

    compared_with: str
    why: str
    rtol: float | None = None
    atol: float | None = None
    relative_error: float | None = None
    epsilon: float | None = None
    at_least: float | None = None
    standard_errors: float | None = None

    def __post_init__(self):
        bounds = [self.relative_error, self.epsilon, self.at_least, self.standard_errors]
        if sum(bound is not None for bound in bounds) > 1:
            raise ValueError(f"one bound at most, beside rtol and atol: {self}")
        if (self.rtol is None) != (self.atol is None):
            raise ValueError(f"rtol and atol come together: {self}")

    @property
    def isclose(self) -> dict[str, float]:
        """`rtol` and `atol` as keywords for check_array / check_number.

        For a relative-error bound b alone: its elementwise form, rtol 2b/(1-b)
        and atol 1e-8 * b, which every answer within the bound passes
        (|a-b| <= b (|a|+|b|) <= b (2|expected| + |a-b|)).
        """
        if self.rtol is not None and self.atol is not None:
            return {"rtol": self.rtol, "atol": self.atol}
        if self.relative_error is not None:
            bound = self.relative_error
            return {"rtol": 2 * bound / (1 - bound), "atol": RELATIVE_ERROR_FLOOR * bound}
        raise ValueError(f"no rtol and atol for a comparison with {self.compared_with}")

    @property
    def bound(self) -> str:
        """The figure that is not rtol or atol, as the contract's table writes it ("" if none)."""
        if self.relative_error is not None:
            return f"relative error ≤ {figure(self.relative_error)}"
        if self.epsilon is not None:
            return f"epsilon ≤ {figure(self.epsilon)}"
        if self.at_least is not None:
            return f"at least {figure(self.at_least)}"
        if self.standard_errors is not None:
            return f"{figure(self.standard_errors)} standard errors"
        return ""


def figure(value: float | None) -> str:
    """A figure as the contract's table writes it: 1e-7, 0.95, 0; "—" for none."""
    if value is None:
        return "—"
    return re.sub(r"e([+-])0*(\d)", lambda match: f"e{match[1].replace('+', '')}{match[2]}", f"{value:g}")


# Figures shared by many rows, each derived once.
# A float64 closed form: another correct formula (split by sign, exp(-2|z|), a
# max-subtracted softmax) agrees to a few ulp, about 1e-15 relative; 1e-7 is far
# below any real mistake. atol 1e-10 covers results that underflow to 0.
VALUES = {"rtol": 1e-7, "atol": 1e-10}
VALUES_WHY = (
    "float64 closed form: another correct formula agrees to a few ulp (1e-15 relative); "
    "atol covers results that underflow to 0"
)
EXACT = {"rtol": 0.0, "atol": 0.0}
# CS231n's criterion for an exact derivative (STYLE.md rule 8).
GRADIENT_BOUND = 1e-7
NUMERICAL_GRADIENT_WHY = (
    "CS231n's bound for an exact derivative; central differences with h = 1e-5 of the oracle, at abs(z) < 3, "
    "are within 1e-10 of it (a margin of 1000)"
)
AUTOGRAD_WHY = "CS231n's bound for an exact gradient; a correct float64 gradient agrees with autograd to about 1e-13"
# Sums of logs, evaluated twice in float64, agree to about 1e-14.
LOSS = {"rtol": 1e-10, "atol": 1e-12}
LOSS_WHY = "the same float64 sum of logs on both sides agrees to about 1e-14; the loss comes from scores, no epsilon"
# The same float64 torch operations on both sides; only the summation order may differ.
TORCH_FLOAT64 = {"rtol": 1e-9, "atol": 1e-9}
TORCH_FLOAT64_WHY = "the same float64 operations on both sides; only the summation order differs (about 1e-15)"
INTEGERS_WHY = "integers (type included): exact"


TOLERANCES: dict[str, dict[str, Tolerance]] = {
    # ------------------------------------------------------------------ activations.py
    "sigmoid": {
        "values": Tolerance(
            "the stable logistic function (`scipy.special.expit`'s values), on random arrays, a list, scalars "
            "and abs(z) up to 1e4",
            VALUES_WHY,
            **VALUES,
        ),
    },
    "sigmoid_grad": {
        "values": Tolerance("`expit(z) * (1 - expit(z))`, and at abs(z) up to 1e4", VALUES_WHY, **VALUES),
        "numerical gradient": Tolerance(
            "central differences (h = 1e-5) of the stable logistic function",
            NUMERICAL_GRADIENT_WHY,
            relative_error=GRADIENT_BOUND,
        ),
    },
    "tanh": {
        "values": Tolerance("`np.tanh`, and at abs(z) up to 1e4", VALUES_WHY, **VALUES),
    },
    "tanh_grad": {
        "values": Tolerance("`1 - np.tanh(z)**2`, and at abs(z) up to 1e4", VALUES_WHY, **VALUES),
        "numerical gradient": Tolerance(
            "central differences (h = 1e-5) of `np.tanh`", NUMERICAL_GRADIENT_WHY, relative_error=GRADIENT_BOUND
        ),
    },
    "relu": {
        "values": Tolerance("max(z, 0)", VALUES_WHY, **VALUES),
    },
    "relu_grad": {
        "values": Tolerance("1 where z > 0, else 0 (at z = 0 and -0.0 too)", VALUES_WHY, **VALUES),
        "numerical gradient": Tolerance(
            "central differences (h = 1e-5) of max(z, 0), no input within 1e-3 of the kink",
            NUMERICAL_GRADIENT_WHY,
            relative_error=GRADIENT_BOUND,
        ),
    },
    "leaky_relu": {
        "values": Tolerance("z where z > 0, else alpha * z, for alpha 0.01, 0.2, 0.5", VALUES_WHY, **VALUES),
    },
    "leaky_relu_grad": {
        "values": Tolerance("1 where z > 0, else alpha (at z = 0 too)", VALUES_WHY, **VALUES),
        "numerical gradient": Tolerance(
            "central differences (h = 1e-5) of leaky_relu, no input within 1e-3 of the kink",
            NUMERICAL_GRADIENT_WHY,
            relative_error=GRADIENT_BOUND,
        ),
    },
    "binary_step": {
        "values": Tolerance("1.0 where z >= 0, else 0.0", VALUES_WHY, **VALUES),
    },
    "softmax": {
        "values": Tolerance(
            "the max-shifted softmax (`scipy.special.softmax`'s values) along axis, and at scores up to 1e4",
            VALUES_WHY,
            **VALUES,
        ),
    },
    # ------------------------------------------------------------------ forward.py
    "neuron": {
        "values": Tolerance("expit(w . x + b), and the grader's cube and relu of it", VALUES_WHY, **VALUES),
    },
    "perceptron": {
        "values": Tolerance(
            "1 if w . x + b >= 0 else 0, at w . x + b exactly 0 and -1e-12",
            "an int decision: exact (the threshold cases are sums of binary fractions, exactly 0)",
            **EXACT,
        ),
    },
    "dense": {
        "values": Tolerance("X @ W + b, and the grader's cube and relu of it", VALUES_WHY, **VALUES),
    },
    "init_params": {
        "shapes and biases": Tolerance(
            "the contract's shapes, zero biases, the same arrays for the same seed, the global NumPy draws",
            "exact: zeros, a seed's arrays and NumPy's draws are reproducible bit for bit",
            **EXACT,
        ),
        "weight scale": Tolerance(
            "mean 0 and standard deviation 1 of the weights times sqrt(fan_in), over 40 000 and 160 000 entries",
            "the sample mean's standard error is 1/sqrt(n), the deviation's about 1/sqrt(2n) relative; "
            "a correct N(0, 1) draw lands outside 6 of them with probability about 2e-9",
            standard_errors=6,
        ),
    },
    "forward": {
        "probabilities": Tolerance(
            "`np.tanh` and a max-subtracted softmax, and at scores in the thousands", VALUES_WHY, **VALUES
        ),
        "row sums": Tolerance(
            "1 for every row",
            "C terms, each rounded by `2**-53`, sum to within a few 1e-16 of 1; any real mistake is far off",
            rtol=0.0,
            atol=1e-12,
        ),
    },
    "predict": {
        "classes": Tolerance(
            "`np.argmax` of the oracle's probabilities along each row", "class indices: exact", **EXACT
        ),
    },
    # ------------------------------------------------------------------ backprop.py
    "loss": {
        "values": Tolerance(
            "the mean of `-scipy.special.log_softmax` of the true class, "
            "plus `reg_lambda/2 * (sum(W1**2) + sum(W2**2))`",
            VALUES_WHY,
            **VALUES,
        ),
    },
    "backward": {
        "gradients": Tolerance(
            "torch autograd of the loss in float64, on the student's own forward cache",
            AUTOGRAD_WHY + ", checked in its elementwise form",
            relative_error=GRADIENT_BOUND,
        ),
        "second call": Tolerance(
            "its first call's gradients, on the same cache",
            "the same computation twice agrees to rounding; only a cache that backward changed gives other values",
            rtol=1e-12,
            atol=1e-12,
        ),
        "inputs afterwards": Tolerance(
            "params, X and y as they were sent", "exact: nothing may write into them", **EXACT
        ),
    },
    "numerical_gradient": {
        "values": Tolerance(
            "`cos(x) + sum(x)`, the derivative of `sum(sin(x)) + sum(x)**2 / 2` (default h), or the exact central "
            "difference `cos(x) * sin(h)/h + sum(x)` (h given)",
            "h = 1e-5: truncation `h**2/6 * f'''` below 2e-11, rounding about 2 ulp of f (about 20) / 2h = 2e-10; "
            "a one-sided difference is off by `h/2 * f''` = 5e-6",
            rtol=1e-7,
            atol=1e-8,
        ),
        "x afterwards": Tolerance("x as it was given", "exact: restored by assignment, not by arithmetic", **EXACT),
    },
    "relative_error": {
        "values": Tolerance("`max(abs(a - b) / max(1e-8, abs(a) + abs(b)))`", VALUES_WHY, **VALUES),
        "of zeros": Tolerance("0.0", "exact: 0 / max(1e-8, 0) is exactly 0", **EXACT),
    },
    # ------------------------------------------------------------------ gradient_descent.py
    "gradient_descent": {
        "trajectory": Tolerance(
            "the closed form `(1 - learning_rate * curvature)**k * x0` on a diagonal quadratic, x_final and history",
            "rounding only: each of at most 100 steps adds about one ulp (1e-16) of relative error",
            rtol=1e-10,
            atol=0.0,
        ),
        "x0 afterwards": Tolerance("x0 as it was given", "exact: nothing may write into it", **EXACT),
    },
    "sgd_step": {
        "values": Tolerance("`params[k] - learning_rate * grads[k]`", VALUES_WHY, **VALUES),
        "inputs afterwards": Tolerance(
            "params and grads as they were given", "exact: nothing may write into them", **EXACT
        ),
    },
    "iterate_minibatches": {
        "batches": Tolerance(
            "which examples each batch holds, their order, and the batch sizes", "example indices: exact", **EXACT
        ),
    },
    "train_two_layer_net": {
        "accuracy": Tolerance(
            "training accuracy on make_moons(200, noise=0.2) with nn_hdim=3, best of three seeds; "
            "it must also beat logistic regression (0.84)",
            "the seed material's net reaches about 0.98; one start in about 30 stalls on a plateau",
            at_least=0.95,
        ),
        "decreasing passes": Tolerance(
            "the fraction of passes that lower the loss",
            "full-batch gradient descent lowers the loss in nearly every pass; a wrong gradient in few",
            at_least=0.5,
        ),
        "late decreasing passes": Tolerance(
            "the fraction of the last quarter's passes that lower the loss",
            "near its minimum, descent on the right gradient lowers the loss in every pass (the reference: all "
            "500, from 60 starts); a gradient missing a term, the weight decay's say, in at most 11%",
            at_least=0.5,
        ),
        "last loss": Tolerance(
            "the loss of the returned params (closed form), reg_lambda=0.001 included",
            "the same float64 loss; twice the last pass's change is allowed on top, as the loss may be "
            "recorded before or after the update",
            rtol=1e-9,
            atol=0.0,
        ),
    },
    # ------------------------------------------------------------------ softmax_loss.py
    "one_hot": {
        "values": Tolerance("rows of the identity matrix", "0.0 and 1.0: exact", **EXACT),
    },
    "cross_entropy": {
        "values": Tolerance(
            "`-mean(log(probs[i, y_i]))` in float64",
            "float64 sums of logs agree to about 1e-14; clipping to or adding an epsilon up to 1e-6 moves "
            "each -log(p) by at most epsilon / p, which is added to atol",
            rtol=1e-10,
            atol=1e-12,
            epsilon=EPSILON_ALLOWED,
        ),
        "zero probability": Tolerance(
            "at least `-mean(log(max(p, 1e-6)))` where some true-class p are exactly 0, and finite",
            "any epsilon up to 1e-6 makes a zero probability cost at least -log(1e-6) = 13.8",
            epsilon=EPSILON_ALLOWED,
        ),
    },
    "softmax_loss_naive": {
        "loss": Tolerance(
            "torch's `F.cross_entropy` of `X @ W` in float64, plus `reg/2 * sum(W**2)`; log(C) at W = 0",
            LOSS_WHY,
            **LOSS,
        ),
        "dW": Tolerance("torch autograd of that loss in float64", AUTOGRAD_WHY, relative_error=GRADIENT_BOUND),
    },
    "softmax_loss_vectorized": {
        "loss": Tolerance(
            "torch's `F.cross_entropy` of `X @ W` in float64, plus `reg/2 * sum(W**2)`; log(C) at W = 0; "
            "at scores near 1e4 too",
            LOSS_WHY,
            **LOSS,
        ),
        "dW": Tolerance(
            "torch autograd of that loss in float64, at scores near 1e4 too",
            AUTOGRAD_WHY,
            relative_error=GRADIENT_BOUND,
        ),
        "speed": Tolerance(
            "how many times faster than the grader's loop over 500 examples (CPU time, best of 3 runs)",
            "vectorized NumPy is about 25 times faster here; 3 leaves room for a slow machine. Judged once, "
            "by the public test (its inputs are fresh each grading); the hidden re-check checks the timed runs' losses",
            at_least=3,
        ),
    },
    # ------------------------------------------------------------------ conv_size.py
    "conv_output_size": {
        "sizes": Tolerance(
            "`F.conv2d`'s output size on an empty batch; ValueError where PyTorch refuses", INTEGERS_WHY, **EXACT
        ),
    },
    "pool_output_size": {
        "sizes": Tolerance(
            "`nn.MaxPool2d`'s output size on an empty batch; ValueError where PyTorch refuses", INTEGERS_WHY, **EXACT
        ),
    },
    "conv2d_output_shape": {
        "shapes": Tolerance("the shape F.conv2d gives, as a tuple of ints", INTEGERS_WHY, **EXACT),
    },
    "conv2d_num_params": {
        "counts": Tolerance("the number of an nn.Conv2d's parameters, with and without bias", INTEGERS_WHY, **EXACT),
    },
    "same_padding": {
        "paddings": Tolerance(
            "the padding at which F.conv2d keeps the size; ValueError where none does", INTEGERS_WHY, **EXACT
        ),
    },
    # ------------------------------------------------------------------ cnn.py
    "NeuralNet": {
        "shapes": Tolerance("the specified state_dict keys and shapes", INTEGERS_WHY, **EXACT),
        "logits": Tolerance(
            "`fc2(relu(fc1(flatten(x))))` with torch.nn.functional, holding the grader's weights",
            TORCH_FLOAT64_WHY,
            **TORCH_FLOAT64,
        ),
    },
    "ConvNet": {
        "shapes": Tolerance(
            "the logits' shape for any image_size, and a reference ConvNet's state_dict keys and shapes",
            INTEGERS_WHY,
            **EXACT,
        ),
        "logits": Tolerance(
            "the specified layers with torch.nn.functional (eval mode), holding the grader's weights",
            TORCH_FLOAT64_WHY,
            **TORCH_FLOAT64,
        ),
        "trained on digits": Tolerance(
            "test accuracy on 450 held-out 8x8 digits, the trained weights run by the grader's own ConvNet",
            "the reference reaches 0.97 to 0.99 for every torch seed from 0 to 11; average pooling reaches 0.75 "
            "at the published seed",
            at_least=0.9,
        ),
    },
    "count_parameters": {
        "counts": Tolerance(
            "the number of (trainable) scalar parameters of a model with a frozen layer and buffers",
            INTEGERS_WHY,
            **EXACT,
        ),
    },
    "train_one_epoch": {
        "state and mean loss": Tolerance(
            "a hand-written float64 loop of SGD steps, batch by batch: every parameter and BatchNorm "
            "statistic afterwards, and the mean loss over examples",
            "the same float64 operations in the same order as the loop; rounding only",
            rtol=1e-9,
            atol=1e-12,
        ),
        "on a CUDA device": Tolerance(
            "the same loop on the CPU (a test without points, run where a GPU is)",
            "float64 on the GPU sums in another order than on the CPU, over one epoch of updates",
            rtol=1e-7,
            atol=1e-9,
        ),
    },
    "evaluate": {
        "accuracy": Tolerance(
            "the fraction of examples whose argmax is right, over every batch, in eval mode",
            "an accuracy computed in float32 is rounded to about 6e-8; accuracies of N <= 24 examples differ by 1/N",
            rtol=1e-6,
            atol=1e-10,
        ),
        "mode afterwards": Tolerance(
            "the logits of the model in the mode it was in before the call, with torch.nn.functional",
            TORCH_FLOAT64_WHY,
            **TORCH_FLOAT64,
        ),
    },
    "capture_activations": {
        "outputs": Tolerance(
            "each named submodule's output of the model's first run, recomputed with torch.nn.functional",
            "the very float64 operations the model ran (F.linear, tanh): equal up to rounding",
            rtol=1e-12,
            atol=1e-12,
        ),
    },
    # ------------------------------------------------------------------ device.py
    "get_device": {
        "devices": Tolerance(
            "the torch.device expected for each availability of CUDA and MPS (cuda or cuda:0 for the current GPU)",
            "device names: exact",
            **EXACT,
        ),
    },
    "move_to": {
        "descriptions": Tolerance(
            "every leaf's kind, device, dtype and shape, and every container's type", "exact", **EXACT
        ),
    },
    "seed_everything": {
        "draws": Tolerance(
            "draws after seeds 11, 11 and 12: the first two equal, the third different",
            "the same seed gives the same draws bit for bit",
            **EXACT,
        ),
    },
    "device_summary": {
        "entries": Tolerance("type, name and total_memory_bytes of the CPU and of a faked GPU", "exact", **EXACT),
    },
}
