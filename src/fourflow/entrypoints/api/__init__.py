"""FourFlow's HTTP API (``fourflow serve``): FastAPI, OpenAPI 3.1 at /api/v1/openapi.json,
problem details, one authorisation table (docs/api.md)."""
