"""Durable background jobs: segment builds."""
