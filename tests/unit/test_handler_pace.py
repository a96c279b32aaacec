"""HandlerPace: which task types may share transactions (pipeline/batching.py)."""

from __future__ import annotations

from stream_app.pipeline.batching import HandlerPace


def test_a_task_batches_only_after_its_warm_up_of_light_runs() -> None:
    pace = HandlerPace(max_round_trips=4, warmup=3)
    for _ in range(2):
        pace.observe(0.001, 0.001)
        assert not pace.light
    pace.observe(0.001, 0.001)
    assert pace.light


def test_light_is_measured_in_round_trips_so_a_busy_loop_does_not_change_it() -> None:
    quiet, busy = HandlerPace(max_round_trips=4, warmup=1), HandlerPace(max_round_trips=4, warmup=1)
    quiet.observe(0.0006, 0.0002)  # 3 round trips
    busy.observe(0.006, 0.002)  # everything ten times slower: still 3
    assert quiet.light and busy.light


def test_a_handler_waiting_on_a_provider_is_not_light() -> None:
    pace = HandlerPace(max_round_trips=4, warmup=1)
    pace.observe(0.100, 0.0005)  # a 100 ms provider call = 200 round trips
    assert not pace.light


def test_a_provider_wait_is_not_light_even_when_a_starved_machine_stretches_the_round_trip() -> None:
    pace = HandlerPace(max_round_trips=4, warmup=1)
    pace.observe(0.050, 0.020)  # a 50 ms provider call over a 20 ms claim: 2.5 "round trips"
    assert not pace.light


def test_the_average_follows_a_task_that_turns_slow() -> None:
    pace = HandlerPace(max_round_trips=4, warmup=1, weight=0.5)
    pace.observe(0.001, 0.001)
    assert pace.light
    for _ in range(3):
        pace.observe(0.050, 0.001)
    assert not pace.light


def test_a_failed_batch_sends_the_task_back_to_its_warm_up() -> None:
    pace = HandlerPace(max_round_trips=4, warmup=2)
    pace.observe(0.001, 0.001)
    pace.observe(0.001, 0.001)
    assert pace.light
    pace.reset()
    assert not pace.light
