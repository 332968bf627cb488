"""The FastAPI application.

It has no AWS dependency, so uvicorn (``uvicorn api:app --reload``) and the tests import it
without Mangum. ``main.py`` wraps it in the Lambda handler.
"""

import os

from fastapi import FastAPI


def create_app(root_path: str | None = None) -> FastAPI:
    """Build the app.

    ``root_path`` is the path prefix API Gateway puts in front of every route. The HTTP API's
    ``$default`` stage (what serverless.yml deploys) has none, so it stays empty. Behind a REST
    API stage (``/dev``) set ``ROOT_PATH=/dev`` so that ``/docs`` loads ``/dev/openapi.json``.
    """
    if root_path is None:
        root_path = os.environ.get("ROOT_PATH", "")
    application = FastAPI(
        title="${templateOption:serviceName}",
        version="0.1.0",
        root_path=root_path,
    )

    @application.get("/")
    def read_root() -> dict[str, str]:
        return {"message": "Hello from FastAPI on AWS Lambda"}

    @application.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return application


app = create_app()
