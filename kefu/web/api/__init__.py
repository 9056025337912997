"""The REST API under /api/v1: routes, access policy, handlers and the OpenAPI description."""
