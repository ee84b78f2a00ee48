"""Offline stand-ins for the outside world: a local server speaking the OpenAI wire protocol."""
