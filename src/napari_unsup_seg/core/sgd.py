"""SGD with momentum, the update of ``torch.optim.SGD`` (no dampening, no Nesterov).

Written here because ``torch.optim`` imports ``torch._dynamo`` on its first use, which
takes 2 to 4 s on this project's CPU: longer than a whole scribble run, paid by every CLI
process. The update is the same as torch's: ``buf = momentum * buf + grad`` (``buf =
grad`` at the first step), then ``param -= lr * buf``; ``tests/core/test_sgd.py`` checks
it against ``torch.optim.SGD``.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class MomentumSGD:
    """The few optimizer methods the clustering uses: zero_grad, step, state_dict, load_state_dict."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, momentum: float = 0.0) -> None:
        self.params = list(params)
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.buffers: list[torch.Tensor | None] = [None] * len(self.params)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            grad = p.grad
            if self.momentum:
                buf = self.buffers[i]
                if buf is None:
                    buf = self.buffers[i] = grad.detach().clone()
                else:
                    buf.mul_(self.momentum).add_(grad)
                grad = buf
            p.add_(grad, alpha=-self.lr)

    def state_dict(self) -> dict:
        return {"lr": self.lr, "momentum": self.momentum, "buffers": list(self.buffers)}

    def load_state_dict(self, state: dict) -> None:
        """Restore momentum buffers saved by :meth:`state_dict` (ValueError if they do not fit)."""
        buffers = list(state["buffers"])
        if len(buffers) != len(self.params):
            raise ValueError(f"{len(buffers)} momentum buffers for {len(self.params)} parameters")
        for p, b in zip(self.params, buffers):
            if b is not None and tuple(b.shape) != tuple(p.shape):
                raise ValueError(f"a momentum buffer of shape {tuple(b.shape)} for a parameter of {tuple(p.shape)}")
        self.buffers = [None if b is None else b.to(p.device, p.dtype).clone() for p, b in zip(self.params, buffers)]
