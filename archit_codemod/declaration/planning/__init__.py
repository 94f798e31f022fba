"""Planning: from what the tracer recorded to the plan of the classes to generate, as plain data."""
