"""HTTP adapters. Each API family owns its wire format and error envelope."""
