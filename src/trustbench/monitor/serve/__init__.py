"""``trustbench monitor serve``: an ingest API and a live dashboard over a monitoring database.

* :mod:`~trustbench.monitor.serve.app` — :func:`create_app`, the FastAPI application;
* :mod:`~trustbench.monitor.serve.dashboard` — the JSON the page draws;
* :mod:`~trustbench.monitor.serve.notify` — alerts to the log and to webhooks, from an outbox;
* ``static/`` — the page itself (HTML, JavaScript and CSS; no CDN).

FastAPI and uvicorn come with the ``[monitor]`` extra and load only when the service starts.
"""

__all__: list[str] = []  # the modules are the face: serve.app.create_app and the others
