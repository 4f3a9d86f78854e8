"""What the API families share: Basic auth and its limiter, the /v1 error envelope, request
parameters and schema parts, member JSON, CSV export, origins, and the error-renderer registry."""
