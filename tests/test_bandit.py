"""The partial-feedback bandit: played by the refiner's own rule; ε, α and Q₀ each change what it earns."""

import pytest
import torch

from echo_edu.attention import refiner as refiner_module
from echo_edu.attention.bandit import GaussianBandit, play_bandit
from echo_edu.errors import ConfigError

BANDIT = GaussianBandit()  # means (0.2, 0.4, 0.5, 0.9, 0.8), noise 0.3


def _play(epsilon, alpha, initial_q, steps=300, runs=200, seed=0, bandit=BANDIT):
    return play_bandit(bandit, epsilon=epsilon, alpha=alpha, initial_q=initial_q, steps=steps, runs=runs, seed=seed)


def test_one_pull_is_the_textbook_update():
    run = _play(epsilon=0.0, alpha=0.3, initial_q=1.0, steps=1, runs=6)
    games = torch.arange(6)
    a, r = run.actions[0], run.rewards[0]
    expected = torch.full((6, BANDIT.n_arms), 1.0)
    expected[games, a] = 1.0 + 0.3 * (r - 1.0)                      # Q ← Q + α (r − Q), γ = 0
    torch.testing.assert_close(run.q_table, expected)
    assert run.regret[0].tolist() == BANDIT.gaps()[a].tolist()


def test_the_bandit_is_played_by_the_refiner_class(monkeypatch):
    """No second implementation: breaking QLearningRefiner.update breaks the bandit."""
    calls = []
    original = refiner_module.QLearningRefiner.update

    def spy(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(refiner_module.QLearningRefiner, "update", spy)
    _play(0.1, 0.1, 0.0, steps=7, runs=3)
    assert len(calls) == 7


def test_only_the_pulled_arms_noisy_reward_is_seen():
    run = _play(epsilon=1.0, alpha=0.1, initial_q=0.0, steps=200, runs=50)   # ε = 1: uniform pulls
    noise = run.rewards - torch.tensor(BANDIT.means)[run.actions]
    assert abs(noise.std().item() - BANDIT.noise) < 0.02 and abs(noise.mean().item()) < 0.02
    assert torch.bincount(run.actions.flatten(), minlength=5).min() > 0.18 * run.actions.numel()


def test_seeded_replay_and_seeds_differ():
    a, b, c = _play(0.1, 0.1, 0.0, seed=3), _play(0.1, 0.1, 0.0, seed=3), _play(0.1, 0.1, 0.0, seed=4)
    assert torch.equal(a.actions, b.actions) and torch.equal(a.rewards, b.rewards)
    assert not torch.equal(a.actions, c.actions)


def test_greedy_from_zero_gets_stuck_and_optimism_or_exploration_frees_it():
    stuck = _play(epsilon=0.0, alpha=0.1, initial_q=0.0)
    optimist = _play(epsilon=0.0, alpha=0.1, initial_q=1.0)
    explorer = _play(epsilon=0.1, alpha=0.1, initial_q=0.0)
    # with ε = 0 and Q₀ = 0 the first arm that pays stays greedy: most games never find the best arm
    assert stuck.stuck().float().mean() > 0.6
    assert stuck.mean_regret()[-1] > 2 * optimist.mean_regret()[-1]
    assert optimist.stuck().float().mean() < 0.15               # optimism alone makes it try every arm
    assert explorer.stuck().float().mean() < 0.5 * stuck.stuck().float().mean()
    assert explorer.mean_regret()[-1] < stuck.mean_regret()[-1]
    # some single game shows it: greedy-from-0 locked on a worse arm where the optimist found the best
    lost = stuck.stuck() & ~optimist.stuck()
    assert lost.any() and (stuck.regret[-1, lost] > 25).all()    # ≥ 0.1 per step for ever


def test_alpha_sets_how_long_optimism_lasts():
    # an optimistic entry falls by a factor (1 − α) per pull: a small α keeps pulling bad arms for longer
    slow = _play(epsilon=0.0, alpha=0.02, initial_q=2.0, steps=100)
    fast = _play(epsilon=0.0, alpha=0.3, initial_q=2.0, steps=100)
    assert slow.mean_regret()[-1] > 1.5 * fast.mean_regret()[-1]
    worst_arm = int(torch.tensor(BANDIT.means).argmin())
    assert (slow.actions == worst_arm).float().mean() > 2 * (fast.actions == worst_arm).float().mean()


def test_oracle_regret_is_zero_and_bad_config_raises():
    assert BANDIT.gaps()[BANDIT.best_arm] == 0 and BANDIT.best_arm == 3
    for bad in (dict(means=(1.0,)), dict(noise=-1.0)):
        with pytest.raises(ConfigError):
            GaussianBandit(**bad)
    with pytest.raises(ConfigError):
        _play(0.1, 0.1, 0.0, steps=0)
    with pytest.raises(ConfigError):
        _play(0.1, 0.0, 0.0)                                      # α = 0 learns nothing: the refiner refuses it


def test_regret_widget_replays_on_every_change():
    from echo_edu.viz.bandit import bandit_regret_widget, regret_static

    widget = bandit_regret_widget(BANDIT, steps=60, runs=20)
    before = widget.figure.data[1].y
    widget.controls["initial_q"].value = 1.0                     # a new Q₀ plays new games
    assert "Q₀ = 1.00" in widget.figure.layout.title.text and widget.figure.data[1].y != before
    greedy_before = widget.figure.data[1].y
    widget.controls["epsilon"].value = 0.3                       # ε leaves the greedy reference alone
    assert widget.figure.data[1].y == greedy_before and widget.figure.data[4].y != widget.figure.data[1].y
    assert "image/png" in widget._repr_mimebundle_()
    regret_static(*[play_bandit(BANDIT, epsilon=0.1, alpha=0.1, initial_q=0.0, steps=10, runs=4)] * 2)
