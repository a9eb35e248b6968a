"""The example forum (``examples/forum/app.py``), loaded for the tests, and a server for it."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

APP = Path(__file__).parent.parent / "examples" / "forum" / "app.py"


def load_forum() -> ModuleType:
    """The example forum's module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("kudos_example_forum", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free localhost port in a thread; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
