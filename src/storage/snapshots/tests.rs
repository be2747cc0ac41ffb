//! Tests of the write-behind writer.
