"""NetworkGym's northbound protocol in netgym-lite: messages, transports, server sessions and the client.

ipc moves messages; it never imports the models. The Env reaches the simulation only through
:class:`NetworkGymClient` over a :class:`Transport`, so the in-memory transport can be swapped for sockets.
"""

from netgym_lite.ipc.client import NetworkGymClient
from netgym_lite.ipc.custom import CustomSimulation
from netgym_lite.ipc.server import Server
from netgym_lite.ipc.session import Session
from netgym_lite.ipc.transport import InProcTransport, Transport, TransportTimeout

__all__ = ["CustomSimulation", "InProcTransport", "NetworkGymClient", "Server", "Session", "Transport", "TransportTimeout"]
