"""The lab: a reference FastAPI app with every pattern of the seeds, its scenarios,
and the runner that measures each scenario on a real uvicorn server."""

from __future__ import annotations
