"""HTTP plumbing: errors mapped to responses, request parsing, JSON, endpoints and OpenAPI, CORS, the debug page."""
