// The workflow DSL and the worker runtime that compiled workflow binaries run.
