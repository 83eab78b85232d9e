//! Splitting an input stream (JSONL or a CloudEvents batch array) into raw events.
