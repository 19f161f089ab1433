"""Use cases. Each takes a session and explicit arguments, flushes, never commits."""
