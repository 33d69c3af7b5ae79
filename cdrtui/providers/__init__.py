"""Provider clients: one module per provider API."""
