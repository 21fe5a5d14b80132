"""Session rules of design.md §4 on the server side, with a fake Simulation (no real simulator needed).

Pins: L=3, E=2 gives exactly 6 measurements then the end; ts starts at start+interval (1100) and advances by
the interval; a stale ts is refused; bad messages get env-error and the session still completes; a second
env-start from the same identity replaces the session; one session's fault never touches another.
"""

from __future__ import annotations

import numpy as np
import pytest

from netgym_lite.config_types import ScenarioConfig
from netgym_lite.errors import ActionError, ProtocolError, SessionEnded
from netgym_lite.ipc import NetworkGymClient, Server, Session
from netgym_lite.ipc.transport import TransportClosed


class FakeSimulation:
    """Returns valid NetworkGym records; remembers the shares it was given."""

    def __init__(self, cfg: ScenarioConfig, seed: int | None = None) -> None:
        self.cfg = cfg
        self.num_users = cfg.num_users
        self.ts_ms = 0
        self.seed = cfg.random_seed if seed is None else seed
        self.rng = np.random.default_rng(self.seed)
        self.shares_log: list[np.ndarray] = []
        self.advances = 0

    def set_wifi_split(self, shares: np.ndarray) -> None:
        self.shares_log.append(np.array(shares, dtype=float))

    def advance(self) -> list[dict]:
        if self.ts_ms == 0:
            self.ts_ms = self.cfg.measurement_start_time_ms + self.cfg.step_interval_ms
        else:
            self.ts_ms += self.cfg.step_interval_ms
        self.advances += 1
        ids = list(range(1, self.num_users + 1))
        n = self.num_users

        def rec(source: str, name: str, values: list) -> dict:
            return {"source": source, "name": name, "id": list(ids), "ts": self.ts_ms, "value": values}

        return [
            rec("lte", "dl::max_rate", [round(float(x), 3) for x in self.rng.uniform(20, 40, n)]),
            rec("wifi", "dl::max_rate", [round(float(x), 3) for x in self.rng.uniform(60, 80, n)]),
            rec("gma", "dl::rate", [round(float(x), 3) for x in self.rng.uniform(5, 15, n)]),
            rec("gma", "dl::owd", [round(float(x), 3) for x in self.rng.uniform(10, 100, n)]),
            rec("gma", "wifi::dl::split_ratio", [100.0] * n),
        ]


def fake_parse_env_config(d: dict) -> ScenarioConfig:
    """A minimal parser: reads the few keys the session needs."""
    from netgym_lite.errors import ConfigError

    L = d.get("steps_per_episode", 3)
    if not isinstance(L, int) or L < 2:
        raise ConfigError(f"steps_per_episode={L!r} is invalid: allowed an integer >= 2")
    return ScenarioConfig(
        num_users=d.get("num_users", 4),
        steps_per_episode=L,
        episodes_per_session=d.get("episodes_per_session", 2),
        random_seed=d.get("random_seed", 2),
        measurement_start_time_ms=d.get("measurement_start_time_ms", 1000),
        measurement_interval_ms=d.get("measurement_interval_ms", 100),
        measurement_guard_interval_ms=d.get("measurement_guard_interval_ms", 0),
        raw=dict(d),
    )


def env_config(**kw) -> dict:
    """A small env_config dict for the fake parser."""
    d = {"type": "env-start", "env": "nqos_split", "num_users": 4, "steps_per_episode": 3,
         "episodes_per_session": 2, "random_seed": 2}
    d.update(kw)
    return d


def make_server(**kw) -> Server:
    return Server(sim_factory=lambda cfg: FakeSimulation(cfg), config_parser=fake_parse_env_config, **kw)


def action_for(records: list[dict], value: list | None = None) -> dict:
    """An action record templated on gma::dl::rate, as the TrafficMgmt client sends it."""
    tmpl = next(r for r in records if r["source"] == "gma" and r["name"] == "dl::rate")
    return {"source": "gma", "name": "wifi::dl::split_ratio", "id": list(tmpl["id"]), "ts": tmpl["ts"],
            "value": [] if value is None else value}


