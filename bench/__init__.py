"""Speed, load and crash figures: `make bench` and `make loadtest` (not tests)."""
