import pytest
import torch

from napari_unsup_seg.core.sgd import MomentumSGD


def _model(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 2, 1))


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_same_steps_as_torch_sgd(momentum):
    ours, ref = _model(0), _model(0)
    opt = MomentumSGD(ours.parameters(), lr=0.1, momentum=momentum)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=momentum)
    x = torch.randn(2, 3, 8, 8)
    for _ in range(5):
        for model, o in ((ours, opt), (ref, ref_opt)):
            o.zero_grad(set_to_none=True)
            model(x).pow(2).mean().backward()
            o.step()
    for a, b in zip(ours.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b)


def test_state_round_trip_continues_identically():
    a, b = _model(1), _model(1)
    opt_a = MomentumSGD(a.parameters(), lr=0.05, momentum=0.9)
    x = torch.randn(1, 3, 8, 8)
    for _ in range(3):
        opt_a.zero_grad()
        a(x).sum().backward()
        opt_a.step()
    b.load_state_dict(a.state_dict())
    opt_b = MomentumSGD(b.parameters(), lr=0.05, momentum=0.9)
    opt_b.load_state_dict(opt_a.state_dict())
    for model, o in ((a, opt_a), (b, opt_b)):
        o.zero_grad()
        model(x).sum().backward()
        o.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)


def test_state_of_another_network_is_refused():
    opt = MomentumSGD(_model(0).parameters(), lr=0.1, momentum=0.9)
    other = MomentumSGD(torch.nn.Linear(2, 2).parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError):
        opt.load_state_dict(other.state_dict())
