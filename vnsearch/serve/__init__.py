"""``vnsearch serve``: an HTTP JSON API and a search page over one index.

The server stack (Starlette, uvicorn) is the optional extra ``vnsearch[serve]``; nothing here
imports it until a server is made (:func:`vnsearch.serve.app.create_app`), so ``import vnsearch``
and the other commands never load it. :mod:`vnsearch.serve.endpoints` holds what each endpoint
returns as plain functions of an :class:`~vnsearch.Index` (the same objects ``--json`` prints).
"""

from __future__ import annotations

import importlib

#: What to run when the server's dependencies are missing.
INSTALL_COMMAND = "pip install 'vnsearch[serve]'"
#: Top-level modules the server needs (the ``serve`` extra).
REQUIRED_MODULES = ("starlette", "uvicorn")
#: Most hits one request may ask for, unless ``vnsearch serve --max-limit`` says otherwise.
DEFAULT_MAX_LIMIT = 100


def missing_dependencies() -> list[str]:
    """The modules of the ``serve`` extra that cannot be imported here (called by the command
    only: it imports them)."""
    missing = []
    for name in REQUIRED_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing
