"""Tabular Q-learning refiner: the update rule, persistence, eval behaviour and learning."""

import pytest
import torch

from echo_edu.errors import ConfigError, ShapeError
from echo_edu.attention.refiner import QLearningRefiner, ToySpanTask


def test_q_update_matches_hand_computed_example():
    agent = QLearningRefiner(3, 2, alpha=0.5, gamma=0.9).train()
    agent.q_table.copy_(torch.tensor([[0.0, 1.0], [2.0, 0.5], [0.0, 0.0]]))
    # one transition: s=0, a=1, r=1, s'=1 → target = 1 + 0.9·max(2, 0.5) = 2.8; Q ← 1 + 0.5·(2.8 − 1) = 1.9
    agent.update(torch.tensor([0]), torch.tensor([1]), torch.tensor([1.0]), next_state=torch.tensor([1]))
    assert agent.q_table[0, 1].tolist() == pytest.approx(1.9)
    assert agent.visits[0, 1] == 1 and agent.visits.sum() == 1 and agent.updates == 1
    # terminal transition: no bootstrap → target 1; Q[2,0] ← 0 + 0.5·1 = 0.5; others unchanged
    agent.update(torch.tensor([2]), torch.tensor([0]), torch.tensor([1.0]), next_state=torch.tensor([1]),
                 done=torch.tensor([True]))
    torch.testing.assert_close(agent.q_table, torch.tensor([[0.0, 1.9], [2.0, 0.5], [0.5, 0.0]]))


def test_batched_update_moves_each_cell_once_toward_the_mean_target():
    agent = QLearningRefiner(2, 2, alpha=0.5).train()  # gamma 0: a contextual bandit
    s = torch.tensor([0, 0, 1, 0])
    a = torch.tensor([1, 1, 0, 0])
    r = torch.tensor([1.0, 3.0, -2.0, 5.0])
    agent.update(s, a, r, valid=torch.tensor([True, True, True, False]))  # the last one is padding
    torch.testing.assert_close(agent.q_table, torch.tensor([[0.0, 1.0], [-1.0, 0.0]]))  # 0.5·mean(1, 3); 0.5·(−2)
    assert agent.visits.tolist() == [[0, 2], [1, 0]]


def test_eval_is_greedy_deterministic_and_frozen():
    agent = QLearningRefiner(4, 3, epsilon=1.0)
    agent.q_table.copy_(torch.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.5]]))
    agent.eval()
    before = agent.q_table.clone()
    s = torch.tensor([0, 1, 2, 3] * 5)
    a1, a2 = agent.act(s), agent.act(s)
    assert torch.equal(a1, a2) and a1[:4].tolist() == [1, 0, 2, 1]  # ties go to the last (widest) action
    agent.update(s, a1, torch.ones(20))
    assert torch.equal(agent.q_table, before) and agent.visits.sum() == 0


def test_training_explores_with_a_seeded_generator():
    s = torch.zeros(1000, dtype=torch.long)
    runs = []
    for _ in range(2):
        agent = QLearningRefiner(1, 4, epsilon=0.5, seed=3).train()
        agent.q_table[0, 2] = 1.0
        runs.append(agent.act(s))
    assert torch.equal(runs[0], runs[1])  # same seed, same draws
    share_greedy = (runs[0] == 2).float().mean()
    assert 0.55 < share_greedy < 0.7  # 1 − ε + ε/A = 0.625
    assert set(runs[0].tolist()) == {0, 1, 2, 3}


def test_q_table_survives_state_dict_and_stays_float32():
    agent = QLearningRefiner(3, 2).train()
    agent.update(torch.tensor([1]), torch.tensor([0]), torch.tensor([0.7]))
    state = agent.state_dict()
    assert set(state) == {"q_table", "visits", "updates"}
    fresh = QLearningRefiner(3, 2)
    fresh.load_state_dict(state)
    assert torch.equal(fresh.q_table, agent.q_table) and torch.equal(fresh.visits, agent.visits)
    fresh.to(torch.bfloat16)
    assert fresh.q_table.dtype == torch.float32


def test_the_refiner_learns_the_known_best_span():
    """ToySpanTask: the best window of each state is known; 150 rounds of 8 situations are enough."""
    for seed in range(3):
        task = ToySpanTask(seed=seed)
        agent = QLearningRefiner(task.n_states, task.n_actions, alpha=0.1, epsilon=0.1, seed=seed, initial_q=1.0)
        untrained = agent.eval().greedy(torch.arange(task.n_states))
        assert not torch.equal(untrained, task.best_actions())
        history = task.train(agent, steps=150, batch=8)
        assert torch.equal(agent.greedy(torch.arange(task.n_states)), task.best_actions()), seed
        assert history[-30:].mean() > history[:10].mean()


def test_bad_arguments_raise_typed_errors():
    with pytest.raises(ConfigError):
        QLearningRefiner(0, 3)
    with pytest.raises(ConfigError, match="gamma"):
        QLearningRefiner(3, 3, gamma=1.0)
    agent = QLearningRefiner(3, 3).train()
    with pytest.raises(ShapeError, match="integer"):
        agent.act(torch.zeros(2))
    with pytest.raises(ShapeError, match="one shape"):
        agent.update(torch.zeros(2, dtype=torch.long), torch.zeros(3, dtype=torch.long), torch.zeros(2))


def test_refiner_views_headless():
    from echo_edu.viz.refiner import (learning_curve_figure, q_table_figure, refiner_steps_widget,
                                      span_timeline_figure, span_timeline_static)

    task = ToySpanTask()
    agent = QLearningRefiner(task.n_states, task.n_actions, initial_q=1.0)
    history, tables = task.train(agent, steps=12, batch=4, snapshots=True)
    assert tables.shape == (13, 4, 4) and torch.equal(tables[-1], agent.q_table)
    fig = q_table_figure(tables[-1], best=task.best_actions())
    assert torch.equal(torch.tensor(fig.data[0].z), tables[-1]) and len(fig.data) == 3
    assert len(learning_curve_figure(history, optimum=0.9).data) == 2
    widget = refiner_steps_widget(tables, history, best=task.best_actions())
    widget.controls["step"].value = 5
    assert "after 5 rounds" in widget.figure.layout.annotations[0].text
    assert "image/png" in widget._repr_mimebundle_()
    span_timeline_figure(torch.randint(1, 9, (3, 10)))
    span_timeline_static(torch.randint(1, 9, (3, 10)))
