"""User mobility: NetworkGym's random walk (ns-3 RandomWalk2dMobilityModel, "distance" mode).

Each user walks a straight segment of ``distance_m`` at a speed ~ U[min, max] m/s in a direction ~ U[min, max]
rad, then draws a new speed and direction. On reaching the area's edge it reflects like ns-3 (the velocity's x
or y component changes sign). Positions are advanced piecewise-exactly over any time step.
"""

from __future__ import annotations

import math

from ..core.jit import kernel
from ..core.rng import STREAM_MOBILITY, uniform_range


@kernel
def _new_segment(s, p, user: int) -> None:
    w = p.walk
    s.walk_speed[user] = uniform_range(s.rng, STREAM_MOBILITY, w[0], w[1])
    s.walk_dir[user] = uniform_range(s.rng, STREAM_MOBILITY, w[2], w[3])
    s.walk_left_m[user] = w[4]


@kernel
def start_walks(s, p) -> None:
    """Draw every user's first walk segment."""
    for user in range(p.num_users):
        _new_segment(s, p, user)


@kernel
def move_users(s, p, dt_ms: float) -> None:
    """Advance every user by ``dt_ms`` of walking, reflecting at the area's edges."""
    if p.walk[1] <= 0.0 or p.walk[4] <= 0.0:
        return
    min_x, max_x, min_y, max_y = p.area[0], p.area[1], p.area[2], p.area[3]
    for user in range(p.num_users):
        t_left = dt_ms / 1000.0
        guard = 0
        while t_left > 1e-12 and guard < 10000:
            guard += 1
            speed = s.walk_speed[user]
            if speed <= 0.0:
                break
            step_t = min(t_left, s.walk_left_m[user] / speed)
            direction = s.walk_dir[user]
            x = s.pos[user, 0] + speed * step_t * math.cos(direction)
            y = s.pos[user, 1] + speed * step_t * math.sin(direction)
            # reflection at the edges (mirror the position and the velocity component)
            if x < min_x or x > max_x:
                x = 2.0 * min_x - x if x < min_x else 2.0 * max_x - x
                x = min(max(x, min_x), max_x)
                direction = math.pi - direction
            if y < min_y or y > max_y:
                y = 2.0 * min_y - y if y < min_y else 2.0 * max_y - y
                y = min(max(y, min_y), max_y)
                direction = -direction
            s.pos[user, 0] = x
            s.pos[user, 1] = y
            s.walk_dir[user] = direction
            s.walk_left_m[user] -= speed * step_t
            t_left -= step_t
            if s.walk_left_m[user] <= 1e-9:
                _new_segment(s, p, user)
