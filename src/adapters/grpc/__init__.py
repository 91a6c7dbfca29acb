"""gRPC adapter: the API other services call."""
