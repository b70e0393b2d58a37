"""One small loader per raw source feeding the indicators panel (raw file → tidy frame)."""
