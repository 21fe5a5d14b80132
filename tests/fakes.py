"""A stand-in simulation for tests of the layers above it (CLI, eval): constant, hand-checkable records."""

from __future__ import annotations

import numpy as np

from netgym_lite.config_types import ScenarioConfig


class ConstantSimulation:
    """Constant records whatever the split: user u gets u Mbps at 10·u ms, 50 % on Wi-Fi."""

    def __init__(self, cfg: ScenarioConfig) -> None:
        self.cfg, self.num_users, self.ts_ms = cfg, cfg.num_users, 0

    def set_wifi_split(self, shares: np.ndarray) -> None:
        pass

    def advance(self) -> list[dict]:
        self.ts_ms = self.ts_ms + 100 if self.ts_ms else 1100
        ids = list(range(1, self.num_users + 1))

        def rec(source: str, name: str, values: list) -> dict:
            return {"source": source, "name": name, "id": list(ids), "ts": self.ts_ms, "value": values}

        return [rec("lte", "dl::max_rate", [30.0] * len(ids)), rec("wifi", "dl::max_rate", [70.0] * len(ids)),
                rec("gma", "dl::rate", [float(u) for u in ids]), rec("gma", "dl::owd", [10.0 * u for u in ids]),
                rec("gma", "wifi::dl::split_ratio", [50.0] * len(ids))]
