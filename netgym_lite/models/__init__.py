"""Physics and MAC models: pure formulas (channel, PHY rate tables) and numba kernels (queues, Wi-Fi
TXOPs, LTE TTIs, TCP, GMA, mobility). Models never import ipc or envs."""
