"""The controller's HTTP API (FastAPI, served by uvicorn); the CLI and the Python client
(``adaptsched.client``) talk to it."""