def run_session(client: NetworkGymClient, cfg: dict) -> list[list[dict]]:
    """Drive one whole session with system-default actions until the server ends it."""
    got = [client.connect(cfg)]
    while True:
        client.send_action(action_for(got[-1]))
        try:
            got.append(client.recv_measurement())
        except SessionEnded:
            return got


def test_session_of_l3_e2_sends_exactly_six_measurements_then_ends() -> None:
    server = make_server()
    client = NetworkGymClient(server.connect(check_json=True))
    got = run_session(client, env_config(steps_per_episode=3, episodes_per_session=2))
    assert len(got) == 6
    session = next(iter(server.sessions.values()))
    assert session.state == "ended"
    assert session.end_message == {"type": "env-end"}
    assert session.sim.advances == 6


def test_action_after_the_session_ended_gets_env_error_session_ended() -> None:
    server = make_server()
    transport = server.connect()
    client = NetworkGymClient(transport)
    got = run_session(client, env_config())
    transport.send({"type": "env-action", "action_list": action_for(got[-1])})
    reply = transport.recv()
    assert reply["type"] == "env-error"
    assert "session ended" in reply["error_msg"]


def test_ts_starts_at_start_plus_interval_and_advances_by_the_interval() -> None:
    server = make_server()
    client = NetworkGymClient(server.connect())
    got = run_session(client, env_config(measurement_interval_ms=80, measurement_guard_interval_ms=20))
    assert [r[0]["ts"] for r in got] == [1100, 1200, 1300, 1400, 1500, 1600]
    got = run_session(client, env_config(measurement_start_time_ms=500, measurement_interval_ms=50))
    assert [r[0]["ts"] for r in got] == [550, 600, 650, 700, 750, 800]
    assert all(len({rec["ts"] for rec in recs}) == 1 for recs in got)


def test_every_measurement_carries_both_time_lapses() -> None:
    server = make_server()
    transport = server.connect()
    transport.send(env_config())
    first = transport.recv()
    assert first["type"] == "env-measurement" and first["network_stats"]
    assert first["workload_stats"]["sim_time_lapse_ms"] == 1100
    assert "time_lapse_ms" in first["workload_stats"]
    transport.send({"type": "env-action", "action_list": action_for(first["network_stats"])})
    second = transport.recv()
    assert second["workload_stats"]["sim_time_lapse_ms"] == 100


def test_stale_ts_is_refused_naming_both_ts_and_the_session_goes_on() -> None:
    server = make_server()
    transport = server.connect()
    client = NetworkGymClient(transport)
    first = client.connect(env_config())
    second = client.step(action_for(first))
    stale = action_for(first)  # ts 1100, but the last measurement was 1200
    client.send_action(stale)
    with pytest.raises(ProtocolError, match=r"1100.*1200"):
        client.recv_measurement()
    third = client.step(action_for(second))
    assert third[0]["ts"] == 1300


def test_bad_messages_get_env_error_and_the_session_still_completes() -> None:
    server = make_server()
    transport = server.connect()
    client = NetworkGymClient(transport)
    recs = [client.connect(env_config())]
    bad_messages = [
        {"type": "env-action"},                                          # no action_list
        {"type": "env-action", "action_list": 5},                        # not a record
        {"type": "env-action", "action_list": {**action_for(recs[-1]), "value": [0.5, 2.0, 0.1, 0.1]}},
        {"type": "env-action", "action_list": {**action_for(recs[-1]), "value": [0.5, float("nan"), 0, 0]}},
        {"type": "env-action", "action_list": {**action_for(recs[-1]), "value": [0.5]}},
        {"type": "env-action", "action_list": {**action_for(recs[-1]), "name": "dl::bogus"}},
        {"type": "env-whatever"},
        {"no": "type"},
        "not even a dict",
        ["a", "list"],
    ]
    for bad in bad_messages:
        transport.send(bad)
        reply = transport.recv()
        assert reply["type"] == "env-error", bad
        assert reply["error_msg"]
        assert transport.pending == 0
    while True:
        client.send_action(action_for(recs[-1], [0.25, None, 1, 0]))
        try:
            recs.append(client.recv_measurement())
        except SessionEnded:
            break
    assert len(recs) == 6
    sim = next(iter(server.sessions.values())).sim
    assert len(sim.shares_log) == 5
    np.testing.assert_array_equal(sim.shares_log[0], [0.25, np.nan, 1.0, 0.0])


