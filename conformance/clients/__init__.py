"""Client replay: captured bodies served, byte for byte, to the real clients.

The expensive, optional step before judging (``--clients``): each body is handed to the
official SDKs through their own mock-transport hooks (httpx.MockTransport for Python, the
``fetch`` option for Node), in the pieces it arrived in, and what each client ends up with
is kept as a *reading* (plain JSON data). The ``client.*`` rules (rules/clients.py) then
compare the readings with the spec's reading; nothing here judges.

    Replayer            one per run: Python clients in-process, one Node process for all
    CLIENTS             the client names, in report order
    parse_clients       "all" / names / groups -> the requested client names
    client_versions     what was replayed through, for every report
    cells               the client matrix (exchange x client) from the client rules' results
"""

from .matrix import cell, cells
from .names import CLIENTS, NODE_CLIENTS, PYTHON_CLIENTS, parse_clients
from .replay import PIECES_NOTE, Replayer, client_versions, pieces

__all__ = ["CLIENTS", "NODE_CLIENTS", "PIECES_NOTE", "PYTHON_CLIENTS", "Replayer", "cell", "cells", "client_versions", "parse_clients", "pieces"]
