// Replaced by the WASI sources.