def test_action_errors_reach_the_client_as_typed_errors_naming_the_field() -> None:
    server = make_server()
    client = NetworkGymClient(server.connect())
    first = client.connect(env_config())
    client.send_action(action_for(first, [0.5, 1.5, 0.0, 0.0]))
    with pytest.raises(ActionError, match=r"value\[1\]=1\.5.*\[0, 1\]"):
        client.recv_measurement()


def test_second_env_start_from_the_same_identity_replaces_the_session() -> None:
    server = make_server()
    client = NetworkGymClient(server.connect("alice-0"))
    first = client.connect(env_config(random_seed=1))
    client.step(action_for(first))
    old = server.sessions["alice-0"]
    again = client.connect(env_config(random_seed=1))
    assert server.sessions["alice-0"] is not old
    assert again[0]["ts"] == 1100
    assert again == first  # same seed, fresh simulation
    assert len(server.sessions) == 1


def test_action_before_env_start_is_an_env_error() -> None:
    server = make_server()
    transport = server.connect()
    transport.send({"type": "env-action", "action_list": []})
    reply = transport.recv()
    assert reply["type"] == "env-error" and "env-start" in reply["error_msg"]


def test_bad_env_start_is_an_env_error_naming_the_field() -> None:
    server = make_server()
    client = NetworkGymClient(server.connect())
    from netgym_lite.errors import ConfigError

    with pytest.raises(ConfigError, match="steps_per_episode"):
        client.connect(env_config(steps_per_episode=1))


class ExplodingSimulation(FakeSimulation):
    def advance(self) -> list[dict]:
        if self.advances >= 1:
            raise RuntimeError("boom")
        return super().advance()


def test_a_faulty_session_does_not_touch_another_session() -> None:
    def factory(cfg: ScenarioConfig) -> FakeSimulation:
        return ExplodingSimulation(cfg) if cfg.random_seed == 666 else FakeSimulation(cfg)

    server = Server(sim_factory=factory, config_parser=fake_parse_env_config)
    bad = NetworkGymClient(server.connect("bad-0"))
    good = NetworkGymClient(server.connect("good-0"))
    bad_first = bad.connect(env_config(random_seed=666))
    good_recs = [good.connect(env_config())]
    bad.send_action(action_for(bad_first))
    with pytest.raises(Exception, match="boom"):
        bad.recv_measurement()
    bad.send_action(action_for(bad_first))
    with pytest.raises(SessionEnded):
        bad.recv_measurement()
    while len(good_recs) < 6:
        good_recs.append(good.step(action_for(good_recs[-1])))
    assert server.sessions["good-0"].state == "ended"
    assert server.sessions["bad-0"].state == "failed"


def test_session_refuses_a_simulation_with_the_wrong_ts() -> None:
    class LateSimulation(FakeSimulation):
        def advance(self) -> list[dict]:
            recs = super().advance()
            for r in recs:
                r["ts"] += 1
            return recs

    session = Session("x-0", sim_factory=LateSimulation, config_parser=fake_parse_env_config)
    replies = session.handle(env_config())
    assert replies[0]["type"] == "env-error" and "1101" in replies[0]["error_msg"]
    assert session.state == "failed"


def test_closing_the_transport_drops_the_session_and_refuses_further_use() -> None:
    server = make_server()
    transport = server.connect("bob-0")
    NetworkGymClient(transport).connect(env_config())
    assert "bob-0" in server.sessions
    transport.close()
    transport.close()  # idempotent
    assert "bob-0" not in server.sessions
    with pytest.raises(TransportClosed):
        transport.send({"type": "env-action", "action_list": []})


def test_idle_sessions_are_reaped_after_max_wait_time_for_action() -> None:
    now = [0.0]
    session = Session("x-0", sim_factory=FakeSimulation, config_parser=fake_parse_env_config, clock=lambda: now[0])
    session.handle(env_config())
    now[0] = 599.0
    assert not session.expired()
    now[0] = 601.0
    assert session.expired()
