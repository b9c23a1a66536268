"""Mean teacher: the student is what the consistency term trains; the teacher is an exact EMA of it."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from semisup.algorithms.base import StepContext, forward_cat
from semisup.algorithms.mean_teacher import MeanTeacher
from semisup.data.batch import Batch
from semisup.losses import mse_probs
from semisup.nets.build import build_net, with_standardize

C, D, N = 3, 6, 16
CTX = StepContext(step=5, total_steps=10)


class BrokenMeanTeacher(MeanTeacher):
    """USB's bug: the student's unlabeled logits are read from the teacher's output."""

    def training_step(self, model, batch, ctx):
        u1, u2 = batch.u_views
        (logits_x,) = forward_cat(model, batch.x_lb)
        with torch.no_grad():
            logits_u, teacher_logits_u = self.teacher(u1), self.teacher(u2)  # the bug: teacher(u1)
        sup_loss = F.cross_entropy(logits_x, batch.y_lb)
        unsup_loss = mse_probs(logits_u, teacher_logits_u).mean()
        return sup_loss + self.cfg.lambda_u * unsup_loss, {"train/unsup_loss": unsup_loss.detach()}


def make(cls=MeanTeacher, seed: int = 0, **cfg):
    torch.manual_seed(seed)
    algo = cls(cls.Config(**{"rampup": 0.0, **cfg}), C)
    model = with_standardize(build_net("mlp", (D,), C), torch.randn(64, D), "vector")
    algo.attach(model)
    return algo, model


def batch(u_seed: int = 1) -> Batch:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(8, D, generator=g), torch.arange(8) % C
    g = torch.Generator().manual_seed(u_seed)
    u = torch.randn(N, D, generator=g)
    return Batch(x, y, (u + 0.1 * torch.randn(N, D, generator=g), u + 0.1 * torch.randn(N, D, generator=g)))


def grads(algo, model, b, lambda_u: float) -> torch.Tensor:
    algo.cfg.lambda_u = lambda_u
    model.zero_grad()
    loss, _ = algo.training_step(model, b, CTX)
    loss.backward()
    return torch.cat([p.grad.flatten() for p in model.parameters()])


@pytest.mark.parametrize("cls", [MeanTeacher, BrokenMeanTeacher])
def test_unsup_gradient_reaches_the_student_only_when_the_student_is_used(cls):
    algo, model = make(cls)
    model.eval()
    b = batch()
    unsup_grad = grads(algo, model, b, 1.0) - grads(algo, model, b, 0.0)
    if cls is BrokenMeanTeacher:
        assert unsup_grad.abs().max() == 0
    else:
        assert unsup_grad.norm() > 1e-6
    # The contract test's check ("unsupervised gradient reaches the student"): gradients must change
    # with the unlabeled inputs. It holds for the real algorithm and fails for the broken one.
    g1, g2 = (grads(*make(cls), batch(u_seed=s), 1.0) for s in (1, 2))
    assert torch.allclose(g1, g2) == (cls is BrokenMeanTeacher)
    # Either way the teacher is never trained by backprop.
    assert all(p.grad is None and not p.requires_grad for p in algo.teacher.parameters())


def test_teacher_is_the_analytic_ema_after_two_steps():
    algo, model = make(rampup=0.5)
    theta0 = [p.detach().clone() for p in model.parameters()]
    thetas = []
    for step, progress_step in enumerate((1, 8)):  # the first step is in the ramp-up, the second after it
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.1 * (step + 1))
        algo.training_step(model, batch(), StepContext(progress_step, 10))
        algo.after_step(model)
        thetas.append([p.detach().clone() for p in model.parameters()])
    for t, p0, p1, p2 in zip(algo.teacher.parameters(), theta0, *thetas, strict=True):
        ema1 = 0.5 * p0 + 0.5 * p1  # min(0.99, 1 − 1/2): the plain average of the first two
        assert torch.allclose(t, (2 / 3) * ema1 + (1 / 3) * p2, atol=1e-6)  # min(0.999, 1 − 1/3)
    assert int(algo.num_updates) == 2
    # past the warm-up the phase decides: 0.999 after the ramp-up, 0.99 during it
    for progress_step, decay in ((8, 0.999), (1, 0.99)):
        algo.load_state_dict({**algo.state_dict(), "ema.num_updates": torch.tensor(10_000)})
        before = [t.clone() for t in algo.teacher.parameters()]
        algo.training_step(model, batch(), StepContext(progress_step, 10))
        algo.after_step(model)
        for t, b, p in zip(algo.teacher.parameters(), before, model.parameters(), strict=True):
            assert torch.allclose(t, decay * b + (1 - decay) * p, atol=1e-6)
    for t, s in zip(algo.teacher.buffers(), model.buffers(), strict=True):
        assert torch.equal(t, s)


def test_teacher_survives_save_and_load_exactly(tmp_path):
    algo, model = make()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(3):
        loss, _ = algo.training_step(model, batch(), CTX)
        loss.backward()
        opt.step()
        opt.zero_grad()
        algo.after_step(model)
    torch.save(algo.state_dict(), tmp_path / "a.pt")
    fresh, _ = make(seed=7)
    assert any(k.startswith("ema.module.") for k in fresh.state_dict())
    fresh.load_state_dict(torch.load(tmp_path / "a.pt", weights_only=True))
    for (k, a), (k2, b) in zip(algo.state_dict().items(), fresh.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(a, b), k
    assert not torch.equal(next(algo.teacher.parameters()), next(model.parameters()))


def test_rejects_bad_decay_and_requires_attach():
    with pytest.raises(ValueError, match="ema_decay must be in"):
        MeanTeacher(MeanTeacher.Config(ema_decay=1.0), C)
    algo = MeanTeacher(MeanTeacher.Config(), C)
    with pytest.raises(RuntimeError, match="attach"):
        algo.training_step(copy.deepcopy(make()[1]), batch(), CTX)
