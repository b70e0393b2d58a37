"""One small reader per raw source (raw file → tidy frame): backbone, indicators, public lists."""
