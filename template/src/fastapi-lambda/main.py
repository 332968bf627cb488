"""AWS Lambda entry point (``handler: main.handler`` in serverless.yml).

Mangum turns API Gateway events (HTTP API payload 2.0 here) into ASGI requests for the
FastAPI app in ``api.py``. The app has no startup/shutdown work, so lifespan is off.
"""

from mangum import Mangum

from api import app

handler = Mangum(app, lifespan="off")
